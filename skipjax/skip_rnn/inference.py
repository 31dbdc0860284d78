"""Skip RNN inference that really skips: a `lax.while_loop` that jumps from update to update.

After an update with gate probability du the cell skips exactly `N_skip = ceil(0.5 / du) - 1`
steps (Campos et al. 2018, sec. 3), and a skipped step changes nothing but u_cum. So the loop
computes one core step + gate per iteration and then jumps `t += N_skip + 1`: skipped steps cost
nothing. The decisions and states are those of the masked training scan `core.skip_rnn` (with
deterministic rounding), which takes its forward decisions from the same integer count.

Per iteration the loop does: the gate, the jump, read x_t's projection (hoisted before the
loop, or a row of a projected embedding table for tokens), one stacked core step, and one scalar
write into the update mask; with `return_hidden=True` also one [H] row, from which the per-step
hidden states of the skipped spans are filled after the loop in one bulk gather.

`skip_rnn_infer` works on one sequence (the batch-1 path of the benchmark); `skip_rnn_infer_batch`
is its `vmap`, a loop that runs to the batch's largest update count (finished examples are
masked, their work is wasted: in a batch the speed-up is bounded by the slowest example).

`lax.while_loop` has no reverse-mode gradient: train with `core.skip_rnn`, infer with this.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

from skipjax import validation
from skipjax.skip_rnn import core

Array = jax.Array


class SkipInference(NamedTuple):
  """Result of the jumping inference for one sequence (a leading B for the batched path).

  state: tuple of per-layer core states after the last real step ([H] leaves).
  num_updates: int32 scalar, the number of steps computed.
  update_mask: [T] bool, True at the steps that were computed (never at padded steps).
  hs: [T, H] float32 top-layer hidden state after each step (repeated over skipped steps, zero at
    padded steps), or None unless `return_hidden=True`.
  """
  state: tuple
  num_updates: Array
  update_mask: Array
  hs: Array | None


class _Loop(NamedTuple):
  t: Array            # the last step computed (-1 before the first)
  state: tuple
  update_mask: Array  # [T + 1] bool; slot T takes the write of the final, discarded iteration
  hs: Array | None    # [T + 1, H]: row t = h after the update at step t


def _jump_loop(params: core.SkipParams, read: Callable[[Array], Array], max_len: int,
               length: Array, return_hidden: bool) -> SkipInference:
  """The jumping loop. `read(t)` returns layer 0's projected input at step t (t in [0, T)).

  Each iteration first reads the gate of the previous update from the carried state (it does not
  depend on anything computed in this iteration, so it runs alongside the recurrent matmul), jumps
  to the next update t, and computes it. The loop stops once t >= length; that last iteration's
  step is computed and discarded (one wasted step per sequence, in exchange for no gate in the
  loop condition).
  """
  hidden = params.gate.w.shape[0]

  def body(loop):
    n_skip = core.num_skips(core.update_prob_delta(params.gate, loop.state), max_len)
    t = loop.t + jnp.where(loop.t < 0, 0, n_skip) + 1  # u_cum_0 = 1: step 0 always updates
    valid = t < length
    new_state = core.stack_step(params.cores, loop.state, read(jnp.minimum(t, max_len - 1)))
    state = jax.tree_util.tree_map(lambda n, o: jnp.where(valid, n, o), new_state, loop.state)
    slot = jnp.minimum(t, max_len)
    update_mask = lax.dynamic_update_index_in_dim(loop.update_mask, True, slot, 0)
    hs = loop.hs
    if return_hidden:
      hs = lax.dynamic_update_index_in_dim(hs, core.core_hidden(new_state[-1]), slot, 0)
    return _Loop(t, state, update_mask, hs)

  init = _Loop(t=jnp.int32(-1),
               state=jax.tree_util.tree_map(lambda s: s.astype(jnp.float32),
                                            params.initial_state),
               update_mask=jnp.zeros((max_len + 1,), bool),
               hs=jnp.zeros((max_len + 1, hidden), jnp.float32) if return_hidden else None)
  loop = lax.while_loop(lambda loop: loop.t < length, body, init)
  real = jnp.arange(max_len) < length
  update_mask = loop.update_mask[:max_len] & real
  hs = None
  if return_hidden:
    # Step t shows the state of the latest update at or before t (all in one gather).
    last = lax.cummax(jnp.where(update_mask, jnp.arange(max_len), 0), axis=0)
    hs = jnp.where(real[:, None], loop.hs[last], 0.0)
  return SkipInference(state=loop.state, num_updates=jnp.sum(update_mask, dtype=jnp.int32),
                       update_mask=update_mask, hs=hs)


def _check_length(length, max_len) -> Array:
  """length in [0, T]: raises now when concrete; when traced, a `checkify.debug_check` (a
  plain jitted call cannot raise: `checkify.checkify` reports it)."""
  if length is None:
    return jnp.int32(max_len)
  if jnp.ndim(length) != 0:
    raise ValueError(f"length must be a scalar, got shape {jnp.shape(length)}")
  validation.check_lengths(jnp.reshape(jnp.asarray(length), (1,)), 1, max_len, "length")
  return jnp.asarray(length, jnp.int32)


def _empty(params: core.SkipParams, return_hidden: bool) -> SkipInference:
  """The result over a sequence of T = 0 steps: the initial state, nothing computed (as
  `core.skip_rnn` gives); the loop itself needs a step to read."""
  hidden = params.gate.w.shape[0]
  return SkipInference(
      state=jax.tree_util.tree_map(lambda s: s.astype(jnp.float32), params.initial_state),
      num_updates=jnp.int32(0), update_mask=jnp.zeros((0,), bool),
      hs=jnp.zeros((0, hidden), jnp.float32) if return_hidden else None)


def skip_rnn_infer(params: core.SkipParams, xs: Array, length: Array | int | None = None, *,
                   return_hidden: bool = False,
                   hoist_input: bool | None = None) -> SkipInference:
  """Jumping Skip RNN inference over one sequence of dense inputs.

  Args:
    params: SkipParams.
    xs: [T, D] float inputs of one sequence.
    length: int in [0, T] (steps beyond it are never read); None means T. Out of range: a
      ValueError when concrete; under jit a `checkify.debug_check` (wrap the call in
      `checkify.checkify` to have it reported; a plain jitted call does not check it).
    return_hidden: also return the per-step hidden states hs [T, H].
    hoist_input: True projects all T inputs with one matmul before the loop; False projects x_t
      inside the loop, only at updated steps. None (default): inside the loop when D <= H / 4
      (the in-loop matvec is then at most a quarter of the recurrent one), else hoisted. For
      pixel-by-pixel MNIST (D=1, H=110, T=784) the hoisted projection writes a [784, 440] array
      that cost ~55 us per sequence, more than 10% of a loop updating 10% of the steps.
  Returns:
    SkipInference; equals `core.skip_rnn` (deterministic) on the same sequence (T = 0 included:
    the initial state, no update).
  """
  core.check_params(params)
  validation.check_rank("xs", xs, 2)
  validation.check_floating("xs", xs)
  validation.check_last_dim("xs", xs, params.cores[0].w_i.shape[0], "the Skip RNN's input_dim")
  max_len = xs.shape[0]
  length = _check_length(length, max_len)
  if max_len == 0:
    return _empty(params, return_hidden)
  first = params.cores[0]
  if hoist_input is None:
    hoist_input = default_hoist(params)
  if hoist_input:
    x_proj = core.core_input_projection(first, xs)
    read = lambda t: lax.dynamic_index_in_dim(x_proj, t, keepdims=False)
  else:
    read = lambda t: core.core_input_projection(
        first, lax.dynamic_index_in_dim(xs, t, keepdims=False))
  return _jump_loop(params, read, max_len, length, return_hidden)


def default_hoist(params: core.SkipParams) -> bool:
  """Whether `skip_rnn_infer` hoists layer 0's input projection by default: when D > H / 4."""
  input_dim, hidden = params.cores[0].w_i.shape[0], params.cores[0].w_h.shape[0]
  return 4 * input_dim > hidden


