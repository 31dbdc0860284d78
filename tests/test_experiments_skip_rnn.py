"""Skip RNN in the experiment registry (experiments/build_skip_rnn.py) and its configs."""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import np_lstm_step
from conftest import np_sigmoid
from experiments import build_skip_rnn
from experiments import registry
from experiments import run
from skipjax import skip_rnn
from skipjax.train import optim
from skipjax.train import step as step_lib

CONFIG_DIR = pathlib.Path(run.__file__).parent / "configs"
SKIP_CONFIGS = sorted([*CONFIG_DIR.glob("skip_*.py"), *CONFIG_DIR.glob("random_skip_*.py"),
                       CONFIG_DIR / "gru_adding.py"])
ADDING = registry.DataSpec("regression", 1, None, 2, 6, None)
H = 5


def _load(path):
  spec = importlib.util.spec_from_file_location(path.stem, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _tiny_data(config):
  """A tiny batch for the config's dataset and its DataSpec (real datasets: made-up batches of
  the loader's shapes, so that nothing is read from disk)."""
  rng = np.random.default_rng(0)
  if config.dataset in registry.SYNTHETIC:
    config.data.update(batch_size=4, eval_batch_size=4, dev_examples=4, test_examples=4,
                       length=10)
    data = registry.DATASETS[config.dataset](config.data, 0)
    return data.spec, next(data.train), data.dev[0]
  if config.dataset == "mnist":
    spec = registry.DataSpec("classification", 10, None, 1, 12, 100)
    inputs = jnp.asarray(rng.uniform(size=(4, 12, 1)), jnp.float32)
  else:
    spec = registry.DataSpec("classification", 2, 20, None, 12, 100)
    inputs = jnp.asarray(rng.integers(1, 20, (4, 12)), jnp.int32)
  batch = {"inputs": inputs, "lengths": jnp.asarray([12, 7, 3, 12], jnp.int32),
           "labels": jnp.asarray(rng.integers(0, spec.num_classes, 4), jnp.int32),
           "mask": jnp.asarray([1, 1, 1, 0], jnp.float32)}
  return spec, batch, batch


def test_configs_document_their_command_and_use_the_paper_settings():
  assert len(SKIP_CONFIGS) >= 8   # one file per model and task; lambdas are arguments
  for path in SKIP_CONFIGS:  # at their default argument (the lambda, where they take one)
    config = _load(path)
    run.validate_config(config)
    assert f"--config experiments/configs/{path.name}" in path.read_text(), path
    if path.stem.startswith("skip_"):  # FILE.py:LAMBDA
      assert config.experiment.startswith(path.stem + "_lam"), path  # named after its lambda
    else:
      assert config.experiment == path.stem
    if config.dataset == "imdb":  # the shared IMDB protocol of experiments.configs (ours)
      assert config.optimizer.learning_rate == 1e-3 and config.data.batch_size == 64, path
    else:
      assert config.optimizer.learning_rate == 1e-4 and config.data.batch_size == 256, path
    assert config.optimizer.clip_norm == 1.0, path
    if config.model.startswith("skip_"):
      lam = config.experiment.rsplit("_lam", 1)[1]
      assert config.hparams.budget_lambda == {"0": 0.0, "1e5": 1e-5, "1e4": 1e-4}[lam], path


# Configs whose train and eval steps are compiled and run (float and token inputs); the
# others are traced only (jax.eval_shape: the same code and checks, no compilation).
EXECUTED = ("skip_lstm_adding", "skip_lstm_imdb")


@pytest.mark.parametrize("path", SKIP_CONFIGS, ids=lambda p: p.stem)
def test_config_builds_and_takes_a_train_and_an_eval_step(path):
  config = _load(path)
  config.net.hidden_dim = 4
  if "embed_dim" in config.net:
    config.net.embed_dim = 3
  config.net.pretrained_embedding = None  # made-up vocabularies: no words to look vectors up
  spec, train_batch, eval_batch = _tiny_data(config)
  built = []

  def build_and_step(init_key, key):
    built.append(registry.MODELS[config.model](init_key, config.net, spec))
    model = built[-1]
    optimizer = optim.make_optimizer(**config.optimizer.to_dict())
    state = step_lib.init_train_state(model.params, optimizer, model.model_state,
                                      hparams=config.hparams.to_dict())
    new_state, metrics = step_lib.make_train_step(model.loss_fn, optimizer)(state, train_batch,
                                                                           key)
    return new_state.step, metrics, step_lib.make_eval_step(model.eval_loss_fn)(
        new_state, eval_batch, key)

  keys = (jax.random.key(0), jax.random.key(1))
  if path.stem in EXECUTED:
    step, metrics, sums = jax.jit(build_and_step)(*keys)
  else:
    step, metrics, sums = jax.eval_shape(build_and_step, *keys)
  task_metric = "mse" if spec.task == "regression" else "accuracy"
  assert task_metric in metrics and task_metric in sums and "loss" in sums
  skips = config.model != "gru"
  assert skips == ("fraction_computed" in sums and "updates" in sums)
  if skips:
    assert built[-1].step_flops > 0
  if path.stem not in EXECUTED:
    return
  assert int(step) == 1
  evaluated = step_lib.finalize_metrics(sums)
  assert np.isfinite(float(metrics["loss"])) and np.isfinite(evaluated["loss"])
  assert evaluated["count"] == float(np.sum(eval_batch.get("mask", np.ones(4))))
  assert 0.0 < evaluated["fraction_computed"] <= 1.0
  assert evaluated["updates"] >= 1.0  # the first step always updates


def _np_skip_lstm(params, inputs, lengths, always_update=False):
  """Float64 NumPy Skip LSTM (one layer) with the rounded gate: (outputs [B], updates [B])."""
  core, gate, s0 = params.rnn.cores[0], params.rnn.gate, params.rnn.initial_state[0]
  w_p, b_p = np.asarray(gate.w, np.float64)[:, 0], float(gate.b[0])
  outputs, updates = [], []
  for x, n in zip(np.asarray(inputs, np.float64), np.asarray(lengths)):
    c, h, u_cum, count = np.asarray(s0.c, np.float64), np.asarray(s0.h, np.float64), 1.0, 0
    for t in range(n):
      u = always_update or u_cum >= 0.5
      if u:
        c, h = np_lstm_step(core.w_i, core.w_h, core.b, c, h, x[t])
        count += 1
      du = np_sigmoid(c @ w_p + b_p)
      u_cum = du if u else u_cum + min(du, 1.0 - u_cum)
    outputs.append(h @ np.asarray(params.head.w, np.float64)[:, 0] + float(params.head.b[0]))
    updates.append(count)
  return np.asarray(outputs), np.asarray(updates, np.float64)


def _adding_batch():
  rng = np.random.default_rng(1)
  return {"inputs": jnp.asarray(rng.uniform(-1, 1, (3, 6, 2)), jnp.float32),
          "lengths": jnp.asarray([6, 4, 1], jnp.int32),
          "labels": jnp.asarray(rng.uniform(-1, 1, 3), jnp.float32)}


def _skipping_params(model):
  """Non-zero learned initial state and a gate bias of -0.3, so that the model skips."""
  rnn = model.params.rnn
  s0 = rnn.initial_state[0]
  s0 = type(s0)(c=jnp.linspace(-0.5, 0.5, H), h=jnp.linspace(0.3, -0.3, H))
  rnn = rnn._replace(initial_state=(s0,), gate=rnn.gate._replace(b=jnp.full((1,), -0.3)))
  return model.params._replace(rnn=rnn)


def test_skip_lstm_eval_loss_matches_numpy():
  model = registry.MODELS["skip_lstm"](jax.random.key(3), {"hidden_dim": H}, ADDING)
  params = _skipping_params(model)
  batch = _adding_batch()
  outputs, updates = _np_skip_lstm(params, batch["inputs"], batch["lengths"])
  assert 0 < updates[0] < 6  # the reference skips somewhere
  lam = 0.01
  loss, (_, metrics) = jax.jit(model.eval_loss_fn)(params, {}, batch, jax.random.key(0),
                                                   {"budget_lambda": jnp.float32(lam)})
  mse = np.mean((outputs - np.asarray(batch["labels"], np.float64)) ** 2)
  np.testing.assert_allclose(metrics["mse"], mse, rtol=1e-5)
  np.testing.assert_allclose(metrics["updates"], updates.mean(), rtol=1e-6)
  np.testing.assert_allclose(metrics["fraction_computed"], np.mean(updates / [6, 4, 1]),
                             rtol=1e-6)
  np.testing.assert_allclose(loss, mse + lam * updates.mean(), rtol=1e-5)


def test_random_skip_with_update_prob_one_is_the_plain_lstm():
  model = registry.MODELS["random_skip_lstm"](
      jax.random.key(3), {"hidden_dim": H, "random_update_prob": 1.0}, ADDING)
  params = _skipping_params(model)
  batch = _adding_batch()
  outputs, _ = _np_skip_lstm(params, batch["inputs"], batch["lengths"], always_update=True)
  _, (_, metrics) = jax.jit(model.eval_loss_fn)(params, {}, batch, jax.random.key(0), {})
  np.testing.assert_allclose(
      metrics["mse"], np.mean((outputs - np.asarray(batch["labels"], np.float64)) ** 2),
      rtol=1e-5)
  assert float(metrics["fraction_computed"]) == 1.0 and np.isclose(float(metrics["updates"]), 11 / 3)


def test_gru_name_picks_the_gru_cell_and_token_inputs_get_an_embedding():
  spec = registry.DataSpec("classification", 3, 11, None, 5, None)
  params = jax.eval_shape(lambda k: registry.MODELS["skip_gru"](
      k, {"hidden_dim": 4, "embed_dim": 2}, spec).params, jax.random.key(0))
  assert params.embedding.shape == (11, 2)
  assert type(params.rnn.cores[0]).__name__ == "GRUParams"
  assert params.head.w.shape == (4, 3)


@pytest.mark.parametrize("net, spec, match", [
    ({"hidden_dim": 4, "cell": "gru"}, ADDING, "config.net.cell"),
    ({"hidden_dim": 4, "skip": "none"}, ADDING, "config.net.skip"),
    ({"hidden_dim": 4, "hiden_dim": 3}, ADDING, "config.net.*hiden_dim"),
    ({"hidden_dim": 0}, ADDING, "config.net.*hidden_dim"),
    ({"hidden_dim": 4, "embed_dim": 8}, ADDING, "config.net.embed_dim"),
    ({"hidden_dim": 4}, registry.DataSpec("sequence", 5, 9, None, 4, None), "sequence"),
])
def test_bad_settings_name_the_field(net, spec, match):
  with pytest.raises(ValueError, match=match):
    build_skip_rnn.make_config(net, spec, cell="lstm", skip="learned")


def test_registry_names():
  for name in ("skip_lstm", "skip_gru", "random_skip_lstm", "random_skip_gru"):
    assert name in registry.MODELS
  config = build_skip_rnn.make_config({"hidden_dim": 4}, ADDING, cell="gru", skip="random")
  assert config == skip_rnn.SkipRNNConfig(cell="gru", hidden_dim=4, input_dim=2, num_outputs=1,
                                          task="regression", skip="random")


def test_training_settings_are_a_loss_config_apart_from_the_architecture():
  """config.net's binarize / dropout become `skip_rnn.LossConfig`, not SkipRNNConfig fields
  (issue 15 item 3); a bad value names config.net."""
  net = {"hidden_dim": 4, "binarize": "bernoulli", "dropout": 0.25}
  config = build_skip_rnn.make_config(net, ADDING, cell="lstm", skip="learned")
  assert config == skip_rnn.SkipRNNConfig(hidden_dim=4, input_dim=2, num_outputs=1,
                                          task="regression")
  assert build_skip_rnn.make_loss_config(net) == skip_rnn.LossConfig(binarize="bernoulli",
                                                                     dropout=0.25)
  assert not {f.name for f in dataclasses.fields(skip_rnn.SkipRNNConfig)} & {
      f.name for f in dataclasses.fields(skip_rnn.LossConfig)}
  with pytest.raises(ValueError, match="config.net: binarize must be one of"):
    build_skip_rnn.make_loss_config({"binarize": "sample"})
  assert build_skip_rnn.make_loss_config({"regression_loss": "half_mse"}) == skip_rnn.LossConfig(
      regression_loss="half_mse")
  # Bernoulli binarisation samples the gate in training (the key matters), rounds in evaluation.
  batch = {"inputs": np.random.default_rng(0).normal(size=(8, 6, 2)).astype(np.float32),
           "lengths": np.full(8, 6, np.int32), "labels": np.zeros(8, np.float32)}
  hp = {"budget_lambda": 0.0}

  def losses(binarize):  # no dropout: only the gate can use the key
    model = registry.MODELS["skip_lstm"](jax.random.key(0), {"hidden_dim": 4,
                                                              "binarize": binarize}, ADDING)
    return ([float(model.loss_fn(model.params, {}, batch, jax.random.key(k), hp)[0])
             for k in (1, 2)],
            [float(model.eval_loss_fn(model.params, {}, batch, jax.random.key(k), hp)[0])
             for k in (1, 2)])

  (round_train, round_eval), (sampled_train, sampled_eval) = losses("round"), losses("bernoulli")
  assert round_train[0] == round_train[1] == round_eval[0]
  assert sampled_train[0] != sampled_train[1]
  assert sampled_eval[0] == sampled_eval[1] == round_eval[0]
