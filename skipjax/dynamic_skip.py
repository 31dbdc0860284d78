"""LSTM with dynamic skip connections (Gui et al., AAAI 2019), its baselines, and task losses.

At step t an agent reads `[x_t; h_{t-1}]` and picks which of the last K states to connect to:

    pi_t = softmax(W2 tanh(W1 [x_t; h_{t-1}] + b1) + b2)      over k in {1..K}
    k_t ~ pi_t (training) or argmax pi_t (test)
    h~ = lam * h_{t-k} + (1 - lam) * h_{t-1},   c~ = lam * c_{t-k} + (1 - lam) * c_{t-1}
    h_t, c_t = LSTM(x_t, (h~, c~))

The last K states live in a fixed-shape ring buffer in the scan carry (`SkipBuffer`). Before the
buffer fills, only states that exist can be chosen (the initial state counts as s_0): the logits
of k > t are masked, so step 1 always picks k = 1.

Training (paper section "Training"): the task loss trains the LSTM, and the agent maximises
J2 = E[R] + H(pi) with REINFORCE (Williams 1992) and an entropy bonus. The two objectives have
separate parameters, so the agent reads `sg([x_t; h_{t-1}])`: the REINFORCE gradient reaches the
agent only. Rewards: +1/-1 for a correct/wrong classification; for language modelling (and
tagging) the reward of step t is the model's probability of the gold label at t, summed forward
as reward-to-go (backward for the backward half of a bidirectional layer, whose decision at t
affects the outputs at t, t-1, ...). The released TensorFlow code never uses lam and never adds
the entropy; here both are used, following the paper.

Baselines for the paper's tables: a plain LSTM (`recurrence.lstm_layer`), an LSTM with a fixed
skip connection of k (`fixed_skip_layer`, the same mixing with k fixed), and an LSTM that attends
over its last K states (`attention_skip_layer`, a soft, differentiable choice).

Shapes are batch-major: xs [B, T, D]; lengths [B]. Padded steps never change the carry.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import cells
from skipjax import conlleval
from skipjax import estimators
from skipjax import layers
from skipjax import recurrence
from skipjax import validation

Array = jax.Array
sg = jax.lax.stop_gradient

# Finite, so masked entries give probability exactly 0 and entropy terms 0 * (-1e9) = 0, not NaN.
_MASKED_LOGIT = -1e9
_MODES = ("sample", "greedy", "forced")


def _matmul(x: Array, w: Array) -> Array:
  return jnp.matmul(x.astype(w.dtype), w, preferred_element_type=jnp.float32)


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


def _mix(lam, skip: cells.LSTMState, prev: cells.LSTMState) -> cells.LSTMState:
  return jax.tree_util.tree_map(lambda s, p: lam * s + (1.0 - lam) * p, skip, prev)


def _check_lam(lam):
  if jnp.ndim(lam) != 0:
    raise ValueError(f"lam must be a scalar, got shape {jnp.shape(lam)}")
  # Concrete: raises now; traced (a jitted hparam): reported under `checkify.checkify`.
  validation.check_in("lam", lam, validation.UNIT, "(the weight of the skipped-to state)")


def _check_agent(name: str, agent: Any, input_dim: int, hidden: int, num_skips: int | None):
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


def _prepare(lstm: cells.LSTMParams, xs, lengths, initial, num_skips, what, lstm_name):
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
    raise ValueError(f"initial must be a SkipBuffer with c, h of shape {(batch, num_skips, hidden)}")
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
  _check_lam(lam)
  num_skips = params.agent.w_out.shape[-1]
  lengths, initial = _prepare(params.lstm, xs, lengths, initial, num_skips, "dynamic skip LSTM",
                              "params.lstm")
  _check_agent("params.agent", params.agent, xs.shape[-1], params.lstm.w_h.shape[0], num_skips)
  batch, max_len = xs.shape[:2]
  if hoist_input is None:
    hoist_input = batch == 1
  project = lambda p, x: {  # layer and agent input terms of x [..., D]
      "x_proj": cells.lstm_input_projection(p.lstm, x),
      "agent_x": _matmul(sg(x), p.agent.w_x) + p.agent.b.astype(jnp.float32)}
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
    hidden = jnp.tanh(inp["agent_x"] + _matmul(sg(prev.h), p.agent.w_h))
    logits = _matmul(hidden, p.agent.w_out) + p.agent.b_out.astype(jnp.float32)
    logits = jnp.where(skip_buffer_valid(buf), logits, _MASKED_LOGIT)
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
    mixed = _mix(lam, skip_buffer_read(buf, choice), prev)
    state, h = cells.lstm_step_projected(p.lstm, mixed, inp["x_proj"])
    return skip_buffer_push(buf, state), DynamicSkipOutput(h, choice, log_prob, ent, logits)

  return recurrence.scan_rnn(step, params, initial, inputs, lengths, reverse=reverse,
                             unroll=unroll)


# ----------------------------------------------------------------------------------------------
# Baselines: fixed skip, attention over the last K states
# ----------------------------------------------------------------------------------------------


def fixed_skip_layer(params: cells.LSTMParams, xs: Array, lengths: Array | None = None, *,
                     skip: int, lam: float | Array, initial: SkipBuffer | None = None,
                     reverse: bool = False, unroll: int = 1) -> tuple[SkipBuffer, Array]:
  """LSTM with a fixed skip connection: `h~ = lam h_{t-skip} + (1 - lam) h_{t-1}` (same for c).

  The "LSTM + fixed skip" baseline of Gui et al. (skip 3 and 5); before `skip` states exist it
  connects to the oldest one (s_0). Returns (final SkipBuffer of size `skip`, hs [B, T, H]).
  """
  validation.check_positive_int("skip", skip)
  _check_lam(lam)
  lengths, initial = _prepare(params, xs, lengths, initial, skip, "fixed skip LSTM", "params")

  def step(p, buf, x_proj):
    prev = skip_buffer_read(buf, jnp.ones_like(buf.count))
    choice = jnp.minimum(buf.count, skip)
    state, h = cells.lstm_step_projected(p, _mix(lam, skip_buffer_read(buf, choice), prev),
                                         x_proj)
    return skip_buffer_push(buf, state), h

  return recurrence.scan_rnn(step, params, initial, cells.lstm_input_projection(params, xs),
                             lengths, reverse=reverse, unroll=unroll)


class AttentionParams(NamedTuple):
  """Additive attention `v . tanh(W_q [x_t; h_{t-1}] + W_k h_{t-k} + b)`, W_q split w_x, w_h."""
  w_x: Array  # [D, A]
  w_h: Array  # [H, A]
  w_k: Array  # [H, A]
  b: Array    # [A]
  v: Array    # [A]


class AttentiveSkipParams(NamedTuple):
  lstm: cells.LSTMParams
  attention: AttentionParams


def attention_skip_init(key: Array, input_dim: int, hidden_dim: int,
                        attention_dim: int = 64, *, forget_bias: float = 1.0,
                        init: str = "default",
                        param_dtype: Any = jnp.float32) -> AttentiveSkipParams:
  """LSTM plus Glorot-initialised attention weights (zero bias)."""
  validation.check_positive_int("attention_dim", attention_dim)
  k_lstm, k_q, k_k, k_v = jax.random.split(key, 4)
  glorot = jax.nn.initializers.glorot_uniform()
  w_q = glorot(k_q, (input_dim + hidden_dim, attention_dim), jnp.float32)
  attention = AttentionParams(
      w_x=w_q[:input_dim].astype(param_dtype), w_h=w_q[input_dim:].astype(param_dtype),
      w_k=glorot(k_k, (hidden_dim, attention_dim), jnp.float32).astype(param_dtype),
      b=jnp.zeros((attention_dim,), param_dtype),
      v=glorot(k_v, (attention_dim, 1), jnp.float32)[:, 0].astype(param_dtype))
  lstm = cells.lstm_init(k_lstm, input_dim, hidden_dim, forget_bias=forget_bias, init=init,
                         param_dtype=param_dtype)
  return AttentiveSkipParams(lstm=lstm, attention=attention)


def attention_skip_layer(params: AttentiveSkipParams, xs: Array, lengths: Array | None = None,
                         *, num_skips: int, lam: float | Array,
                         initial: SkipBuffer | None = None, reverse: bool = False,
                         unroll: int = 1) -> tuple[SkipBuffer, tuple[Array, Array]]:
  """LSTM attending over its last K states: the soft, differentiable baseline of Gui et al.

      alpha_t = softmax_k(v . tanh(W_q [x_t; h_{t-1}] + W_k h_{t-k} + b)),  k <= min(t, K)
      h~ = lam * sum_k alpha_k h_{t-k} + (1 - lam) h_{t-1}   (same alpha for c)

  Returns (final SkipBuffer, (hs [B, T, H], attention weights [B, T, K])).
  """
  validation.check_positive_int("num_skips", num_skips)
  _check_lam(lam)
  lengths, initial = _prepare(params.lstm, xs, lengths, initial, num_skips, "attention LSTM",
                              "params.lstm")
  _check_agent("params.attention", params.attention, xs.shape[-1], params.lstm.w_h.shape[0],
               None)
  att = params.attention
  inputs = {"x_proj": cells.lstm_input_projection(params.lstm, xs),
            "query_x": _matmul(xs, att.w_x) + att.b.astype(jnp.float32)}

  def step(p: AttentiveSkipParams, buf: SkipBuffer, inp):
    prev = skip_buffer_read(buf, jnp.ones_like(buf.count))
    history = skip_buffer_history(buf)
    query = inp["query_x"] + _matmul(prev.h, p.attention.w_h)
    scores = jnp.tanh(query[:, None, :] + _matmul(history.h, p.attention.w_k))
    scores = _matmul(scores, p.attention.v[:, None])[..., 0]
    weights = jax.nn.softmax(jnp.where(skip_buffer_valid(buf), scores, _MASKED_LOGIT), axis=-1)
    read = jax.tree_util.tree_map(lambda s: jnp.einsum("bk,bkh->bh", weights, s), history)
    state, h = cells.lstm_step_projected(p.lstm, _mix(lam, read, prev), inp["x_proj"])
    return skip_buffer_push(buf, state), (h, weights)

  return recurrence.scan_rnn(step, params, initial, inputs, lengths, reverse=reverse,
                             unroll=unroll)


# ----------------------------------------------------------------------------------------------
# Models for the paper's four tasks
# ----------------------------------------------------------------------------------------------

CELLS = ("lstm", "fixed", "attention", "dynamic")
TASKS = ("classification", "language_model", "tagging")
BASELINES = ("none", "batch", "ema")

# The hparams `apply` and `make_loss_fn` read and their ranges (see `make_loss_fn`);
# `experiments.registry.check_hparams` checks configs against them.
HPARAMS = {"lam": validation.UNIT, "dropout": validation.RATE,
           "reinforce_weight": validation.NONNEG, "entropy_weight": validation.NONNEG,
           "discount": validation.UNIT, "sum_over_time": validation.UNIT}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Static architecture of a (stacked, optionally bidirectional) skip-LSTM model.

  num_outputs: classes, vocabulary size (language model) or tags.
  vocab_size: > 0 when inputs are token ids, embedded to input_dim; 0 when they are float
    features [B, T, input_dim].
  cell: the recurrent layer used in `skip_layers` ("dynamic"; baselines "lstm", "fixed",
    "attention"); the other layers are plain LSTMs (the PTB model: skip_layers=(1,)).
  num_skips: K, the buffer size of "dynamic" and "attention"; fixed_skip: k of "fixed".
  reward_baseline: "none", "batch" (leave-one-out batch mean, per position for sequences) or
    "ema" (moving average of the reward, classification only).
  carry_state: language models carry the recurrent state across batches (truncated BPTT) in
    model_state["carries"].
  """
  num_outputs: int
  input_dim: int
  hidden_dim: int = 200
  vocab_size: int = 0
  num_layers: int = 1
  cell: str = "dynamic"
  skip_layers: tuple[int, ...] | None = None
  num_skips: int = 10
  fixed_skip: int = 3
  agent_dim: int = 64
  bidirectional: bool = False
  init: str = "default"
  forget_bias: float = 1.0
  reward_baseline: str = "batch"
  ema_decay: float = 0.9
  carry_state: bool = False

  def __post_init__(self):
    for name in ("num_outputs", "input_dim", "hidden_dim", "num_layers", "num_skips",
                 "fixed_skip", "agent_dim"):
      validation.check_positive_int(name, getattr(self, name))
    validation.check_nonneg_int("vocab_size", self.vocab_size)
    if self.cell not in CELLS:
      raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
    if self.reward_baseline not in BASELINES:
      raise ValueError(f"reward_baseline must be one of {BASELINES}, got "
                       f"{self.reward_baseline!r}")
    if self.skip_layers is not None and any(
        not 0 <= i < self.num_layers for i in self.skip_layers):
      raise ValueError(f"skip_layers must index layers in [0, {self.num_layers}), got "
                       f"{self.skip_layers}")
    if self.carry_state and self.bidirectional:
      raise ValueError("carry_state needs a unidirectional model")

  def layer_cell(self, layer: int) -> str:
    """The recurrent cell of layer `layer`."""
    if self.skip_layers is None or layer in self.skip_layers:
      return self.cell
    return "lstm"

  @property
  def feature_dim(self) -> int:
    return self.hidden_dim * (2 if self.bidirectional else 1)


