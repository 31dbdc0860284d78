"""The dynamic-skip models in the experiment registry (experiments/build_dynamic_skip.py) and
their number-prediction configs."""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments import build_dynamic_skip
from experiments import configs
from experiments import registry
from experiments import run
from skipjax import cells
from skipjax import dynamic_skip
from skipjax.train import optim
from skipjax.train import step as step_lib

CONFIG_DIR = pathlib.Path(run.__file__).parent / "configs"
# Every row of Gui et al.'s number-prediction table, and its paper figure (test accuracy).
PAPER = {"lstm_number_prediction_11": 0.704, "lstm_number_prediction_21": 0.264,
         "attention_skip_number_prediction_11": 0.725,
         "attention_skip_number_prediction_21": 0.269,
         "dynamic_skip_lam1_number_prediction_11": 0.805,
         "dynamic_skip_lam1_number_prediction_21": 0.777,
         "dynamic_skip_number_prediction_11": 0.905, "dynamic_skip_number_prediction_21": 0.885}
CONFIGS = (*PAPER, "fixed_skip3_number_prediction_11")
TOKEN_SPEC = registry.DataSpec("classification", 10, 12, None, 6, None)


def _config(name: str) -> ml_collections.ConfigDict:
  """The config of a table row, named as its experiment (gui_number_prediction.py:ARG)."""
  config = configs.load(configs.RENAMED[name])
  assert config.experiment == name
  return config


def _tiny(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  config.net.update(hidden_dim=8, embed_dim=4, pretrained_embedding=None)
  if config.model != "lstm":
    config.net.update(num_skips=3, agent_dim=4)
  config.data.update(batch_size=8, eval_batch_size=16, train_examples=24, dev_examples=16,
                     test_examples=16, length=6, pointer_range=3)
  return config


_STEPS = {}


def _build(config):
  """Data, model (through the registry), optimizer, initial TrainState, and the jitted train and
  eval steps: compiled once per loss function (the builder returns the same loss functions for
  equal architectures, so configs differing only in hparams share them)."""
  data = registry.DATASETS[config.dataset](config.data, config.seed)
  model = registry.MODELS[config.model](jax.random.key(0), config.net, data.spec)
  optimizer = optim.make_optimizer(**config.optimizer.to_dict())
  state = step_lib.init_train_state(model.params, optimizer, model.model_state,
                                    hparams=config.hparams.to_dict())
  cache_key = (model.loss_fn, model.eval_loss_fn, config.optimizer.to_json(sort_keys=True))
  if cache_key not in _STEPS:
    _STEPS[cache_key] = (jax.jit(step_lib.make_train_step(model.loss_fn, optimizer)),
                         jax.jit(step_lib.make_eval_step(model.eval_loss_fn)))
  return data, model, state, *_STEPS[cache_key]


@pytest.mark.parametrize("name", CONFIGS)
def test_config_trains_and_evaluates(name):
  config = _config(name)
  run.validate_config(config)
  assert config.paper_value == PAPER.get(name)
  assert (config.net.hidden_dim, config.data.batch_size) == (200, 100)  # the paper's setting
  assert config.optimizer.learning_rate == 1e-3
  if config.model != "lstm":
    assert config.net.num_skips == 10
    assert config.hparams.lam == (1.0 if "lam1" in name else 0.5)
  data, model, state, train_step, eval_step = _build(_tiny(config))
  assert float(state.hparams.get("lam", -1.0)) == config.hparams.get("lam", -1.0)
  new_state, metrics = train_step(state, next(data.train), jax.random.key(1))
  sums = eval_step(new_state, data.test[0], jax.random.key(2))
  assert int(new_state.step) == 1 and np.isfinite(float(metrics["loss"]))
  changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), model.params, new_state.params)
  assert all(jax.tree.leaves(changed))  # every parameter (agent included) got a gradient
  assert float(sums["count"]) == 16.0
  assert 0.0 <= float(sums["accuracy"]) <= 16.0
  assert float(sums["fraction_computed"]) == 16.0
  if config.model == "dynamic_skip":
    assert 1.0 <= float(metrics["mean_skip"]) <= 3.0


