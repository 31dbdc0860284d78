"""Tests for skipjax.train.{step, optim, early_stopping} against hand-worked NumPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from skipjax import classifier
from skipjax.train import early_stopping
from skipjax.train import optim
from skipjax.train import step as step_lib

TARGET = np.array([1.0, -2.0, 0.5], np.float32)


def quadratic_loss(params, model_state, batch, key, hparams):
  """0.5 * scale * ||w - x||^2 with scale an hparam; records the step it was given."""
  del key
  diff = params["w"] - batch["x"]
  loss = 0.5 * hparams["scale"] * jnp.sum(diff ** 2)
  new_state = {"calls": model_state["calls"] + 1}
  return loss, (new_state, {"seen_step": hparams["step"].astype(jnp.float32)})


def _run(optimizer, steps, w0, scale=1.0):
  state = step_lib.init_train_state({"w": jnp.asarray(w0)}, optimizer,
                                    model_state={"calls": jnp.zeros((), jnp.int32)},
                                    hparams={"scale": scale})
  train_step = step_lib.jit_train_step(step_lib.make_train_step(quadratic_loss, optimizer))
  history = []
  for i in range(steps):
    state, metrics = train_step(state, {"x": TARGET}, jax.random.PRNGKey(i))
    history.append(jax.tree.map(np.asarray, metrics))
  return state, history


def test_sgd_step_hand_worked_and_step_in_hparams():
  w0 = np.zeros(3, np.float32)
  state, history = _run(optim.make_optimizer("sgd", 0.1), 2, w0, scale=2.0)
  # grad = scale * (w - x): w1 = 0.2 x; w2 = w1 - 0.2 (w1 - x) = 0.36 x.
  np.testing.assert_allclose(state.params["w"], 0.36 * TARGET, rtol=1e-6)
  assert int(state.step) == 2 and int(state.model_state["calls"]) == 2
  assert [float(h["seen_step"]) for h in history] == [0.0, 1.0]
  np.testing.assert_allclose(history[0]["loss"], np.sum(TARGET ** 2), rtol=1e-6)
  np.testing.assert_allclose(history[0]["grad_norm"], 2 * np.linalg.norm(TARGET), rtol=1e-6)
  np.testing.assert_allclose(history[0]["learning_rate"], 0.1, rtol=1e-6)


def _numpy_adam(w, steps, lr, *, clip=None, l2=0.0, decoupled=0.0, b1=0.9, b2=0.999, eps=1e-8,
                lrs=None):
  m = np.zeros_like(w, np.float64)
  v = np.zeros_like(w, np.float64)
  w = w.astype(np.float64)
  for t in range(1, steps + 1):
    g = w - TARGET
    if clip is not None:
      g = g * min(1.0, clip / np.linalg.norm(g))
    g = g + l2 * w
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    u = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps) + decoupled * w
    w = w - (lr if lrs is None else lrs[t - 1]) * u
  return w


@pytest.mark.parametrize("name,kwargs,ref_kwargs", [
    ("adam", {}, {}),
    ("adam", {"clip_norm": 0.5, "weight_decay": 0.1}, {"clip": 0.5, "l2": 0.1}),
    ("adamw", {"weight_decay": 0.1}, {"decoupled": 0.1}),
])
def test_adam_family_matches_numpy(name, kwargs, ref_kwargs):
  w0 = np.array([0.3, 0.1, -0.4], np.float32)
  state, _ = _run(optim.make_optimizer(name, 0.05, **kwargs), 4, w0)
  np.testing.assert_allclose(state.params["w"], _numpy_adam(w0, 4, 0.05, **ref_kwargs),
                             rtol=1e-5, atol=1e-6)


def test_rmsprop_and_momentum_match_numpy():
  w0 = np.array([0.3, 0.1, -0.4], np.float32)
  state, _ = _run(optim.make_optimizer("rmsprop", 0.01, rms_decay=0.9), 3, w0)
  w, nu = w0.astype(np.float64), 0.0
  for _ in range(3):
    g = w - TARGET
    nu = 0.9 * nu + 0.1 * g * g
    w = w - 0.01 * g / np.sqrt(nu + 1e-8)
  np.testing.assert_allclose(state.params["w"], w, rtol=1e-5)
  state, _ = _run(optim.make_optimizer("sgd", 0.1, momentum=0.9), 3, w0)
  w, buf = w0.astype(np.float64), 0.0
  for _ in range(3):
    buf = 0.9 * buf + (w - TARGET)
    w = w - 0.1 * buf
  np.testing.assert_allclose(state.params["w"], w, rtol=1e-5)


def test_schedules_hand_worked():
  warm = optim.make_schedule("warmup_cosine", total_steps=6, warmup_steps=2, final_fraction=0.1)
  want = [0.0, 0.5] + [0.1 + 0.45 * (1 + np.cos(np.pi * k / 4)) for k in range(5)]
  np.testing.assert_allclose([float(warm(c)) for c in range(7)], want, rtol=1e-5, atol=1e-7)
  cos = optim.make_schedule("cosine", total_steps=4)
  np.testing.assert_allclose([float(cos(c)) for c in (0, 2, 4, 9)], [1.0, 0.5, 0.0, 0.0],
                             atol=1e-7)
  exp = optim.make_schedule("exponential", transition_steps=10, decay_rate=0.5)
  np.testing.assert_allclose(float(exp(20)), 0.25, rtol=1e-6)
  np.testing.assert_allclose(float(exp(5)), 0.5 ** 0.5, rtol=1e-6)


def test_scheduled_adam_applies_peak_times_schedule():
  w0 = np.array([0.3, 0.1, -0.4], np.float32)
  opt = optim.make_optimizer("adam", 0.1, schedule="warmup_cosine", total_steps=6,
                             warmup_steps=2, final_fraction=0.1)
  state, history = _run(opt, 4, w0)
  lrs = [0.1 * m for m in [0.0, 0.5, 1.0, 0.1 + 0.45 * (1 + np.cos(np.pi / 4))]]
  np.testing.assert_allclose([h["learning_rate"] for h in history], lrs, rtol=1e-5, atol=1e-8)
  np.testing.assert_allclose(state.params["w"], _numpy_adam(w0, 4, None, lrs=lrs), atol=1e-5)


def test_injected_learning_rate_can_be_set_and_clipping_applies():
  opt = optim.make_optimizer("sgd", 0.1, clip_norm=1.0)
  state = step_lib.init_train_state({"w": jnp.zeros(3)}, opt,
                                    model_state={"calls": jnp.zeros((), jnp.int32)},
                                    hparams={"scale": 1.0})
  assert float(optim.get_hyperparams(state.opt_state)["learning_rate"]) == pytest.approx(0.1)
  state = state._replace(opt_state=optim.set_hyperparam(state.opt_state, "learning_rate", 0.5))
  train_step = step_lib.make_train_step(quadratic_loss, opt)
  state, metrics = train_step(state, {"x": TARGET}, jax.random.PRNGKey(0))
  # ||grad|| = ||x|| > 1, clipped to unit norm, times the new rate 0.5.
  np.testing.assert_allclose(state.params["w"], 0.5 * TARGET / np.linalg.norm(TARGET),
                             rtol=1e-6)
  np.testing.assert_allclose(metrics["learning_rate"], 0.5)
  with pytest.raises(ValueError, match="injected"):
    optim.set_hyperparam(state.opt_state, "momentum", 0.5)


def test_bad_optimizer_config_raises():
  with pytest.raises(ValueError, match="name"):
    optim.make_optimizer("lamb", 1e-3)
  with pytest.raises(ValueError, match="learning_rate"):
    optim.make_optimizer("adam", -1.0)
  with pytest.raises(ValueError, match="total_steps"):
    optim.make_optimizer("adam", 1e-3, schedule="cosine")
  with pytest.raises(ValueError, match="schedule"):
    optim.make_optimizer("adam", 1e-3, schedule="linear")
  with pytest.raises(ValueError, match="clip_norm"):
    optim.make_optimizer("adam", 1e-3, clip_norm=0.0)
  with pytest.raises(ValueError, match="step"):
    step_lib.init_train_state({}, optax.sgd(0.1), hparams={"step": 1.0})


def test_eval_step_is_exact_over_padded_batches():
  params = classifier.init(jax.random.PRNGKey(0), vocab_size=7, embed_dim=4, hidden_dim=8,
                           num_classes=3)
  state = step_lib.init_train_state(params, optax.sgd(0.1))
  rng = np.random.default_rng(0)
  inputs = rng.integers(0, 7, (5, 6)).astype(np.int32)
  lengths = np.array([6, 2, 5, 1, 3], np.int32)
  labels = rng.integers(0, 3, (5,)).astype(np.int32)
  # Two fixed-shape batches of 3: the second holds 2 real examples and one padded entry.
  pad = lambda a: np.concatenate([a, a[:1]])
  batches = [{"inputs": inputs[:3], "lengths": lengths[:3], "labels": labels[:3],
              "mask": np.ones(3, bool)},
             {"inputs": pad(inputs[3:]), "lengths": pad(lengths[3:]), "labels": pad(labels[3:]),
              "mask": np.array([True, True, False])}]
  eval_step = jax.jit(step_lib.make_eval_step(classifier.loss_fn))
  got = step_lib.evaluate(eval_step, state, batches, jax.random.PRNGKey(0))
  logits = np.asarray(jax.jit(classifier.apply)(params, inputs, lengths), np.float64)
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  assert got["count"] == 5.0
  np.testing.assert_allclose(got["loss"], -logp[np.arange(5), labels].mean(), rtol=1e-5)
  np.testing.assert_allclose(got["accuracy"], np.mean(logits.argmax(-1) == labels), rtol=1e-6)
  assert got["fraction_computed"] == pytest.approx(1.0)


def test_chunk_counts_sum_over_batches_into_entity_f1():
  """A tagger's chunk counts (per unit of count, as losses report them) come back as the
  split's totals, and F1 is computed from those totals, not averaged over batches."""
  def tagger_loss(params, model_state, batch, key, hparams):
    del params, key, hparams
    count = batch["tokens"]
    metrics = {name: batch[name] / count for name in ("chunks_correct", "chunks_guessed",
                                                       "chunks_gold")}
    return jnp.zeros(()), (model_state, {**metrics, "accuracy": batch["acc"], "count": count})

  # Batch 1: 3 of 4 predicted chunks correct, 5 gold; batch 2: 0 of 2, 1 gold.
  batches = [dict(tokens=10.0, chunks_correct=3.0, chunks_guessed=4.0, chunks_gold=5.0, acc=0.9),
             dict(tokens=30.0, chunks_correct=0.0, chunks_guessed=2.0, chunks_gold=1.0, acc=0.5)]
  eval_step = jax.jit(step_lib.make_eval_step(tagger_loss))
  state = step_lib.init_train_state({"w": jnp.zeros(())}, optax.sgd(0.1))
  got = step_lib.evaluate(eval_step, state, batches, jax.random.PRNGKey(0))
  assert got["count"] == 40.0 and got["accuracy"] == pytest.approx((9 + 15) / 40)
  assert [got[k] for k in ("chunks_correct", "chunks_guessed", "chunks_gold")] == \
      pytest.approx([3.0, 6.0, 6.0])
  assert got["precision"] == pytest.approx(0.5) and got["recall"] == pytest.approx(0.5)
  assert got["f1"] == pytest.approx(0.5)  # the mean of the batches' F1s would be 0.33
  assert "f1" not in step_lib.finalize_metrics({"accuracy": 1.0, "count": 1.0})


