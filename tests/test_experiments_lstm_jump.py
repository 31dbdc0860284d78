"""LSTM-Jump in the experiment registry: its configs build, train one step and evaluate greedily."""

from __future__ import annotations

import importlib.util
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments import registry
from experiments import run
from skipjax import cells
from skipjax import layers
from skipjax.train import step as step_lib

CONFIG_DIR = pathlib.Path(run.__file__).parent / "configs"


def _config(name):
  spec = importlib.util.spec_from_file_location(name, CONFIG_DIR / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _tiny_net(config, **overrides):
  # A made-up vocabulary has no words to look pretrained vectors up with: random init.
  config.net.update(embed_dim=4, hidden_dim=8, num_samples=1, pretrained_embedding=None,
                    **overrides)
  return config.net


def _forced_jump(params, kappa):
  """Parameters whose jump head always prefers kappa (zero weights, a one-hot bias)."""
  k1 = params.jump.w.shape[-1]
  jump = layers.DenseParams(w=jnp.zeros_like(params.jump.w),
                            b=50.0 * jax.nn.one_hot(kappa, k1, dtype=params.jump.b.dtype))
  return params._replace(jump=jump)


def _train_and_eval(model, batch, hparams):
  optimizer = optax.adam(1e-2)
  state = step_lib.init_train_state(model.params, optimizer, model.model_state, hparams=hparams)
  train_step = jax.jit(step_lib.make_train_step(model.loss_fn, optimizer))
  new_state, train_metrics = train_step(state, batch, jax.random.key(1))
  eval_step = jax.jit(step_lib.make_eval_step(model.eval_loss_fn))
  eval_a = step_lib.finalize_metrics(eval_step(new_state, batch, jax.random.key(2)))
  eval_b = step_lib.finalize_metrics(eval_step(new_state, batch, jax.random.key(3)))
  return state, new_state, train_metrics, eval_a, eval_b


def test_number_prediction_config_trains_and_evaluates_greedily():
  config = _config("lstm_jump_number_prediction")
  config.data.update(batch_size=8, eval_batch_size=8, train_examples=16, dev_examples=8,
                     test_examples=8, length=6)
  net = _tiny_net(config, max_jump=5)
  run.validate_config(config)
  data = registry.DATASETS[config.dataset](config.data, config.seed)
  assert data.spec.num_classes == 10 and data.spec.max_len == 6
  model = registry.MODELS[config.model](jax.random.key(0), net, data.spec)
  assert model.step_flops == cells.lstm_step_flops(4, 8)
  # Jump head fixed on kappa = 3: R=1, N=1 (the training values: no eval_* given) reads x_0 then
  # x_3, 2 of 6 tokens.
  model = model._replace(params=_forced_jump(model.params, 3))
  batch = next(data.train)
  state, new_state, train, eval_a, eval_b = _train_and_eval(model, batch,
                                                            config.hparams.to_dict())
  assert np.isfinite(float(train["loss"]))
  assert float(train["fraction_computed"]) == pytest.approx(2 / 6)
  changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), state.params.lstm,
                         new_state.params.lstm)
  assert all(jax.tree.leaves(changed))
  assert float(eval_a["fraction_computed"]) == pytest.approx(2 / 6)
  assert float(eval_a["num_jumps"]) == 1.0
  for name in ("accuracy", "loss", "fraction_computed"):  # greedy: the key does not matter
    assert float(eval_a[name]) == float(eval_b[name])


def test_rotten_tomatoes_config_with_test_time_read_size():
  config = _config("lstm_jump_rotten_tomatoes")
  assert (config.net.read_size, config.net.max_jump, config.net.num_jumps) == (3, 6, 5)
  # R=2, N=1 at test: read x_0 x_1, jump kappa=3 to x_4, read x_4 x_5, stop: 4 of 6 tokens
  # (and 2 of 2 for a length-2 sentence: it ends before a decision).
  net = _tiny_net(config, eval_read_size=2, eval_num_jumps=1)
  spec = registry.DataSpec(task="classification", num_classes=2, vocab_size=11, input_dim=None,
                           max_len=8, num_train=None)
  model = registry.MODELS[config.model](jax.random.key(0), net, spec)
  model = model._replace(params=_forced_jump(model.params, 3))
  batch = {"inputs": jnp.asarray(np.arange(16).reshape(2, 8) % 11, jnp.int32),
           "lengths": jnp.asarray([6, 2], jnp.int32), "labels": jnp.asarray([0, 1], jnp.int32),
           "mask": jnp.ones((2,), jnp.float32)}
  _, _, train, eval_a, eval_b = _train_and_eval(model, batch, config.hparams.to_dict())
  # Training uses R=3, N=5: x_0..x_2, jump to x_5 (kappa 3), read x_5 (end): 4 of 6; 2 of 2.
  assert float(train["fraction_computed"]) == pytest.approx((4 / 6 + 1) / 2)
  assert float(eval_a["fraction_computed"]) == pytest.approx((4 / 6 + 1) / 2)
  assert float(eval_a["num_jumps"]) == pytest.approx(0.5)
  assert float(eval_a["accuracy"]) == float(eval_b["accuracy"])


@pytest.mark.parametrize("change,match", [
    (lambda net: net.update(read_size=None), r"config.net.read_size is required"),
    (lambda net: net.__setitem__("hidden_dmi", 8), r"config.net: .*hidden_dmi"),
    (lambda net: net.update(num_jumps=-1), r"config.net.num_jumps must be a non-negative integer"),
    (lambda net: net.update(eval_read_size=0), r"config.net.eval_read_size must be a positive "),
])
def test_bad_net_settings_are_named(change, match):
  config = _config("lstm_jump_rotten_tomatoes")
  net = _tiny_net(config)
  net.unlock()
  change(net)
  spec = registry.DataSpec(task="classification", num_classes=2, vocab_size=11, input_dim=None,
                           max_len=8, num_train=None)
  with pytest.raises(ValueError, match=match):
    registry.MODELS["lstm_jump"](jax.random.key(0), net, spec)


def test_regression_dataset_is_rejected():
  config = _config("lstm_jump_number_prediction")
  spec = registry.DataSpec(task="regression", num_classes=1, vocab_size=None, input_dim=2,
                           max_len=8, num_train=None)
  with pytest.raises(ValueError, match="needs a classification dataset"):
    registry.MODELS["lstm_jump"](jax.random.key(0), _tiny_net(config), spec)
