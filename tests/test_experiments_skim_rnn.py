"""Skim-RNN in the experiment registry (experiments/build_skim_rnn.py) and its configs."""

from __future__ import annotations

import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import np_lstm_step
from conftest import np_sigmoid
from experiments import build_skim_rnn
from experiments import registry
from experiments import run
from experiments import run_lib
from skipjax import cells
from skipjax import skim_rnn
from skipjax.data import files
from skipjax.train import optim
from skipjax.train import step as step_lib

CONFIG_DIR = pathlib.Path(run.__file__).parent / "configs"
# The configs of this integration: the Skim-LSTM runs and the plain-LSTM SST-2 baseline.
CONFIGS = sorted(CONFIG_DIR.glob("skim_*.py")) + [CONFIG_DIR / "lstm_sst2.py"]
SPEC = registry.DataSpec("classification", 2, 30, None, 7, 100)
D, H, S = 6, 8, 2  # tiny embed_dim, hidden_dim (d), small_dim (d')


def _load(path):
  spec = importlib.util.spec_from_file_location(path.stem, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _tiny(config):
  # A made-up vocabulary (SPEC) has no words to look pretrained vectors up with: random init.
  config.net.update(embed_dim=D, hidden_dim=H, pretrained_embedding=None)
  if config.model.startswith("skim_"):
    config.net.small_dim = S
  return config


def _batch():
  """Three real sentences and one padded entry (mask 0)."""
  rng = np.random.default_rng(0)
  return {"inputs": jnp.asarray(rng.integers(1, SPEC.vocab_size, (4, 7)), jnp.int32),
          "lengths": jnp.asarray([7, 3, 5, 2], jnp.int32),
          "labels": jnp.asarray([0, 1, 1, 0], jnp.int32),
          "mask": jnp.asarray([1, 1, 1, 0], jnp.float32)}


def _reference(params, batch, read):
  """NumPy float64 forward with every step read (big LSTM) or skimmed (small LSTM writing the
  first d' units of c and h, reading the whole h): per-example logits [B, C]."""
  emb = np.asarray(params.embedding, np.float64)
  big, small = params.rnn.big, params.rnn.small
  logits = []
  for ids, n in zip(np.asarray(batch["inputs"]), np.asarray(batch["lengths"])):
    c, h = np.zeros(H), np.zeros(H)
    for x in emb[ids[:n]]:
      if read:
        c, h = np_lstm_step(big.w_i, big.w_h, big.b, c, h, x)
      else:
        z = x @ np.asarray(small.w_i, np.float64) + h @ np.asarray(small.w_h) + small.b
        i, f, g, o = np_sigmoid(z[:S]), np_sigmoid(z[S:2 * S]), np.tanh(z[2 * S:3 * S]), z[3 * S:]
        c_s = f * c[:S] + i * g
        h_s = np_sigmoid(o) * np.tanh(c_s)
        c, h = np.concatenate([c_s, c[S:]]), np.concatenate([h_s, h[S:]])
    logits.append(h @ np.asarray(params.head.w, np.float64) + np.asarray(params.head.b))
  return np.stack(logits)


def _build_shapes(name, net, spec):
  """Builds a model under jax.eval_shape: the right structure and shapes, nothing compiled."""
  built = []

  def build(key):
    built.append(registry.MODELS[name](key, net, spec))
    return built[-1].params

  shapes = jax.eval_shape(build, jax.random.key(0))
  return built[0]._replace(params=shapes)


_COMPILED = {}


def _tiny_model_and_steps(config):
  """(model, jitted train step, jitted eval step) of a tiny config. Configs that differ only in
  their dataset (the two Skim-LSTM runs) build the same computation: it is compiled once."""
  key = (config.model, config.net.to_json(), config.optimizer.to_json())
  if key not in _COMPILED:
    model = registry.MODELS[config.model](jax.random.key(0), config.net, SPEC)
    optimizer = optim.make_optimizer(**config.optimizer.to_dict())
    _COMPILED[key] = (model, optimizer,
                      jax.jit(step_lib.make_train_step(model.loss_fn, optimizer)),
                      jax.jit(step_lib.make_eval_step(model.eval_loss_fn)))
  return _COMPILED[key]


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_validates_and_builds(path, tmp_path):
  config = _load(path)
  group = run_lib.RAW_FILE_GROUP[config.dataset]
  for alternatives in files.RAW_FILES[group].values():  # empty stand-ins for the raw files
    (tmp_path / alternatives[0].path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / alternatives[0].path).touch()
  config.data.data_dir = str(tmp_path)
  run.validate_config(config)
  model = _build_shapes(config.model, _tiny(config).net, SPEC)
  if config.model == "skim_lstm":
    assert "skim_gamma" in config.hparams
    assert skim_rnn.dims(model.params.rnn) == (D, H, S)
    flops = skim_rnn.step_flops(D, H, S)
    assert model.step_flops == flops["token"] + flops["read"]
  else:
    assert model.step_flops == cells.lstm_step_flops(D, H)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_one_train_and_eval_step(path):
  config = _tiny(_load(path))
  model, optimizer, train_step, eval_step = _tiny_model_and_steps(config)
  state = step_lib.init_train_state(model.params, optimizer, model.model_state,
                                    hparams=config.hparams.to_dict())
  new_state, metrics = train_step(state, _batch(), jax.random.key(1))
  assert int(new_state.step) == 1 and np.isfinite(float(metrics["loss"]))
  got = step_lib.finalize_metrics(eval_step(new_state, _batch(), jax.random.key(2)))
  assert got["count"] == 3.0 and 0.0 <= got["fraction_computed"] <= 1.0
  if config.model == "skim_lstm":
    assert float(metrics["tau"]) == 1.0  # exp(-1e-4 * 0)
    assert 0.0 <= float(metrics["skim_rate"]) <= 1.0
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), model.params.rnn.small,
                           new_state.params.rnn.small)
    assert any(jax.tree.leaves(changed))  # the mixture trains the small cell too
    assert got["skim_rate"] == pytest.approx(1.0 - got["fraction_computed"])


