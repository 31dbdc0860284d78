"""Skip RNN's baselines (Campos et al. 2018, tables 1-4): the same stack with random skipping
(a fixed update probability) or with no gate at all (a plain LSTM / GRU), as `SkipOutput`s of
the masked path (`core.skip_rnn`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from skipjax import recurrence
from skipjax import validation
from skipjax.skip_rnn.core import (SkipCarry, SkipOutput, SkipParams, check_inputs, core_hidden,
                                   core_input_projection, initial_carry, stack_step)

Array = jax.Array


def random_skip_rnn(params: SkipParams, xs: Array, lengths: Array | None, key: Array,
                    update_prob: float | Array) -> SkipOutput:
  """Random-skipping baseline (paper, tables 1-4): each step after the first updates with a
  fixed probability `update_prob`, independently of the input. The gate parameters are unused.

  Returns a SkipOutput whose `update_prob` is the constant probability (1 at t = 0).
  """
  lengths = check_inputs(params, xs, lengths)
  validation.check_in("update_prob", update_prob, validation.Interval(0.0, 1.0, lo_open=True))
  batch, max_len = xs.shape[:2]
  draws = jax.random.bernoulli(key, update_prob, (batch, max_len))
  hard = draws.at[:, 0].set(True).astype(jnp.float32)
  x_proj = core_input_projection(params.cores[0], xs)
  init = initial_carry(params, batch)

  def step(p, carry, inp):
    xp_t, u = inp
    new_state = stack_step(p.cores, carry.state, xp_t)
    state = recurrence.masked_update(u > 0, new_state, carry.state)
    return (SkipCarry(state, carry.u_cum, carry.skip_left),
            (core_hidden(state[-1]), u, jnp.full_like(u, update_prob)))

  final, (hs, update_mask, probs) = recurrence.scan_rnn(step, params, init, (x_proj, hard),
                                                         lengths)
  return SkipOutput(final=final, hs=hs, update_mask=update_mask,
                    update_prob=probs.at[:, 0].set(update_mask[:, 0]))


def plain_rnn(params: SkipParams, xs: Array, lengths: Array | None = None) -> SkipOutput:
  """The same stack with no gate (plain LSTM / GRU, every step updates), as a SkipOutput."""
  lengths = check_inputs(params, xs, lengths)
  x_proj = core_input_projection(params.cores[0], xs)

  def step(p, carry, xp_t):
    state = stack_step(p.cores, carry.state, xp_t)
    ones = jnp.ones((xp_t.shape[0],), jnp.float32)
    return SkipCarry(state, carry.u_cum, carry.skip_left), (core_hidden(state[-1]), ones, ones)

  final, (hs, update_mask, probs) = recurrence.scan_rnn(
      step, params, initial_carry(params, xs.shape[0]), x_proj, lengths)
  return SkipOutput(final=final, hs=hs, update_mask=update_mask, update_prob=probs)
