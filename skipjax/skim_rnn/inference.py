"""Skim-RNN hard-decision inference: read iff `p_read_t >= threshold`.

- `masked_layer` (batched): both candidates computed at every step and one kept (`jnp.where`),
  so no work is saved; `flops` reports what a conditional run of the same decisions costs.
- `cond_layer` (batch 1): `lax.switch` between the big and the small update, so a skimmed step
  really costs O(d' (D + d)). See its docstring for the fused matvecs. It gives the same answer
  as `masked_layer` (tested); under `vmap` its switch becomes a select (masked work).
- `gather_layer` (batched): per step the big cell runs only on the rows that read, gathered
  into a block of a few fixed sizes (`lax.switch`), so a batch saves work too.
- `infer`: any of the paths over a batch.

The decision is evaluated as `logit_read - logit_skim >= logit(threshold)`, so threshold 0 reads
every step and threshold 1 reads none; a threshold outside [0, 1] (or NaN) is an error
(concrete: ValueError; traced: reported by `checkify.checkify`), never clamped.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from skipjax import cells
from skipjax import recurrence
from skipjax import validation
from skipjax.skim_rnn.core import (Carry, READ, SKIM, SkimOutput, SkimParams, check_inputs,
                                   check_threshold, hidden_state, is_lstm, num_gates, dims,
                                   skim_run_flops, zero_state)
from skipjax.skim_rnn.steps import hard_update, matmul, project, read_update, skim_update

Array = jax.Array


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
  lengths = check_inputs(params, xs, lengths)
  lthr = check_threshold(threshold, xs.shape[:2])  # reversed with xs: follows its token
  if initial is None:
    initial = zero_state(params, (xs.shape[0],))
  proj = project(params, xs)

  def step(p, carry, inp):
    proj_t, lthr_t = inp
    new, read, _ = hard_update(p, carry, proj_t, lthr_t)
    return new, (hidden_state(new), read)

  final, (hs, read) = recurrence.scan_rnn(step, params, initial, (proj, lthr), lengths,
                                          reverse=reverse, unroll=unroll)
  valid = recurrence.sequence_mask(lengths, xs.shape[1])
  skim_mask = valid & ~read
  return SkimOutput(final=final, hs=hs, skim_mask=skim_mask,
                    flops=skim_run_flops(params, jnp.sum(read, -1), lengths))


def _fused_token_weights(params: SkimParams) -> tuple[int, Array, Array, Array]:
  """(G d', w_x [D, G d' + 1], b_x [G d' + 1], w_rec [d, G d' + 1]): the small cell's gates and
  the decision's logit difference (read - skim) as one input and one recurrent matmul."""
  input_dim, _, small_dim = dims(params)
  gates = num_gates(params) * small_dim
  w_dec, b_dec = params.decide.w, params.decide.b
  w_diff = (w_dec[:, READ] - w_dec[:, SKIM])[:, None]            # [D + d, 1]
  b_diff = (b_dec[READ] - b_dec[SKIM]).astype(jnp.float32)[None]
  if not small_dim:
    return gates, w_diff[:input_dim], b_diff, w_diff[input_dim:]
  small_b = params.small.b if is_lstm(params) else params.small.b_i
  w_x = jnp.concatenate([params.small.w_i, w_diff[:input_dim].astype(params.small.w_i.dtype)],
                        axis=1)
  b_x = jnp.concatenate([small_b.astype(jnp.float32), b_diff])
  w_rec = jnp.concatenate([params.small.w_h, w_diff[input_dim:].astype(params.small.w_h.dtype)],
                          axis=1)
  return gates, w_x, b_x, w_rec


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
  check_inputs(params, xs, None, batched=False)
  max_len = xs.shape[0]
  if length is None:
    length = max_len
  length = jnp.asarray(length)
  validation.check_lengths(length[None], 1, max_len, name="length")
  lthr = check_threshold(threshold, (max_len,))
  if reverse:
    xs, lthr = recurrence.reverse_sequences((xs[None], lthr[None]), length[None])
    xs, lthr = xs[0], lthr[0]
  if initial is None:
    initial = zero_state(params)
  input_dim, _, small_dim = dims(params)
  gates, w_x, b_x, w_rec = _fused_token_weights(params)
  # Per token: [small input gates | decision input term | x_t | logit(threshold)], one row.
  rows = jnp.concatenate([matmul(xs, w_x) + b_x, xs.astype(jnp.float32), lthr[:, None]], axis=1)
  valid = jnp.arange(max_len) < length

  if is_lstm(params):
    w_xh = cells.lstm_stack_weights(params.big)  # once, outside the loop

  def read_branch(carry, row):
    x_t = row[gates + 1:gates + 1 + input_dim]
    if is_lstm(params):
      return cells.lstm_step_stacked(w_xh, params.big.b, carry, x_t)[0]
    return read_update(params, carry, cells.gru_input_projection(params.big, x_t))

  def skim_branch(carry, row, rec):
    return skim_update(params, carry, row[:gates], rec[:gates])

  def body(carry, inp):
    row, valid_t = inp
    rec = matmul(hidden_state(carry), w_rec)
    read = row[gates] + rec[gates] >= row[-1]
    branch = jnp.where(valid_t, jnp.where(read, 2, 1), 0).astype(jnp.int32)
    carry = lax.switch(branch, [lambda c, r, q: c, skim_branch,
                                lambda c, r, q: read_branch(c, r)], carry, row, rec)
    return carry, (hidden_state(carry) if return_sequences else None, read if record else None)

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


