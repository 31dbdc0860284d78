"""Skim-RNN core: parameters, shapes, input checks and the analytic FLOPs (Seo, Min, Farhadi,
Hajishirzi, ICLR 2018; equations in `skipjax.skim_rnn`). The updates and the Gumbel-softmax
training layer are in `skim_rnn.steps`.

Conventions: `xs` [B, T, D] float, `lengths` [B] int (steps t >= length leave the carry unchanged,
as in `recurrence.scan_rnn`). The carry is `cells.LSTMState(c, h)` ([..., d] each) for an LSTM
core, `h` [..., d] for a GRU.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skipjax import cells
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


def is_lstm(params: SkimParams) -> bool:
  """Whether the core (params.big) is an LSTM (else a GRU)."""
  return isinstance(params.big, cells.LSTMParams)


def num_gates(params: SkimParams) -> int:
  """G: 4 gates for an LSTM core, 3 for a GRU."""
  return 4 if is_lstm(params) else 3


def dims(params: SkimParams) -> tuple[int, int, int]:
  """(input_dim D, hidden_dim d, small_dim d') of a SkimParams."""
  d = params.big.w_h.shape[0]
  small = 0 if params.small is None else params.small.w_h.shape[1] // num_gates(params)
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
    gates = num_gates(params)
    w_i, w_h = jnp.shape(params.small.w_i), jnp.shape(params.small.w_h)
    if len(w_h) != 2 or w_h[0] != hidden or w_h[1] % gates or not 0 < w_h[1] <= gates * hidden:
      raise ValueError(f"params.small.w_h must have shape [d={hidden}, {gates} d'] with "
                       f"0 < d' <= d (it reads the whole state of params.big), got {w_h}")
    small_dim = w_h[1] // gates
    if w_i != (input_dim, gates * small_dim):
      raise ValueError(f"params.small.w_i must have shape {(input_dim, gates * small_dim)} "
                       f"(D of params.big, {gates} gates of d'={small_dim}), got {w_i}")
    for bias in ("b",) if is_lstm(params) else ("b_i", "b_h"):
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
  if is_lstm(params):
    return cells.lstm_zero_state(batch_shape, d)
  return cells.gru_zero_state(batch_shape, d)


def hidden_state(carry: Carry) -> Array:
  """The hidden state h of a carry (an LSTM's `LSTMState.h`, a GRU's carry itself)."""
  return carry.h if isinstance(carry, cells.LSTMState) else carry


def threshold_logit(threshold: Array | float) -> Array:
  """logit(threshold) in float32, -inf at threshold <= 0 and +inf at threshold >= 1, so that
  `logit_read - logit_skim >= threshold_logit(t)` is `p_read >= t` (reading none for t >= 1)."""
  t = jnp.asarray(threshold, jnp.float32)
  inner = jnp.log(jnp.clip(t, 1e-30, 1.0)) - jnp.log1p(-jnp.clip(t, 0.0, 1.0 - 1e-7))
  return jnp.where(t <= 0, -jnp.inf, jnp.where(t >= 1, jnp.inf, inner))


# ----------------------------------------------------------------------------------------------
# Sequence drivers
# ----------------------------------------------------------------------------------------------


def check_inputs(params, xs, lengths, batched=True):
  """Checks params and xs ([B, T, D], or [T, D] when not batched) and lengths; returns the
  lengths (all T when None)."""
  input_dim = check_params(params)[0]
  validation.check_rank("xs", xs, 3 if batched else 2)
  validation.check_floating("xs", xs)
  validation.check_last_dim("xs", xs, input_dim, "the Skim-RNN's input_dim")
  if batched:
    if lengths is None:
      lengths = jnp.full((xs.shape[0],), xs.shape[1], jnp.int32)
    validation.check_lengths(lengths, xs.shape[0], xs.shape[1])
  return lengths


def check_threshold(threshold, shape):
  """Checks a read threshold in [0, 1] broadcastable to the decisions' `shape`; returns its
  logit (`threshold_logit`) broadcast to `shape`."""
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
  f = step_flops(input_dim, d, small_dim, "lstm" if is_lstm(params) else "gru")
  num_read = jnp.asarray(num_read, jnp.float32)
  lengths = jnp.asarray(lengths, jnp.float32)
  return lengths * f["token"] + num_read * f["read"] + (lengths - num_read) * f["skim"]


def dense_run_flops(input_dim: int, hidden_dim: int, lengths: Array,
                    cell: str = "lstm") -> Array:
  """FLOPs of the plain RNN of size d over `lengths` steps (the baseline of the FLOP ratio)."""
  step = cells.lstm_step_flops if cell == "lstm" else cells.gru_step_flops
  return jnp.asarray(lengths, jnp.float32) * step(input_dim, hidden_dim)