def project_embedding(params: core.SkipParams, table: Array) -> Array:
  """Layer 0's input projection of every row of an embedding table: [V, D] -> [V, 4H or 3H].

  Computed once per set of parameters, it turns each token's input projection into a row lookup,
  so token inference (`skip_rnn_infer_tokens`) does no input matmul at all.
  """
  validation.check_rank("table", table, 2)
  return core.core_input_projection(params.cores[0], table)


def skip_rnn_infer_tokens(params: core.SkipParams, table_proj: Array, ids: Array,
                          length: Array | int | None = None, *,
                          return_hidden: bool = False) -> SkipInference:
  """Jumping inference over one sequence of token ids [T], reading `project_embedding` rows.

  Only the tokens at updated steps are ever looked up. Same result as `skip_rnn_infer` on
  `table[ids]`. ids must lie in [0, V) (V = table_proj.shape[0]): checked when concrete, by
  `checkify.checkify` when traced (a dynamic index would clamp them silently).
  """
  core.check_params(params)
  validation.check_rank("ids", ids, 1)
  validation.check_rank("table_proj", table_proj, 2)
  validation.check_token_ids("ids", ids, table_proj.shape[0])
  validation.check_last_dim("table_proj", table_proj, params.cores[0].w_h.shape[1],
                            "layer 0's projected width")
  max_len = ids.shape[0]
  length = _check_length(length, max_len)
  if max_len == 0:
    return _empty(params, return_hidden)
  read = lambda t: lax.dynamic_index_in_dim(
      table_proj, lax.dynamic_index_in_dim(ids, t, keepdims=False), keepdims=False)
  return _jump_loop(params, read, max_len, length, return_hidden)


def skip_rnn_infer_batch(params: core.SkipParams, xs: Array, lengths: Array | None = None, *,
                         return_hidden: bool = False,
                         hoist_input: bool | None = None) -> SkipInference:
  """Batched jumping inference: `skip_rnn_infer` vmapped over xs [B, T, D] and lengths [B].

  The loop runs to the largest update count in the batch (finished examples idle); each example
  reads its own x_t. Returns SkipInference with a leading batch axis on every field. Lengths
  are checked when concrete; traced ones cannot be checkified here (jax 0.10 supports neither
  checkify of a vmapped `while_loop` nor vmap of a checkified one), so check them before the jit.
  """
  lengths = core.check_inputs(params, xs, lengths)
  fn = lambda x, n: skip_rnn_infer(params, x, n, return_hidden=return_hidden,
                                   hoist_input=hoist_input)
  return jax.vmap(fn)(xs, lengths)
