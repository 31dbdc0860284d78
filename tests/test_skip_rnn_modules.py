"""Flax step cells of Skip RNN: `SkipLSTMCell` / `SkipGRUCell` inside a user's `nn.RNN` give what
the whole-sequence layer (and `skip_rnn.skip_rnn`) gives, from the same parameters."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import skip_rnn

B, T, D, H = 3, 9, 4, 5


def _close(a, b, tol=1e-5):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


@pytest.mark.parametrize("cell,layer", [(skip_rnn.SkipLSTMCell, skip_rnn.SkipLSTM),
                                        (skip_rnn.SkipGRUCell, skip_rnn.SkipGRU)])
def test_cell_in_nn_rnn_equals_the_layer(cell, layer):
  xs = jax.random.normal(jax.random.key(1), (B, T, D))
  lengths = jnp.array([9, 6, 1])  # nn.RNN reads the carry at step length - 1: no length 0
  # gate_bias -2: u_cum grows slowly, so some steps update and some skip.
  params = layer(features=H, num_layers=2, gate_bias=-2.0).init(jax.random.key(0), xs)["params"]
  rnn = nn.RNN(cell(features=H, num_layers=2, gate_bias=-2.0), return_carry=True)
  final, steps = rnn.apply({"params": {"cell": params}}, xs, seq_lengths=lengths)
  want = skip_rnn.skip_rnn(params["skip"], xs, lengths)
  _close(final, want.final)
  valid = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
  np.testing.assert_allclose(np.asarray(steps.h)[valid], np.asarray(want.hs)[valid], atol=1e-5)
  np.testing.assert_array_equal(np.asarray(steps.update)[valid],
                                np.asarray(want.update_mask)[valid])
  np.testing.assert_allclose(np.asarray(steps.update_prob)[valid],
                             np.asarray(want.update_prob)[valid], atol=1e-6)
  updates = np.asarray(steps.update)[valid]
  assert (updates == 1).any() and (updates == 0).any()  # both decisions occur


def test_cell_creates_its_parameters_and_steps_by_hand():
  """`nn.RNN(...).init` creates the cell's parameters (the learned initial state included), and
  a hand-written loop over the bound cell gives the scan's outputs."""
  xs = jax.random.normal(jax.random.key(2), (B, T, D))
  cell = skip_rnn.SkipLSTMCell(features=H, gate_bias=-2.0)
  variables = nn.RNN(cell).init(jax.random.key(0), xs)
  params = variables["params"]["cell"]["skip"]
  assert isinstance(params, skip_rnn.SkipParams)
  carry = cell.apply({"params": {"skip": params}}, jax.random.key(0), (B, D),
                     method="initialize_carry")
  _close(carry, skip_rnn.initial_carry(params, B))
  hs = []
  for t in range(T):
    carry, out = cell.apply({"params": {"skip": params}}, carry, xs[:, t])
    hs.append(out.h)
  _close(jnp.stack(hs, 1), skip_rnn.skip_rnn(params, xs).hs)


def test_stochastic_cell_draws_from_the_skip_stream_and_checks_shapes():
  xs = jax.random.normal(jax.random.key(2), (B, T, D))
  cell = skip_rnn.SkipGRUCell(features=H, stochastic=True)
  rnn = nn.RNN(cell, split_rngs={"params": False, "skip": True})  # a fresh draw per step
  variables = rnn.init({"params": jax.random.key(0), "skip": jax.random.key(1)}, xs)
  runs = [np.asarray(rnn.apply(variables, xs, rngs={"skip": jax.random.key(s)}).update)
          for s in range(4)]
  assert any(not np.array_equal(runs[0], r) for r in runs[1:])
  with pytest.raises(ValueError, match="batch"):
    cell.init(jax.random.key(0), jax.random.key(0), (B, 2, D), method="initialize_carry")
