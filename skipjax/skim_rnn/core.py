"""Skim-RNN core: parameters, the read and skim updates, the Gumbel-softmax training layer, and
the analytic FLOPs (Seo, Min, Farhadi, Hajishirzi, ICLR 2018; equations in `skipjax.skim_rnn`).

Conventions: `xs` [B, T, D] float, `lengths` [B] int (steps t >= length leave the carry unchanged,
as in `recurrence.scan_rnn`). The carry is `cells.LSTMState(c, h)` ([..., d] each) for an LSTM
core, `h` [..., d] for a GRU.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skipjax import cells
from skipjax import recurrence
from skipjax import validation
from skipjax import layers

Array = jax.Array
Carry = Any

READ, SKIM = 0, 1  # class indices of the decision logits


class SkimParams(NamedTuple):
  """Skim-RNN parameters; the core (LSTM or GRU) is the type of `big`.

  big: cells.LSTMParams / GRUParams, input D -> size d.
  small: same type with w_i [D, G d'], w_h [d, G d'] (G = 4 LSTM, 3 GRU): it reads the full
    previous state and writes d' units; None when d' = 0 (pure skipping).
  decide: layers.DenseParams, w [D + d, 2], b [2]: logits of (read, skim) from [x_t; h_{t-1}].
  """
  big: Any
  small: Any
  decide: layers.DenseParams


class SkimOutput(NamedTuple):
  """Result of a hard-decision (inference) run.

  final: carry after each example's last real step. hs: [..., T, d] float32 hidden states (zero
  at padding) or None. skim_mask: [..., T] bool, True where the step was skimmed (False at
  padding). flops: [...] float32, analytic FLOPs of the conditional (batch-1) execution of these
  decisions, `skim_run_flops`.
  """
  final: Carry
  hs: Array | None
  skim_mask: Array
  flops: Array


# ----------------------------------------------------------------------------------------------
# Parameters and shapes
# ----------------------------------------------------------------------------------------------


def _is_lstm(params: SkimParams) -> bool:
  return isinstance(params.big, cells.LSTMParams)


def _num_gates(params: SkimParams) -> int:
  return 4 if _is_lstm(params) else 3


def dims(params: SkimParams) -> tuple[int, int, int]:
  """(input_dim D, hidden_dim d, small_dim d') of a SkimParams."""
  d = params.big.w_h.shape[0]
  small = 0 if params.small is None else params.small.w_h.shape[1] // _num_gates(params)
  return params.big.w_i.shape[0], d, small


def check_params(params: SkimParams) -> tuple[int, int, int]:
  """Checks that the shapes of a SkimParams agree; returns `dims(params)`.

  big: an LSTM/GRU D -> d (`cells.check_params`); small: the same cell type with w_i [D, G d'],
  w_h [d, G d'] (0 < d' <= d) and biases [G d']; decide: w [D + d, 2], b [2]. A mismatch raises
  ValueError naming the field, not a `dot_general` error inside the scan.
  """
  input_dim, hidden = cells.check_params("params.big", params.big)
  small_dim = 0
  if params.small is not None:
    if type(params.small) is not type(params.big):
      raise TypeError(f"params.small is a {type(params.small).__name__} but params.big a "
                      f"{type(params.big).__name__}: both cells use the same core")
    gates = _num_gates(params)
    w_i, w_h = jnp.shape(params.small.w_i), jnp.shape(params.small.w_h)
    if len(w_h) != 2 or w_h[0] != hidden or w_h[1] % gates or not 0 < w_h[1] <= gates * hidden:
      raise ValueError(f"params.small.w_h must have shape [d={hidden}, {gates} d'] with "
                       f"0 < d' <= d (it reads the whole state of params.big), got {w_h}")
    small_dim = w_h[1] // gates
    if w_i != (input_dim, gates * small_dim):
      raise ValueError(f"params.small.w_i must have shape {(input_dim, gates * small_dim)} "
                       f"(D of params.big, {gates} gates of d'={small_dim}), got {w_i}")
    for bias in ("b",) if _is_lstm(params) else ("b_i", "b_h"):
      shape = jnp.shape(getattr(params.small, bias))
      if shape != (gates * small_dim,):
        raise ValueError(f"params.small.{bias} must have shape ({gates * small_dim},), got "
                         f"{shape}")
  layers.check_dense("params.decide", params.decide, input_dim + hidden, 2, "[x_t; h_{t-1}]")
  return input_dim, hidden, small_dim


def _small_init(key, cell, input_dim, hidden_dim, small_dim, forget_bias, param_dtype):
  gates = 4 if cell == "lstm" else 3
  k_i, k_h = jax.random.split(key)
  w_i = jax.nn.initializers.glorot_uniform()(k_i, (input_dim, gates * small_dim), jnp.float32)
  w_h = jax.nn.initializers.orthogonal()(k_h, (hidden_dim, gates * small_dim), jnp.float32)
  w_i, w_h = w_i.astype(param_dtype), w_h.astype(param_dtype)
  if cell == "lstm":
    b = jnp.zeros((4 * small_dim,), jnp.float32).at[small_dim:2 * small_dim].set(forget_bias)
    return cells.LSTMParams(w_i=w_i, w_h=w_h, b=b.astype(param_dtype))
  zeros = jnp.zeros((3 * small_dim,), param_dtype)
  return cells.GRUParams(w_i=w_i, w_h=w_h, b_i=zeros, b_h=zeros)


def skim_init(key: Array, input_dim: int, hidden_dim: int, small_dim: int, *,
              cell: str = "lstm", forget_bias: float = 1.0,
              param_dtype: Any = jnp.float32) -> SkimParams:
  """Initial Skim-RNN parameters (Glorot input weights, orthogonal recurrent weights).

  Args:
    key: PRNG key.
    input_dim: D, size of x_t.
    hidden_dim: d, size of the big cell (and of the state).
    small_dim: d' in [0, d], size of the small cell; 0 means a skim copies the state.
    cell: "lstm" or "gru".
    forget_bias: added to the forget-gate biases of LSTM cells.
    param_dtype: storage dtype of the weights.
  """
  validation.check_positive_int("input_dim", input_dim)
  validation.check_positive_int("hidden_dim", hidden_dim)
  validation.check_nonneg_int("small_dim", small_dim)
  if small_dim > hidden_dim:
    raise ValueError(f"small_dim must be at most hidden_dim={hidden_dim}, got {small_dim}")
  if cell not in ("lstm", "gru"):
    raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
  k_big, k_small, k_dec = jax.random.split(key, 3)
  if cell == "lstm":
    big = cells.lstm_init(k_big, input_dim, hidden_dim, forget_bias=forget_bias,
                          param_dtype=param_dtype)
  else:
    big = cells.gru_init(k_big, input_dim, hidden_dim, param_dtype=param_dtype)
  small = None if small_dim == 0 else _small_init(k_small, cell, input_dim, hidden_dim,
                                                   small_dim, forget_bias, param_dtype)
  decide = layers.dense_init(k_dec, input_dim + hidden_dim, 2, param_dtype=param_dtype)
  return SkimParams(big=big, small=small, decide=decide)


def skim_lstm_init(key: Array, input_dim: int, hidden_dim: int, small_dim: int,
                   **kwargs) -> SkimParams:
  """Skim-LSTM parameters: `skim_init(..., cell="lstm")`."""
  return skim_init(key, input_dim, hidden_dim, small_dim, cell="lstm", **kwargs)


def skim_gru_init(key: Array, input_dim: int, hidden_dim: int, small_dim: int,
                  **kwargs) -> SkimParams:
  """Skim-GRU parameters: `skim_init(..., cell="gru")`."""
  return skim_init(key, input_dim, hidden_dim, small_dim, cell="gru", **kwargs)


def zero_state(params: SkimParams, batch_shape: tuple[int, ...] = ()) -> Carry:
  """All-zero carry with leading `batch_shape`."""
  _, d, _ = dims(params)
  if _is_lstm(params):
    return cells.lstm_zero_state(batch_shape, d)
  return cells.gru_zero_state(batch_shape, d)


def _hidden(carry: Carry) -> Array:
  return carry.h if isinstance(carry, cells.LSTMState) else carry


# ----------------------------------------------------------------------------------------------
# The two updates and the decision (any leading batch axes)
# ----------------------------------------------------------------------------------------------


def _matmul(x, w):
  return jnp.matmul(x.astype(w.dtype), w, preferred_element_type=jnp.float32)


class _Projections(NamedTuple):
  """Input terms of all steps, computed in one matmul each outside the recurrence."""
  big: Array     # [..., T, G d]
  small: Array   # [..., T, G d'] (bias included); size-0 last axis when d' = 0
  decide: Array  # [..., T, 2] (bias included)


def _project(params: SkimParams, xs: Array) -> _Projections:
  input_dim, _, small_dim = dims(params)
  if _is_lstm(params):
    big = cells.lstm_input_projection(params.big, xs)
  else:
    big = cells.gru_input_projection(params.big, xs)
  if small_dim:
    b = params.small.b if _is_lstm(params) else params.small.b_i
    small = _matmul(xs, params.small.w_i) + b.astype(jnp.float32)
  else:
    small = jnp.zeros(xs.shape[:-1] + (0,), jnp.float32)
  decide = _matmul(xs, params.decide.w[:input_dim]) + params.decide.b.astype(jnp.float32)
  return _Projections(big=big, small=small, decide=decide)


def _decision_logits(params: SkimParams, carry: Carry, decide_proj_t: Array) -> Array:
  """[..., 2] logits of (read, skim) from `x_t` (projected) and h_{t-1}."""
  input_dim = params.big.w_i.shape[0]
  return decide_proj_t + _matmul(_hidden(carry), params.decide.w[input_dim:])


def _read_update(params: SkimParams, carry: Carry, big_proj_t: Array) -> Carry:
  if _is_lstm(params):
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


def _skim_update(params: SkimParams, carry: Carry, small_proj_t: Array,
                 small_rec_t: Array | None = None) -> Carry:
  """Small-cell update; `small_rec_t` = h_{t-1} @ small.w_h when already computed."""
  if params.small is None:
    return carry
  if small_rec_t is None:
    small_rec_t = _matmul(_hidden(carry), params.small.w_h)
  if _is_lstm(params):
    return _small_lstm_update(small_proj_t + small_rec_t, carry)
  return _small_gru_update(small_proj_t, small_rec_t + params.small.b_h.astype(jnp.float32),
                           carry)


def threshold_logit(threshold: Array | float) -> Array:
  """logit(threshold) in float32, -inf at threshold <= 0 and +inf at threshold >= 1, so that
  `logit_read - logit_skim >= threshold_logit(t)` is `p_read >= t` (reading none for t >= 1)."""
  t = jnp.asarray(threshold, jnp.float32)
  inner = jnp.log(jnp.clip(t, 1e-30, 1.0)) - jnp.log1p(-jnp.clip(t, 0.0, 1.0 - 1e-7))
  return jnp.where(t <= 0, -jnp.inf, jnp.where(t >= 1, jnp.inf, inner))


# ----------------------------------------------------------------------------------------------
# Sequence drivers
# ----------------------------------------------------------------------------------------------


def _check_inputs(params, xs, lengths, batched=True):
  input_dim = check_params(params)[0]
  validation.check_rank("xs", xs, 3 if batched else 2)
  validation.check_floating("xs", xs)
  validation.check_last_dim("xs", xs, input_dim, "the Skim-RNN's input_dim")
  if batched:
    if lengths is None:
      lengths = jnp.full((xs.shape[0],), xs.shape[1], jnp.int32)
    validation.check_lengths(lengths, xs.shape[0], xs.shape[1])
  return lengths


def _check_threshold(threshold, shape):
  t = jnp.asarray(threshold)
  validation.check_floating("threshold", t)
  validation.check_in("threshold", threshold, validation.UNIT, "(on p_read: 0 reads every "
                      "step, 1 none)")
  try:
    jnp.broadcast_shapes(t.shape, shape)
  except ValueError:
    raise ValueError(f"threshold of shape {t.shape} does not broadcast to the decisions' shape "
                     f"{shape} ([batch, time]; a scalar or [time] per-step thresholds)") from None
  return jnp.broadcast_to(threshold_logit(t), shape)



def gumbel_step(params: SkimParams, carry: Carry, x_t: Array, noise_t: Array,
                tau: Array | float, hard: Array | float = 0.0) -> tuple[Carry, Array, Array]:
  """One training step from the raw input x_t [..., D] and Gumbel noise [..., 2]: the step of
  `gumbel_layer`, for a user's own scan (e.g. `modules.SkimCell` in `flax.linen.RNN`).

  Returns (new carry, decision log-probabilities [..., 2] (read, skim), mixture weights r
  [..., 2]).
  """
  return _gumbel_update(params, carry, _project(params, x_t), noise_t,
                        jnp.asarray(tau, jnp.float32), jnp.asarray(hard, jnp.float32))


def hard_step(params: SkimParams, carry: Carry, x_t: Array,
              threshold: Array | float = 0.5) -> tuple[Carry, Array, Array]:
  """One hard-decision step (read iff p_read >= threshold) from x_t [..., D]: the step of
  `inference.masked_layer` (both candidates computed, one kept). Returns (new carry, decision
  log-probabilities [..., 2], read [...] bool)."""
  new, read, logits = _hard_update(params, carry, _project(params, x_t),
                                   threshold_logit(threshold))
  return new, jax.nn.log_softmax(logits, axis=-1), read


def _gumbel_update(p, carry, proj_t, noise_t, tau, hard):
  logits = _decision_logits(p, carry, proj_t.decide)
  # Gumbel noise perturbs the model's logits (not a constant); shift-invariant, so
  # log p_t + g_t and logits + g_t give the same softmax.
  r = jax.nn.softmax((logits + noise_t) / tau, axis=-1)
  one_hot = jax.nn.one_hot(jnp.argmax(r, axis=-1), 2, dtype=r.dtype)
  r = r + hard * jax.lax.stop_gradient(one_hot - r)   # straight-through where hard = 1
  read = _read_update(p, carry, proj_t.big)
  skim = _skim_update(p, carry, proj_t.small)
  mix = jax.tree_util.tree_map(
      lambda a, b: r[..., READ:READ + 1] * a + r[..., SKIM:SKIM + 1] * b, read, skim)
  return mix, jax.nn.log_softmax(logits, axis=-1), r


def _hard_update(p, carry, proj_t, lthr_t):
  logits = _decision_logits(p, carry, proj_t.decide)
  read = logits[..., READ] - logits[..., SKIM] >= lthr_t
  new = recurrence.masked_update(read, _read_update(p, carry, proj_t.big),
                                 _skim_update(p, carry, proj_t.small))
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
  lengths = _check_inputs(params, xs, lengths)
  # tau <= 0 would divide by zero or flip the softmax (NaN states); checked now when concrete,
  # by `checkify.checkify` when traced.
  validation.check_in("tau", tau, validation.POSITIVE, "(the Gumbel-softmax temperature)")
  validation.check_in("hard", hard, validation.UNIT)
  if initial is None:
    initial = zero_state(params, (xs.shape[0],))
  if hoist_input is None:
    hoist_input = xs.shape[0] == 1
  inputs = _project(params, xs) if hoist_input else xs
  noise = jax.random.gumbel(noise_key, xs.shape[:2] + (2,), jnp.float32)
  tau = jnp.asarray(tau, jnp.float32)
  hard = jnp.asarray(hard, jnp.float32)

  def step(p, carry, inp):
    x_t, noise_t = inp
    proj_t = x_t if hoist_input else _project(p, x_t)
    mix, log_p, r = _gumbel_update(p, carry, proj_t, noise_t, tau, hard)
    return mix, (_hidden(mix), log_p, r)

  final, (hs, log_p, r) = recurrence.scan_rnn(step, params, initial, (inputs, noise), lengths,
                                              reverse=reverse, unroll=unroll)
  return final, hs, log_p, r



# ----------------------------------------------------------------------------------------------
# Analytic cost
# ----------------------------------------------------------------------------------------------


def step_flops(input_dim: int, hidden_dim: int, small_dim: int,
               cell: str = "lstm") -> dict[str, int]:
  """FLOPs (multiply-add = 2) of `cond_layer`'s parts, in the conventions of `cells`.

  token: paid at every real step: small-cell input projection and decision input term (one
    [D, G d' + 1] matvec with bias) and the fused recurrent matvec h_{t-1} @ [d, G d' + 1].
  read: the big cell step (`cells.lstm_step_flops` / `gru_step_flops`).
  skim: the small cell's element-wise update (8 d').
  """
  gates = (4 if cell == "lstm" else 3) * small_dim
  token = 2 * (input_dim + hidden_dim) * (gates + 1) + gates + 2
  step = cells.lstm_step_flops if cell == "lstm" else cells.gru_step_flops
  return {"token": token, "read": step(input_dim, hidden_dim), "skim": 8 * small_dim}


def skim_run_flops(params: SkimParams, num_read: Array, lengths: Array) -> Array:
  """FLOPs of a conditional run that reads `num_read` of its `lengths` real steps (float32)."""
  input_dim, d, small_dim = dims(params)
  f = step_flops(input_dim, d, small_dim, "lstm" if _is_lstm(params) else "gru")
  num_read = jnp.asarray(num_read, jnp.float32)
  lengths = jnp.asarray(lengths, jnp.float32)
  return lengths * f["token"] + num_read * f["read"] + (lengths - num_read) * f["skim"]


def dense_run_flops(input_dim: int, hidden_dim: int, lengths: Array,
                    cell: str = "lstm") -> Array:
  """FLOPs of the plain RNN of size d over `lengths` steps (the baseline of the FLOP ratio)."""
  step = cells.lstm_step_flops if cell == "lstm" else cells.gru_step_flops
  return jnp.asarray(lengths, jnp.float32) * step(input_dim, hidden_dim)

