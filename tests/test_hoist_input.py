"""The skipping models' training scans project x_t before the scan (`hoist_input=True`) or
inside each step (False, the default at batch > 1, faster on CPU): both forms must give the same
outputs and the same gradients, with padding and stochastic decisions, for Skip RNN (LSTM and
GRU, two layers), Skim-RNN's Gumbel layer and dynamic skip."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import dynamic_skip
from skipjax.skim_rnn import core as skim_core
from skipjax.skim_rnn import steps as skim_steps
from skipjax.skip_rnn import core as skip_core

B, T, D, H = 3, 7, 5, 6
LENGTHS = jnp.array([7, 4, 0], jnp.int32)


def _xs():
  return jax.random.normal(jax.random.key(1), (B, T, D), jnp.float32)


def _skip(cell, layers):
  params = skip_core.skip_init(jax.random.key(0), D, H, num_layers=layers, cell=cell)
  def run(p, xs, hoist):
    out = skip_core.skip_rnn(p, xs, LENGTHS, key=jax.random.key(2), hoist_input=hoist)
    return out.hs, out.update_mask, out.update_prob
  return params, run


def _skim(small_dim=2, cell="lstm"):
  params = skim_core.skim_init(jax.random.key(0), D, H, small_dim, cell=cell)
  def run(p, xs, hoist):
    return skim_steps.gumbel_layer(p, xs, jax.random.key(2), 0.7, LENGTHS, hoist_input=hoist)[1:]
  return params, run


def _dynamic():
  params = dynamic_skip.dynamic_skip_init(jax.random.key(0), D, H, 3, 4)
  def run(p, xs, hoist):
    out = dynamic_skip.dynamic_skip_layer(p, xs, LENGTHS, jax.random.key(2), lam=0.5,
                                          hoist_input=hoist)[1]
    return out.hs, out.log_probs, out.skip_choice
  return params, run


@pytest.mark.parametrize("make", [
    lambda: _skip("lstm", 2), lambda: _skip("gru", 1), _skim, lambda: _skim(0),
    lambda: _skim(2, "gru"), _dynamic],
    ids=["skip_lstm2", "skip_gru", "skim_lstm", "skim_lstm_d0", "skim_gru", "dynamic"])
def test_hoisted_and_in_step_projections_agree(make):
  params, run = make()
  xs = _xs()
  outs = {h: run(params, xs, h) for h in (True, False)}
  for a, b in zip(*outs.values()):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                               rtol=1e-5, atol=1e-6)
  def loss(p, x, hoist):
    return jnp.sum(run(p, x, hoist)[0] ** 2)
  grads = {h: jax.grad(loss, argnums=(0, 1))(params, xs, h) for h in (True, False)}
  flat = [jax.tree.leaves(grads[h]) for h in (True, False)]
  assert any(np.abs(np.asarray(g)).max() > 0 for g in flat[0])
  for a, b in zip(*flat):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