def test_eval_is_greedy_and_train_samples():
  config = _tiny(_config("dynamic_skip_number_prediction_11"))
  data, _, state, train_step, eval_step = _build(config)
  batch = next(data.train)
  e1, e2 = (eval_step(state, data.test[0], jax.random.key(k)) for k in (3, 4))
  assert float(e1["mean_skip"]) == float(e2["mean_skip"]) and float(e1["nll"]) == float(e2["nll"])
  assert float(e1["loss"]) == float(e1["nll"])  # task loss only at test time
  skips = {float(train_step(state, batch, jax.random.key(k))[1]["mean_skip"]) for k in range(4)}
  assert len(skips) > 1  # sampled choices differ between keys


def test_builder_returns_the_model_state():
  """An EMA reward baseline lives in model_state (the train step threads it: test_train_step.py;
  its update: test_dynamic_skip.py). Traced abstractly: no compilation."""
  def model_state(reward_baseline):
    net = ml_collections.ConfigDict(dict(hidden_dim=4, embed_dim=3,
                                         reward_baseline=reward_baseline))
    return jax.eval_shape(
        lambda k: registry.MODELS["dynamic_skip"](k, net, TOKEN_SPEC).model_state,
        jax.random.key(0))

  state = model_state("ema")
  assert list(state) == ["reward_baseline"] and state["reward_baseline"].value.shape == ()
  assert model_state("batch") == {}


def _params_shape(name, net, spec):
  """The builder's parameter shapes, traced abstractly (no compilation)."""
  net = ml_collections.ConfigDict(net)
  return jax.eval_shape(lambda k: registry.MODELS[name](k, net, spec).params, jax.random.key(0))


def _flops(net, spec, cell):
  config = build_dynamic_skip.model_config(ml_collections.ConfigDict(net), spec, cell=cell)
  return build_dynamic_skip.step_flops(config)


def test_builders_pick_the_cell_and_count_flops():
  net = dict(hidden_dim=4, embed_dim=3, num_skips=2, agent_dim=5)
  for name, layer_type in (("dynamic_skip", dynamic_skip.DynamicSkipParams),
                           ("attention_skip_lstm", dynamic_skip.AttentiveSkipParams),
                           ("fixed_skip_lstm", cells.LSTMParams)):
    params = _params_shape(name, net, TOKEN_SPEC)
    assert isinstance(params["forward"][0], layer_type)
    assert params["embed"].shape == (12, 3) and params["out"].w.shape == (4, 10)
  # D=3, H=4, A=5, K=2. LSTM: 2*(3+4)*16 + 16 + 32 = 272; mixing 6H = 24;
  # agent 2*(3+4)*5 + 2*5*2 = 90; attention 2*(3+4)*5 + 2*(2*4*5 + 2*5) + 4*2*4 = 202.
  assert _flops(net, TOKEN_SPEC, "dynamic") == 272 + 24 + 90
  assert _flops(net, TOKEN_SPEC, "attention") == 272 + 24 + 202
  assert _flops(net, TOKEN_SPEC, "fixed") == 272 + 24
  float_spec = registry.DataSpec("classification", 2, None, 3, 6, None)
  bidir = dict(hidden_dim=4, num_skips=2, agent_dim=5, bidirectional=True)
  params = _params_shape("dynamic_skip", bidir, float_spec)
  assert "embed" not in params and params["out"].w.shape == (8, 2)
  assert _flops(bidir, float_spec, "dynamic") == 2 * (272 + 24 + 90)


@pytest.mark.parametrize("net,spec,match", [
    (dict(hidden_dim=4, embed_dim=3, num_skip=2), TOKEN_SPEC, r"config.net: .*num_skip"),
    (dict(hidden_dim=4), TOKEN_SPEC, r"config.net.embed_dim is required"),
    (dict(hidden_dim=0, embed_dim=3), TOKEN_SPEC, r"config.net: hidden_dim"),
    (dict(hidden_dim=4, embed_dim=3, cell="lstm"), TOKEN_SPEC, r"config.net.cell"),
    (dict(hidden_dim=4, embed_dim=3, carry_state=True), TOKEN_SPEC, r"config.net.carry_state"),
    (dict(hidden_dim=4), registry.DataSpec("regression", 1, None, 2, 6, None),
     r"task 'regression' is not supported"),
    (dict(hidden_dim=4, embed_dim=3), registry.DataSpec("classification", 2, None, 2, 6, None),
     r"config.net.embed_dim: the dataset's inputs are float features"),
])
def test_bad_settings_name_the_field(net, spec, match):
  with pytest.raises(ValueError, match=match):
    build_dynamic_skip.build_dynamic_skip(jax.random.key(0), ml_collections.ConfigDict(net),
                                          spec)