@jax.jit
def _eval_at(state, batch, threshold):
  """The eval step at a traced threshold: one compilation for every threshold."""
  eval_loss = build_skim_rnn.make_eval_loss(threshold)
  return step_lib.make_eval_step(eval_loss)(state, batch, jax.random.key(0))


@pytest.mark.parametrize("threshold,read", [(0.0, True), (1.0, False)])
def test_eval_step_hard_decisions_against_numpy(threshold, read):
  """Threshold 0 reads every token (a plain LSTM), 1 skims every token (the small cell only)."""
  config = _tiny(_load(CONFIG_DIR / "skim_lstm_rotten_tomatoes.py"))
  model, optimizer, _, _ = _tiny_model_and_steps(config)
  params, batch = model.params, _batch()
  state = step_lib.init_train_state(params, optimizer)
  got = step_lib.finalize_metrics(_eval_at(state, batch, threshold))

  logits = _reference(params, batch, read)[:3]  # the padded entry must not count
  labels, lengths = np.array([0, 1, 1]), np.array([7, 3, 5])
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  assert got["count"] == 3.0
  np.testing.assert_allclose(got["loss"], -logp[np.arange(3), labels].mean(), rtol=1e-4)
  assert got["accuracy"] == pytest.approx(np.mean(logits.argmax(-1) == labels))
  assert got["skim_rate"] == (0.0 if read else 1.0)
  assert got["fraction_computed"] == (1.0 if read else 0.0)
  assert got["tokens"] == pytest.approx(5.0)
  assert got["skimmed_tokens"] == pytest.approx(0.0 if read else 5.0)
  # FLOPs by hand: a token costs the decision + small input/recurrent matvecs (D+d)->(4d'+1),
  # plus the big LSTM step when read or the small cell's 8 d' element-wise ops when skimmed.
  token = 2 * (D + H) * (4 * S + 1) + 4 * S + 2
  lstm = cells.lstm_step_flops(D, H)
  assert got["flops"] == pytest.approx(5.0 * (token + (lstm if read else 8 * S)))
  assert got["dense_flops"] == pytest.approx(5.0 * lstm)
  summary = build_skim_rnn.split_summary(got)
  assert summary["token_skim_rate"] == (0.0 if read else 1.0)
  assert summary["flop_reduction"] == pytest.approx(lstm / (token + (lstm if read else 8 * S)))


