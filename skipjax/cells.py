"""Pure-function LSTM and GRU cells over explicit parameter pytrees.

Equations and gate order are those of `torch.nn.LSTM` (i, f, g, o) and `torch.nn.GRU` (r, z, n), so
weights port both ways (`lstm_params_from_torch`, `gru_params_from_torch`) and tests can check the
numerics against an independent implementation.

Batching: every step function works on one example (`x` of shape [D]) or on any number of leading
batch axes (`x` of shape [..., D]); states carry the same leading axes.

Precision: parameters may be stored in bfloat16 (`param_dtype`). Matmuls multiply in the parameter
dtype and accumulate in float32 (`preferred_element_type`); gates and the cell state stay in
float32, so a long recurrence does not drift in low precision.

Fusion: every LSTM step can be a single matmul, in one of two ways. `lstm_step_stacked` multiplies
`[x_t; h_{t-1}]` by the stacked weights `[w_i; w_h]` (K = D + H); on CPU this is the fastest form
(skipjax/bench/lstm.py) and the default of `recurrence.lstm_layer`. Alternatively the input
projection `x @ w_i + b`, which does not depend on the recurrence, is computed for all steps at once
(`lstm_input_projection`) and the step multiplies only `h_{t-1} @ w_h` (`lstm_step_projected`);
that pays off on accelerators with large batches. `lstm_step` is the plain one-step form for loops
that read inputs one at a time (jumping readers).
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import validation

Array = jax.Array


class LSTMState(NamedTuple):
  """LSTM carry: cell state `c` and hidden state `h`, each [..., H] float32."""
  c: Array
  h: Array


class LSTMParams(NamedTuple):
  """LSTM parameters. Gates are packed along the last axis in torch order (i, f, g, o).

  w_i: [D, 4H] input weights; w_h: [H, 4H] recurrent weights; b: [4H] bias (torch's
  `bias_ih + bias_hh`).
  """
  w_i: Array
  w_h: Array
  b: Array


class GRUParams(NamedTuple):
  """GRU parameters, gates packed in torch order (r, z, n).

  w_i: [D, 3H]; w_h: [H, 3H]; b_i: [3H]; b_h: [3H]. The two biases stay separate because the
  candidate gate uses `r * (w_hn h + b_hn)`.
  """
  w_i: Array
  w_h: Array
  b_i: Array
  b_h: Array


def check_params(name: str, params: Any) -> tuple[int, int]:
  """Checks that an LSTM's or GRU's weights agree with each other; returns (D, H).

  w_h must be [H, G H] (G = 4 gates for an LSTM, 3 for a GRU), w_i [D, G H] and every bias
  [G H]. Shapes only (static under jit): a mismatch raises ValueError naming `name` and the
  shapes, rather than a `dot_general` error from deep inside a scan.
  """
  if isinstance(params, LSTMParams):
    gates, biases = 4, ("b",)
  elif isinstance(params, GRUParams):
    gates, biases = 3, ("b_i", "b_h")
  else:
    raise TypeError(f"{name} must be cells.LSTMParams or cells.GRUParams, got "
                    f"{type(params).__name__}")
  w_i, w_h = np.shape(params.w_i), np.shape(params.w_h)
  if len(w_h) != 2 or w_h[1] != gates * w_h[0]:
    raise ValueError(f"{name}.w_h must have shape [H, {gates}H], got {w_h}")
  hidden = w_h[0]
  if len(w_i) != 2 or w_i[1] != gates * hidden:
    raise ValueError(f"{name}.w_i must have shape [D, {gates * hidden}] ({gates} gates of the "
                     f"hidden size H={hidden} of {name}.w_h {w_h}), got {w_i}")
  for bias in biases:
    shape = np.shape(getattr(params, bias))
    if shape != (gates * hidden,):
      raise ValueError(f"{name}.{bias} must have shape ({gates * hidden},) ({gates} gates of "
                       f"H={hidden}), got {shape}")
  return w_i[0], hidden


def matmul(x: Array, w: Array) -> Array:
  """x @ w in w's dtype, accumulated (and returned) in float32 (float64 for float64 weights)."""
  return jnp.matmul(x.astype(w.dtype), w,
                    preferred_element_type=jnp.promote_types(w.dtype, jnp.float32))


def _uniform(key, shape, scale, dtype):
  return jax.random.uniform(key, shape, jnp.float32, -scale, scale).astype(dtype)


