"""Skim-RNN steps: the read and skim updates, the read/skim decision, the Gumbel-softmax
training layer and the single-step functions for a user's own scan (Seo, Min, Farhadi,
Hajishirzi, ICLR 2018; equations in `skipjax.skim_rnn`). Any leading batch axes.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from skipjax import cells
from skipjax import recurrence
from skipjax import validation
from skipjax.skim_rnn.core import (READ, SKIM, Carry, SkimParams, check_inputs, dims,
                                   hidden_state, is_lstm, threshold_logit, zero_state)

Array = jax.Array


def matmul(x, w):
  """x @ w in w's dtype, accumulated and returned in float32."""
  return jnp.matmul(x.astype(w.dtype), w, preferred_element_type=jnp.float32)


class Projections(NamedTuple):
  """Input terms of all steps, computed in one matmul each outside the recurrence."""
  big: Array     # [..., T, G d]
  small: Array   # [..., T, G d'] (bias included); size-0 last axis when d' = 0
  decide: Array  # [..., T, 2] (bias included)


def project(params: SkimParams, xs: Array) -> Projections:
  """The input terms of the big cell, the small cell and the decision for xs [..., D]."""
  input_dim, _, small_dim = dims(params)
  if is_lstm(params):
    big = cells.lstm_input_projection(params.big, xs)
  else:
    big = cells.gru_input_projection(params.big, xs)
  if small_dim:
    b = params.small.b if is_lstm(params) else params.small.b_i
    small = matmul(xs, params.small.w_i) + b.astype(jnp.float32)
  else:
    small = jnp.zeros(xs.shape[:-1] + (0,), jnp.float32)
  decide = matmul(xs, params.decide.w[:input_dim]) + params.decide.b.astype(jnp.float32)
  return Projections(big=big, small=small, decide=decide)


def decision_logits(params: SkimParams, carry: Carry, decide_proj_t: Array) -> Array:
  """[..., 2] logits of (read, skim) from `x_t` (projected) and h_{t-1}."""
  input_dim = params.big.w_i.shape[0]
  return decide_proj_t + matmul(hidden_state(carry), params.decide.w[input_dim:])


def read_update(params: SkimParams, carry: Carry, big_proj_t: Array) -> Carry:
  """The big cell's step from its projected input."""
  if is_lstm(params):
    return cells.lstm_step_projected(params.big, carry, big_proj_t)[0]
  return cells.gru_step_projected(params.big, carry, big_proj_t)[0]


def _sigmoid(z: Array) -> Array:
  """sigmoid(z) = (1 + tanh(z / 2)) / 2: one tanh, which XLA:CPU evaluates faster than the
  logistic (about 10% of a skim step at d' = 10); exact up to float rounding."""
  return 0.5 + 0.5 * jnp.tanh(0.5 * z)


def _small_lstm_update(gates: Array, state: cells.LSTMState) -> cells.LSTMState:
  """The small LSTM's update of units :d' from its gate pre-activations [..., 4d']."""
  small_dim = gates.shape[-1] // 4
  i, f, g, o = jnp.split(gates, 4, axis=-1)
  c = _sigmoid(f) * state.c[..., :small_dim] + _sigmoid(i) * jnp.tanh(g)
  h = _sigmoid(o) * jnp.tanh(c)
  return cells.LSTMState(c=jnp.concatenate([c, state.c[..., small_dim:]], axis=-1),
                         h=jnp.concatenate([h, state.h[..., small_dim:]], axis=-1))


def _small_gru_update(x_gates: Array, h_gates: Array, h: Array) -> Array:
  """The small GRU's update of units :d' (torch.nn.GRU equations, h_{t-1} of size d read by
  the gates, only h_{t-1}[:d'] interpolated)."""
  small_dim = x_gates.shape[-1] // 3
  x_r, x_z, x_n = jnp.split(x_gates, 3, axis=-1)
  h_r, h_z, h_n = jnp.split(h_gates, 3, axis=-1)
  r = _sigmoid(x_r + h_r)
  z = _sigmoid(x_z + h_z)
  n = jnp.tanh(x_n + r * h_n)
  new = (1.0 - z) * n + z * h[..., :small_dim]
  return jnp.concatenate([new, h[..., small_dim:]], axis=-1)


def skim_update(params: SkimParams, carry: Carry, small_proj_t: Array,
                 small_rec_t: Array | None = None) -> Carry:
  """Small-cell update; `small_rec_t` = h_{t-1} @ small.w_h when already computed."""
  if params.small is None:
    return carry
  if small_rec_t is None:
    small_rec_t = matmul(hidden_state(carry), params.small.w_h)
  if is_lstm(params):
    return _small_lstm_update(small_proj_t + small_rec_t, carry)
  return _small_gru_update(small_proj_t, small_rec_t + params.small.b_h.astype(jnp.float32),
                           carry)

def gumbel_step(params: SkimParams, carry: Carry, x_t: Array, noise_t: Array,
                tau: Array | float, hard: Array | float = 0.0) -> tuple[Carry, Array, Array]:
  """One training step from the raw input x_t [..., D] and Gumbel noise [..., 2]: the step of
  `gumbel_layer`, for a user's own scan (e.g. `modules.SkimCell` in `flax.linen.RNN`).

  Returns (new carry, decision log-probabilities [..., 2] (read, skim), mixture weights r
  [..., 2]).
  """
  return gumbel_update(params, carry, project(params, x_t), noise_t,
                        jnp.asarray(tau, jnp.float32), jnp.asarray(hard, jnp.float32))


