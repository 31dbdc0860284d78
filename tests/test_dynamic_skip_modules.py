"""The dynamic-skip package's Flax modules (each equal to its pure function) and its split of the
architecture (`ModelConfig`) from the training settings (`LossConfig`)."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments import registry
from skipjax import dynamic_skip as ds

D, H, K, A = 3, 4, 3, 5


def _xs(b=2, t=6):
  return jax.random.normal(jax.random.key(1), (b, t, D))


LENGTHS = jnp.array([6, 4])


def _assert_trees_equal(a, b):
  jax.tree.map(lambda x, y: np.testing.assert_array_equal(np.asarray(x), np.asarray(y)), a, b)


def test_dynamic_skip_module_equals_the_layer_in_every_mode():
  module = ds.DynamicSkipLSTM(features=H, num_skips=K, agent_features=A)
  xs = _xs()
  variables = module.init(jax.random.key(0), xs, LENGTHS, lam=0.5)
  params = variables["params"]["dynamic_skip"]
  assert isinstance(params, ds.DynamicSkipParams)
  assert params.agent.w_out.shape == (A, K) and params.lstm.w_h.shape[0] == H
  key = jax.random.key(7)
  forced = jnp.ones((2, 6), jnp.int32) * 2
  for kwargs, mode in ((dict(), "greedy"), (dict(key=key), "sample"),
                       (dict(forced_skips=forced), "forced")):
    got = module.apply(variables, xs, LENGTHS, lam=0.5, **kwargs)
    want = ds.dynamic_skip_layer(params, xs, LENGTHS, kwargs.get("key"), lam=0.5, mode=mode,
                                 forced_skips=kwargs.get("forced_skips"))
    _assert_trees_equal(got, want)
  # The key does change the sampled choices (the sample mode is not greedy in disguise).
  sampled = module.apply(variables, xs, LENGTHS, lam=0.5, key=key)[1].skip_choice
  greedy = module.apply(variables, xs, LENGTHS, lam=0.5)[1].skip_choice
  many = [module.apply(variables, xs, LENGTHS, lam=0.5, key=jax.random.key(s))[1].skip_choice
          for s in range(5)]
  assert any(not np.array_equal(m, greedy) for m in [sampled] + many)


def test_baseline_modules_equal_their_layers():
  xs = _xs()
  fixed = ds.FixedSkipLSTM(features=H, skip=2)
  variables = fixed.init(jax.random.key(0), xs, LENGTHS, lam=0.5)
  _assert_trees_equal(fixed.apply(variables, xs, LENGTHS, lam=0.5),
                      ds.fixed_skip_layer(variables["params"]["lstm"], xs, LENGTHS, skip=2,
                                          lam=0.5))
  attention = ds.AttentionSkipLSTM(features=H, num_skips=K, attention_features=A)
  variables = attention.init(jax.random.key(0), xs, LENGTHS, lam=0.5)
  params = variables["params"]["attention_skip"]
  assert isinstance(params, ds.AttentiveSkipParams)
  _assert_trees_equal(attention.apply(variables, xs, LENGTHS, lam=0.5, reverse=True),
                      ds.attention_skip_layer(params, xs, LENGTHS, num_skips=K, lam=0.5,
                                              reverse=True))


def test_modules_reject_bad_inputs():
  with pytest.raises(ValueError, match="xs"):
    ds.DynamicSkipLSTM(features=H).init(jax.random.key(0), jnp.zeros((6, D)), lam=0.5)
  with pytest.raises(ValueError, match="features"):
    ds.FixedSkipLSTM(features=0).init(jax.random.key(0), _xs(), lam=0.5)


def test_loss_config_is_apart_from_the_architecture():
  fields = {f for f in ds.ModelConfig.__dataclass_fields__}
  assert not fields & {"reward_baseline", "ema_decay", "carry_state"}
  with pytest.raises(ValueError, match="reward_baseline must be one of"):
    ds.LossConfig(reward_baseline="mean")
  with pytest.raises(ValueError, match="ema_decay"):
    ds.LossConfig(ema_decay=1.5)
  config = ds.ModelConfig(num_outputs=3, input_dim=D, hidden_dim=H, bidirectional=True)
  with pytest.raises(ValueError, match="carry_state needs a unidirectional model"):
    ds.make_loss_fn(config, "language_model", ds.LossConfig(carry_state=True))
  with pytest.raises(TypeError, match="loss_config must be a LossConfig"):
    ds.make_loss_fn(config, "tagging", {"reward_baseline": "ema"})
  with pytest.raises(ValueError, match="task must be one of"):
    ds.init_model_state(config, "translation")
  assert ds.init_model_state(config, "classification", loss_config=ds.LossConfig(
      reward_baseline="ema"))["reward_baseline"].value.shape == ()


def test_builder_reads_the_loss_fields_of_config_net():
  spec = registry.DataSpec(task="language_model", num_classes=7, vocab_size=7, input_dim=None,
                           max_len=5, num_train=100, batch_size=2)
  net = ml_collections.ConfigDict(dict(hidden_dim=4, embed_dim=3, bidirectional=True))
  with pytest.raises(ValueError, match="config.net.carry_state needs a unidirectional model"):
    registry.MODELS["dynamic_skip"](jax.random.key(0), net, spec)
  net = ml_collections.ConfigDict(dict(hidden_dim=4, embed_dim=3, ema_decay=2.0))
  with pytest.raises(ValueError, match="config.net: ema_decay"):
    registry.MODELS["dynamic_skip"](jax.random.key(0), net, spec)