def _orthogonal_blocks(key, hidden_dim, num_gates, dtype):
  keys = jax.random.split(key, num_gates)
  init = jax.nn.initializers.orthogonal()
  return jnp.concatenate([init(k, (hidden_dim, hidden_dim), jnp.float32) for k in keys],
                         axis=-1).astype(dtype)


# ----------------------------------------------------------------------------------------------
# LSTM
# ----------------------------------------------------------------------------------------------


def lstm_init(key: Array, input_dim: int, hidden_dim: int, *, forget_bias: float = 1.0,
              init: str = "default", param_dtype: Any = jnp.float32) -> LSTMParams:
  """Initial LSTM parameters.

  Args:
    key: PRNG key.
    input_dim: D, size of x_t.
    hidden_dim: H, size of h_t and c_t.
    forget_bias: added to the forget-gate bias (Jozefowicz et al. 2015) with either init; pass
      0 with init="torch" to get torch's initial distribution.
    init: "default" (Glorot-uniform input weights, orthogonal recurrent blocks, zero bias plus
      forget_bias) or "torch" (U(-1/sqrt(H), 1/sqrt(H)) everywhere, as torch.nn.LSTM).
    param_dtype: storage dtype of the parameters (float32 or bfloat16).
  """
  validation.check_positive_int("input_dim", input_dim)
  validation.check_positive_int("hidden_dim", hidden_dim)
  k_i, k_h, k_b = jax.random.split(key, 3)
  if init == "torch":
    s = 1.0 / np.sqrt(hidden_dim)
    w_i = _uniform(k_i, (input_dim, 4 * hidden_dim), s, param_dtype)
    w_h = _uniform(k_h, (hidden_dim, 4 * hidden_dim), s, param_dtype)
    b = _uniform(k_b, (4 * hidden_dim,), 2 * s, jnp.float32)  # sum of two U(-s, s), roughly
  elif init == "default":
    w_i = jax.nn.initializers.glorot_uniform()(k_i, (input_dim, 4 * hidden_dim), jnp.float32)
    w_i = w_i.astype(param_dtype)
    w_h = _orthogonal_blocks(k_h, hidden_dim, 4, param_dtype)
    b = jnp.zeros((4 * hidden_dim,), jnp.float32)
  else:
    raise ValueError(f"init must be 'default' or 'torch', got {init!r}")
  b = b.at[hidden_dim:2 * hidden_dim].add(forget_bias)
  return LSTMParams(w_i=w_i, w_h=w_h, b=b.astype(param_dtype))


def lstm_zero_state(batch_shape: tuple[int, ...], hidden_dim: int) -> LSTMState:
  """All-zero LSTM state with leading `batch_shape` (use () for one example)."""
  shape = tuple(batch_shape) + (hidden_dim,)
  # Two distinct buffers: one shared array in a donated pytree fails ("donate ... twice").
  return LSTMState(c=jnp.zeros(shape, jnp.float32), h=jnp.zeros(shape, jnp.float32))


def lstm_input_projection(params: LSTMParams, x: Array) -> Array:
  """`x @ w_i + b` for any leading axes: [..., D] -> [..., 4H] float32."""
  return matmul(x, params.w_i) + params.b.astype(jnp.float32)


def lstm_step_projected(params: LSTMParams, state: LSTMState,
                        x_proj: Array) -> tuple[LSTMState, Array]:
  """One LSTM step from a precomputed input projection (one matmul per step).

      i, f, g, o = split(x_proj + h_{t-1} @ w_h)
      c_t = sigmoid(f) * c_{t-1} + sigmoid(i) * tanh(g)
      h_t = sigmoid(o) * tanh(c_t)

  Args:
    params: LSTMParams.
    state: LSTMState with c, h of shape [..., H].
    x_proj: [..., 4H], `lstm_input_projection(params, x_t)`.
  Returns:
    (LSTMState(c_t, h_t), h_t), float32.
  """
  return _lstm_update(x_proj + matmul(state.h, params.w_h), state.c)


def _lstm_update(gates: Array, c: Array) -> tuple[LSTMState, Array]:
  i, f, g, o = jnp.split(gates, 4, axis=-1)
  c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
  h = jax.nn.sigmoid(o) * jnp.tanh(c)
  return LSTMState(c=c, h=h), h


