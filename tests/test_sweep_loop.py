"""fit_sweep: each setting of a vmapped sweep trains as `loop.fit` trains it alone, stops early
and fails alone, and a killed sweep resumes exactly."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import layers
from skipjax.train import loop
from skipjax.train import metrics_log
from skipjax.train import optim
from skipjax.train import state as state_lib
from skipjax.train import step as step_lib
from skipjax.train import sweep_loop

from test_checkpoint import ToyIterator, toy_data  # pylint: disable=g-bad-import-order

DIM, CLASSES = 3, 2
OPTIMIZER = optim.make_optimizer("adam", 0.05)


def loss_fn(params, model_state, batch, key, hparams):
  """Softmax regression + l2 * |w|^2 + step-key noise; NaN from step `nan_at` on."""
  logits = batch["inputs"] @ params["w"] + params["b"]
  w = state_lib.example_weights(batch, logits.shape[0])
  nll = state_lib.weighted_mean(layers.softmax_cross_entropy(logits, batch["labels"]), w)
  acc = state_lib.weighted_mean(layers.accuracy(logits, batch["labels"]), w)
  noise = jax.random.normal(key, params["w"].shape)
  loss = nll + hparams["l2"] * jnp.sum(params["w"] ** 2) + 0.3 * jnp.vdot(noise, params["w"])
  loss = jnp.where(hparams["step"] >= hparams["nan_at"], jnp.nan, loss)
  return loss, (model_state, {"loss": loss, "accuracy": acc, "count": jnp.sum(w)})


TRAIN_STEP = step_lib.make_train_step(loss_fn, OPTIMIZER)
EVAL_STEP = step_lib.make_eval_step(loss_fn)
SETTINGS = [dict(l2=0.0, lr=0.05, seed=1), dict(l2=0.5, lr=0.05, seed=1),
            dict(l2=0.1, lr=0.2, seed=2)]


def single_state(l2, lr, seed, nan_at=1e9):
  params = {"w": jax.random.normal(jax.random.key(seed), (DIM, CLASSES)) * 0.1,
            "b": jnp.zeros((CLASSES,))}
  state = step_lib.init_train_state(params, OPTIMIZER, hparams={"l2": l2, "nan_at": nan_at})
  return state._replace(opt_state=optim.set_hyperparam(state.opt_state, "learning_rate", lr))


def config(**changes):
  return dict(dict(num_steps=12, eval_every=3, log_every=2, progress=False,
                   early_stopping_patience=2, tensorboard=False), **changes)


def batches():
  x, y = toy_data()
  return [{"inputs": x, "labels": y}]


def run_single(workdir, setting, **changes):
  x, y = toy_data()
  return loop.fit(config(**changes), workdir=workdir,
                  train_step=step_lib.jit_train_step(TRAIN_STEP),
                  init_state=single_state(**setting), train_iter=ToyIterator(x, y),
                  key=jax.random.key(setting["seed"]), eval_step=jax.jit(EVAL_STEP),
                  dev_batches=batches(), test_batches=batches())


def run_sweep(workdir, settings=SETTINGS, train_step=TRAIN_STEP, settings_per_call="auto",
              **changes):
  x, y = toy_data()
  carry = sweep_loop.init_carry(
      sweep_loop.stack_states([single_state(**s) for s in settings]),
      patience=config(**changes)["early_stopping_patience"])
  keys = jnp.stack([jax.random.key(s["seed"]) for s in settings])
  labels = [f"s{i}" for i in range(len(settings))]
  return sweep_loop.fit_sweep(config(**changes), workdir=workdir, train_step=train_step,
                              init_carry=carry, train_iter=ToyIterator(x, y), keys=keys,
                              labels=labels, eval_step=EVAL_STEP, dev_batches=batches(),
                              test_batches=batches(), settings_per_call=settings_per_call)


def _logged(path):
  return [{k: v for k, v in r.items() if k not in ("time", "train/examples_per_second")}
          for r in metrics_log.read_jsonl(path)]


@pytest.mark.parametrize("settings_per_call", [None, 2])  # vmapped; looped in chunks of 2
def test_each_setting_trains_as_its_single_run(tmp_path, settings_per_call):
  sweep = run_sweep(tmp_path / "sweep", settings_per_call=settings_per_call)
  stopped = []
  for s, setting in enumerate(SETTINGS):
    single = run_single(tmp_path / f"single{s}", setting)
    got = sweep.summaries[s]
    stopped.append(got["stopped_early"])
    for name in ("steps", "best_step", "stopped_early", "test_step"):
      assert got[name] == single.summary[name], (s, name)
    np.testing.assert_allclose(got["test"]["accuracy"], single.summary["test"]["accuracy"])
    np.testing.assert_allclose(got["test"]["loss"], single.summary["test"]["loss"], rtol=1e-5)
    final = jax.tree.map(lambda x, i=s: x[i], sweep.carry.state.params)
    chex.assert_trees_all_close(final, single.state.params, rtol=1e-5, atol=1e-6)
    ours = _logged(tmp_path / "sweep" / "settings" / f"s{s}" / "metrics.jsonl")
    theirs = _logged(tmp_path / f"single{s}" / "metrics.jsonl")
    assert [r["step"] for r in ours] == [r["step"] for r in theirs]
    for a, b in zip(ours, theirs):
      assert a.keys() == b.keys()
      np.testing.assert_allclose([a[k] for k in sorted(a)], [b[k] for k in sorted(b)],
                                 rtol=1e-4, atol=1e-6)
  assert sweep.summary["settings"] == ["s0", "s1", "s2"] and not sweep.summary["failed"]


def test_a_setting_going_nan_stops_alone(tmp_path, capsys):
  settings = [dict(SETTINGS[0]), dict(SETTINGS[1], nan_at=4)]
  sweep = run_sweep(tmp_path / "sweep", settings, early_stopping_patience=0)
  good, bad = sweep.summaries
  assert bad["failed"].startswith("train/loss (nan)") and bad["failed_step"] == 5
  assert bad["steps"] == 4 and bad["test"] is None
  assert all(np.isfinite(x).all() for x in jax.tree.leaves(sweep.carry.state.params))
  assert good["failed"] is None and good["steps"] == 12 and good["test"] is not None
  single = run_single(tmp_path / "single", SETTINGS[0], early_stopping_patience=0)
  np.testing.assert_allclose(good["test"]["loss"], single.summary["test"]["loss"], rtol=1e-5)
  assert sweep.summary["failed"] == {"s1": bad["failed"]}
  assert "setting s1: non-finite train/loss (nan) at step 5" in capsys.readouterr().err
  # The frozen setting logs nothing after it stopped.
  steps = [r["step"] for r in _logged(tmp_path / "sweep" / "settings" / "s1" / "metrics.jsonl")]
  assert max(steps) <= 4


class Killed(Exception):
  pass


def test_killed_sweep_resumes_exactly(tmp_path):
  whole = run_sweep(tmp_path / "whole", early_stopping_patience=0, checkpoint_every=2)

  calls = {"n": 0}

  def dies_at_step_7(state, batch, key):
    return TRAIN_STEP(state, batch, key)

  class DyingIterator(ToyIterator):
    def __next__(self):
      calls["n"] += 1
      if calls["n"] == 8:
        raise Killed()
      return super().__next__()

  x, y = toy_data()
  carry = sweep_loop.init_carry(sweep_loop.stack_states([single_state(**s) for s in SETTINGS]))
  keys = jnp.stack([jax.random.key(s["seed"]) for s in SETTINGS])
  kwargs = dict(workdir=tmp_path / "killed", train_step=dies_at_step_7, init_carry=carry, keys=keys,
                labels=["s0", "s1", "s2"], eval_step=EVAL_STEP, dev_batches=batches(),
                test_batches=batches())
  cfg = config(early_stopping_patience=0, checkpoint_every=2)
  with pytest.raises(Killed):
    sweep_loop.fit_sweep(cfg, train_iter=DyingIterator(x, y), **kwargs)
  resumed = sweep_loop.fit_sweep(cfg, train_iter=ToyIterator(x, y), **kwargs)
  assert resumed.summary["resumed_from"] == 6
  chex.assert_trees_all_equal(jax.device_get(resumed.carry), jax.device_get(whole.carry))
  for a, b in zip(resumed.summaries, whole.summaries):
    assert a["test"] == b["test"] and a["best_step"] == b["best_step"]
  for s in range(3):
    name = f"settings/s{s}/metrics.jsonl"
    assert _logged(tmp_path / "killed" / name) == _logged(tmp_path / "whole" / name)


def test_bad_arguments(tmp_path):
  carry = sweep_loop.init_carry(sweep_loop.stack_states([single_state(**s) for s in SETTINGS]))
  keys = jnp.stack([jax.random.key(1)] * 3)
  x, y = toy_data()
  common = dict(workdir=tmp_path, train_step=TRAIN_STEP, init_carry=carry,
                train_iter=ToyIterator(x, y))
  with pytest.raises(ValueError, match="3 distinct names"):
    sweep_loop.fit_sweep(config(), keys=keys, labels=["a", "a", "b"], **common)
  with pytest.raises(ValueError, match="one key per setting"):
    sweep_loop.fit_sweep(config(), keys=keys[:2], labels=["a", "b", "c"], **common)
  with pytest.raises(ValueError, match="cannot be directory names"):
    sweep_loop.fit_sweep(config(), keys=keys, labels=["a", "b/c", "d"], **common)
  with pytest.raises(ValueError, match="same leading settings axis"):
    sweep_loop.init_carry(single_state(**SETTINGS[0])._replace(
        params={"w": jnp.zeros((3, 2)), "b": jnp.zeros((4,))}))
