"""The bag-of-words baseline: pooling over real tokens only, a loss that learns, registry use."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from experiments import registry
from skipjax import bag_of_words


def test_features_average_only_the_real_tokens():
  params = bag_of_words.init(jax.random.key(0), vocab_size=7, embed_dim=3, num_classes=2)
  ids = jnp.array([[1, 2, 3, 6], [4, 5, 0, 0], [2, 2, 2, 2]])
  lengths = jnp.array([4, 2, 0])
  got = np.asarray(bag_of_words.features(params, ids, lengths))
  table = np.asarray(params.embedding, np.float64)
  np.testing.assert_allclose(got[0], table[[1, 2, 3, 6]].mean(0), rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(got[1], table[[4, 5]].mean(0), rtol=1e-5, atol=1e-7)
  np.testing.assert_array_equal(got[2], 0.0)      # empty text: zeros, not NaN
  # Whatever sits in the padding does not matter.
  padded = ids.at[1, 2:].set(jnp.array([6, 3]))
  np.testing.assert_array_equal(bag_of_words.features(params, padded, lengths), got)


def test_bad_lengths_are_named():
  params = bag_of_words.init(jax.random.key(0), vocab_size=5, embed_dim=2, num_classes=2)
  with pytest.raises(ValueError, match="lengths"):
    bag_of_words.features(params, jnp.zeros((2, 3), jnp.int32), jnp.array([1, 4]))


@pytest.mark.parametrize("hidden_dim", [0, 8])
def test_loss_learns_a_keyword_task(hidden_dim):
  # Label 1 iff token 3 occurs: a bag of words can learn it exactly.
  rng = np.random.default_rng(0)
  ids = rng.integers(4, 10, size=(64, 6))
  labels = rng.integers(0, 2, size=64)
  ids[labels == 1, rng.integers(0, 6, size=int(labels.sum()))] = 3
  batch = {"inputs": jnp.asarray(ids), "lengths": jnp.full((64,), 6), "labels": jnp.asarray(labels)}
  params = bag_of_words.init(jax.random.key(1), vocab_size=10, embed_dim=8, num_classes=2,
                             hidden_dim=hidden_dim)
  loss_fn = bag_of_words.make_loss_fn(train=True)
  opt = optax.adam(0.05)
  opt_state = opt.init(params)

  @jax.jit
  def step(params, opt_state):
    (loss, (_, metrics)), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, {}, batch, jax.random.key(2), {"dropout": 0.1})
    updates, opt_state = opt.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, metrics

  first = None
  for _ in range(150):
    params, opt_state, metrics = step(params, opt_state)
    first = first if first is not None else float(metrics["loss"])
  _, (_, metrics) = bag_of_words.make_loss_fn(train=False)(params, {}, batch, None, {})
  assert float(metrics["loss"]) < 0.5 * first
  assert float(metrics["accuracy"]) == 1.0


def test_registry_builds_it_and_rejects_unknown_fields():
  spec = registry.DataSpec(task="classification", num_classes=2, vocab_size=11, input_dim=None,
                           max_len=5, num_train=10)
  model = registry.MODELS["bag_of_words"](jax.random.key(0), {"embed_dim": 4}, spec)
  assert model.params.embedding.shape == (11, 4) and model.params.hidden is None
  with pytest.raises(ValueError, match="config.net"):
    registry.MODELS["bag_of_words"](jax.random.key(0), {"embed_dim": 4, "hiden_dim": 3}, spec)
  with pytest.raises(ValueError, match="bag_of_words"):
    registry.MODELS["bag_of_words"](jax.random.key(0), {"embed_dim": 4},
                                    spec._replace(task="sequence"))