def test_a_registered_finalizer_runs_only_when_its_metrics_are_there(monkeypatch):
  """The generic step knows no model's metrics: a module registers how its split-level metrics
  come from the split's sums (conlleval's entity F1 is one), applied where those sums exist."""
  monkeypatch.setattr(step_lib, "_FINALIZERS", dict(step_lib._FINALIZERS))  # pylint: disable=protected-access
  step_lib.register_finalizer("ratio", ["hits", "tries"],
                              lambda total, means: {"rate": total["hits"] / total["tries"]})
  got = step_lib.finalize_metrics({"hits": 3.0, "tries": 12.0, "count": 2.0})
  assert got == {"hits": 1.5, "tries": 6.0, "count": 2.0, "rate": 0.25}
  assert "rate" not in step_lib.finalize_metrics({"hits": 3.0, "count": 2.0})
  assert "conlleval" in step_lib._FINALIZERS  # pylint: disable=protected-access


def test_classifier_learns_a_toy_task():
  # Label = the first token (0 or 1) of a random sequence: an LSTM must carry it to the end.
  rng = np.random.default_rng(0)
  inputs = rng.integers(0, 4, (32, 6)).astype(np.int32)
  batch = {"inputs": inputs, "lengths": np.full(32, 6, np.int32), "labels": inputs[:, 0] % 2}
  params = classifier.init(jax.random.PRNGKey(0), vocab_size=4, embed_dim=4, hidden_dim=8,
                           num_classes=2)
  opt = optim.make_optimizer("adam", 3e-2, clip_norm=1.0)
  state = step_lib.init_train_state(params, opt)
  train_step = step_lib.jit_train_step(step_lib.make_train_step(classifier.loss_fn, opt))
  for i in range(60):
    state, metrics = train_step(state, batch, jax.random.PRNGKey(i))
  assert float(metrics["loss"]) < 0.1 and float(metrics["accuracy"]) == 1.0


