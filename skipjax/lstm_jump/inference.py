"""LSTM-Jump inference that computes only what it reads: greedy (or forced) decisions in a
`lax.while_loop` over chunks, each example with its own read pointer.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from skipjax import cells
from skipjax import layers
from skipjax import recurrence
from skipjax.lstm_jump import core

Array = jax.Array


class _LoopCarry(NamedTuple):
  chunk: Array                # int32 scalar
  ptr: core.Pointer
  state: cells.LSTMState
  starts: Array               # [N + 1, B] int32
  counts: Array               # [N + 1, B] int32
  kappas: Array               # [N + 1, B] int32
  log_probs: Array            # [N + 1, B] float32


def infer(params: core.LSTMJumpParams, inputs: Array, lengths: Array | None = None, *,
          read_size: int, num_jumps: int, forced_jumps: Array | None = None,
          head: core.Head = core.default_head, unroll: int = 1) -> core.LSTMJumpOutput:
  """Greedy (or forced) reading in a `lax.while_loop` over chunks that computes only what it reads.

  Each example has its own read pointer; a chunk's R tokens are gathered per example and only
  they are embedded and projected (one [B, R, E] x [E, 4H] matmul per full chunk; a chunk cut
  short by the end projects and steps token by token, so nothing past any example's end is
  computed at batch 1: only its R embedding rows are fetched). The
  loop ends when every example is done, so a batch costs its longest reader's work. At batch 1
  a full chunk runs unmasked. Same results as `core.apply` with the same decisions (tested).
  Not differentiable (reverse mode cannot go through `while_loop`).

  Args: as `core.apply` (no key: decisions are greedy unless forced). Returns: LSTMJumpOutput
  with jump_logits and jump_hidden None.
  """
  lengths = core.check_call(params, inputs, lengths, read_size, num_jumps, forced_jumps, head)
  batch, max_len = inputs.shape[:2]
  hidden = params.lstm.w_h.shape[0]
  forced = core.forced_time_major(forced_jumps, batch, num_jumps)
  lstm = params.lstm

  # The branches take the gathered chunk, not the embedding table: a large table among a
  # conditional's operands cost a copy per chunk on CPU.
  def full_chunk(state, xs, valid, n):
    del n
    x_proj = cells.lstm_input_projection(lstm, xs)
    # At batch 1 the one example is active and reads all R tokens: no masking needed.
    return core.read_chunk(lstm, state, x_proj, None if batch == 1 else valid, unroll)

  def partial_chunk(state, xs, valid, n):
    def step(r, state):
      x_proj = cells.lstm_input_projection(lstm, lax.dynamic_index_in_dim(xs, r, 1, False))
      new, _ = cells.lstm_step_projected(lstm, state, x_proj)
      if batch == 1:
        return new
      return recurrence.masked_update(lax.dynamic_index_in_dim(valid, r, 1, keepdims=False),
                                      new, state)
    return lax.fori_loop(0, n, step, state)

  def body(c: _LoopCarry) -> _LoopCarry:
    idx, valid = core.chunk_positions(c.ptr, lengths, read_size)
    counts = jnp.sum(valid, axis=1, dtype=jnp.int32)
    n = jnp.max(counts, initial=0)  # initial: an empty batch (B = 0) traces too
    xs = core.gather_inputs(params, inputs, idx)  # [B, R, E]; rows past an end are never used
    state = lax.cond(n == read_size, full_chunk, partial_chunk, c.state, xs, valid, n)
    logits = layers.dense(params.jump, state.h)
    if forced_jumps is not None:
      kappa = lax.dynamic_index_in_dim(forced, c.chunk, 0, keepdims=False)
    else:
      kappa = jnp.argmax(logits, axis=-1).astype(jnp.int32)
    log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), kappa[:, None], axis=-1)[:, 0]
    ptr, decides = core.after_chunk(c.ptr, kappa, lengths, c.chunk, read_size, num_jumps)
    put = lambda rec, v: lax.dynamic_update_index_in_dim(rec, v, c.chunk, 0)
    return _LoopCarry(chunk=c.chunk + 1, ptr=ptr, state=state,
                      starts=put(c.starts, c.ptr.pos), counts=put(c.counts, counts),
                      kappas=put(c.kappas, jnp.where(decides, kappa, -1)),
                      log_probs=put(c.log_probs, jnp.where(decides, log_prob, 0.0)))

  records = jnp.zeros((num_jumps + 1, batch), jnp.int32)
  init_carry = _LoopCarry(
      chunk=jnp.zeros((), jnp.int32),
      ptr=core.Pointer(pos=jnp.zeros((batch,), jnp.int32),
                       jumps=jnp.zeros((batch,), jnp.int32), done=lengths == 0),
      state=cells.lstm_zero_state((batch,), hidden), starts=records, counts=records,
      kappas=jnp.full((num_jumps + 1, batch), -1, jnp.int32),
      log_probs=jnp.zeros((num_jumps + 1, batch), jnp.float32))
  c = lax.while_loop(lambda c: ~jnp.all(c.ptr.done), body, init_carry)
  bm = lambda x: jnp.swapaxes(x[:num_jumps], 0, 1)
  return core.LSTMJumpOutput(
      logits=head(params.classifier, c.state),
      read_mask=core.chunks_read_mask(c.starts, c.counts, max_len),
      jumps=bm(c.kappas), jump_log_probs=bm(c.log_probs), num_jumps=c.ptr.jumps,
      final_state=c.state)


def predict(params: core.LSTMJumpParams, inputs: Array, lengths: Array | None = None, *,
            read_size: int, num_jumps: int, head: core.Head = core.default_head) -> Array:
  """Greedy predicted class ids [B] int32 (via `infer`)."""
  out = infer(params, inputs, lengths, read_size=read_size, num_jumps=num_jumps, head=head)
  return jnp.argmax(out.logits, axis=-1).astype(jnp.int32)
