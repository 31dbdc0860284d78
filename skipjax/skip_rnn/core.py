"""Skip RNN (Campos et al., ICLR 2018): parameters, the cell, and the masked training scan.

The cell wraps an LSTM or GRU core (one layer or a stack) with a binary state-update gate:

    u_t       = round(u_cum_t)                        # straight-through: d u_t / d u_cum_t = 1
    s_t       = u_t * S(s_{t-1}, x_t) + (1 - u_t) * s_{t-1}
    du_t      = sigmoid(w_p . s_t + b_p)              # from the top layer's c (LSTM) or h (GRU)
    u_cum_t+1 = u_t * du_t + (1 - u_t) * (u_cum_t + min(du_t, 1 - u_cum_t))

`u_cum_0 = 1` (the first step always updates), `b_p = 1`, and the initial state `s_0` is learned.
The stacked variant has one gate for the whole stack: every layer updates or skips together.

Forward value of the hard decision. While skipping, `du` is constant, so after an update with
probability `du` the cell skips exactly `N_skip = ceil(0.5 / du) - 1` steps (paper, sec. 3) before
`round(u_cum)` reaches 1 (ties 0.5 round up). The carry keeps that integer count (`skip_left`)
and the forward value of `u_t` is `skip_left == 0`, which is `round(u_cum_t)` in exact
arithmetic. Computing it from the count rather than from the float sum `du + du + ...` makes the
decisions of this training scan identical, bit for bit, to those of the jumping inference loop
(`skip_rnn.inference`), which only has the count. The gradient is the paper's: straight-through
into `u_cum`, which is computed exactly as above.

Masking saves no work: every step runs the core here (the gradient needs it). Real savings come
from `skip_rnn.inference`, which jumps over the skipped steps with `lax.while_loop`.

Shapes: batch-major, xs [B, T, D] float32, lengths [B] int; steps t >= lengths[b] never update
and never count.
"""

from __future__ import annotations

from typing import Any, NamedTuple

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
CoreParams = Any  # cells.LSTMParams | cells.GRUParams
CoreState = Any   # cells.LSTMState | Array (GRU h)


class SkipParams(NamedTuple):
  """Skip RNN parameters.

  cores: tuple of per-layer `cells.LSTMParams` (all) or `cells.GRUParams` (all); layer 0 reads
    x_t [D], layer l > 0 reads the new h of layer l - 1.
  gate: `layers.DenseParams` with w [H, 1], b [1] (b starts at 1): du = sigmoid(w_p . s + b_p).
  initial_state: tuple of per-layer learned initial states without batch axes: `LSTMState` of
    [H] vectors, or a GRU h [H].
  """
  cores: tuple
  gate: layers.DenseParams
  initial_state: tuple


class SkipCarry(NamedTuple):
  """Carry of the masked scan, leading batch axis B.

  state: tuple of per-layer core states ([B, H] leaves).
  u_cum: [B] float32, cumulative update probability (u_cum_t above).
  skip_left: [B] int32, steps still to skip before the next update (0: update now).
  """
  state: tuple
  u_cum: Array
  skip_left: Array


class SkipOutput(NamedTuple):
  """Result of `skip_rnn`.

  final: SkipCarry after each example's last real step.
  hs: [B, T, H] float32 top-layer hidden state after each step (repeated over skipped steps,
    zero at padded steps).
  update_mask: [B, T] float32 in {0, 1}, the u_t actually applied (straight-through, so its
    gradient reaches u_cum); 0 at padded steps.
  update_prob: [B, T] float32 u_cum_t, the soft value behind each decision (0 at padded steps).
  """
  final: SkipCarry
  hs: Array
  update_mask: Array
  update_prob: Array


# ----------------------------------------------------------------------------------------------
# Core (LSTM or GRU) dispatch
# ----------------------------------------------------------------------------------------------


def is_lstm(params: SkipParams | CoreParams) -> bool:
  """True for an LSTM core, False for a GRU core (from the parameter types)."""
  core = params.cores[0] if isinstance(params, SkipParams) else params
  if isinstance(core, cells.LSTMParams):
    return True
  if isinstance(core, cells.GRUParams):
    return False
  raise TypeError(f"core parameters must be cells.LSTMParams or cells.GRUParams, got "
                  f"{type(core).__name__}")