def test_early_stopping_hand_worked():
  init, update = early_stopping.early_stopping(patience=2, mode="max", min_delta=0.01)
  update = jax.jit(update)
  es = init()
  trace = []
  for step, value in enumerate([0.5, 0.7, 0.705, np.nan, 0.8, 0.79, 0.8]):
    es = update(es, value, step * 10)
    trace.append((bool(es.improved), int(es.num_bad), bool(es.should_stop)))
  assert trace == [(True, 0, False), (True, 0, False), (False, 1, False), (False, 2, True),
                   (True, 0, True), (False, 1, True), (False, 2, True)]
  assert float(es.best) == pytest.approx(0.8) and int(es.best_step) == 40
  init_min, update_min = early_stopping.early_stopping(patience=1, mode="min")
  es = update_min(update_min(init_min(), 2.0, 0), 3.0, 1)
  assert bool(es.should_stop) and float(es.best) == 2.0
  # vmapped over a settings axis: each stops on its own.
  batched = jax.vmap(update, in_axes=(0, 0, None))
  es = jax.tree.map(lambda x: jnp.stack([x, x]), init())
  for value in ([1.0, 1.0], [2.0, 0.5], [3.0, 0.5]):
    es = batched(es, jnp.array(value), 0)
  np.testing.assert_array_equal(es.should_stop, [False, True])
  with pytest.raises(ValueError, match="mode"):
    early_stopping.early_stopping(3, mode="best")


@pytest.mark.parametrize("mode", ["max", "min"])
def test_early_stopping_state_survives_its_json(mode):
  init, update = early_stopping.early_stopping(patience=2, mode=mode)
  fresh = early_stopping.to_json(init())
  assert fresh["best"] is None and fresh["num_bad"] == 0  # nothing evaluated: no best yet
  assert float(early_stopping.from_json(fresh, mode).best) == (-np.inf if mode == "max" else np.inf)
  state = update(update(init(), 0.5, 10), 0.5, 20)  # one better, one not
  back = early_stopping.from_json(early_stopping.to_json(state), mode)
  for name in ("best", "best_step", "num_bad", "should_stop"):
    assert np.asarray(getattr(back, name)) == np.asarray(getattr(state, name)), name
  assert int(back.best_step) == 10 and int(back.num_bad) == 1
