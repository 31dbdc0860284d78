"""Tests of skipjax.fused_lstm through `recurrence.lstm_layer(..., backward="fused")`: the same
forward values and gradients as reverse-mode autodiff of the scan, padding invariance, and the
errors for what it does not support."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import cells
from skipjax import recurrence

B, T, D, H = 3, 7, 5, 4
LENGTHS = np.array([7, 3, 0], np.int32)


def _inputs(seed=0):
  rng = np.random.default_rng(seed)
  params = cells.lstm_init(jax.random.PRNGKey(seed), D, H)
  xs = rng.normal(size=(B, T, D)).astype(np.float32)
  init = cells.LSTMState(c=jnp.asarray(rng.normal(size=(B, H)), jnp.float32),
                         h=jnp.asarray(rng.normal(size=(B, H)), jnp.float32))
  weights = jnp.asarray(rng.normal(size=(B, T, H)), jnp.float32)
  return params, xs, init, weights


def _loss(backward, lengths, reverse, unroll):
  def loss(params, xs, init, weights):
    final, hs = recurrence.lstm_layer(params, xs, lengths, init, reverse=reverse, unroll=unroll,
                                      backward=backward)
    # Every output reaches the loss, with distinct weights (a plain sum would hide a transposed
    # or shifted cotangent).
    return jnp.sum(weights * jnp.sin(hs)) + jnp.sum(final.c * weights[:, 0]) + jnp.sum(final.h ** 2)
  return loss


@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["full", "lengths"])
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("unroll", [1, 2])
def test_values_and_gradients_equal_autodiff(lengths, reverse, unroll):
  params, xs, init, weights = _inputs()
  args = (params, xs, init, weights)
  want_value, want_grad = jax.jit(jax.value_and_grad(
      _loss("autodiff", lengths, reverse, unroll), argnums=(0, 1, 2)))(*args)
  got_value, got_grad = jax.jit(jax.value_and_grad(
      _loss("fused", lengths, reverse, unroll), argnums=(0, 1, 2)))(*args)
  np.testing.assert_allclose(got_value, want_value, rtol=1e-5, atol=1e-6)
  chex.assert_trees_all_close(got_grad, want_grad, rtol=2e-5, atol=2e-6)
  # The gradients are not trivially zero.
  assert float(jnp.abs(got_grad[0].w_h).max()) > 1e-3
  assert float(jnp.abs(got_grad[2].c).max()) > 1e-3


def test_outputs_equal_autodiff_path():
  params, xs, init, _ = _inputs(1)
  want = recurrence.lstm_layer(params, xs, LENGTHS, init)
  got = recurrence.lstm_layer(params, xs, LENGTHS, init, backward="fused")
  chex.assert_trees_all_close(got, want, rtol=1e-6, atol=1e-6)


def test_padding_changes_nothing_even_nan():
  params, xs, init, weights = _inputs(2)
  dirty = xs.copy()
  for b, n in enumerate(LENGTHS):
    dirty[b, n:] = np.nan if b % 2 else 1e9
  grad = jax.jit(jax.grad(_loss("fused", LENGTHS, False, 1), argnums=(0, 1)))
  clean_p, clean_x = grad(params, xs, init, weights)
  dirty_p, dirty_x = grad(params, dirty, init, weights)
  chex.assert_trees_all_close(dirty_p, clean_p, rtol=1e-6, atol=1e-7)
  real = np.arange(T)[None, :] < LENGTHS[:, None]
  np.testing.assert_allclose(np.asarray(dirty_x)[real], np.asarray(clean_x)[real], rtol=1e-6)
  np.testing.assert_array_equal(np.asarray(dirty_x)[~real], 0.0)


def test_vmap_over_parameter_sets():
  params, xs, init, weights = _inputs(3)
  stacked = jax.tree_util.tree_map(lambda a: jnp.stack([a, 0.5 * a]), params)
  grad = lambda backward: jax.vmap(jax.grad(_loss(backward, LENGTHS, False, 1)),
                                   in_axes=(0, None, None, None))
  chex.assert_trees_all_close(jax.jit(grad("fused"))(stacked, xs, init, weights),
                              jax.jit(grad("autodiff"))(stacked, xs, init, weights),
                              rtol=2e-5, atol=2e-6)


def test_errors_name_the_problem():
  params, xs, init, _ = _inputs()
  with pytest.raises(ValueError, match="backward must be"):
    recurrence.lstm_layer(params, xs, backward="fast")
  with pytest.raises(ValueError, match="hoist_input"):
    recurrence.lstm_layer(params, xs, hoist_input=True, backward="fused")
  half = jax.tree_util.tree_map(lambda a: a.astype(jnp.bfloat16), params)
  with pytest.raises(TypeError, match="params.w_i is bfloat16"):
    recurrence.lstm_layer(half, xs, backward="fused")
  with pytest.raises(TypeError, match="xs is float16"):
    recurrence.lstm_layer(params, xs.astype(np.float16), backward="fused")
  with pytest.raises(ValueError, match="lengths"):
    recurrence.lstm_layer(params, xs, np.array([8, 1, 1]), backward="fused")


def test_flax_module_passes_backward_through():
  from skipjax import nn  # pylint: disable=g-import-not-at-top
  _, xs, _, weights = _inputs(4)
  fused, plain = nn.LSTM(features=H, backward="fused"), nn.LSTM(features=H)
  variables = plain.init(jax.random.PRNGKey(0), xs, LENGTHS)
  loss = lambda module: lambda v: jnp.sum(weights * module.apply(v, xs, LENGTHS)[1])
  chex.assert_trees_all_close(jax.jit(jax.grad(loss(fused)))(variables),
                              jax.jit(jax.grad(loss(plain)))(variables), rtol=2e-5, atol=2e-6)
  with pytest.raises(ValueError, match="backward must be"):
    nn.LSTM(features=H, backward="cudnn").init(jax.random.PRNGKey(0), xs, LENGTHS)
