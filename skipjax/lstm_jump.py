"""LSTM-Jump (Yu, Lee, Le, ACL 2017): an LSTM that reads R tokens, then jumps ahead.

The reader (PAPERS.md section 3) alternates reading and jumping. It reads R tokens with the LSTM;
at the last token read, the jump head `softmax(W h + b)` over {0, 1, ..., K} picks kappa. kappa = 0
stops reading; otherwise the next token read is kappa positions after the last one read (kappa - 1
tokens are skipped), and R more tokens are read from there. Reading also stops after N jumps (the
R tokens after the N-th jump are read, then no further decision is made) and at the end of the
example's unpadded sequence: a chunk cut short by the end, or one ending on the last token, makes
no decision, and a jump past the end stops the reader (that decision counts as a jump). The final
LSTM state feeds the classifier (or a user head). Worked example, T=10, R=2, decisions (3, 0):
tokens 1, 2, 5, 6 (1-indexed) are read.

K is architectural (the jump head has K + 1 outputs); R (`read_size`) and N (`num_jumps`) are
static call arguments and may differ between training and test.

Two paths compute the same thing (tested):
- `apply`: a bounded `lax.scan` over the N + 1 chunks of R steps with a `done` mask. It is
  differentiable and samples the decisions (training), takes them greedily, or takes them from
  `forced_jumps`. It does the work of (N + 1) * R steps whatever is read.
- `infer`: greedy (or forced) decisions in a `lax.while_loop` over chunks that computes only what
  it reads: each example has its own read pointer, its chunk's tokens are gathered, and the
  embedding lookup and LSTM input projection are done for the gathered tokens only. The loop ends
  when every example is done, so a batch costs its longest reader's work; at batch 1 it is a plain
  per-example loop with no masking.

Training (`make_loss_fn`): cross-entropy + REINFORCE on the jump decisions with reward +1 / -1 for
a right / wrong prediction, and the paper's learned linear baseline `b_i = w . sg(h_i) + c` at
each jump point i (one (w, c) shared by all jump points, as in the paper), trained by squared
error to the reward; the advantage is `sg(reward - b_i)`. Options that reimplementations needed
against variance: several sampled trajectories per example, an entropy bonus
(`hparams['entropy_beta']`), reward normalisation over the batch.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from skipjax import cells
from skipjax import estimators
from skipjax import layers
from skipjax import recurrence
from skipjax import validation
from skipjax.train import state as state_lib

Array = jax.Array
Batch = dict[str, Any]
# head(classifier_params, final_state) -> logits [B, C]: the classifier on the last LSTM state.
Head = Callable[[Any, cells.LSTMState], Array]

_baseline_init, _baseline_apply = estimators.linear_baseline()

# The loss hparams `make_loss_fn` reads and their ranges; `experiments.registry.check_hparams`
# checks configs against them.
HPARAMS = {"entropy_beta": validation.NONNEG, "dropout": validation.RATE}


class LSTMJumpParams(NamedTuple):
  """embedding: [V, E] for integer-token inputs, None for float inputs [B, T, D];
  lstm: LSTMParams (input E or D, hidden H); jump: DenseParams [H, K + 1] (logit 0 = stop);
  classifier: the head's parameters (DenseParams [H, C] for the default head);
  baseline: LinearBaselineParams (w [H], b []) of the REINFORCE baseline."""
  embedding: Array | None
  lstm: cells.LSTMParams
  jump: layers.DenseParams
  classifier: Any
  baseline: estimators.LinearBaselineParams


class LSTMJumpOutput(NamedTuple):
  """What one pass of the reader returns (B examples, T padded length, N = num_jumps).

  logits: [B, C] float32, the head on the final state.
  read_mask: [B, T] bool, True at the tokens the LSTM read.
  jumps: [B, N] int32, the decision kappa at each jump point, -1 where no decision was made.
  jump_log_probs: [B, N] float32, log pi(kappa) of each decision, 0 where none was made.
  num_jumps: [B] int32, jumps taken (decisions kappa > 0, a jump past the end included).
  final_state: LSTMState of [B, H], the state after the last token read (zeros if none).
  jump_logits: [B, N, K + 1] float32 logits of each jump point (`apply` only; None from `infer`).
  jump_hidden: [B, N, H] float32 hidden state at each jump point, the baseline's features
    (`apply` only; None from `infer`).
  """
  logits: Array
  read_mask: Array
  jumps: Array
  jump_log_probs: Array
  num_jumps: Array
  final_state: cells.LSTMState
  jump_logits: Array | None = None
  jump_hidden: Array | None = None


def init(key: Array, *, vocab_size: int | None = None, input_dim: int | None = None,
         embed_dim: int | None = None, hidden_dim: int, num_classes: int, max_jump: int,
         forget_bias: float = 1.0, cell_init: str = "default",
         param_dtype: Any = jnp.float32) -> LSTMJumpParams:
  """Initial LSTM-Jump parameters.

  Args:
    key: PRNG key.
    vocab_size: for integer-token inputs [B, T]: size of the embedding table (needs embed_dim).
    input_dim: for float inputs [B, T, D]: D. Give exactly one of vocab_size and input_dim.
    embed_dim: embedding size E (token inputs only).
    hidden_dim: H.
    num_classes: C, outputs of the default classifier head.
    max_jump: K, the largest jump; the jump head has K + 1 outputs (0 = stop).
    forget_bias, cell_init: see `cells.lstm_init`.
    param_dtype: storage dtype of the weight matrices.
  """
  if (vocab_size is None) == (input_dim is None):
    raise ValueError("give exactly one of vocab_size (token inputs) and input_dim (float "
                     f"inputs); got vocab_size={vocab_size!r}, input_dim={input_dim!r}")
  validation.check_positive_int("hidden_dim", hidden_dim)
  validation.check_positive_int("num_classes", num_classes)
  validation.check_positive_int("max_jump", max_jump)
  k_e, k_l, k_j, k_c = jax.random.split(key, 4)
  if vocab_size is not None:
    if embed_dim is None:
      raise ValueError("embed_dim is required with vocab_size")
    embedding = layers.embedding_init(k_e, vocab_size, embed_dim, param_dtype=param_dtype)
    lstm_input = embed_dim
  else:
    if embed_dim is not None:
      raise ValueError("embed_dim only applies to token inputs (vocab_size); float inputs feed "
                       "the LSTM directly")
    embedding, lstm_input = None, input_dim
  return LSTMJumpParams(
      embedding=embedding,
      lstm=cells.lstm_init(k_l, lstm_input, hidden_dim, forget_bias=forget_bias, init=cell_init,
                           param_dtype=param_dtype),
      jump=layers.dense_init(k_j, hidden_dim, max_jump + 1, param_dtype=param_dtype),
      classifier=layers.dense_init(k_c, hidden_dim, num_classes, param_dtype=param_dtype),
      baseline=_baseline_init(hidden_dim))


def max_jump(params: LSTMJumpParams) -> int:
  """K, the largest jump the head can take."""
  return params.jump.w.shape[-1] - 1


def default_head(classifier: layers.DenseParams, final_state: cells.LSTMState) -> Array:
  """Logits `dense(classifier, h_final)`: [B, C] float32."""
  return layers.dense(classifier, final_state.h)


# ----------------------------------------------------------------------------------------------
# The read / jump rules, shared by both paths
# ----------------------------------------------------------------------------------------------


class _Pointer(NamedTuple):
  pos: Array    # [B] int32, the next token to read
  jumps: Array  # [B] int32, jumps taken so far
  done: Array   # [B] bool


def _chunk_positions(ptr: _Pointer, lengths: Array, read_size: int) -> tuple[Array, Array]:
  """Positions [B, R] of the next chunk and which of them are read ([B, R] bool, a prefix)."""
  idx = ptr.pos[:, None] + jnp.arange(read_size, dtype=jnp.int32)
  return idx, ~ptr.done[:, None] & (idx < lengths[:, None])


def _after_chunk(ptr: _Pointer, kappa: Array, lengths: Array, chunk: Array, read_size: int,
                 num_jumps: int) -> tuple[_Pointer, Array]:
  """Applies decision kappa [B] after chunk number `chunk` (0-based). Returns (pointer, decides):
  `decides` [B] is True where a decision was made (a full chunk was read, tokens remain after it,
  and fewer than N jumps were taken)."""
  last = ptr.pos + read_size - 1
  decides = ~ptr.done & (last + 1 < lengths) & (chunk < num_jumps)
  moves = decides & (kappa > 0)
  pos = jnp.where(moves, last + kappa, ptr.pos)
  done = ptr.done | ~moves | (pos >= lengths)
  return _Pointer(pos=pos, jumps=ptr.jumps + moves.astype(jnp.int32), done=done), decides


def _read_mask(starts: Array, counts: Array, max_len: int) -> Array:
  """[B, T] bool from chunk starts and read counts, both [chunks, B]."""
  t = jnp.arange(max_len)[None, None, :]
  s, n = starts[:, :, None], counts[:, :, None]
  return jnp.any((t >= s) & (t < s + n), axis=0)


def _gather_inputs(params: LSTMJumpParams, inputs: Array, idx: Array) -> Array:
  """LSTM inputs [B, R, E] of the tokens at positions idx [B, R] (clipped into [0, T))."""
  idx = jnp.clip(idx, 0, inputs.shape[1] - 1)
  if params.embedding is not None:
    return layers.embed(params.embedding, jnp.take_along_axis(inputs, idx, axis=1))
  return jnp.take_along_axis(inputs, idx[..., None], axis=1)


def _read_chunk(lstm: cells.LSTMParams, state: cells.LSTMState, x_proj: Array,
                valid: Array | None, unroll: int) -> cells.LSTMState:
  """R LSTM steps over projected inputs x_proj [B, R, 4H]; steps where valid [B, R] is False
  leave the state unchanged (valid None: every step is read)."""
  def step(state, inp):
    xp, v = inp
    new, _ = cells.lstm_step_projected(lstm, state, xp)
    return (new if v is None else recurrence.masked_update(v, new, state)), None

  xs = (jnp.swapaxes(x_proj, 0, 1), None if valid is None else valid.T)
  state, _ = lax.scan(step, state, xs, unroll=unroll)
  return state


def check_params(params: LSTMJumpParams, head: Head = default_head) -> tuple[int, int]:
  """Checks that the shapes of LSTMJumpParams agree; returns (LSTM input size, H).

  lstm: w_i [E or D, 4H], w_h [H, 4H]; embedding [V, E]; jump [H, K + 1]; baseline w [H]; and,
  with the default head, classifier [H, C]. A mismatch raises ValueError naming the field, not
  a `dot_general` error inside the loop.
  """
  input_dim, hidden = cells.check_params("params.lstm", params.lstm)
  if params.embedding is not None:
    validation.check_rank("params.embedding", params.embedding, 2)
    validation.check_last_dim("params.embedding", params.embedding, input_dim,
                              "the LSTM's input_dim (params.lstm.w_i)")
  _, outputs = layers.check_dense("params.jump", params.jump, hidden, source="params.lstm's h")
  if outputs < 2:
    raise ValueError(f"params.jump gives {outputs} outputs; the jump head needs K + 1 >= 2 "
                     "(stop, jump 1, ...)")
  if head is default_head:
    layers.check_dense("params.classifier", params.classifier, hidden,
                       source="params.lstm's h")
  if jnp.shape(params.baseline.w) != (hidden,) or jnp.shape(params.baseline.b) != ():
    raise ValueError(f"params.baseline must have w [{hidden}] and a scalar b (H of "
                     f"params.lstm), got w {jnp.shape(params.baseline.w)} and b "
                     f"{jnp.shape(params.baseline.b)}")
  return input_dim, hidden


def _check_call(params: LSTMJumpParams, inputs: Array, lengths: Array | None, read_size: int,
                num_jumps: int, forced_jumps: Array | None, head: Head) -> Array:
  validation.check_positive_int("read_size", read_size)
  validation.check_nonneg_int("num_jumps", num_jumps)
  check_params(params, head)
  if params.embedding is not None:
    validation.check_rank("inputs", inputs, 2)
    if not jnp.issubdtype(jnp.result_type(inputs), jnp.integer):
      raise TypeError(f"inputs must be integer token ids [B, T] (the model has an embedding), "
                      f"got dtype {jnp.result_type(inputs)}")
    # Checked on all of `inputs` here: the loop embeds only the tokens it reads.
    validation.check_token_ids("inputs", inputs, params.embedding.shape[0])
  else:
    validation.check_rank("inputs", inputs, 3)
    validation.check_floating("inputs", inputs)
    validation.check_last_dim("inputs", inputs, params.lstm.w_i.shape[0], "the LSTM's input_dim")
  batch, max_len = inputs.shape[:2]
  if lengths is None:
    lengths = jnp.full((batch,), max_len, jnp.int32)
  validation.check_lengths(lengths, batch, max_len)
  if forced_jumps is not None:
    if jnp.shape(forced_jumps) != (batch, num_jumps):
      raise ValueError(f"forced_jumps must have shape (batch, num_jumps) = {(batch, num_jumps)}, "
                       f"got {jnp.shape(forced_jumps)}")
    if not jnp.issubdtype(jnp.result_type(forced_jumps), jnp.integer):
      raise TypeError(f"forced_jumps must be integers, got {jnp.result_type(forced_jumps)}")
    if np.size(forced_jumps):
      validation.check_in("forced_jumps", forced_jumps, validation.Interval(0, max_jump(params)),
                          f"(K={max_jump(params)})")
  return jnp.asarray(lengths, jnp.int32)


def _forced_time_major(forced_jumps: Array | None, batch: int, num_jumps: int) -> Array:
  """[N + 1, B] int32 decisions per chunk (the last chunk never decides: zeros)."""
  if forced_jumps is None:
    return jnp.zeros((num_jumps + 1, batch), jnp.int32)
  f = jnp.asarray(forced_jumps, jnp.int32).T
  return jnp.concatenate([f, jnp.zeros((1, batch), jnp.int32)], axis=0)


# ----------------------------------------------------------------------------------------------
# Training path: bounded masked scan
# ----------------------------------------------------------------------------------------------


def apply(params: LSTMJumpParams, inputs: Array, lengths: Array | None = None, *,
          read_size: int, num_jumps: int, key: Array | None = None,
          forced_jumps: Array | None = None, head: Head = default_head,
          unroll: int = 1, dropout: float | Array | None = None,
          dropout_key: Array | None = None) -> LSTMJumpOutput:
  """The reader as a bounded `lax.scan` over N + 1 chunks of R steps with a `done` mask.

  Differentiable (use it for training). Decisions are sampled from the jump head when `key` is
  given, taken from `forced_jumps` when given, else greedy (argmax). The work is that of
  (N + 1) * R LSTM steps for every example, whatever is read: masking saves nothing.

  Args:
    params: LSTMJumpParams.
    inputs: [B, T] int token ids (with an embedding) or [B, T, D] float.
    lengths: [B] int in [0, T]; None means T. Padding (t >= lengths) is never read.
    read_size: R, tokens read between jumps (static).
    num_jumps: N, the largest number of jumps (static).
    key: PRNG key to sample the decisions (one `fold_in` per jump point).
    forced_jumps: [B, N] int in [0, K], the decision to take at each jump point (entries past the
      last decision made are ignored). Excludes `key`.
    head: `head(params.classifier, final_state) -> logits`.
    unroll: `lax.scan` unroll of the R steps of a chunk.
    dropout, dropout_key: with a key (training), dropout at rate `dropout` on the embedded
      inputs of every chunk read (mask `fold_in(dropout_key, chunk)`) and on the final hidden
      state the head reads (`fold_in(dropout_key, N + 1)`); the jump head, the baseline and the
      returned `final_state` see the undropped state. None: no dropout.
  Returns:
    LSTMJumpOutput with every field filled.
  """
  lengths = _check_call(params, inputs, lengths, read_size, num_jumps, forced_jumps, head)
  if key is not None and forced_jumps is not None:
    raise ValueError("give at most one of key (sampled decisions) and forced_jumps")
  batch, max_len = inputs.shape[:2]
  hidden = params.lstm.w_h.shape[0]
  forced = _forced_time_major(forced_jumps, batch, num_jumps)

  def chunk_body(carry, inp):
    ptr, state = carry
    chunk, forced_c = inp
    idx, valid = _chunk_positions(ptr, lengths, read_size)
    xs = _gather_inputs(params, inputs, idx)
    if dropout_key is not None:
      xs = layers.dropout(jax.random.fold_in(dropout_key, chunk), xs, dropout)
    x_proj = cells.lstm_input_projection(params.lstm, xs)
    state = _read_chunk(params.lstm, state, x_proj, valid, unroll)
    logits = layers.dense(params.jump, state.h)
    if key is not None:
      kappa = jax.random.categorical(jax.random.fold_in(key, chunk), lax.stop_gradient(logits))
    elif forced_jumps is not None:
      kappa = forced_c
    else:
      kappa = jnp.argmax(logits, axis=-1)
    kappa = kappa.astype(jnp.int32)
    log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), kappa[:, None], axis=-1)[:, 0]
    new_ptr, decides = _after_chunk(ptr, kappa, lengths, chunk, read_size, num_jumps)
    out = (ptr.pos, jnp.sum(valid, axis=1, dtype=jnp.int32), jnp.where(decides, kappa, -1),
           jnp.where(decides, log_prob, 0.0), logits, state.h)
    return (new_ptr, state), out

  ptr = _Pointer(pos=jnp.zeros((batch,), jnp.int32), jumps=jnp.zeros((batch,), jnp.int32),
                 done=lengths == 0)
  state = cells.lstm_zero_state((batch,), hidden)
  chunks = jnp.arange(num_jumps + 1, dtype=jnp.int32)
  (ptr, state), (starts, counts, kappas, log_probs, jump_logits, jump_h) = lax.scan(
      chunk_body, (ptr, state), (chunks, forced))
  bm = lambda x: jnp.swapaxes(x[:num_jumps], 0, 1)  # decisions of chunks 0..N-1, batch-major
  head_state = state
  if dropout_key is not None:
    head_state = state._replace(h=layers.dropout(jax.random.fold_in(dropout_key, num_jumps + 1),
                                                 state.h, dropout))
  return LSTMJumpOutput(
      logits=head(params.classifier, head_state), read_mask=_read_mask(starts, counts, max_len),
      jumps=bm(kappas), jump_log_probs=bm(log_probs), num_jumps=ptr.jumps, final_state=state,
      jump_logits=bm(jump_logits), jump_hidden=bm(jump_h))


# ----------------------------------------------------------------------------------------------
# Inference path: while_loop that computes only what it reads
# ----------------------------------------------------------------------------------------------


class _LoopCarry(NamedTuple):
  chunk: Array                # int32 scalar
  ptr: _Pointer
  state: cells.LSTMState
  starts: Array               # [N + 1, B] int32
  counts: Array               # [N + 1, B] int32
  kappas: Array               # [N + 1, B] int32
  log_probs: Array            # [N + 1, B] float32


def infer(params: LSTMJumpParams, inputs: Array, lengths: Array | None = None, *,
          read_size: int, num_jumps: int, forced_jumps: Array | None = None,
          head: Head = default_head, unroll: int = 1) -> LSTMJumpOutput:
  """Greedy (or forced) reading in a `lax.while_loop` over chunks that computes only what it reads.

  Each example has its own read pointer; a chunk's R tokens are gathered per example and only
  they are embedded and projected (one [B, R, E] x [E, 4H] matmul per full chunk; a chunk cut
  short by the end projects and steps token by token, so nothing past any example's end is
  computed at batch 1: only its R embedding rows are fetched). The
  loop ends when every example is done, so a batch costs its longest reader's work. At batch 1
  a full chunk runs unmasked. Same results as `apply` with the same decisions (tested).
  Not differentiable (reverse mode cannot go through `while_loop`).

  Args: as `apply` (no key: decisions are greedy unless forced). Returns: LSTMJumpOutput with
  jump_logits and jump_hidden None.
  """
  lengths = _check_call(params, inputs, lengths, read_size, num_jumps, forced_jumps, head)
  batch, max_len = inputs.shape[:2]
  hidden = params.lstm.w_h.shape[0]
  forced = _forced_time_major(forced_jumps, batch, num_jumps)
  lstm = params.lstm

  # The branches take the gathered chunk, not the embedding table: a large table among a
  # conditional's operands cost a copy per chunk on CPU.
  def full_chunk(state, xs, valid, n):
    del n
    x_proj = cells.lstm_input_projection(lstm, xs)
    # At batch 1 the one example is active and reads all R tokens: no masking needed.
    return _read_chunk(lstm, state, x_proj, None if batch == 1 else valid, unroll)

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
    idx, valid = _chunk_positions(c.ptr, lengths, read_size)
    counts = jnp.sum(valid, axis=1, dtype=jnp.int32)
    n = jnp.max(counts, initial=0)  # initial: an empty batch (B = 0) traces too
    xs = _gather_inputs(params, inputs, idx)  # [B, R, E]; rows past an end are never used
    state = lax.cond(n == read_size, full_chunk, partial_chunk, c.state, xs, valid, n)
    logits = layers.dense(params.jump, state.h)
    if forced_jumps is not None:
      kappa = lax.dynamic_index_in_dim(forced, c.chunk, 0, keepdims=False)
    else:
      kappa = jnp.argmax(logits, axis=-1).astype(jnp.int32)
    log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), kappa[:, None], axis=-1)[:, 0]
    ptr, decides = _after_chunk(c.ptr, kappa, lengths, c.chunk, read_size, num_jumps)
    put = lambda rec, v: lax.dynamic_update_index_in_dim(rec, v, c.chunk, 0)
    return _LoopCarry(chunk=c.chunk + 1, ptr=ptr, state=state,
                      starts=put(c.starts, c.ptr.pos), counts=put(c.counts, counts),
                      kappas=put(c.kappas, jnp.where(decides, kappa, -1)),
                      log_probs=put(c.log_probs, jnp.where(decides, log_prob, 0.0)))

  records = jnp.zeros((num_jumps + 1, batch), jnp.int32)
  init_carry = _LoopCarry(
      chunk=jnp.zeros((), jnp.int32),
      ptr=_Pointer(pos=jnp.zeros((batch,), jnp.int32), jumps=jnp.zeros((batch,), jnp.int32),
                   done=lengths == 0),
      state=cells.lstm_zero_state((batch,), hidden), starts=records, counts=records,
      kappas=jnp.full((num_jumps + 1, batch), -1, jnp.int32),
      log_probs=jnp.zeros((num_jumps + 1, batch), jnp.float32))
  c = lax.while_loop(lambda c: ~jnp.all(c.ptr.done), body, init_carry)
  bm = lambda x: jnp.swapaxes(x[:num_jumps], 0, 1)
  return LSTMJumpOutput(
      logits=head(params.classifier, c.state), read_mask=_read_mask(c.starts, c.counts, max_len),
      jumps=bm(c.kappas), jump_log_probs=bm(c.log_probs), num_jumps=c.ptr.jumps,
      final_state=c.state)


def predict(params: LSTMJumpParams, inputs: Array, lengths: Array | None = None, *,
            read_size: int, num_jumps: int, head: Head = default_head) -> Array:
  """Greedy predicted class ids [B] int32 (via `infer`)."""
  out = infer(params, inputs, lengths, read_size=read_size, num_jumps=num_jumps, head=head)
  return jnp.argmax(out.logits, axis=-1).astype(jnp.int32)


def read_fraction(read_mask: Array, lengths: Array) -> Array:
  """Fraction of each example's real tokens that were read: [B] float32 (0 for length 0)."""
  read = jnp.sum(read_mask, axis=-1).astype(jnp.float32)
  return read / jnp.maximum(jnp.asarray(lengths, jnp.float32), 1.0)