def test_eval_loss_ignores_dropout():
  """The hard-decision evaluation loss never drops: the 'dropout' hparam changes nothing."""
  config = _tiny(_load(CONFIG_DIR / "skim_lstm_rotten_tomatoes.py"))
  model, optimizer, _, _ = _tiny_model_and_steps(config)
  eval_loss = build_skim_rnn.make_eval_loss(0.5)
  hp = {"skim_gamma": 0.01}
  plain = eval_loss(model.params, {}, _batch(), jax.random.key(0), hp)[1][1]
  dropped = eval_loss(model.params, {}, _batch(), jax.random.key(1), dict(hp, dropout=0.5))[1][1]
  for name in plain:
    assert float(dropped[name]) == float(plain[name]), name


def test_split_summary_is_a_ratio_of_sums():
  # Two sentences of 10 and 30 tokens, 5 and 27 skimmed: 32 / 40 tokens, not mean(0.5, 0.9).
  got = build_skim_rnn.split_summary({"tokens": 20.0, "skimmed_tokens": 16.0, "flops": 50.0,
                                      "dense_flops": 125.0})
  assert got == {"token_skim_rate": 0.8, "flop_reduction": 2.5}
  assert build_skim_rnn.split_summary({"accuracy": 1.0}) == {"token_skim_rate": None,
                                                             "flop_reduction": None}


@pytest.mark.parametrize("net,spec,match", [
    ({"hidden_dim": 4, "small_dim": 2, "cell": "gru"}, SPEC, "config.net.cell"),
    ({"hidden_dim": 4, "small_dim": 2, "eval_threshold": 1.5}, SPEC, "eval_threshold"),
    ({"hidden_dim": 4, "small_dim": 2, "hiden": 3}, SPEC, "config.net: .*hiden"),
    ({"hidden_dim": 4}, SPEC._replace(task="regression"), "needs a classification dataset"),
    ({"hidden_dim": 4, "embed_dim": 5}, SPEC._replace(vocab_size=None, input_dim=3),
     "embed_dim=5 differs"),
])
def test_bad_settings_name_the_field(net, spec, match):
  with pytest.raises(ValueError, match=match):
    _build_shapes("skim_lstm", net, spec)


def test_gru_core_and_float_inputs():
  spec = SPEC._replace(vocab_size=None, input_dim=3)
  model = _build_shapes("skim_gru", {"hidden_dim": 4, "small_dim": 1}, spec)
  assert model.params.embedding is None and isinstance(model.params.rnn.big, cells.GRUParams)
  assert skim_rnn.dims(model.params.rnn) == (3, 4, 1)


def test_tradeoff_plot(tmp_path):
  from experiments import skim_tradeoff  # pylint: disable=g-import-not-at-top
  record = {"model": "skim_lstm", "dataset": "rotten_tomatoes", "split": "test",
            "rows": [{"threshold": t, "flop_reduction": x, "accuracy": a}
                     for t, x, a in [(0.0, 0.9, 0.75), (0.5, 2.2, 0.74), (1.0, 9.8, 0.70)]]}
  png = skim_tradeoff.plot(record, tmp_path / "t.png", {"model": "lstm", "value": 0.73})
  assert png.stat().st_size > 0
