"""The LSTM with dynamic skip connections: its ring buffer of past states, agent and layer.

See `skipjax.dynamic_skip` for the equations. The buffer helpers, `mix_states`, `check_lam` and
`prepare_inputs` are shared with the baselines (`skipjax.dynamic_skip.baselines`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import cells
from skipjax import layers
from skipjax import recurrence
from skipjax import validation

Array = jax.Array
sg = jax.lax.stop_gradient

# Finite, so masked entries give probability exactly 0 and entropy terms 0 * (-1e9) = 0, not NaN.
MASKED_LOGIT = -1e9
_MODES = ("sample", "greedy", "forced")


# ----------------------------------------------------------------------------------------------
# Ring buffer of the last K states
# ----------------------------------------------------------------------------------------------


class SkipBuffer(NamedTuple):
  """The last K LSTM states of a batch, in a ring: the carry of every skip layer.

  State s_j (s_0 the initial state) sits in slot `j mod K`; `count` is the number of states
  written, so at step t (count = t) the state s_{t-k} is in slot `(count - k) mod K` and exists
  iff k <= count. c, h: [B, K, H] float32; count: [B] int32.
  """
  c: Array
  h: Array
  count: Array


def skip_buffer_init(state: cells.LSTMState, num_skips: int) -> SkipBuffer:
  """A buffer of size K = num_skips holding only the initial state [B, H] (in slot 0)."""
  validation.check_positive_int("num_skips", num_skips)
  validation.check_rank("state.h", state.h, 2)
  batch, hidden = state.h.shape
  put = lambda s: jnp.zeros((batch, num_skips, hidden), jnp.float32).at[:, 0].set(s)
  return SkipBuffer(c=put(state.c), h=put(state.h), count=jnp.ones((batch,), jnp.int32))


def _select_slot(x: Array, at_slot: Array) -> Array:
  """x[b, slot_b] from x [B, K, H] and a one-hot at_slot [B, K] (bool): exact, and cheaper to
  compile and differentiate than a gather."""
  return jnp.sum(jnp.where(at_slot[..., None], x, 0.0), axis=1)


def skip_buffer_read(buf: SkipBuffer, k: Array) -> cells.LSTMState:
  """s_{t-k} for each example: k [B] int in 1..K (k = 1 is the previous state). [B, H] each."""
  num_skips = buf.h.shape[1]
  slot = jnp.mod(buf.count - k, num_skips)
  at_slot = jnp.arange(num_skips)[None, :] == slot[:, None]
  return cells.LSTMState(c=_select_slot(buf.c, at_slot), h=_select_slot(buf.h, at_slot))


def skip_buffer_valid(buf: SkipBuffer) -> Array:
  """[B, K] bool: True where s_{t-k} exists (k <= count), k = 1..K."""
  num_skips = buf.h.shape[1]
  return jnp.arange(1, num_skips + 1)[None, :] <= buf.count[:, None]


def skip_buffer_history(buf: SkipBuffer) -> cells.LSTMState:
  """All K states ordered by k = 1..K: c, h of [B, K, H] (entries with k > count are stale)."""
  num_skips = buf.h.shape[1]
  slots = jnp.mod(buf.count[:, None] - jnp.arange(1, num_skips + 1)[None, :], num_skips)
  at_slot = slots[:, :, None] == jnp.arange(num_skips)[None, None, :]  # [B, k, slot]
  take = lambda x: jnp.sum(jnp.where(at_slot[..., None], x[:, None], 0.0), axis=2)
  return cells.LSTMState(c=take(buf.c), h=take(buf.h))


def skip_buffer_push(buf: SkipBuffer, state: cells.LSTMState) -> SkipBuffer:
  """Writes s_t (c, h [B, H]) over the oldest slot and advances `count`."""
  num_skips = buf.h.shape[1]
  at_slot = (jnp.arange(num_skips)[None, :] == jnp.mod(buf.count, num_skips)[:, None])[..., None]
  put = lambda old, new: jnp.where(at_slot, new[:, None, :].astype(old.dtype), old)
  return SkipBuffer(c=put(buf.c, state.c), h=put(buf.h, state.h), count=buf.count + 1)


def mix_states(lam, skip: cells.LSTMState, prev: cells.LSTMState) -> cells.LSTMState:
  """`lam * skip + (1 - lam) * prev`, for c and h alike: the state a skip layer's step starts
  from."""
  return jax.tree_util.tree_map(lambda s, p: lam * s + (1.0 - lam) * p, skip, prev)


def check_lam(lam):
  """lam must be a scalar in [0, 1]."""
  if jnp.ndim(lam) != 0:
    raise ValueError(f"lam must be a scalar, got shape {jnp.shape(lam)}")
  # Concrete: raises now; traced (a jitted hparam): reported under `checkify.checkify`.
  validation.check_in("lam", lam, validation.UNIT, "(the weight of the skipped-to state)")


def check_agent(name: str, agent: Any, input_dim: int, hidden: int, num_skips: int | None):
  """Shapes of AgentParams (num_skips: K, w_out [A, K]) or AttentionParams (num_skips None)."""
  fields = {"w_x": (input_dim, None), "w_h": (hidden, None)}
  if num_skips is None:
    fields["w_k"] = (hidden, None)
  width = np.shape(agent.b)
  if len(width) != 1:
    raise ValueError(f"{name}.b must be a vector [A], got shape {width}")
  for field, (rows, _) in fields.items():
    shape = np.shape(getattr(agent, field))
    if shape != (rows, width[0]):
      raise ValueError(f"{name}.{field} must have shape {(rows, width[0])} (A={width[0]} from "
                       f"{name}.b; D={input_dim}, H={hidden} from the LSTM), got {shape}")
  if num_skips is None:
    if np.shape(agent.v) != width:
      raise ValueError(f"{name}.v must have shape {width}, got {np.shape(agent.v)}")
  else:
    layers.check_dense(name + " output", layers.DenseParams(agent.w_out, agent.b_out),
                       width[0], num_skips)


def prepare_inputs(lstm: cells.LSTMParams, xs, lengths, initial, num_skips, what, lstm_name):
  """Checks a skip layer's LSTM, inputs and lengths; returns (lengths [B], initial SkipBuffer of
  size num_skips, zeros when None). `what` and `lstm_name` name the layer in errors."""
  cells.check_params(lstm_name, lstm)
  validation.check_rank("xs", xs, 3)
  validation.check_floating("xs", xs)
  validation.check_last_dim("xs", xs, lstm.w_i.shape[0], f"the {what}'s input_dim")
  batch, max_len = xs.shape[:2]
  if lengths is None:
    lengths = jnp.full((batch,), max_len, jnp.int32)
  validation.check_lengths(lengths, batch, max_len)
  hidden = lstm.w_h.shape[0]
  if initial is None:
    initial = skip_buffer_init(cells.lstm_zero_state((batch,), hidden), num_skips)
  elif not isinstance(initial, SkipBuffer) or initial.h.shape != (batch, num_skips, hidden):
    raise ValueError(f"initial must be a SkipBuffer with c, h of shape "
                     f"{(batch, num_skips, hidden)}")
  return lengths, initial


# ----------------------------------------------------------------------------------------------
# The dynamic skip layer
# ----------------------------------------------------------------------------------------------


class AgentParams(NamedTuple):
  """Agent MLP `W2 tanh(W1 [x; h] + b1) + b2`, W1 split as w_x [D, A], w_h [H, A]."""
  w_x: Array
  w_h: Array
  b: Array      # [A]
  w_out: Array  # [A, K]
  b_out: Array  # [K]


class DynamicSkipParams(NamedTuple):
  lstm: cells.LSTMParams
  agent: AgentParams


class DynamicSkipOutput(NamedTuple):
  """Per-step outputs of `dynamic_skip_layer`, all zero at padded steps.

  hs [B, T, H] float32; skip_choice [B, T] int32 in 1..K (0 at padding); log_probs [B, T] of the
  chosen k; entropy [B, T] of pi_t; logits [B, T, K] with unavailable k masked to -1e9.
  """
  hs: Array
  skip_choice: Array
  log_probs: Array
  entropy: Array
  logits: Array


def dynamic_skip_init(key: Array, input_dim: int, hidden_dim: int, num_skips: int,
                      agent_dim: int = 64, *, forget_bias: float = 1.0, init: str = "default",
                      param_dtype: Any = jnp.float32) -> DynamicSkipParams:
  """LSTM (`cells.lstm_init`) plus a Glorot-initialised agent with zero biases (uniform pi)."""
  validation.check_positive_int("num_skips", num_skips)
  validation.check_positive_int("agent_dim", agent_dim)
  k_lstm, k_x, k_out = jax.random.split(key, 3)
  glorot = jax.nn.initializers.glorot_uniform()
  w_xh = glorot(k_x, (input_dim + hidden_dim, agent_dim), jnp.float32)
  agent = AgentParams(
      w_x=w_xh[:input_dim].astype(param_dtype), w_h=w_xh[input_dim:].astype(param_dtype),
      b=jnp.zeros((agent_dim,), param_dtype),
      w_out=glorot(k_out, (agent_dim, num_skips), jnp.float32).astype(param_dtype),
      b_out=jnp.zeros((num_skips,), param_dtype))
  lstm = cells.lstm_init(k_lstm, input_dim, hidden_dim, forget_bias=forget_bias, init=init,
                         param_dtype=param_dtype)
  return DynamicSkipParams(lstm=lstm, agent=agent)


def dynamic_skip_layer(params: DynamicSkipParams, xs: Array, lengths: Array | None = None,
                       key: Array | None = None, *, lam: float | Array, mode: str = "sample",
                       forced_skips: Array | None = None, initial: SkipBuffer | None = None,
                       reverse: bool = False, unroll: int = 1,
                       hoist_input: bool | None = None
                       ) -> tuple[SkipBuffer, DynamicSkipOutput]:
  """Runs the LSTM with dynamic skip connections over a batch (Gui et al. 2019).

  Args:
    params: DynamicSkipParams; K = params.agent.w_out.shape[1].
    xs: [B, T, D] float inputs.
    lengths: [B] int in [0, T]; None means all T.
    key: PRNG key, needed for mode="sample" (one Gumbel draw per example, step and k).
    lam: scalar in [0, 1], weight of the skipped-to state (lam = 0 is a plain LSTM).
    mode: "sample" (training: k ~ pi), "greedy" (test: argmax pi) or "forced" (k given by
      `forced_skips`; log_probs/entropy are still those of pi).
    forced_skips: [B, T] int in 1..K for mode="forced"; a k beyond the available history
      (k > t) falls back to the oldest existing state, k = t.
    initial: SkipBuffer to continue from (truncated BPTT); None starts from zeros.
    reverse: run each sequence backwards within its length (backward half of a bi-LSTM).
    unroll: passed to `lax.scan`.
    hoist_input: project x_t (LSTM and agent input terms) for all steps before the scan
      instead of inside each step; None: at batch 1 only, as `recurrence.lstm_layer` (inside
      the step was faster on CPU at batch 64: `experiments/train_step_time.py`). Same results.
  Returns:
    (final SkipBuffer after each example's last real step, DynamicSkipOutput).
  """
  if mode not in _MODES:
    raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
  check_lam(lam)
  num_skips = params.agent.w_out.shape[-1]
  lengths, initial = prepare_inputs(params.lstm, xs, lengths, initial, num_skips,
                                    "dynamic skip LSTM", "params.lstm")
  check_agent("params.agent", params.agent, xs.shape[-1], params.lstm.w_h.shape[0], num_skips)
  batch, max_len = xs.shape[:2]
  if hoist_input is None:
    hoist_input = batch == 1
  project = lambda p, x: {  # layer and agent input terms of x [..., D]
      "x_proj": cells.lstm_input_projection(p.lstm, x),
      "agent_x": cells.matmul(sg(x), p.agent.w_x) + p.agent.b.astype(jnp.float32)}
  inputs = project(params, xs) if hoist_input else {"x": xs}
  if mode == "sample":
    if key is None:
      raise ValueError("mode='sample' needs a PRNG key")
    inputs["noise"] = jax.random.gumbel(key, (batch, max_len, num_skips), jnp.float32)
  elif mode == "forced":
    if forced_skips is None:
      raise ValueError("mode='forced' needs forced_skips [B, T]")
    if jnp.shape(forced_skips) != (batch, max_len):
      raise ValueError(f"forced_skips must have shape {(batch, max_len)}, got "
                       f"{jnp.shape(forced_skips)}")
    if not jnp.issubdtype(jnp.result_type(forced_skips), jnp.integer):
      raise TypeError(f"forced_skips must be integers, got {jnp.result_type(forced_skips)}")
    real = recurrence.sequence_mask(lengths, max_len)
    validation.require(~real | ((forced_skips >= 1) & (forced_skips <= num_skips)),
                       f"forced_skips must lie in [1, {num_skips}] (K) at real steps")
    inputs["forced"] = jnp.asarray(forced_skips, jnp.int32)

  def step(p: DynamicSkipParams, buf: SkipBuffer, inp):
    if not hoist_input:
      inp = dict(inp, **project(p, inp["x"]))
    ones = jnp.ones_like(buf.count)
    prev = skip_buffer_read(buf, ones)
    hidden = jnp.tanh(inp["agent_x"] + cells.matmul(sg(prev.h), p.agent.w_h))
    logits = cells.matmul(hidden, p.agent.w_out) + p.agent.b_out.astype(jnp.float32)
    logits = jnp.where(skip_buffer_valid(buf), logits, MASKED_LOGIT)
    if mode == "sample":
      choice = jnp.argmax(logits + inp["noise"], axis=-1) + 1
    elif mode == "greedy":
      choice = jnp.argmax(logits, axis=-1) + 1
    else:
      choice = jnp.clip(inp["forced"], 1, jnp.minimum(buf.count, num_skips))
    choice = choice.astype(jnp.int32)
    log_pi = jax.nn.log_softmax(logits, axis=-1)
    chosen = jnp.arange(1, num_skips + 1)[None, :] == choice[:, None]
    log_prob = jnp.sum(jnp.where(chosen, log_pi, 0.0), axis=-1)
    ent = -jnp.sum(jnp.exp(log_pi) * log_pi, axis=-1)
    mixed = mix_states(lam, skip_buffer_read(buf, choice), prev)
    state, h = cells.lstm_step_projected(p.lstm, mixed, inp["x_proj"])
    return skip_buffer_push(buf, state), DynamicSkipOutput(h, choice, log_prob, ent, logits)

  return recurrence.scan_rnn(step, params, initial, inputs, lengths, reverse=reverse,
                             unroll=unroll)