def core_input_projection(core: CoreParams, x: Array) -> Array:
  """x @ w_i + b: [..., D] -> [..., 4H] (LSTM) or [..., 3H] (GRU), float32."""
  if is_lstm(core):
    return cells.lstm_input_projection(core, x)
  return cells.gru_input_projection(core, x)


def core_step_projected(core: CoreParams, state: CoreState, x_proj: Array) -> CoreState:
  """One core step from a projected input; returns the new state."""
  if is_lstm(core):
    return cells.lstm_step_projected(core, state, x_proj)[0]
  return cells.gru_step_projected(core, state, x_proj)[0]


def core_hidden(state: CoreState) -> Array:
  """The layer's output h."""
  return state.h if isinstance(state, cells.LSTMState) else state


def gate_input(state: CoreState) -> Array:
  """What the update gate reads: the cell state c for an LSTM (paper), h for a GRU."""
  return state.c if isinstance(state, cells.LSTMState) else state


def stack_step(cores: tuple, state: tuple, x_proj: Array) -> tuple:
  """Runs every layer once: layer 0 from its projected input, layer l from the new h of l - 1."""
  new_state = []
  inp = x_proj
  for l, (core, s) in enumerate(zip(cores, state)):
    if l > 0:
      inp = core_input_projection(core, core_hidden(new_state[-1]))
    new_state.append(core_step_projected(core, s, inp))
  return tuple(new_state)


def update_prob_delta(gate: layers.DenseParams, state: tuple) -> Array:
  """du = sigmoid(w_p . s + b_p) from the top layer: [..., H] -> [...] float32."""
  return jax.nn.sigmoid(layers.dense(gate, gate_input(state[-1]))[..., 0])


def num_skips(du: Array, max_skip: int) -> Array:
  """N_skip = ceil(0.5 / du) - 1, the steps skipped after an update with probability du.

  Clipped to [0, max_skip] (du may underflow to 0); int32, same shape as du.
  """
  n = jnp.ceil(0.5 / du.astype(jnp.float32)) - 1.0
  return jnp.clip(n, 0.0, float(max_skip)).astype(jnp.int32)


# ----------------------------------------------------------------------------------------------
# Parameters and initial carry
# ----------------------------------------------------------------------------------------------


def skip_init(key: Array, input_dim: int, hidden_dim: int, *, num_layers: int = 1,
              cell: str = "lstm", gate_bias: float = 1.0, forget_bias: float = 1.0,
              init: str = "default", param_dtype: Any = jnp.float32) -> SkipParams:
  """Initial Skip LSTM / Skip GRU parameters.

  Args:
    key: PRNG key.
    input_dim: D, size of x_t.
    hidden_dim: H, units per layer.
    num_layers: depth of the stack (one gate for the whole stack, from the top layer).
    cell: "lstm" or "gru".
    gate_bias: initial b_p (paper: 1, so du ~ 0.73 and the untrained cell updates every step).
    forget_bias, init, param_dtype: passed to `cells.lstm_init` / `cells.gru_init`.
  Returns:
    SkipParams; the learned initial state starts at zero.
  """
  validation.check_positive_int("input_dim", input_dim)
  validation.check_positive_int("hidden_dim", hidden_dim)
  validation.check_positive_int("num_layers", num_layers)
  if cell not in ("lstm", "gru"):
    raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
  keys = jax.random.split(key, num_layers + 1)
  cores, initial = [], []
  for l in range(num_layers):
    d = input_dim if l == 0 else hidden_dim
    if cell == "lstm":
      cores.append(cells.lstm_init(keys[l], d, hidden_dim, forget_bias=forget_bias, init=init,
                                   param_dtype=param_dtype))
      # Two distinct buffers (lstm_zero_state shares one for c and h, which a donating
      # train step rejects).
      initial.append(cells.LSTMState(c=jnp.zeros((hidden_dim,), jnp.float32),
                                     h=jnp.zeros((hidden_dim,), jnp.float32)))
    else:
      cores.append(cells.gru_init(keys[l], d, hidden_dim, init=init, param_dtype=param_dtype))
      initial.append(cells.gru_zero_state((), hidden_dim))
  gate = layers.dense_init(keys[-1], hidden_dim, 1, bias=gate_bias)
  return SkipParams(cores=tuple(cores), gate=gate, initial_state=tuple(initial))


