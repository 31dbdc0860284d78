"""Skim-RNN (Seo, Min, Farhadi, Hajishirzi, ICLR 2018): a big and a small cell, read or skim.

At every step a 2-way decision `p_t = softmax(W [x_t; h_{t-1}] + b)` (classes: read, skim) picks

    read: h_t = f(x_t, h_{t-1})                               # big cell, size d
    skim: h_t = [f'(x_t, h_{t-1}); h_{t-1}[d':]]              # small cell, size d'

The small cell reads the whole previous state (its recurrent weights are [d, G d']) and rewrites
only the first d' units; units d'..d are copied. With an LSTM core both `c` and `h` follow this
rule (the small cell's own cell state is `c_{t-1}[:d']`). `d' = 0` degenerates to skipping.

Three ways to run the same cells:
- `gumbel_layer` (training): `r_t = softmax((log p_t + g_t) / tau)`, g ~ Gumbel(0, 1), and the
  carry is the mixture `r_read * read + r_skim * skim` (both candidates computed), differentiable.
- `masked_layer` (batched inference): hard decision `read_t = p_read_t >= threshold`, both
  candidates computed and one selected with `jnp.where`: no work is saved.
- `cond_layer` (batch-1 inference): `lax.switch` between the big and the small update, so a
  skimmed step really costs O(d' (D + d)). The cheap per-token parts (the small cell's input
  projection and the decision's input term) are one matmul over all tokens; the small cell's
  recurrent matvec and the decision's recurrent term are one fused [d, G d' + 1] matvec per step;
  the big cell's input projection is a matvec inside the read branch only (the LSTM's as one
  stacked `[x_t; h_{t-1}]` matvec). It gives the same answer as `masked_layer` (tested); under
  `vmap` its switch becomes a select (masked work). Recording the decisions costs time on CPU,
  so `record=False` returns only the final state (skipjax/bench/skim_rnn.py times both).

Conventions: `xs` [B, T, D] float, `lengths` [B] int (steps t >= length leave the carry unchanged,
as in `recurrence.scan_rnn`); `cond_layer` takes one example (`xs` [T, D], `length` scalar).
The carry is `cells.LSTMState(c, h)` ([..., d] each) for an LSTM core, `h` [..., d] for a GRU.
The decision is read iff `p_read >= threshold`, evaluated as `logit_read - logit_skim >=
logit(threshold)`, so threshold 0 reads every step and threshold 1 reads none; a threshold
outside [0, 1] (or NaN) is an error (concrete: ValueError; traced: reported by
`checkify.checkify`), never clamped.

Deviations from public ports (following the paper instead): the Gumbel noise perturbs the
decision logits (not a constant); the decision uses h_{t-1}, not the new state; a skim step
starts from the previous state, never from the big cell's new state.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from skipjax import cells
from skipjax import estimators
from skipjax import layers
from skipjax import recurrence
from skipjax import validation

Array = jax.Array
Carry = Any

READ, SKIM = 0, 1  # class indices of the decision logits

# The loss hparams `classifier_loss` reads and their ranges ('skim_gamma' is required);
# `experiments.registry.check_hparams` checks configs against them.
HPARAMS = {"skim_gamma": validation.NONNEG, "gumbel_hard": validation.UNIT,
           "dropout": validation.RATE}
REQUIRED_HPARAMS = ("skim_gamma",)


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


def gumbel_layer(params: SkimParams, xs: Array, noise_key: Array, tau: Array | float,
                 lengths: Array | None = None, initial: Carry | None = None, *,
                 reverse: bool = False, unroll: int = 1,
                 hard: Array | float = 0.0) -> tuple[Carry, Array, Array, Array]:
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
  proj = _project(params, xs)
  noise = jax.random.gumbel(noise_key, xs.shape[:2] + (2,), jnp.float32)
  tau = jnp.asarray(tau, jnp.float32)
  hard = jnp.asarray(hard, jnp.float32)

  def step(p, carry, inp):
    proj_t, noise_t = inp
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
    return mix, (_hidden(mix), jax.nn.log_softmax(logits, axis=-1), r)

  final, (hs, log_p, r) = recurrence.scan_rnn(step, params, initial, (proj, noise), lengths,
                                              reverse=reverse, unroll=unroll)
  return final, hs, log_p, r


def masked_layer(params: SkimParams, xs: Array, lengths: Array | None = None,
                 threshold: Array | float = 0.5, initial: Carry | None = None, *,
                 reverse: bool = False, unroll: int = 1) -> SkimOutput:
  """Hard-decision inference over a batch: read iff `p_read_t >= threshold`.

  Both candidates are computed at every step and one is kept (`jnp.where`), so this saves no
  time; `flops` reports what a conditional run of the same decisions costs.

  Args:
    params: SkimParams.
    xs: [B, T, D] float.
    lengths: [B] int (None: all T).
    threshold: scalar, or per-step thresholds broadcastable to [B, T] (e.g. [T]), in [0, 1];
      changeable at test time without retraining (0 reads everything, 1 skims everything).
    initial: initial carry [B, ...] (zeros if None).
    reverse: run each sequence backwards within its length.
    unroll: passed to `lax.scan`.
  Returns:
    SkimOutput with hs [B, T, d], skim_mask [B, T], flops [B].
  """
  lengths = _check_inputs(params, xs, lengths)
  lthr = _check_threshold(threshold, xs.shape[:2])  # reversed with xs: follows its token
  if initial is None:
    initial = zero_state(params, (xs.shape[0],))
  proj = _project(params, xs)

  def step(p, carry, inp):
    proj_t, lthr_t = inp
    logits = _decision_logits(p, carry, proj_t.decide)
    read = logits[..., READ] - logits[..., SKIM] >= lthr_t
    new = recurrence.masked_update(read, _read_update(p, carry, proj_t.big),
                                   _skim_update(p, carry, proj_t.small))
    return new, (_hidden(new), read)

  final, (hs, read) = recurrence.scan_rnn(step, params, initial, (proj, lthr), lengths,
                                          reverse=reverse, unroll=unroll)
  valid = recurrence.sequence_mask(lengths, xs.shape[1])
  skim_mask = valid & ~read
  return SkimOutput(final=final, hs=hs, skim_mask=skim_mask,
                    flops=skim_run_flops(params, jnp.sum(read, -1), lengths))


def cond_layer(params: SkimParams, xs: Array, length: Array | int | None = None,
               threshold: Array | float = 0.5, initial: Carry | None = None, *,
               reverse: bool = False, return_sequences: bool = False,
               record: bool = True, unroll: int = 1) -> SkimOutput:
  """Batch-1 inference with real savings: `lax.switch` runs only the chosen update per step.

  Same decisions and results as `masked_layer` for one example. Per step: one fused matvec
  `h_{t-1} @ [W_small_h | w_read - w_skim]` gives the small cell's recurrent term and the decision
  logit difference; a read then runs the big cell (LSTM: one stacked `[x_t; h_{t-1}] @ [w_i; w_h]`
  matvec, the fastest form on CPU; GRU: input and recurrent matvecs), a skim only the small cell's
  element-wise update; padded steps (t >= length) keep the carry. `vmap` over a batch
  turns the switch into a select (all branches computed).

  Args:
    params: SkimParams.
    xs: [T, D] float, one example.
    length: scalar int in [0, T] (None: T).
    threshold: scalar or [T] per-step thresholds on p_read, in [0, 1].
    initial: carry without batch axis (zeros if None).
    reverse: run backwards within `length`.
    return_sequences: also return hs [T, d] (costs one store per step).
    record: record the decisions (skim_mask, flops). Any per-step output or extra carry costs
      about 0.2 of a skim step on CPU (measured: 25-30% more time at an 84% skim rate, d=100,
      d'=10), so a caller that only needs the final state may pass False and get
      skim_mask=None, flops=None; the decisions are deterministic, so a recorded run of the
      same inputs gives them.
    unroll: passed to `lax.scan`.
  Returns:
    SkimOutput with final carry, hs [T, d] or None, skim_mask [T] and flops (scalar), or None
    for both when record=False.
  """
  _check_inputs(params, xs, None, batched=False)
  max_len = xs.shape[0]
  if length is None:
    length = max_len
  length = jnp.asarray(length)
  validation.check_lengths(length[None], 1, max_len, name="length")
  lthr = _check_threshold(threshold, (max_len,))
  if reverse:
    xs, lthr = recurrence.reverse_sequences((xs[None], lthr[None]), length[None])
    xs, lthr = xs[0], lthr[0]
  if initial is None:
    initial = zero_state(params)
  input_dim, _, small_dim = dims(params)
  gates = _num_gates(params) * small_dim
  w_dec, b_dec = params.decide.w, params.decide.b
  w_diff = (w_dec[:, READ] - w_dec[:, SKIM])[:, None]            # [D + d, 1]
  b_diff = (b_dec[READ] - b_dec[SKIM]).astype(jnp.float32)[None]
  if small_dim:
    small_b = params.small.b if _is_lstm(params) else params.small.b_i
    w_x = jnp.concatenate([params.small.w_i, w_diff[:input_dim].astype(params.small.w_i.dtype)],
                          axis=1)
    b_x = jnp.concatenate([small_b.astype(jnp.float32), b_diff])
    w_rec = jnp.concatenate([params.small.w_h, w_diff[input_dim:].astype(params.small.w_h.dtype)],
                            axis=1)                                # [d, G d' + 1]
  else:
    w_x, b_x, w_rec = w_diff[:input_dim], b_diff, w_diff[input_dim:]
  # Per token: [small input gates | decision input term | x_t | logit(threshold)], one row.
  rows = jnp.concatenate([_matmul(xs, w_x) + b_x, xs.astype(jnp.float32), lthr[:, None]], axis=1)
  valid = jnp.arange(max_len) < length

  if _is_lstm(params):
    w_xh = cells.lstm_stack_weights(params.big)  # once, outside the loop

  def read_branch(carry, row):
    x_t = row[gates + 1:gates + 1 + input_dim]
    if _is_lstm(params):
      return cells.lstm_step_stacked(w_xh, params.big.b, carry, x_t)[0]
    return _read_update(params, carry, cells.gru_input_projection(params.big, x_t))

  def skim_branch(carry, row, rec):
    return _skim_update(params, carry, row[:gates], rec[:gates])

  def body(carry, inp):
    row, valid_t = inp
    rec = _matmul(_hidden(carry), w_rec)
    read = row[gates] + rec[gates] >= row[-1]
    branch = jnp.where(valid_t, jnp.where(read, 2, 1), 0).astype(jnp.int32)
    carry = lax.switch(branch, [lambda c, r, q: c, skim_branch,
                                lambda c, r, q: read_branch(c, r)], carry, row, rec)
    return carry, (_hidden(carry) if return_sequences else None, read if record else None)

  final, (hs, read) = lax.scan(body, initial, (rows, valid), unroll=unroll)
  if hs is not None:
    hs = jnp.where(valid[:, None], hs, 0.0)
    if reverse:
      hs = recurrence.reverse_sequences(hs[None], length[None])[0]
  if not record:
    return SkimOutput(final=final, hs=hs, skim_mask=None, flops=None)
  if reverse:
    read = recurrence.reverse_sequences(read[None], length[None])[0]
  read = read & valid
  return SkimOutput(final=final, hs=hs, skim_mask=valid & ~read,
                    flops=skim_run_flops(params, jnp.sum(read), length))


def infer(params: SkimParams, xs: Array, lengths: Array | None = None,
          threshold: Array | float = 0.5, *, path: str = "masked", reverse: bool = False,
          return_sequences: bool = True) -> SkimOutput:
  """Batched hard-decision inference: `path="masked"` (`masked_layer`) or `path="cond"`
  (`cond_layer` vmapped over the batch; a real saving only at batch 1)."""
  if path == "masked":
    out = masked_layer(params, xs, lengths, threshold, reverse=reverse)
    return out if return_sequences else out._replace(hs=None)
  if path != "cond":
    raise ValueError(f"path must be 'masked' or 'cond', got {path!r}")
  lengths = _check_inputs(params, xs, lengths)
  _check_threshold(threshold, xs.shape[:2])
  thr = jnp.broadcast_to(jnp.asarray(threshold, jnp.float32), xs.shape[:2])
  fn = lambda x, n, t: cond_layer(params, x, n, t, reverse=reverse,
                                  return_sequences=return_sequences)
  return jax.vmap(fn)(xs, lengths, thr)


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


# ----------------------------------------------------------------------------------------------
# Text classifier (embedding -> Skim-RNN -> linear head on the final state), loss protocol
# ----------------------------------------------------------------------------------------------


class ClassifierParams(NamedTuple):
  """embedding: [V, E] table (None when batches carry float features); rnn: SkimParams;
  head: DenseParams [d, C] on the final hidden state."""
  embedding: Array | None
  rnn: SkimParams
  head: layers.DenseParams


def classifier_init(key: Array, vocab_size: int | None, num_classes: int, *,
                    embed_dim: int = 100, hidden_dim: int = 100, small_dim: int = 10,
                    cell: str = "lstm", param_dtype: Any = jnp.float32) -> ClassifierParams:
  """Skim-RNN text classifier (Seo et al. 2018). `vocab_size=None`: no embedding,
  the batches' 'inputs' are [B, T, embed_dim] float features."""
  validation.check_positive_int("num_classes", num_classes)
  k_emb, k_rnn, k_head = jax.random.split(key, 3)
  embedding = None
  if vocab_size is not None:
    embedding = layers.embedding_init(k_emb, vocab_size, embed_dim, param_dtype=param_dtype)
  rnn = skim_init(k_rnn, embed_dim, hidden_dim, small_dim, cell=cell, param_dtype=param_dtype)
  head = layers.dense_init(k_head, hidden_dim, num_classes, param_dtype=param_dtype)
  return ClassifierParams(embedding=embedding, rnn=rnn, head=head)


def _features(params: ClassifierParams, inputs: Array) -> Array:
  input_dim, hidden, _ = check_params(params.rnn)
  layers.check_dense("params.head", params.head, hidden, source="the state h")
  if jnp.issubdtype(inputs.dtype, jnp.integer):
    if params.embedding is None:
      raise ValueError("batch['inputs'] holds token ids but the classifier has no embedding "
                       "(built with vocab_size=None)")
    validation.check_rank("batch['inputs']", inputs, 2)
    validation.check_last_dim("params.embedding", params.embedding, input_dim,
                              "the Skim-RNN's input_dim")
    return layers.embed(params.embedding, inputs, "batch['inputs']")
  validation.check_rank("batch['inputs']", inputs, 3)
  return inputs


def _example_weights(batch: dict[str, Array], batch_size: int) -> Array:
  w = batch.get("weights", batch.get("mask"))
  if w is None:
    return jnp.ones((batch_size,), jnp.float32)
  if jnp.shape(w) != (batch_size,):
    raise ValueError(f"batch['weights'/'mask'] must have shape ({batch_size},), got "
                     f"{jnp.shape(w)}")
  return jnp.asarray(w, jnp.float32)


def _weighted_mean(x, w):
  return jnp.sum(x * w) / jnp.maximum(jnp.sum(w), 1e-9)


def classifier_loss(params: ClassifierParams, model_state: Any, batch: dict[str, Array],
                    key: Array, hparams: dict[str, Array]) -> tuple[Array, tuple[Any, dict]]:
  """Training loss in the skipjax loss protocol (Seo et al. 2018, classification loss plus the
  skim loss):

      L = CE(head(h_T), y) + gamma * mean_t(-log p_skim_t)   (mean over each example's real steps)

  with the Gumbel-softmax mixture at temperature `tau = max(0.5, exp(-1e-4 step))`. This is the
  training loss only: evaluation uses hard decisions (`classifier_infer`), never dropout.

  Args:
    params: ClassifierParams.
    model_state: unused, returned unchanged ({}).
    batch: 'inputs' [B, T] int ids (or [B, T, D] floats), 'lengths' [B], 'labels' [B];
      optional 'weights' or 'mask' [B] (0 for padded batch entries).
    key: PRNG key for the Gumbel noise (and, through `fold_in(key, 1)` / `2`, the dropout masks,
      so the noise does not depend on whether dropout is on).
    hparams: 'skim_gamma' (float32 scalar) and optionally 'step' (temperature schedule),
      'gumbel_hard' (1: straight-through Gumbel-softmax, hard decisions in the forward pass as
      at test time; default 0, the paper's soft mixture; see `gumbel_layer`) and 'dropout' (rate
      on the embedded inputs and on the final state before the head; absent: none).
  Returns:
    (loss, (model_state, metrics)): metrics 'loss', 'cross_entropy', 'skim_loss', 'accuracy',
    'skim_rate' (fraction of real steps whose sampled decision is skim), 'fraction_computed'
    (1 - skim_rate: fraction of big-cell reads), 'tau'.
  """
  if "skim_gamma" not in hparams:
    raise KeyError("hparams must contain 'skim_gamma' (weight of the skim loss)")
  validation.check_hparams(hparams, HPARAMS)
  rate = hparams.get("dropout")
  xs = _features(params, batch["inputs"])
  if rate is not None:
    xs = layers.dropout(jax.random.fold_in(key, 1), xs, rate)
  lengths, labels = batch["lengths"], batch["labels"]
  weights = _example_weights(batch, xs.shape[0])
  tau = estimators.exponential_temperature(hparams.get("step", 0.0))
  final, _, log_p, r = gumbel_layer(params.rnn, xs, key, tau, lengths,
                                    hard=hparams.get("gumbel_hard", 0.0))
  h_final = _hidden(final)
  if rate is not None:
    h_final = layers.dropout(jax.random.fold_in(key, 2), h_final, rate)
  logits = layers.dense(params.head, h_final)
  ce = layers.softmax_cross_entropy(logits, labels)
  valid = recurrence.sequence_mask(lengths, xs.shape[1]).astype(jnp.float32)
  num_steps = jnp.maximum(valid.sum(-1), 1.0)
  skim_nll = -(log_p[..., SKIM] * valid).sum(-1) / num_steps
  skim_rate = ((r[..., SKIM] > r[..., READ]) * valid).sum(-1) / num_steps
  gamma = jnp.asarray(hparams["skim_gamma"], jnp.float32)
  loss = _weighted_mean(ce + gamma * skim_nll, weights)
  metrics = {
      "loss": loss,
      "cross_entropy": _weighted_mean(ce, weights),
      "skim_loss": _weighted_mean(skim_nll, weights),
      "accuracy": _weighted_mean(layers.accuracy(logits, labels), weights),
      "skim_rate": _weighted_mean(skim_rate, weights),
      "fraction_computed": _weighted_mean(1.0 - skim_rate, weights),
      "tau": tau,
  }
  return loss, (model_state, metrics)


def classifier_infer(params: ClassifierParams, batch: dict[str, Array],
                     threshold: Array | float = 0.5, *, path: str = "masked") -> dict[str, Array]:
  """Hard-decision evaluation at a test-time `threshold` on p_read (no retraining).

  Returns per-example arrays: 'logits' [B, C], 'skim_mask' [B, T], 'skim_rate' [B], 'flops' [B]
  (the Skim-RNN's analytic FLOPs, `skim_run_flops`) and 'dense_flops' [B] (a plain RNN of size d
  over the same tokens), so that `sum(dense_flops) / sum(flops)` is the FLOP reduction. The
  embedding lookup and the head are the same for both models and are not counted.
  """
  xs = _features(params, batch["inputs"])
  lengths = batch["lengths"]
  out = infer(params.rnn, xs, lengths, threshold, path=path, return_sequences=False)
  logits = layers.dense(params.head, _hidden(out.final))
  input_dim, d, _ = dims(params.rnn)
  cell = "lstm" if _is_lstm(params.rnn) else "gru"
  n = jnp.asarray(lengths, jnp.float32)
  return {"logits": logits, "skim_mask": out.skim_mask,
          "skim_rate": out.skim_mask.sum(-1) / jnp.maximum(n, 1.0), "flops": out.flops,
          "dense_flops": dense_run_flops(input_dim, d, lengths, cell)}