def _layer_init(key, config: ModelConfig, layer: int, input_dim: int):
  cell = config.layer_cell(layer)
  kw = dict(forget_bias=config.forget_bias, init=config.init)
  if cell == "dynamic":
    return dynamic_skip_init(key, input_dim, config.hidden_dim, config.num_skips,
                             config.agent_dim, **kw)
  if cell == "attention":
    return attention_skip_init(key, input_dim, config.hidden_dim, config.agent_dim, **kw)
  return cells.lstm_init(key, input_dim, config.hidden_dim, **kw)


def init_params(key: Array, config: ModelConfig) -> dict[str, Any]:
  """Parameters: {'embed' (if vocab_size), 'forward': per-layer tuple, 'backward' (if
  bidirectional), 'out': DenseParams [feature_dim, num_outputs]}."""
  k_embed, k_fwd, k_bwd, k_out = jax.random.split(key, 4)
  params = {}
  if config.vocab_size:
    params["embed"] = layers.embedding_init(k_embed, config.vocab_size, config.input_dim)
  dims = [config.input_dim] + [config.feature_dim] * (config.num_layers - 1)
  directions = ("forward", "backward") if config.bidirectional else ("forward",)
  for name, k in zip(directions, (k_fwd, k_bwd)):
    keys = jax.random.split(k, config.num_layers)
    params[name] = tuple(_layer_init(keys[i], config, i, dims[i])
                         for i in range(config.num_layers))
  params["out"] = layers.dense_init(k_out, config.feature_dim, config.num_outputs)
  return params