def lstm_step(params: LSTMParams, state: LSTMState, x: Array, *,
              fused: bool = False) -> tuple[LSTMState, Array]:
  """One LSTM step, torch.nn.LSTM equations, from the raw input x_t of shape [..., D].

  All four gates come from one packed matmul per operand. With `fused=True` the input and
  recurrent matmuls become a single `[x_t; h_{t-1}] @ [w_i; w_h]` (one matmul per step), which
  can pay off at batch 1 in loops that read one token at a time. Returns (LSTMState, h_t).
  """
  validation.check_last_dim("x", x, params.w_i.shape[0], "params.w_i's input_dim")
  if fused:
    return lstm_step_stacked(lstm_stack_weights(params), params.b, state, x)
  return lstm_step_projected(params, state, lstm_input_projection(params, x))


def lstm_stack_weights(params: LSTMParams) -> Array:
  """`[w_i; w_h]`, the [D+H, 4H] weights of `lstm_step_stacked` (compute once, outside a loop)."""
  return jnp.concatenate([params.w_i, params.w_h], axis=0)


def lstm_step_stacked(w_xh: Array, b: Array, state: LSTMState,
                      x: Array) -> tuple[LSTMState, Array]:
  """One LSTM step as a single matmul `[x_t; h_{t-1}] @ w_xh + b` (torch.nn.LSTM equations).

  Args:
    w_xh: [D+H, 4H], `lstm_stack_weights(params)`.
    b: [4H] bias.
    state: LSTMState with c, h of shape [..., H].
    x: [..., D] input x_t.
  Returns:
    (LSTMState(c_t, h_t), h_t), float32.
  """
  xh = jnp.concatenate([x.astype(w_xh.dtype), state.h.astype(w_xh.dtype)], axis=-1)
  return _lstm_update(matmul(xh, w_xh) + b.astype(jnp.float32), state.c)


def lstm_params_from_torch(state_dict: Mapping[str, Any], layer: int = 0,
                           suffix: str = "", param_dtype: Any = jnp.float32) -> LSTMParams:
  """LSTMParams from a torch.nn.LSTM (or LSTMCell) state dict.

  Accepts torch tensors or arrays. `layer` picks `weight_ih_l{layer}`; `suffix="_reverse"` picks
  the backward direction of a bidirectional LSTM. For nn.LSTMCell keys (`weight_ih`) pass
  layer=None.
  """
  tag = "" if layer is None else f"_l{layer}"
  get = lambda name: np.asarray(_to_numpy(state_dict[f"{name}{tag}{suffix}"]), np.float32)
  w_ih, w_hh = get("weight_ih"), get("weight_hh")
  hidden = w_hh.shape[1]
  if w_ih.shape[0] != 4 * hidden or w_hh.shape[0] != 4 * hidden:
    raise ValueError(f"not LSTM weights: weight_ih {w_ih.shape}, weight_hh {w_hh.shape}")
  b = get("bias_ih") + get("bias_hh")
  return LSTMParams(w_i=jnp.asarray(w_ih.T, param_dtype), w_h=jnp.asarray(w_hh.T, param_dtype),
                    b=jnp.asarray(b, param_dtype))


# ----------------------------------------------------------------------------------------------
# GRU
# ----------------------------------------------------------------------------------------------


def gru_init(key: Array, input_dim: int, hidden_dim: int, *, init: str = "default",
             param_dtype: Any = jnp.float32) -> GRUParams:
  """Initial GRU parameters ("default": Glorot input, orthogonal recurrent, zero biases; or
  "torch": U(-1/sqrt(H), 1/sqrt(H)) everywhere)."""
  validation.check_positive_int("input_dim", input_dim)
  validation.check_positive_int("hidden_dim", hidden_dim)
  k_i, k_h, k_bi, k_bh = jax.random.split(key, 4)
  if init == "torch":
    s = 1.0 / np.sqrt(hidden_dim)
    return GRUParams(w_i=_uniform(k_i, (input_dim, 3 * hidden_dim), s, param_dtype),
                     w_h=_uniform(k_h, (hidden_dim, 3 * hidden_dim), s, param_dtype),
                     b_i=_uniform(k_bi, (3 * hidden_dim,), s, param_dtype),
                     b_h=_uniform(k_bh, (3 * hidden_dim,), s, param_dtype))
  if init != "default":
    raise ValueError(f"init must be 'default' or 'torch', got {init!r}")
  w_i = jax.nn.initializers.glorot_uniform()(k_i, (input_dim, 3 * hidden_dim), jnp.float32)
  zeros = jnp.zeros((3 * hidden_dim,), param_dtype)
  return GRUParams(w_i=w_i.astype(param_dtype),
                   w_h=_orthogonal_blocks(k_h, hidden_dim, 3, param_dtype), b_i=zeros, b_h=zeros)