def hard_step(params: SkimParams, carry: Carry, x_t: Array,
              threshold: Array | float = 0.5) -> tuple[Carry, Array, Array]:
  """One hard-decision step (read iff p_read >= threshold) from x_t [..., D]: the step of
  `inference.masked_layer` (both candidates computed, one kept). Returns (new carry, decision
  log-probabilities [..., 2], read [...] bool)."""
  new, read, logits = hard_update(params, carry, project(params, x_t),
                                   threshold_logit(threshold))
  return new, jax.nn.log_softmax(logits, axis=-1), read


def gumbel_update(p, carry, proj_t, noise_t, tau, hard):
  """The Gumbel-softmax mixture step: (new carry, log-probabilities [..., 2], weights r)."""
  logits = decision_logits(p, carry, proj_t.decide)
  # Gumbel noise perturbs the model's logits (not a constant); shift-invariant, so
  # log p_t + g_t and logits + g_t give the same softmax.
  r = jax.nn.softmax((logits + noise_t) / tau, axis=-1)
  one_hot = jax.nn.one_hot(jnp.argmax(r, axis=-1), 2, dtype=r.dtype)
  r = r + hard * jax.lax.stop_gradient(one_hot - r)   # straight-through where hard = 1
  read = read_update(p, carry, proj_t.big)
  skim = skim_update(p, carry, proj_t.small)
  mix = jax.tree_util.tree_map(
      lambda a, b: r[..., READ:READ + 1] * a + r[..., SKIM:SKIM + 1] * b, read, skim)
  return mix, jax.nn.log_softmax(logits, axis=-1), r


def hard_update(p, carry, proj_t, lthr_t):
  """The hard-decision step (read iff logit_read - logit_skim >= lthr_t): (new carry, read,
  logits)."""
  logits = decision_logits(p, carry, proj_t.decide)
  read = logits[..., READ] - logits[..., SKIM] >= lthr_t
  new = recurrence.masked_update(read, read_update(p, carry, proj_t.big),
                                 skim_update(p, carry, proj_t.small))
  return new, read, logits

def gumbel_layer(params: SkimParams, xs: Array, noise_key: Array, tau: Array | float,
                 lengths: Array | None = None, initial: Carry | None = None, *,
                 reverse: bool = False, unroll: int = 1,
                 hard: Array | float = 0.0,
                 hoist_input: bool | None = None) -> tuple[Carry, Array, Array, Array]:
  """Training pass: Gumbel-softmax mixture of the read and skim candidates (Seo et al. 2018).

      r_t = softmax((log p_t + g_t) / tau),  g_t ~ Gumbel(0, 1) per example and step
      carry_t = r_t[read] * read_update + r_t[skim] * skim_update

  Args:
    params: SkimParams.
    xs: [B, T, D] float inputs.
    noise_key: PRNG key for the Gumbel noise (drawn once for all [B, T, 2] decisions).
    tau: temperature (scalar) > 0, e.g. `estimators.exponential_temperature(step)`.
    lengths: [B] int in [0, T] (None: all T).
    initial: initial carry with leading [B] (zeros if None).
    reverse: run each sequence backwards within its length (backward half of a BiRNN).
    unroll: passed to `lax.scan`.
    hard: 0 (the paper): the soft mixture. 1: straight-through Gumbel-softmax, the forward pass
      takes the sampled one-hot decision (each step is either a read or a skim, as at test time)
      and the gradient is the soft mixture's. A float in [0, 1] (may be a traced hparam);
      values in between blend the two forward passes.
    hoist_input: project x_t for all steps before the scan (three big matmuls) instead of
      inside each step; None: at batch 1 only, as `recurrence.lstm_layer` (inside the step was
      faster on CPU at batch 64, where the hoisted [B, T, 4d] projection goes through memory:
      `experiments/train_step_time.py`). Same results either way.
  Returns:
    (final carry, hs [B, T, d], decision log-probabilities [B, T, 2] (read, skim),
    mixture weights r [B, T, 2], one-hot where hard=1); hs, log-probs and r are zero at padding.
  """
  lengths = check_inputs(params, xs, lengths)
  # tau <= 0 would divide by zero or flip the softmax (NaN states); checked now when concrete,
  # by `checkify.checkify` when traced.
  validation.check_in("tau", tau, validation.POSITIVE, "(the Gumbel-softmax temperature)")
  validation.check_in("hard", hard, validation.UNIT)
  if initial is None:
    initial = zero_state(params, (xs.shape[0],))
  if hoist_input is None:
    hoist_input = xs.shape[0] == 1
  inputs = project(params, xs) if hoist_input else xs
  noise = jax.random.gumbel(noise_key, xs.shape[:2] + (2,), jnp.float32)
  tau = jnp.asarray(tau, jnp.float32)
  hard = jnp.asarray(hard, jnp.float32)

  def step(p, carry, inp):
    x_t, noise_t = inp
    proj_t = x_t if hoist_input else project(p, x_t)
    mix, log_p, r = gumbel_update(p, carry, proj_t, noise_t, tau, hard)
    return mix, (hidden_state(mix), log_p, r)

  final, (hs, log_p, r) = recurrence.scan_rnn(step, params, initial, (inputs, noise), lengths,
                                              reverse=reverse, unroll=unroll)
  return final, hs, log_p, r