class Decisions(NamedTuple):
  """The agent decisions of one dynamic layer: log_probs [B, T], logits [B, T, K], skip_choice
  [B, T]. `reverse` (static) marks a backward layer."""
  log_probs: Array
  logits: Array
  skip_choice: Array
  reverse: bool


class ModelOutput(NamedTuple):
  features: Array        # [B, T, F] top-layer states, zero at padding
  final_features: Array  # [B, F] forward state after the last real step (+ backward at t=0)
  decisions: list        # list[Decisions], one per dynamic layer and direction
  carries: tuple         # final carry of each forward layer (SkipBuffer or LSTMState)


def _run_layer(config, layer, p, xs, lengths, key, lam, mode, initial, reverse):
  cell = config.layer_cell(layer)
  if cell == "lstm":
    state, hs = recurrence.lstm_layer(p, xs, lengths, initial, reverse=reverse)
    return state, state.h, hs, None
  if cell == "fixed":
    buf, hs = fixed_skip_layer(p, xs, lengths, skip=config.fixed_skip, lam=lam, initial=initial,
                               reverse=reverse)
    decisions = None
  elif cell == "attention":
    buf, (hs, _) = attention_skip_layer(p, xs, lengths, num_skips=config.num_skips, lam=lam,
                                        initial=initial, reverse=reverse)
    decisions = None
  else:
    buf, out = dynamic_skip_layer(p, xs, lengths, key, lam=lam, mode=mode, initial=initial,
                                  reverse=reverse)
    hs = out.hs
    decisions = Decisions(out.log_probs, out.logits, out.skip_choice, reverse)
  last = skip_buffer_read(buf, jnp.ones_like(buf.count)).h
  return buf, last, hs, decisions