def gru_zero_state(batch_shape: tuple[int, ...], hidden_dim: int) -> Array:
  """All-zero GRU state (the carry is h itself) with leading `batch_shape`."""
  return jnp.zeros(tuple(batch_shape) + (hidden_dim,), jnp.float32)


def gru_input_projection(params: GRUParams, x: Array) -> Array:
  """`x @ w_i + b_i`: [..., D] -> [..., 3H] float32."""
  return matmul(x, params.w_i) + params.b_i.astype(jnp.float32)


def gru_step_projected(params: GRUParams, h: Array, x_proj: Array) -> tuple[Array, Array]:
  """One GRU step (torch.nn.GRU equations) from a precomputed input projection.

      r = sigmoid(x_r + h W_hr + b_hr);  z = sigmoid(x_z + h W_hz + b_hz)
      n = tanh(x_n + r * (h W_hn + b_hn));  h_t = (1 - z) * n + z * h_{t-1}

  Args: h [..., H]; x_proj [..., 3H]. Returns (h_t, h_t), float32.
  """
  hh = matmul(h, params.w_h) + params.b_h.astype(jnp.float32)
  x_r, x_z, x_n = jnp.split(x_proj, 3, axis=-1)
  h_r, h_z, h_n = jnp.split(hh, 3, axis=-1)
  r = jax.nn.sigmoid(x_r + h_r)
  z = jax.nn.sigmoid(x_z + h_z)
  n = jnp.tanh(x_n + r * h_n)
  h_new = (1.0 - z) * n + z * h.astype(jnp.float32)
  return h_new, h_new


def gru_step(params: GRUParams, h: Array, x: Array) -> tuple[Array, Array]:
  """One GRU step from the raw input x_t [..., D]. Returns (h_t, h_t)."""
  validation.check_last_dim("x", x, params.w_i.shape[0], "params.w_i's input_dim")
  return gru_step_projected(params, h, gru_input_projection(params, x))


def gru_params_from_torch(state_dict: Mapping[str, Any], layer: int | None = 0,
                          suffix: str = "", param_dtype: Any = jnp.float32) -> GRUParams:
  """GRUParams from a torch.nn.GRU (layer=int) or nn.GRUCell (layer=None) state dict."""
  tag = "" if layer is None else f"_l{layer}"
  get = lambda name: np.asarray(_to_numpy(state_dict[f"{name}{tag}{suffix}"]), np.float32)
  w_ih, w_hh = get("weight_ih"), get("weight_hh")
  hidden = w_hh.shape[1]
  if w_ih.shape[0] != 3 * hidden or w_hh.shape[0] != 3 * hidden:
    raise ValueError(f"not GRU weights: weight_ih {w_ih.shape}, weight_hh {w_hh.shape}")
  return GRUParams(w_i=jnp.asarray(w_ih.T, param_dtype), w_h=jnp.asarray(w_hh.T, param_dtype),
                   b_i=jnp.asarray(get("bias_ih"), param_dtype),
                   b_h=jnp.asarray(get("bias_hh"), param_dtype))


def _to_numpy(t):
  if hasattr(t, "detach"):  # torch.Tensor, without importing torch
    return t.detach().cpu().numpy()
  return np.asarray(t)


# ----------------------------------------------------------------------------------------------
# Analytic cost
# ----------------------------------------------------------------------------------------------


def lstm_step_flops(input_dim: int, hidden_dim: int) -> int:
  """Multiply-adds counted as 2 FLOPs: the two matmuls, bias, and the element-wise update."""
  return 2 * (input_dim + hidden_dim) * 4 * hidden_dim + 4 * hidden_dim + 8 * hidden_dim


def gru_step_flops(input_dim: int, hidden_dim: int) -> int:
  """FLOPs of one GRU step (same conventions as lstm_step_flops)."""
  return 2 * (input_dim + hidden_dim) * 3 * hidden_dim + 6 * hidden_dim + 8 * hidden_dim
