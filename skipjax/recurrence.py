"""Sequence drivers: masked updates and `lax.scan` over time with per-example lengths.

Conventions: sequences are batch-major, `xs` of shape [B, T, ...] (any pytree of such arrays);
`lengths` [B] int gives each example's true length, and steps t >= lengths[b] leave the carry
unchanged and emit zeros, so padding never changes the result. Step functions have the signature
`step(params, carry, x_t) -> (carry, y_t)` and act on the whole batch (leading axis B).
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

import jax
import jax.numpy as jnp
from jax import lax

from skipjax import cells
from skipjax import fused_lstm
from skipjax import validation

Array = jax.Array
Carry = TypeVar("Carry")
StepFn = Callable[[Any, Any, Any], tuple[Any, Any]]


def masked_update(mask: Array, new: Carry, old: Carry) -> Carry:
  """`where(mask, new, old)` over any carry pytree.

  `mask` has the leading (batch) shape of the leaves, e.g. [B], and is broadcast over their
  trailing axes. This saves no work: both `new` and `old` have been computed.
  """
  mask = jnp.asarray(mask)

  def pick(n, o):
    m = mask.reshape(mask.shape + (1,) * (jnp.ndim(n) - mask.ndim))
    return jnp.where(m, n, o)

  return jax.tree_util.tree_map(pick, new, old)


def sequence_mask(lengths: Array, max_len: int) -> Array:
  """[B, T] bool, True where t < lengths[b]."""
  return jnp.arange(max_len)[None, :] < jnp.asarray(lengths)[:, None]


def _time_major(tree):
  return jax.tree_util.tree_map(lambda x: jnp.swapaxes(x, 0, 1), tree)


def scan_rnn(step_fn: StepFn, params: Any, init_carry: Carry, xs: Any,
             lengths: Array | None = None, *, reverse: bool = False,
             unroll: int = 1) -> tuple[Carry, Any]:
  """Runs `step_fn` over time with `lax.scan`, masking steps past each example's length.

  Args:
    step_fn: `step(params, carry, x_t) -> (carry, y_t)`, batched over a leading axis B.
    params: passed unchanged to every step.
    init_carry: pytree with leading axis B.
    xs: pytree of [B, T, ...] arrays.
    lengths: optional [B] int in [0, T]; None means every example has length T.
    reverse: run from the last real step to the first (each sequence reversed within its own
      length, so padding stays at the end): the backward half of a bidirectional RNN.
    unroll: passed to `lax.scan`.
  Returns:
    (final carry, ys) with ys [B, T, ...]; the final carry is the one after each example's last
    real step, and ys are zero at padded steps.
  """
  leaves = jax.tree_util.tree_leaves(xs)
  if not leaves:
    raise ValueError("xs must contain at least one array")
  for leaf in leaves:
    validation.check_rank("xs", leaf, tuple(range(2, 8)))
  batch, max_len = leaves[0].shape[:2]
  for leaf in leaves:
    if leaf.shape[:2] != (batch, max_len):
      raise ValueError(f"every xs leaf must have the same [B, T]; got {leaf.shape[:2]} and "
                       f"{(batch, max_len)}")
  if lengths is None:
    # Every step is real: no masking work, and reversal is a plain reversed scan.
    def plain_body(carry, x_t):
      return step_fn(params, carry, x_t)
    carry, ys = lax.scan(plain_body, init_carry, _time_major(xs), reverse=reverse, unroll=unroll)
    return carry, _time_major(ys)
  validation.check_lengths(lengths, batch, max_len)
  if reverse:
    xs = reverse_sequences(xs, lengths)
  mask = sequence_mask(lengths, max_len)

  def body(carry, inp):
    x_t, m_t = inp
    new_carry, y_t = step_fn(params, carry, x_t)
    carry = masked_update(m_t, new_carry, carry)
    y_t = masked_update(m_t, y_t, jax.tree_util.tree_map(jnp.zeros_like, y_t))
    return carry, y_t

  carry, ys = lax.scan(body, init_carry, (_time_major(xs), mask.T), unroll=unroll)
  ys = _time_major(ys)
  if reverse:
    ys = reverse_sequences(ys, lengths)
  return carry, ys


def reverse_sequences(xs: Any, lengths: Array) -> Any:
  """Reverses each [B, T, ...] sequence within its own length; padding stays at the end."""
  def rev(x):
    max_len = x.shape[1]
    t = jnp.arange(max_len)[None, :]
    idx = jnp.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    idx = idx.reshape(idx.shape + (1,) * (x.ndim - 2))
    return jnp.take_along_axis(x, idx, axis=1)
  return jax.tree_util.tree_map(rev, xs)


def _check_layer_inputs(params, xs, what):
  input_dim, _ = cells.check_params("params", params)
  validation.check_rank("xs", xs, 3)
  validation.check_floating("xs", xs)
  validation.check_last_dim("xs", xs, input_dim, f"the {what}'s input_dim")


def _check_state(name, state, batch, hidden):
  for leaf in jax.tree_util.tree_leaves(state):
    if jnp.shape(leaf) != (batch, hidden):
      raise ValueError(f"{name} must hold [B, H] = {(batch, hidden)} arrays, got shape "
                       f"{jnp.shape(leaf)}")


def lstm_final_state(params: cells.LSTMParams, xs: Array | None = None, *,
                     x_proj: Array | None = None, unroll: int = 1) -> cells.LSTMState:
  """The plain LSTM's final state over all T steps, no per-step outputs and no lengths: the lean
  baseline that the skipping models' inference is timed against (it pays for nothing they
  skip). Give raw inputs `xs` [B, T, D] (the input projected inside each step) or their
  projections `x_proj` [B, T, 4H] (`cells.lstm_input_projection`: one matmul for all steps);
  [T, D] / [T, 4H] without a batch axis work too."""
  if (xs is None) == (x_proj is None):
    raise ValueError("give exactly one of xs (raw inputs) or x_proj (input projections)")
  seq = xs if x_proj is None else x_proj
  batch_shape, time_axis = seq.shape[:-2], seq.ndim - 2
  if x_proj is None:
    body = lambda state, x_t: (cells.lstm_step(params, state, x_t)[0], None)
  else:
    body = lambda state, xp_t: (cells.lstm_step_projected(params, state, xp_t)[0], None)
  init = cells.lstm_zero_state(batch_shape, params.w_h.shape[0])
  return lax.scan(body, init, jnp.moveaxis(seq, time_axis, 0), unroll=unroll)[0]


def lstm_layer(params: cells.LSTMParams, xs: Array, lengths: Array | None = None,
               initial_state: cells.LSTMState | None = None, *, reverse: bool = False,
               unroll: int = 1, hoist_input: bool | None = None,
               backward: str = "autodiff") -> tuple[cells.LSTMState, Array]:
  """An LSTM (torch.nn.LSTM equations) over a batch of sequences, one matmul per step.

  Stacked form: each step inside `lax.scan` multiplies `[x_t; h_{t-1}]` [B, D+H] by the stacked
  weights `[w_i; w_h]` (stacked once, outside the loop). Hoisted form (`hoist_input=True`): the
  input projection of all steps is one big [B*T, D] x [D, 4H] matmul before the loop and each
  step does [B, H] x [H, 4H]. The default picks, by batch size, the one that was faster on CPU
  (skipjax/bench/lstm.py); pass `hoist_input` explicitly to choose (e.g. on accelerators).

  Args:
    params: LSTMParams (w_i [D, 4H], w_h [H, 4H], b [4H]).
    xs: [B, T, D] float.
    lengths: [B] int in [0, T], or None for all T steps.
    initial_state: LSTMState of [B, H] (zeros if None).
    reverse: run each sequence backwards within its length (see `scan_rnn`).
    unroll: `lax.scan` unroll.
    hoist_input: compute the input projection for all steps before the loop. None (default)
      hoists at batch 1 only, where it was faster on CPU (T=400, D=H=128: 0.72x Flax's time for
      inference and 0.73x for an Adam step, against 0.90x / 1.06x stacked), while at batch 32
      the stacked step won (0.85x / 0.97x, against 1.70x / 1.19x hoisted):
      experiments/bench/cpu_quiet.json.
    backward: "autodiff" (reverse-mode autodiff of the scan; any dtype, forward-mode too) or
      "fused" (`skipjax.fused_lstm`: a custom VJP whose backward loop computes only the
      recurrent gradient and forms the weight gradients as whole-sequence matmuls after it;
      float32 only, no forward-mode differentiation, not with hoist_input=True). Same values.
  Returns:
    (final LSTMState after each example's last real step, hs [B, T, H] float32, zero at padding).
  """
  _check_layer_inputs(params, xs, "LSTM")
  hidden = params.w_h.shape[0]
  if initial_state is None:
    initial_state = cells.lstm_zero_state((xs.shape[0],), hidden)
  _check_state("initial_state", initial_state, xs.shape[0], hidden)
  if backward not in ("autodiff", "fused"):
    raise ValueError(f"backward must be 'autodiff' or 'fused', got {backward!r}")
  if backward == "fused":
    if hoist_input:
      raise ValueError("backward='fused' projects the input inside each step: leave "
                       "hoist_input None or False")
    return _fused_lstm_layer(params, xs, lengths, initial_state, reverse=reverse, unroll=unroll)
  if hoist_input is None:
    hoist_input = xs.shape[0] == 1
  if hoist_input:
    x_proj = cells.lstm_input_projection(params, xs)
    return scan_rnn(cells.lstm_step_projected, params, initial_state, x_proj, lengths,
                    reverse=reverse, unroll=unroll)
  stacked = (cells.lstm_stack_weights(params), params.b)
  step = lambda p, state, x_t: cells.lstm_step_stacked(p[0], p[1], state, x_t)
  return scan_rnn(step, stacked, initial_state, xs, lengths, reverse=reverse, unroll=unroll)


def _fused_lstm_layer(params, xs, lengths, initial_state, *, reverse, unroll):
  """`lstm_layer` through `fused_lstm.lstm_scan` (masking and reversal as `scan_rnn`)."""
  fused_lstm.check_float32(params, xs, initial_state)
  batch, max_len = xs.shape[:2]
  if lengths is None:
    lengths = jnp.full((batch,), max_len, jnp.int32)
  validation.check_lengths(lengths, batch, max_len)
  mask = sequence_mask(lengths, max_len).astype(jnp.float32)
  if reverse:
    xs = reverse_sequences(xs, lengths)
  c, h, hs = fused_lstm.lstm_scan(params.w_i, params.w_h, params.b, jnp.swapaxes(xs, 0, 1),
                                  mask.T, initial_state.c, initial_state.h, unroll)
  hs = jnp.swapaxes(hs, 0, 1)
  if reverse:
    hs = reverse_sequences(hs, lengths)
  return cells.LSTMState(c=c, h=h), hs


def gru_layer(params: cells.GRUParams, xs: Array, lengths: Array | None = None,
              initial_state: Array | None = None, *, reverse: bool = False,
              unroll: int = 1) -> tuple[Array, Array]:
  """A GRU over a batch of sequences (input projection hoisted out of the loop).

  Args: xs [B, T, D]; lengths [B]; initial_state [B, H]. Returns (final h [B, H], hs [B, T, H]).
  """
  _check_layer_inputs(params, xs, "GRU")
  hidden = params.w_h.shape[0]
  if initial_state is None:
    initial_state = cells.gru_zero_state((xs.shape[0],), hidden)
  _check_state("initial_state", initial_state, xs.shape[0], hidden)
  x_proj = cells.gru_input_projection(params, xs)
  return scan_rnn(cells.gru_step_projected, params, initial_state, x_proj, lengths,
                  reverse=reverse, unroll=unroll)