def apply(params: dict[str, Any], config: ModelConfig, inputs: Array, lengths: Array,
          key: Array, hparams: dict[str, Any], *, train: bool,
          carries: tuple | None = None) -> ModelOutput:
  """Embeds `inputs` and runs the stack of recurrent layers.

  Args:
    inputs: [B, T] int ids (vocab_size > 0) or [B, T, input_dim] floats.
    lengths: [B] int.
    key: PRNG key (agent samples, dropout); only used when train=True.
    hparams: 'lam' (default 1.0 for fixed/attention/dynamic cells; the paper's lam), 'dropout'
      (rate on the inputs of every layer and of the output layer, Zaremba et al. 2014; absent:
      no dropout).
    train: sample the agent and apply dropout; False: greedy agent, no dropout.
    carries: per-layer initial carries of the forward layers (None: zeros).
  """
  validation.check_hparams(hparams, HPARAMS)
  lam = jnp.asarray(hparams.get("lam", 1.0), jnp.float32)
  rate = hparams.get("dropout")
  mode = "sample" if train else "greedy"
  layers.check_dense("params['out']", params["out"], config.feature_dim, config.num_outputs)
  if config.vocab_size:
    validation.check_last_dim("params['embed']", params["embed"], config.input_dim,
                              "config.input_dim")
    xs = layers.embed(params["embed"], inputs, "inputs")
  else:
    xs = inputs
  batch, max_len = xs.shape[:2]
  valid = recurrence.sequence_mask(lengths, max_len)[..., None]
  directions = ["forward"] + (["backward"] if config.bidirectional else [])
  if carries is None:
    carries = (None,) * config.num_layers
  decisions, new_carries, finals = [], [], []
  for layer in range(config.num_layers):
    xs = layers.dropout(jax.random.fold_in(key, 2 * layer), xs, rate, train=train)
    outs = []
    for d, name in enumerate(directions):
      reverse = name == "backward"
      k = jax.random.fold_in(key, 2 * layer + 1 + 1000 * d)
      carry, last, hs, dec = _run_layer(config, layer, params[name][layer], xs, lengths, k, lam,
                                        mode, None if reverse else carries[layer], reverse)
      outs.append(hs)
      if dec is not None:
        decisions.append(dec)
      if not reverse:
        new_carries.append(carry)
      if layer == config.num_layers - 1:
        # The backward direction has read the whole sequence at t = 0.
        finals.append(hs[:, 0] if reverse else last)
    xs = jnp.concatenate(outs, axis=-1) * valid
  return ModelOutput(features=xs, final_features=jnp.concatenate(finals, axis=-1),
                     decisions=decisions, carries=tuple(new_carries))


