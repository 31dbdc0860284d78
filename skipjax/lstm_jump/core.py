"""LSTM-Jump's parameters, its read / jump rules and the training path `apply`: a bounded, masked
`lax.scan` over the N + 1 chunks of R steps (see `skipjax.lstm_jump` for the model).
"""

from __future__ import annotations

import dataclasses
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

Array = jax.Array
# head(classifier_params, final_state) -> logits [B, C]: the classifier on the last LSTM state.
Head = Callable[[Any, cells.LSTMState], Array]

_baseline_init = estimators.linear_baseline()[0]


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


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """The architecture of an LSTM-Jump reader (hashable, static): `model_init`.

  Exactly one of vocab_size (token-id inputs [B, T], with embed_dim) and input_dim (float inputs
  [B, T, D]). hidden_dim: H. num_classes: C. max_jump: K (the jump head has K + 1 outputs).
  forget_bias, cell_init: see `cells.lstm_init`. How it reads (R, N) and trains (samples, reward
  normalisation) is `model.LossConfig`'s: R and N may differ between training and test.
  """
  num_classes: int
  hidden_dim: int
  max_jump: int
  vocab_size: int | None = None
  input_dim: int | None = None
  embed_dim: int | None = None
  forget_bias: float = 1.0
  cell_init: str = "default"

  def __post_init__(self):
    if (self.vocab_size is None) == (self.input_dim is None):
      raise ValueError("give exactly one of vocab_size (token inputs) and input_dim (float "
                       f"inputs); got vocab_size={self.vocab_size!r}, "
                       f"input_dim={self.input_dim!r}")
    if self.vocab_size is not None and self.embed_dim is None:
      raise ValueError("embed_dim is required with vocab_size")
    if self.input_dim is not None and self.embed_dim is not None:
      raise ValueError("embed_dim only applies to token inputs (vocab_size); float inputs feed "
                       "the LSTM directly")
    for name in ("num_classes", "hidden_dim", "max_jump", "vocab_size", "input_dim",
                 "embed_dim"):
      if getattr(self, name) is not None:
        validation.check_positive_int(name, getattr(self, name))


def model_init(key: Array, config: ModelConfig, *,
               param_dtype: Any = jnp.float32) -> LSTMJumpParams:
  """Initial parameters of the reader described by `config` (`init`)."""
  return init(key, **dataclasses.asdict(config), param_dtype=param_dtype)


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
# The read / jump rules, shared by both paths (`inference.infer` uses them too)
# ----------------------------------------------------------------------------------------------


class Pointer(NamedTuple):
  """Each example's reading position between chunks."""
  pos: Array    # [B] int32, the next token to read
  jumps: Array  # [B] int32, jumps taken so far
  done: Array   # [B] bool


def chunk_positions(ptr: Pointer, lengths: Array, read_size: int) -> tuple[Array, Array]:
  """Positions [B, R] of the next chunk and which of them are read ([B, R] bool, a prefix)."""
  idx = ptr.pos[:, None] + jnp.arange(read_size, dtype=jnp.int32)
  return idx, ~ptr.done[:, None] & (idx < lengths[:, None])


def after_chunk(ptr: Pointer, kappa: Array, lengths: Array, chunk: Array, read_size: int,
                num_jumps: int) -> tuple[Pointer, Array]:
  """Applies decision kappa [B] after chunk number `chunk` (0-based). Returns (pointer, decides):
  `decides` [B] is True where a decision was made (a full chunk was read, tokens remain after it,
  and fewer than N jumps were taken)."""
  last = ptr.pos + read_size - 1
  decides = ~ptr.done & (last + 1 < lengths) & (chunk < num_jumps)
  moves = decides & (kappa > 0)
  pos = jnp.where(moves, last + kappa, ptr.pos)
  done = ptr.done | ~moves | (pos >= lengths)
  return Pointer(pos=pos, jumps=ptr.jumps + moves.astype(jnp.int32), done=done), decides


def chunks_read_mask(starts: Array, counts: Array, max_len: int) -> Array:
  """[B, T] bool from chunk starts and read counts, both [chunks, B]."""
  t = jnp.arange(max_len)[None, None, :]
  s, n = starts[:, :, None], counts[:, :, None]
  return jnp.any((t >= s) & (t < s + n), axis=0)


def gather_inputs(params: LSTMJumpParams, inputs: Array, idx: Array) -> Array:
  """LSTM inputs [B, R, E] of the tokens at positions idx [B, R] (clipped into [0, T))."""
  idx = jnp.clip(idx, 0, inputs.shape[1] - 1)
  if params.embedding is not None:
    return layers.embed(params.embedding, jnp.take_along_axis(inputs, idx, axis=1))
  return jnp.take_along_axis(inputs, idx[..., None], axis=1)


def read_chunk(lstm: cells.LSTMParams, state: cells.LSTMState, x_proj: Array,
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


def check_call(params: LSTMJumpParams, inputs: Array, lengths: Array | None, read_size: int,
               num_jumps: int, forced_jumps: Array | None, head: Head) -> Array:
  """Checks a call of `apply` / `infer` (parameters, inputs, lengths, forced decisions);
  returns lengths [B] int32 (T where None)."""
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


def forced_time_major(forced_jumps: Array | None, batch: int, num_jumps: int) -> Array:
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
  lengths = check_call(params, inputs, lengths, read_size, num_jumps, forced_jumps, head)
  if key is not None and forced_jumps is not None:
    raise ValueError("give at most one of key (sampled decisions) and forced_jumps")
  batch, max_len = inputs.shape[:2]
  hidden = params.lstm.w_h.shape[0]
  forced = forced_time_major(forced_jumps, batch, num_jumps)

  def chunk_body(carry, inp):
    ptr, state = carry
    chunk, forced_c = inp
    idx, valid = chunk_positions(ptr, lengths, read_size)
    xs = gather_inputs(params, inputs, idx)
    if dropout_key is not None:
      xs = layers.dropout(jax.random.fold_in(dropout_key, chunk), xs, dropout)
    x_proj = cells.lstm_input_projection(params.lstm, xs)
    state = read_chunk(params.lstm, state, x_proj, valid, unroll)
    logits = layers.dense(params.jump, state.h)
    if key is not None:
      kappa = jax.random.categorical(jax.random.fold_in(key, chunk), lax.stop_gradient(logits))
    elif forced_jumps is not None:
      kappa = forced_c
    else:
      kappa = jnp.argmax(logits, axis=-1)
    kappa = kappa.astype(jnp.int32)
    log_prob = jnp.take_along_axis(jax.nn.log_softmax(logits), kappa[:, None], axis=-1)[:, 0]
    new_ptr, decides = after_chunk(ptr, kappa, lengths, chunk, read_size, num_jumps)
    out = (ptr.pos, jnp.sum(valid, axis=1, dtype=jnp.int32), jnp.where(decides, kappa, -1),
           jnp.where(decides, log_prob, 0.0), logits, state.h)
    return (new_ptr, state), out

  ptr = Pointer(pos=jnp.zeros((batch,), jnp.int32), jumps=jnp.zeros((batch,), jnp.int32),
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
      logits=head(params.classifier, head_state),
      read_mask=chunks_read_mask(starts, counts, max_len),
      jumps=bm(kappas), jump_log_probs=bm(log_probs), num_jumps=ptr.jumps, final_state=state,
      jump_logits=bm(jump_logits), jump_hidden=bm(jump_h))