def initial_carry(params: SkipParams, batch: int) -> SkipCarry:
  """The learned s_0 broadcast to [B, H], u_cum_0 = 1, skip_left = 0 (the first step updates)."""
  state = jax.tree_util.tree_map(
      lambda s: jnp.broadcast_to(s.astype(jnp.float32), (batch,) + s.shape),
      params.initial_state)
  return SkipCarry(state=state, u_cum=jnp.ones((batch,), jnp.float32),
                   skip_left=jnp.zeros((batch,), jnp.int32))


def check_params(params: SkipParams) -> tuple[int, int]:
  """Checks that the shapes of a SkipParams agree; returns (D, H of the top layer).

  Every core is an LSTM or every core a GRU; layer l > 0 reads layer l - 1's H; each initial
  state matches its layer's H; the gate is [H_top, 1]. A mismatch raises ValueError naming the
  field (e.g. 'params.gate.w'), not a `dot_general` error inside the scan.
  """
  if not isinstance(params, SkipParams):
    raise TypeError(f"params must be a SkipParams, got {type(params).__name__}")
  if not params.cores:
    raise ValueError("params.cores is empty: a Skip RNN has at least one layer")
  lstm = is_lstm(params)
  if len(params.initial_state) != len(params.cores):
    raise ValueError(f"params.initial_state has {len(params.initial_state)} layers, "
                     f"params.cores {len(params.cores)}")
  input_dim, below = None, None
  for l, (core, s) in enumerate(zip(params.cores, params.initial_state)):
    name = f"params.cores[{l}]"
    if is_lstm(core) != lstm:
      raise TypeError(f"{name} is a {type(core).__name__} but params.cores[0] a "
                      f"{type(params.cores[0]).__name__}: all layers must use the same cell")
    d, h = cells.check_params(name, core)
    if l == 0:
      input_dim = d
    elif d != below:
      raise ValueError(f"{name}.w_i reads {d} features, but layer {l - 1} has hidden size "
                       f"{below}")
    for leaf_name, leaf in (("c", s.c), ("h", s.h)) if lstm else (("", s),):
      if np.shape(leaf) != (h,):
        field = f"params.initial_state[{l}]" + (f".{leaf_name}" if leaf_name else "")
        raise ValueError(f"{field} must have shape ({h},) (the hidden size of {name}), got "
                         f"{np.shape(leaf)}")
    below = h
  layers.check_dense("params.gate", params.gate, below, 1, "the top layer's state")
  return input_dim, below


def check_inputs(params: SkipParams, xs: Array, lengths: Array | None) -> Array:
  """Validates params (`check_params`) and xs [B, T, D] against them; returns lengths ([B]
  int32, T if None)."""
  check_params(params)
  validation.check_rank("xs", xs, 3)
  validation.check_floating("xs", xs)
  validation.check_last_dim("xs", xs, params.cores[0].w_i.shape[0], "the Skip RNN's input_dim")
  batch, max_len = xs.shape[:2]
  if lengths is None:
    return jnp.full((batch,), max_len, jnp.int32)
  validation.check_lengths(lengths, batch, max_len)
  return jnp.asarray(lengths, jnp.int32)


# ----------------------------------------------------------------------------------------------
# The cell and the masked scan (training)
# ----------------------------------------------------------------------------------------------


def skip_step(params: SkipParams, carry: SkipCarry, x_proj: Array, *, max_skip: int,
              key: Array | None = None) -> tuple[SkipCarry, tuple[Array, Array, Array]]:
  """One Skip RNN step for a batch (leading axis B); `x_proj` [B, 4H or 3H] is layer 0's
  input projection of x_t.

  With `key=None` the decision is the straight-through round of u_cum (forward value from the
  skip count, see the module docstring); with a key it is a straight-through Bernoulli(u_cum)
  sample (the paper's stochastic variant).

  Returns (new carry, (h_t [B, H], u_t [B], u_cum_t [B])).
  """
  u_cum = carry.u_cum
  if key is None:
    hard = (carry.skip_left <= 0).astype(jnp.float32)
    u = estimators.straight_through(u_cum, hard)
  else:
    u = estimators.bernoulli_straight_through(key, u_cum)
    hard = lax.stop_gradient(u)
  new_state = stack_step(params.cores, carry.state, x_proj)
  # Arithmetic mix (not `where`) so that the loss reaches u_t, hence u_cum and du.
  mix = lambda n, o: u[:, None] * n + (1.0 - u[:, None]) * o
  state = jax.tree_util.tree_map(mix, new_state, carry.state)
  du = update_prob_delta(params.gate, state)
  u_cum_next = u * du + (1.0 - u) * (u_cum + jnp.minimum(du, 1.0 - u_cum))
  skip_left = jnp.where(hard > 0, num_skips(du, max_skip), carry.skip_left - 1)
  return (SkipCarry(state, u_cum_next, skip_left),
          (core_hidden(state[-1]), u, u_cum))