def init_model_state(config: ModelConfig, task: str, batch_size: int | None = None) -> dict:
  """The non-differentiated state of `make_loss_fn`'s loss: an EMA reward baseline
  ('reward_baseline') and/or the carried recurrent state ('carries', needs batch_size)."""
  if task not in TASKS:
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")
  state = {}
  if config.reward_baseline == "ema":
    if task != "classification":
      raise ValueError("reward_baseline='ema' is for classification; use 'batch' or 'none'")
    state["reward_baseline"] = estimators.ema_baseline(config.ema_decay)[0]()
  if config.carry_state:
    state["carries"] = zero_carries(config, batch_size)
  return state


def zero_carries(config: ModelConfig, batch_size: int) -> tuple:
  """The initial carry of every forward layer for a batch: LSTMState (c, h [B, H]) for plain
  layers, a SkipBuffer holding only the zero state for the skip layers."""
  validation.check_positive_int("batch_size", batch_size)
  carries = []
  for layer in range(config.num_layers):
    zero = cells.lstm_zero_state((batch_size,), config.hidden_dim)
    cell = config.layer_cell(layer)
    if cell == "lstm":
      carries.append(zero)
    else:
      size = config.fixed_skip if cell == "fixed" else config.num_skips
      carries.append(skip_buffer_init(zero, size))
  return tuple(carries)


