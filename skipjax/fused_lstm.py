"""An LSTM layer whose backward pass computes the weight gradients as whole-sequence matmuls.

Reverse-mode autodiff of a `lax.scan` accumulates the gradient of every loop-invariant weight
inside the backward loop: at each step a [D+H, B] x [B, 4H] product is added into a [D+H, 4H]
accumulator. cuDNN and oneDNN (PyTorch's CPU LSTM) instead keep only the recurrent part in the
loop and form the weight gradients once, after it:

    backward loop, per step:  dgates_t = d(pre-activations);  dh_{t-1} = dgates_t @ w_h^T
    after the loop:           dw_i = X^T dG,  dw_h = H_prev^T dG,  db = sum dG,  dX = dG w_i^T

with X [T*B, D], H_prev [T*B, H] and dG [T*B, 4H] stacked over all steps. `lstm_scan` is that
`jax.custom_vjp`; `recurrence.lstm_layer(..., backward="fused")` uses it. Same forward values as
`recurrence.lstm_layer` (torch.nn.LSTM equations), gradients equal up to summation order
(tests/test_fused_lstm.py). The cost: forward-mode differentiation (`jax.jvp`, `jax.jacfwd`,
`jax.hessian`) is not defined through a custom VJP; use `backward="autodiff"` for it. float32
only (parameters and inputs).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

from skipjax import cells

Array = jax.Array


def _forward(w_i, w_h, b, xs, mask, c0, h0, unroll):
  """The masked forward scan over time-major xs [T, B, D], mask [T, B] float. Returns
  ((c_T, h_T), hs [T, B, H] (zero where masked), residuals)."""
  def body(carry, inp):
    c, h = carry
    x, m = inp
    gates = cells.matmul(x, w_i) + cells.matmul(h, w_h) + b
    i, f, g, o = jnp.split(gates, 4, axis=-1)
    i, f, o, g = jax.nn.sigmoid(i), jax.nn.sigmoid(f), jax.nn.sigmoid(o), jnp.tanh(g)
    c_new = f * c + i * g
    tanh_c = jnp.tanh(c_new)
    h_new = o * tanh_c
    real = m[:, None] > 0
    carry = (jnp.where(real, c_new, c), jnp.where(real, h_new, h))
    return carry, (jnp.where(real, h_new, 0.0), jnp.concatenate([i, f, g, o], -1), tanh_c, c, h)

  final, (hs, acts, tanh_cs, c_prev, h_prev) = lax.scan(body, (c0, h0), (xs, mask),
                                                        unroll=unroll)
  return final, hs, (acts, tanh_cs, c_prev, h_prev)


def _lstm_scan(w_i, w_h, b, xs, mask, c0, h0, unroll):
  (c_t, h_t), hs, _ = _forward(w_i, w_h, b, xs, mask, c0, h0, unroll)
  return c_t, h_t, hs


def _lstm_scan_fwd(w_i, w_h, b, xs, mask, c0, h0, unroll):
  (c_t, h_t), hs, residuals = _forward(w_i, w_h, b, xs, mask, c0, h0, unroll)
  return (c_t, h_t, hs), (w_i, w_h, xs, mask, residuals)


def _lstm_scan_bwd(unroll, saved, cotangents):
  w_i, w_h, xs, mask, (acts, tanh_cs, c_prev, h_prev) = saved
  dc_final, dh_final, dhs = cotangents
  w_h_t = w_h.T

  def body(carry, inp):
    dc, dh = carry
    dy, act, tanh_c, c_before, m = inp
    real = m[:, None] > 0
    dh_total = dh + jnp.where(real, dy, 0.0)
    i, f, g, o = jnp.split(act, 4, axis=-1)
    dc_new = dc + dh_total * o * (1.0 - tanh_c * tanh_c)
    dgates = jnp.concatenate([dc_new * g * i * (1.0 - i), dc_new * c_before * f * (1.0 - f),
                              dc_new * i * (1.0 - g * g), dh_total * tanh_c * o * (1.0 - o)], -1)
    dgates = jnp.where(real, dgates, 0.0)
    # A masked step copied the carry: its cotangent passes through unchanged.
    carry = (jnp.where(real, dc_new * f, dc), jnp.where(real, dgates @ w_h_t, dh))
    return carry, dgates

  (dc0, dh0), dgates = lax.scan(body, (dc_final, dh_final), (dhs, acts, tanh_cs, c_prev, mask),
                                reverse=True, unroll=unroll)
  steps, batch, width = dgates.shape
  dg = dgates.reshape(steps * batch, width)
  # Padded steps may hold anything (NaN included): their dgates are 0, and 0 * NaN is NaN.
  xs_real = jnp.where(mask[..., None] > 0, xs, 0.0)
  dw_i = xs_real.reshape(steps * batch, -1).T @ dg
  dw_h = h_prev.reshape(steps * batch, -1).T @ dg
  dxs = (dg @ w_i.T).reshape(xs.shape)
  return dw_i, dw_h, dg.sum(0), dxs, jnp.zeros_like(mask), dc0, dh0


lstm_scan = jax.custom_vjp(_lstm_scan, nondiff_argnums=(7,))
lstm_scan.defvjp(_lstm_scan_fwd, _lstm_scan_bwd)
lstm_scan.__doc__ = """LSTM over time-major xs [T, B, D] with mask [T, B] float (1: a real step,
0: keep the carry and emit zeros) from (c0, h0) [B, H]; w_i [D, 4H], w_h [H, 4H], b [4H], all
float32; unroll: `lax.scan`'s. Returns (c_T, h_T, hs [T, B, H]). See the module docstring."""


def check_float32(params: cells.LSTMParams, xs: Array, initial_state: cells.LSTMState) -> None:
  """The fused backward is written for float32: anything else is an error naming the array."""
  arrays = {"params.w_i": params.w_i, "params.w_h": params.w_h, "params.b": params.b, "xs": xs,
            "initial_state.c": initial_state.c, "initial_state.h": initial_state.h}
  for name, value in arrays.items():
    if jnp.result_type(value) != jnp.float32:
      raise TypeError(f"backward='fused' needs float32 arrays, but {name} is "
                      f"{jnp.result_type(value)}; use backward='autodiff'")