def default_capacities(batch: int) -> tuple[int, ...]:
  """`gather_layer`'s default block sizes: 0, B/16, B/8, 3B/16, B/4, 3B/8, B/2 (those >= 1) and B
  (B=32: 0, 2, 4, 6, 8, 12, 16, 32). Finer steps near the small blocks, where a skimming model's
  readers fall, waste fewer rows; each size is one compiled branch."""
  sizes = (batch // 16, batch // 8, 3 * batch // 16, batch // 4, 3 * batch // 8, batch // 2)
  return tuple(sorted({0, batch} | {c for c in sizes if c >= 1}))


def gather_layer(params: SkimParams, xs: Array, lengths: Array | None = None,
                 threshold: Array | float = 0.5, initial: Carry | None = None, *,
                 capacities: tuple[int, ...] | None = None,
                 return_sequences: bool = True) -> SkimOutput:
  """Batched inference with real savings: per step the big cell runs only on the rows that read.

  Same decisions and results as `masked_layer` (up to float rounding of the big cell's matmul,
  which now has fewer rows). Per step:
  1. for every row, one matmul `h_{t-1} @ [W_small_h | w_read - w_skim]` gives the decision
     and the small cell's recurrent term; the small (skim) update is element-wise;
  2. the n_t rows that read are gathered (`jnp.nonzero` with a static size) into a block of the
     smallest capacity C >= n_t (`capacities`, `default_capacities`: one `lax.switch` branch
     each, shapes static), the big cell runs on that block only, and its rows are scattered
     back (the block's unused slots are dropped).
  So the big cell's work follows the number of reading rows, not the batch: at an 84% skim
  rate and B=32 (about 5 readers a step) it runs on 6 or 8 rows instead of 32. Chosen over
  sorting the batch by predicted skims or bucketing examples: the decisions depend on the state,
  so no grouping made before the step stays right, while a per-step gather is exact. Each branch's cost is
  fixed, so what it saves depends on how the readers spread over steps; at 0% skim every step
  takes the C = B branch and pays the gather, sort and scatter on top of the masked path's work.

  Args:
    params: SkimParams.
    xs: [B, T, D] float.
    lengths: [B] int (None: all T).
    threshold: scalar, or per-step thresholds broadcastable to [B, T], in [0, 1].
    initial: initial carry [B, ...] (zeros if None).
    capacities: increasing block sizes ending with B (default `default_capacities(B)`).
    return_sequences: also return hs [B, T, d].
  Returns:
    SkimOutput as `masked_layer`'s (hs None without return_sequences).
  """
  lengths = check_inputs(params, xs, lengths)
  batch, max_len = xs.shape[:2]
  lthr = check_threshold(threshold, xs.shape[:2])
  caps = default_capacities(batch) if capacities is None else tuple(int(c) for c in capacities)
  if not caps or list(caps) != sorted(set(caps)) or caps[0] < 0 or caps[-1] != batch:
    raise ValueError(f"capacities must increase strictly from >= 0 to the batch size {batch}, "
                     f"got {capacities}")
  if initial is None:
    initial = zero_state(params, (batch,))
  input_dim, _, small_dim = dims(params)
  gates, w_x, b_x, w_rec = _fused_token_weights(params)
  token = matmul(xs, w_x) + b_x                                   # [B, T, G d' + 1]
  valid = recurrence.sequence_mask(lengths, max_len)
  if is_lstm(params):
    w_xh = cells.lstm_stack_weights(params.big)  # once, outside the loop

  def big(carry_rows, x_rows):
    if is_lstm(params):
      return cells.lstm_step_stacked(w_xh, params.big.b, carry_rows, x_rows)[0]
    return read_update(params, carry_rows, cells.gru_input_projection(params.big, x_rows))

  def branch(size):
    def run(carry, x_t, read):
      if size == 0:
        return carry
      # The reading rows' indices, then B (out of range) for the block's unused slots: those
      # compute on a clipped copy of row B - 1 and their writes are dropped.
      rows = jnp.nonzero(read, size=size, fill_value=batch)[0]
      take = lambda a: jnp.take(a, rows, axis=0, mode="clip")
      updated = big(jax.tree_util.tree_map(take, carry), take(x_t))
      return jax.tree_util.tree_map(lambda full, new: full.at[rows].set(new, mode="drop"),
                                    carry, updated)
    return run

  branches = [branch(c) for c in caps]
  caps_array = jnp.asarray(caps, jnp.int32)

  def body(carry, inp):
    token_t, x_t, lthr_t, valid_t = inp
    rec = matmul(hidden_state(carry), w_rec)
    read = (token_t[:, gates] + rec[:, gates] >= lthr_t) & valid_t
    skim = skim_update(params, carry, token_t[:, :gates], rec[:, :gates])
    carry = recurrence.masked_update(valid_t & ~read, skim, carry)
    num_read = jnp.sum(read.astype(jnp.int32))
    index = jnp.searchsorted(caps_array, num_read, side="left")
    carry = lax.switch(index, branches, carry, x_t, read)
    return carry, (hidden_state(carry) if return_sequences else None, read)

  time_major = lambda a: jnp.swapaxes(a, 0, 1)
  final, (hs, read) = lax.scan(body, initial, (time_major(token), time_major(xs),
                                                time_major(lthr), time_major(valid)))
  read = time_major(read)
  if hs is not None:
    hs = jnp.where(valid[..., None], time_major(hs), 0.0)
  return SkimOutput(final=final, hs=hs, skim_mask=valid & ~read,
                    flops=skim_run_flops(params, jnp.sum(read, -1), lengths))


def infer(params: SkimParams, xs: Array, lengths: Array | None = None,
          threshold: Array | float = 0.5, *, path: str = "masked", reverse: bool = False,
          return_sequences: bool = True) -> SkimOutput:
  """Batched hard-decision inference: `path="masked"` (`masked_layer`), `path="gather"`
  (`gather_layer`: real savings at any batch) or `path="cond"` (`cond_layer` vmapped over the
  batch; a real saving only at batch 1)."""
  if path == "masked":
    out = masked_layer(params, xs, lengths, threshold, reverse=reverse)
    return out if return_sequences else out._replace(hs=None)
  if path == "gather":
    if reverse:
      raise ValueError("path='gather' runs forwards only (reverse=True: use 'masked')")
    return gather_layer(params, xs, lengths, threshold, return_sequences=return_sequences)
  if path != "cond":
    raise ValueError(f"path must be 'masked', 'gather' or 'cond', got {path!r}")
  lengths = check_inputs(params, xs, lengths)
  check_threshold(threshold, xs.shape[:2])
  thr = jnp.broadcast_to(jnp.asarray(threshold, jnp.float32), xs.shape[:2])
  fn = lambda x, n, t: cond_layer(params, x, n, t, reverse=reverse,
                                  return_sequences=return_sequences)
  return jax.vmap(fn)(xs, lengths, thr)