def reset_carries(config: ModelConfig, carries: tuple, reset: Array) -> tuple:
  """`carries` with the rows where reset [B] is nonzero replaced by the zero carry."""
  batch_size = jnp.shape(reset)[0]
  zeros = zero_carries(config, batch_size)

  def pick(zero, carry):
    rows = jnp.reshape(reset != 0, (batch_size,) + (1,) * (carry.ndim - 1))
    return jnp.where(rows, zero, carry)

  return jax.tree_util.tree_map(pick, zeros, carries)


def leave_one_out_baseline(values: Array, weights: Array) -> Array:
  """Baseline b_i = weighted mean of the other examples' values: values, weights [B, ...].

  Independent of example i's own actions, so subtracting it keeps REINFORCE unbiased.
  """
  total = jnp.sum(weights * values, axis=0, keepdims=True)
  count = jnp.sum(weights, axis=0, keepdims=True)
  others = jnp.maximum(count - weights, 1.0)
  return jnp.where(count - weights > 0, (total - weights * values) / others, 0.0)


def sequence_returns(rewards: Array, mask: Array, discount: float | Array = 1.0, *,
                     reverse: bool = False) -> Array:
  """Reward-to-go of per-step rewards [B, T] (mask [B, T], padding at the end).

  Forward layers: G_t = sum_{s >= t} discount^(s-t) r_s. A backward layer's decision at t
  affects outputs t, t-1, ..., 0, so `reverse=True` gives G_t = sum_{s <= t} discount^(t-s) r_s.
  """
  mask = mask.astype(rewards.dtype)
  if not reverse:
    return jax.vmap(estimators.reward_to_go, (0, 0, None))(rewards, mask, discount)
  lengths = jnp.sum(mask, axis=1).astype(jnp.int32)
  flipped = recurrence.reverse_sequences((rewards, mask), lengths)
  g = jax.vmap(estimators.reward_to_go, (0, 0, None))(flipped[0], flipped[1], discount)
  return recurrence.reverse_sequences(g, lengths) * mask


def _check_batch(batch, task, config):
  for name in ("inputs", "lengths", "labels"):
    if name not in batch:
      raise ValueError(f"batch must contain {name!r}")
  inputs = batch["inputs"]
  validation.check_rank("batch['inputs']", inputs, 2 if config.vocab_size else 3)
  b, t = inputs.shape[:2]
  validation.check_lengths(batch["lengths"], b, t, "batch['lengths']")
  want = (b,) if task == "classification" else (b, t)
  if jnp.shape(batch["labels"]) != want:
    raise ValueError(f"batch['labels'] must have shape {want} for task {task!r}, got "
                     f"{jnp.shape(batch['labels'])}")


