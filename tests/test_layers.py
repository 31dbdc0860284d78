"""Tests of skipjax.layers.dropout, the dropout every model's training loss shares."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import layers

X = jnp.asarray(np.random.default_rng(0).normal(size=(64, 50)).astype(np.float32))


def test_dropout_off_leaves_x_unchanged():
  key = jax.random.key(0)
  assert layers.dropout(key, X, None) is X
  assert layers.dropout(key, X, 0.5, train=False) is X
  assert layers.dropout(None, X, 0.5, train=False) is X  # evaluation needs no key
  np.testing.assert_array_equal(layers.dropout(key, X, 0.0), X)  # rate 0: every entry kept


def test_dropout_zeroes_at_the_rate_and_rescales_the_rest():
  y = np.asarray(layers.dropout(jax.random.key(1), X, 0.25))
  dropped = y == 0.0
  # 3,200 Bernoulli(0.25) draws: the fraction dropped is within 4 standard deviations (0.03).
  assert abs(dropped.mean() - 0.25) < 0.03
  np.testing.assert_allclose(y[~dropped], np.asarray(X)[~dropped] / 0.75, rtol=1e-6)


def test_dropout_is_deterministic_per_key_and_takes_a_traced_rate():
  a = layers.dropout(jax.random.key(2), X, 0.5)
  np.testing.assert_array_equal(a, layers.dropout(jax.random.key(2), X, 0.5))
  assert not np.array_equal(a, layers.dropout(jax.random.key(3), X, 0.5))
  jitted = jax.jit(lambda k, r: layers.dropout(k, X, r))  # the rate as an array (a sweep)
  np.testing.assert_array_equal(jitted(jax.random.key(2), jnp.float32(0.5)), a)


def test_dropout_keeps_the_dtype():
  y = layers.dropout(jax.random.key(0), X.astype(jnp.bfloat16), 0.5)
  assert y.dtype == jnp.bfloat16


@pytest.mark.parametrize("rate", [1.0, -0.1, 1.5])
def test_dropout_bad_rate_named(rate):
  with pytest.raises(ValueError, match=r"dropout rate must lie in \[0, 1\)"):
    layers.dropout(jax.random.key(0), X, rate)


def test_dropout_needs_a_key_and_a_scalar_rate():
  with pytest.raises(ValueError, match="needs a PRNG key"):
    layers.dropout(None, X, 0.5)
  with pytest.raises(ValueError, match="must be a scalar"):
    layers.dropout(jax.random.key(0), X, jnp.array([0.1, 0.2]))
