"""Tests of skipjax.recurrence: masking, padding invariance, reversal, input checks."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import np_gru_sequence, np_lstm_sequence
from skipjax import cells
from skipjax import recurrence

B, T, D, H = 3, 6, 2, 4
LENGTHS = np.array([6, 3, 0], np.int32)
# Jitted once per module: an eager lax.scan re-traces and re-compiles on every call. Input checks
# on concrete values are tested on the un-jitted functions below.
lstm_layer = jax.jit(recurrence.lstm_layer, static_argnames=("reverse", "unroll", "hoist_input"))
gru_layer = jax.jit(recurrence.gru_layer, static_argnames=("reverse", "unroll"))


def _xs(seed=0):
  return np.random.default_rng(seed).normal(size=(B, T, D)).astype(np.float32)


def _with_garbage(xs, lengths):
  """Padding filled with NaN and huge values: must change nothing."""
  xs = xs.copy()
  for b, n in enumerate(lengths):
    xs[b, n:] = np.nan if b % 2 else 1e9
  return xs


def _sum_step(params, carry, x_t):
  """carry <- params * carry + x_t; emits the carry (hand-checkable)."""
  carry = params * carry + x_t
  return carry, carry


def test_sequence_mask_and_reverse_sequences_hand_values():
  np.testing.assert_array_equal(recurrence.sequence_mask(np.array([2, 0, 3]), 3),
                                [[1, 1, 0], [0, 0, 0], [1, 1, 1]])
  xs = np.arange(8.0).reshape(2, 4)
  np.testing.assert_array_equal(recurrence.reverse_sequences(xs, np.array([3, 1])),
                                [[2, 1, 0, 3], [4, 5, 6, 7]])


def test_masked_update_nested_pytree():
  mask = jnp.array([True, False])
  new = {"a": jnp.ones((2, 3)), "b": (jnp.full((2,), 5.0), jnp.full((2, 2, 2), 7.0))}
  old = jax.tree_util.tree_map(jnp.zeros_like, new)
  out = recurrence.masked_update(mask, new, old)
  np.testing.assert_array_equal(out["a"], [[1, 1, 1], [0, 0, 0]])
  np.testing.assert_array_equal(out["b"][0], [5, 0])
  np.testing.assert_array_equal(out["b"][1][:, 0, 0], [7, 0])
  assert out["b"][1][0].min() == 7 and out["b"][1][1].max() == 0


def test_scan_rnn_hand_values():
  # carry_t = 2 * carry_{t-1} + x_t from carry_0 = 1, x = 1, 2, 3, 4.
  xs = jnp.array([[1.0, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]])
  carry, ys = recurrence.scan_rnn(_sum_step, 2.0, jnp.ones(3), xs, jnp.array([4, 2, 0]))
  np.testing.assert_array_equal(ys, [[3, 8, 19, 42], [3, 8, 0, 0], [0, 0, 0, 0]])
  np.testing.assert_array_equal(carry, [42, 8, 1])
  # reverse: each sequence read backwards within its length; outputs stay aligned with inputs.
  carry, ys = recurrence.scan_rnn(_sum_step, 2.0, jnp.ones(3), xs, jnp.array([4, 2, 0]),
                                  reverse=True)
  np.testing.assert_array_equal(ys, [[65, 32, 15, 6], [9, 4, 0, 0], [0, 0, 0, 0]])
  np.testing.assert_array_equal(carry, [65, 9, 1])
  carry, ys = recurrence.scan_rnn(_sum_step, 2.0, jnp.ones(3), xs, reverse=True)
  np.testing.assert_array_equal(carry, [65, 65, 65])


def test_scan_rnn_pytree_inputs_and_outputs():
  def step(params, carry, x_t):
    del params
    carry = carry + x_t["a"] * x_t["b"][:, 0]
    return carry, {"sum": carry, "twice": 2 * carry}
  xs = {"a": jnp.ones((2, 3)), "b": jnp.full((2, 3, 1), 3.0)}
  carry, ys = recurrence.scan_rnn(step, None, jnp.zeros(2), xs, jnp.array([1, 3]))
  np.testing.assert_array_equal(carry, [3, 9])
  np.testing.assert_array_equal(ys["twice"], [[6, 0, 0], [6, 12, 18]])


@pytest.mark.parametrize("reverse", [False, True])
def test_lstm_layer_padding_invariance_against_numpy(reverse):
  p = cells.lstm_init(jax.random.key(0), D, H, init="torch")
  xs = _xs()
  c0 = np.random.default_rng(1).normal(size=(B, H)).astype(np.float32)
  h0 = np.random.default_rng(2).normal(size=(B, H)).astype(np.float32)
  init = cells.LSTMState(c=jnp.asarray(c0), h=jnp.asarray(h0))
  for hoist in (False, True):
    state, hs = lstm_layer(p, _with_garbage(xs, LENGTHS), LENGTHS, init, reverse=reverse,
                           hoist_input=hoist)
    assert np.isfinite(np.asarray(hs)).all()
    for b, n in enumerate(LENGTHS):
      seq = xs[b, :n][::-1] if reverse else xs[b, :n]
      c, h, want = np_lstm_sequence(p, seq, c0[b], h0[b])
      want = want[::-1] if reverse else want
      np.testing.assert_allclose(hs[b, :n], want, atol=1e-5)
      np.testing.assert_array_equal(hs[b, n:], 0.0)
      np.testing.assert_allclose(state.c[b], c, atol=1e-5)
      np.testing.assert_allclose(state.h[b], h, atol=1e-5)


def test_lstm_layer_lengths_equal_truncated_runs_and_unroll():
  p = cells.lstm_init(jax.random.key(0), D, H)
  xs = _xs(3)
  state, hs = lstm_layer(p, xs, LENGTHS, unroll=3)
  for b, n in enumerate(LENGTHS[:2]):
    s_b, hs_b = lstm_layer(p, xs[b:b + 1, :n])
    np.testing.assert_allclose(hs[b:b + 1, :n], hs_b, atol=1e-6)
    chex.assert_trees_all_close(jax.tree_util.tree_map(lambda a: a[b:b + 1], state), s_b,
                                atol=1e-6)
  # Full-length lengths and lengths=None agree (the unmasked fast path).
  full = np.full(B, T, np.int32)
  chex.assert_trees_all_close(lstm_layer(p, xs, full), lstm_layer(p, xs), atol=1e-6)


@pytest.mark.parametrize("reverse", [False, True])
def test_gru_layer_padding_invariance_against_numpy(reverse):
  p = cells.gru_init(jax.random.key(1), D, H, init="torch")
  xs = _xs(4)
  h0 = np.random.default_rng(5).normal(size=(B, H)).astype(np.float32)
  h_final, hs = gru_layer(p, _with_garbage(xs, LENGTHS), LENGTHS, jnp.asarray(h0),
                          reverse=reverse)
  for b, n in enumerate(LENGTHS):
    seq = xs[b, :n][::-1] if reverse else xs[b, :n]
    h, want = np_gru_sequence(p, seq, h0[b])
    want = want[::-1] if reverse else want
    np.testing.assert_allclose(hs[b, :n], want, atol=1e-5)
    np.testing.assert_array_equal(hs[b, n:], 0.0)
    np.testing.assert_allclose(h_final[b], h, atol=1e-5)


def test_lengths_may_be_traced_under_jit():
  p = cells.lstm_init(jax.random.key(0), D, H)
  xs = _xs()
  eager = recurrence.lstm_layer(p, xs, LENGTHS)
  jitted = lstm_layer(p, xs, jnp.asarray(LENGTHS))
  chex.assert_trees_all_close(eager, jitted, atol=1e-6)


def test_bad_inputs_raise_clear_errors():
  p = cells.lstm_init(jax.random.key(0), D, H)
  g = cells.gru_init(jax.random.key(0), D, H)
  xs = _xs()
  for layer, params in ((recurrence.lstm_layer, p), (recurrence.gru_layer, g)):
    with pytest.raises(ValueError, match="xs must have rank 3"):
      layer(params, xs[0])
    with pytest.raises(TypeError, match="xs must have a floating dtype"):
      layer(params, xs.astype(np.int32))
    with pytest.raises(ValueError, match="xs has last dimension 3"):
      layer(params, np.zeros((B, T, 3), np.float32))
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 6\]"):
      layer(params, xs, np.array([7, 1, 1]))
    with pytest.raises(ValueError, match=r"lengths must lie in \[0, 6\]"):
      layer(params, xs, np.array([-1, 1, 1]))
    with pytest.raises(ValueError, match=r"lengths must have shape \(3,\)"):
      layer(params, xs, np.array([[1], [2], [3]]))
    with pytest.raises(ValueError, match=r"lengths must have shape \(3,\)"):
      layer(params, xs, np.array([1, 2]))
    with pytest.raises(TypeError, match="lengths must be integers"):
      layer(params, xs, np.array([1.0, 2.0, 3.0]))
  with pytest.raises(ValueError, match="initial_state must hold"):
    recurrence.lstm_layer(p, xs, None, cells.lstm_zero_state((B,), H + 1))
  with pytest.raises(ValueError, match="initial_state must hold"):
    recurrence.gru_layer(g, xs, None, jnp.zeros((B + 1, H)))
  with pytest.raises(ValueError, match="same \\[B, T\\]"):
    recurrence.scan_rnn(_sum_step, 1.0, jnp.zeros(2), {"a": jnp.zeros((2, 3)),
                                                      "b": jnp.zeros((2, 4))})
  with pytest.raises(ValueError, match="xs must have rank"):
    recurrence.scan_rnn(_sum_step, 1.0, jnp.zeros(2), jnp.zeros(2))


def test_lstm_final_state_is_the_layers_final_state():
  """The lean baseline (final state only, raw or projected inputs, batched or not) computes the
  state `lstm_layer` ends in."""
  params = cells.lstm_init(jax.random.PRNGKey(0), 3, 5)
  xs = jax.random.normal(jax.random.PRNGKey(1), (2, 7, 3))
  want, _ = recurrence.lstm_layer(params, xs)
  x_proj = cells.lstm_input_projection(params, xs)
  for got in (recurrence.lstm_final_state(params, xs),
              recurrence.lstm_final_state(params, x_proj=x_proj, unroll=2)):
    np.testing.assert_allclose(got.h, want.h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got.c, want.c, rtol=1e-5, atol=1e-6)
  single = recurrence.lstm_final_state(params, x_proj=x_proj[1])
  np.testing.assert_allclose(single.h, want.h[1], rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="exactly one of xs"):
    recurrence.lstm_final_state(params, xs, x_proj=x_proj)
  with pytest.raises(ValueError, match="exactly one of xs"):
    recurrence.lstm_final_state(params)