def flops(params: LSTMJumpParams, out: LSTMJumpOutput) -> Array:
  """Analytic FLOPs of a pass that produced `out` (as `cells.lstm_step_flops`): one LSTM step per
  token read, the jump head at every decision made, and a dense classifier: scalar float32."""
  d, h = params.lstm.w_i.shape[0], params.lstm.w_h.shape[0]
  tokens = jnp.sum(out.read_mask).astype(jnp.float32)
  decisions = jnp.sum(out.jumps >= 0).astype(jnp.float32)
  jump_head = 2 * h * (max_jump(params) + 1)
  return (tokens * cells.lstm_step_flops(d, h) + decisions * jump_head
          + out.logits.shape[0] * 2 * h * out.logits.shape[-1])


# ----------------------------------------------------------------------------------------------
# Loss (the protocol of skipjax.train.state)
# ----------------------------------------------------------------------------------------------


def make_loss_fn(*, read_size: int, num_jumps: int, num_samples: int = 1,
                 normalize_rewards: bool = False, greedy: bool = False,
                 head: Head = default_head) -> Callable[..., tuple[Array, tuple[Any, dict]]]:
  """The LSTM-Jump training loss, `loss_fn(params, model_state, batch, key, hparams)`.

  Per sampled trajectory (Yu et al. 2017, sec. 2.2):
      loss = CE(logits, y) + sum_i -sg(r - b_i) log pi(kappa_i)            (REINFORCE)
             + 0.5 sum_i (b_i - sg(r))^2                                   (baseline regression)
             - entropy_beta * sum_i H(pi_i)                                (entropy bonus)
  with r = +1 if argmax(logits) = y else -1 and b_i = w . sg(h_i) + c the linear baseline at jump
  point i; sums run over the decisions actually made. The loss is the weighted mean over examples
  (batch 'mask'/'weights') and over `num_samples` trajectories per example.

  Args:
    read_size: R during training. num_jumps: N during training.
    num_samples: trajectories sampled per example (variance reduction).
    normalize_rewards: replace r by (r - mean) / std over the batch's trajectories before the
      baseline and the advantage.
    greedy: greedy decisions (an evaluation loss: deterministic, key unused).
    head: `head(params.classifier, final_state) -> logits`.
  hparams: optional 'entropy_beta' (default 0) and 'dropout' (rate on the embedded inputs and the
  final state before the classifier, see `apply`; the sampled loss only: `greedy=True`, the
  evaluation loss, never drops). batch: 'inputs', 'labels' [B] int, optional
  'lengths', 'mask', 'weights'. Metrics: 'loss', 'cross_entropy', 'accuracy' (of the sampled
  trajectories), 'reward' (before normalisation), 'policy_loss', 'baseline_loss', 'entropy' (mean
  per decision), 'fraction_computed' (mean fraction of tokens read), 'num_jumps', 'count'.
  """
  validation.check_positive_int("read_size", read_size)
  validation.check_nonneg_int("num_jumps", num_jumps)
  validation.check_positive_int("num_samples", num_samples)
  if greedy and num_samples != 1:
    raise ValueError(f"greedy decisions are deterministic: num_samples must be 1, got "
                     f"{num_samples}")

  def run(params, inputs, lengths, key, dropout_key, rate):
    return apply(params, inputs, lengths, read_size=read_size, num_jumps=num_jumps,
                 key=None if greedy else key, head=head, dropout=rate, dropout_key=dropout_key)

  def loss_fn(params: LSTMJumpParams, model_state: Any, batch: Batch, key: Array,
              hparams: dict[str, Array]) -> tuple[Array, tuple[Any, dict[str, Array]]]:
    validation.check_hparams(hparams, HPARAMS)
    inputs, labels = batch["inputs"], batch["labels"]
    batch_size, max_len = inputs.shape[:2]
    lengths = batch.get("lengths")
    if lengths is None:
      lengths = jnp.full((batch_size,), max_len, jnp.int32)
    if jnp.shape(labels) != (batch_size,):
      raise ValueError(f"batch['labels'] must have shape ({batch_size},), got {jnp.shape(labels)}")
    if not jnp.issubdtype(jnp.result_type(labels), jnp.integer):
      raise TypeError(f"batch['labels'] must be integer class ids, got {jnp.result_type(labels)}")
    w = state_lib.example_weights(batch, batch_size)
    keys = jax.random.split(key, num_samples)
    rate = None if greedy else hparams.get("dropout")
    # Dropout masks from a stream of their own: the sampled decisions do not depend on the rate.
    drop_keys = None if rate is None else jax.random.split(jax.random.fold_in(key, 1), num_samples)
    out = jax.vmap(run, in_axes=(None, None, None, 0, None if rate is None else 0, None))(
        params, inputs, lengths, keys, drop_keys, rate)                  # [S, B, ...]
    ws = jnp.broadcast_to(w, (num_samples, batch_size))

    ce = layers.softmax_cross_entropy(out.logits, labels[None])
    correct = layers.accuracy(out.logits, labels[None])
    raw_reward = 2.0 * correct - 1.0
    reward = estimators.normalize(raw_reward, ws > 0) if normalize_rewards else raw_reward
    decided = out.jumps >= 0                                              # [S, B, N]
    values = _baseline_apply(params.baseline, out.jump_hidden)            # [S, B, N]
    returns = jnp.broadcast_to(reward[..., None], values.shape)
    per_seq = lambda f: jax.vmap(jax.vmap(f))
    policy = per_seq(estimators.reinforce_loss)(out.jump_log_probs, returns - values, decided)
    baseline = per_seq(estimators.linear_baseline_loss)(values, returns, decided)
    neg_entropy = per_seq(estimators.entropy_loss)(out.jump_logits, decided)
    beta = jnp.asarray(hparams.get("entropy_beta", 0.0), jnp.float32)
    loss = state_lib.weighted_mean(ce + policy + baseline + beta * neg_entropy, ws)

    num_decisions = jnp.maximum(state_lib.weighted_mean(jnp.sum(decided, -1), ws), 1e-12)
    metrics = {
        "loss": loss,
        "cross_entropy": state_lib.weighted_mean(ce, ws),
        "accuracy": state_lib.weighted_mean(correct, ws),
        "reward": state_lib.weighted_mean(raw_reward, ws),
        "policy_loss": state_lib.weighted_mean(policy, ws),
        "baseline_loss": state_lib.weighted_mean(baseline, ws),
        "entropy": -state_lib.weighted_mean(neg_entropy, ws) / num_decisions,
        "fraction_computed": state_lib.weighted_mean(
            jax.vmap(read_fraction, in_axes=(0, None))(out.read_mask, lengths), ws),
        "num_jumps": state_lib.weighted_mean(out.num_jumps, ws),
        "count": jnp.sum(w),
    }
    return loss, (model_state, metrics)

  return loss_fn