def skip_rnn(params: SkipParams, xs: Array, lengths: Array | None = None, *,
             key: Array | None = None, unroll: int = 1,
             hoist_input: bool | None = None) -> SkipOutput:
  """Skip RNN over a batch with masked updates (every step computed): the training path.

  Args:
    params: SkipParams from `skip_init`.
    xs: [B, T, D] float inputs.
    lengths: [B] int in [0, T]; None means all T. Padded steps never update nor count.
    key: None for deterministic straight-through rounding; a PRNG key for straight-through
      Bernoulli sampling (one fresh key per step, by `fold_in` of the step index).
    unroll: passed to `lax.scan`.
    hoist_input: compute layer 0's input projection of all steps before the scan (one big
      matmul) instead of inside each step; None: as `recurrence.lstm_layer`, hoisted at batch 1
      only. Inside the step it was faster on CPU at batch 64 (IMDB, T=400, D=100, H=128: an
      LSTM's gradient 0.71x the hoisted time; `experiments/train_step_time.py`): the hoisted
      [B*T, 4H] projection is large and goes through memory. Same results either way.
  Returns:
    SkipOutput (final carry, hs [B, T, H], update_mask [B, T], update_prob [B, T]).
  """
  lengths = check_inputs(params, xs, lengths)
  batch, max_len = xs.shape[:2]
  if hoist_input is None:
    hoist_input = batch == 1
  inputs = core_input_projection(params.cores[0], xs) if hoist_input else xs
  steps = jnp.broadcast_to(jnp.arange(max_len, dtype=jnp.int32), (batch, max_len))

  def step(p, carry, inp):
    x_t, t = inp
    xp_t = x_t if hoist_input else core_input_projection(p.cores[0], x_t)
    step_key = None if key is None else jax.random.fold_in(key, t[0])
    return skip_step(p, carry, xp_t, max_skip=max_len, key=step_key)

  final, (hs, update_mask, update_prob) = recurrence.scan_rnn(
      step, params, initial_carry(params, batch), (inputs, steps), lengths, unroll=unroll)
  return SkipOutput(final=final, hs=hs, update_mask=update_mask, update_prob=update_prob)


def budget_loss(update_mask: Array, budget_lambda: float | Array,
                mask: Array | None = None) -> Array:
  """Budget loss `lambda * sum_t u_t` per sequence, averaged over the batch (paper eq. 5).

  Args:
    update_mask: [B, T] the applied u_t (zero at padded steps, as `skip_rnn` returns it).
    budget_lambda: scalar lambda.
    mask: optional [B] weights of real batch entries (padded examples of a batch count 0).
  Returns:
    scalar float32.
  """
  validation.check_rank("update_mask", update_mask, 2)
  validation.check_in("budget_lambda", budget_lambda, validation.NONNEG)
  per_seq = jnp.sum(update_mask.astype(jnp.float32), axis=1)
  if mask is None:
    return budget_lambda * jnp.mean(per_seq)
  mask = jnp.asarray(mask, jnp.float32)
  return budget_lambda * jnp.sum(per_seq * mask) / jnp.maximum(jnp.sum(mask), 1.0)


def step_flops(params: SkipParams) -> int:
  """Analytic FLOPs of one updated step: every layer's core step plus the gate (2H + sigmoid)."""
  total = 0
  for core in params.cores:
    d, h = core.w_i.shape[0], core.w_h.shape[0]
    total += cells.lstm_step_flops(d, h) if is_lstm(core) else cells.gru_step_flops(d, h)
  return total + 2 * params.gate.w.shape[0] + 4