def make_loss_fn(config: ModelConfig, task: str, *, train: bool = True,
                 tag_names: Sequence[str] | None = None):
  """The loss of the paper's training scheme, following the skipjax loss protocol.

      loss = task NLL + reinforce_weight * REINFORCE + entropy_weight * (-entropy)

  summed over each sequence's decisions and averaged over the batch. task: "classification"
  (number prediction, IMDB: reward +1/-1 for the sampled path's prediction), "language_model"
  (PTB: labels [B, T] next words, reward of step t = p(gold word), reward-to-go), "tagging"
  (CoNLL: labels [B, T] tags, softmax output, reward p(gold tag) summed towards each layer's
  direction). `train=False` gives the test-time loss: greedy agent, no dropout, task NLL only.
  "tagging" also reports 'count' (weighted tokens: evaluation weighs batches by tokens) and,
  given `tag_names` (the tag of each label id, IOB), the chunk counts of the argmax tags
  (`conlleval.chunk_count_metrics`), from which evaluation computes entity-level F1.

  hparams: 'lam', 'dropout' (see `apply`), 'reinforce_weight' (default 1), 'entropy_weight'
  (default 0.01), 'discount' (default 1, reward-to-go), 'sum_over_time' (sequence tasks: 1 sums
  the NLL over the window and averages over sequences, Zaremba et al.'s scale; default: mean).
  batch['mask'] x batch['weights'] [B] (`layers.example_weights`) weighs padded batch entries.
  With config.carry_state the layers start from model_state['carries'] and the new state holds
  the final carries; rows where batch['reset'] [B] is nonzero start from zeros instead (the
  first window of a pass over a token stream).
  Metrics: loss, nll, accuracy, reward, entropy, mean_skip, fraction_computed (always 1: every
  step runs the LSTM).
  """
  if task not in TASKS:
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")
  if tag_names is not None:
    if task != "tagging":
      raise ValueError(f"tag_names (entity F1) applies to task 'tagging', not {task!r}")
    tag_names = tuple(tag_names)
    conlleval.iob_tables(tag_names)  # a bad tag fails here, not inside a trace
    if len(tag_names) != config.num_outputs:
      raise ValueError(f"tag_names has {len(tag_names)} tags but the model has "
                       f"num_outputs={config.num_outputs}")

  def loss_fn(params, model_state, batch, key, hparams):
    _check_batch(batch, task, config)
    inputs, lengths, labels = batch["inputs"], batch["lengths"], batch["labels"]
    b, t = inputs.shape[:2]
    weights = layers.example_weights(batch, b)  # mask x weights
    carries = model_state.get("carries") if config.carry_state else None
    if carries is not None and "reset" in batch:  # first window of a pass over the stream
      carries = reset_carries(config, carries, jnp.asarray(batch["reset"]))
    out = apply(params, config, inputs, lengths, key, hparams, train=train, carries=carries)
    rate = hparams.get("dropout")
    k_out = jax.random.fold_in(key, 10 ** 6)
    seq_mask = recurrence.sequence_mask(lengths, t).astype(jnp.float32)
    step_mask = seq_mask * weights[:, None]
    new_state = dict(model_state)
    if config.carry_state:
      new_state["carries"] = sg(out.carries)

    if task == "classification":
      logits = layers.dense(params["out"],
                            layers.dropout(k_out, out.final_features, rate, train=train))
      nll = layers.softmax_cross_entropy(logits, labels)
      correct = layers.accuracy(logits, labels)
      denom = jnp.maximum(jnp.sum(weights), 1.0)
      task_loss = jnp.sum(weights * nll) / denom
      acc = jnp.sum(weights * correct) / denom
      reward = 2.0 * correct - 1.0                          # +1 / -1, Gui et al.
      mean_reward = jnp.sum(weights * reward) / denom
      if config.reward_baseline == "batch":
        baseline = leave_one_out_baseline(reward, weights)
      elif config.reward_baseline == "ema":
        baseline = jnp.broadcast_to(model_state["reward_baseline"].value, reward.shape)
        if train:
          update = estimators.ema_baseline(config.ema_decay)[1]
          new_state["reward_baseline"] = update(model_state["reward_baseline"], mean_reward)
      else:
        baseline = jnp.zeros_like(reward)
      advantages = {False: jnp.broadcast_to((reward - baseline)[:, None], (b, t))}
      advantages[True] = advantages[False]
    else:
      logits = layers.dense(params["out"],
                            layers.dropout(k_out, out.features, rate, train=train))
      nll = layers.softmax_cross_entropy(logits, labels)
      denom = jnp.maximum(jnp.sum(step_mask), 1.0)
      task_loss = jnp.sum(step_mask * nll) / denom
      acc = jnp.sum(step_mask * layers.accuracy(logits, labels)) / denom
      reward = sg(jnp.exp(-nll)) * step_mask                # p(gold label at t)
      mean_reward = jnp.sum(reward) / denom
      discount = jnp.asarray(hparams.get("discount", 1.0), jnp.float32)
      advantages = {}
      for reverse in {dec.reverse for dec in out.decisions}:
        returns = sequence_returns(reward, step_mask, discount, reverse=reverse)
        if config.reward_baseline == "batch":
          returns = returns - leave_one_out_baseline(returns, step_mask)
        advantages[reverse] = returns

    loss = task_loss
    if task != "classification" and "sum_over_time" in hparams:
      # Zaremba et al. (2014) minimise the NLL summed over the BPTT window and averaged over
      # sequences (their SGD learning rate 1 and clip 5 are tuned for that scale): 1 selects it,
      # 0 the per-token mean. Metrics keep the per-token NLL.
      per_sequence = denom / jnp.maximum(jnp.sum(weights), 1.0)
      s = jnp.asarray(hparams["sum_over_time"], jnp.float32)
      loss = task_loss * (1.0 + s * (per_sequence - 1.0))
    metrics = {"nll": task_loss, "accuracy": acc, "reward": mean_reward,
               "fraction_computed": jnp.ones((), jnp.float32)}
    if out.decisions:
      batch_denom = jnp.maximum(jnp.sum(weights), 1.0)
      n_dec = jnp.maximum(jnp.sum(step_mask), 1.0) * len(out.decisions)
      pg = ent = skips = 0.0
      for dec in out.decisions:
        pg += jnp.sum(weights * jax.vmap(estimators.reinforce_loss)(
            dec.log_probs, advantages[dec.reverse] * seq_mask, seq_mask)) / batch_denom
        ent += jnp.sum(weights * jax.vmap(estimators.entropy_loss)(
            dec.logits, seq_mask)) / batch_denom
        skips += jnp.sum(dec.skip_choice * step_mask)
      if train:
        loss = (loss + jnp.asarray(hparams.get("reinforce_weight", 1.0), jnp.float32) * pg
                + jnp.asarray(hparams.get("entropy_weight", 0.01), jnp.float32) * ent)
      metrics["entropy"] = -ent * batch_denom / n_dec
      metrics["mean_skip"] = skips / n_dec
    if task == "tagging":
      metrics["count"] = jnp.sum(step_mask)
      if tag_names is not None:
        metrics.update(conlleval.chunk_count_metrics(
            jnp.argmax(logits, axis=-1), labels, lengths, tag_names, weights, metrics["count"]))
    metrics["loss"] = loss
    return loss, (new_state, metrics)

  return loss_fn


def predict(params: dict[str, Any], config: ModelConfig, task: str, inputs: Array,
            lengths: Array, hparams: dict[str, Any],
            carries: tuple | None = None) -> tuple[Array, ModelOutput]:
  """Test-time logits (greedy agent, no dropout): [B, C] for classification, else [B, T, C]."""
  if task not in TASKS:
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")
  out = apply(params, config, inputs, lengths, jax.random.PRNGKey(0), hparams, train=False,
              carries=carries)
  feats = out.final_features if task == "classification" else out.features
  return layers.dense(params["out"], feats), out
