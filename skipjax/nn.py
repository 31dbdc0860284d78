"""Flax linen wrappers around the pure cells.

`LSTMCell` and `GRUCell` implement `flax.linen.RNNCellBase`, so they drop into `nn.RNN`;
`LSTM` and `GRU` are whole-sequence layers over `recurrence.lstm_layer` / `gru_layer` (input
projection hoisted out of the loop, per-example lengths). A cell and its layer share one
parameter layout: `{'w_i', 'w_h', 'b'}` (LSTM) or `{'w_i', 'w_h', 'b_i', 'b_h'}` (GRU) under the
collection entry "cell", i.e. the fields of `cells.LSTMParams` / `cells.GRUParams`. `lstm_params_from_flax` /
`lstm_params_to_flax` convert to and from `flax.linen.LSTMCell`'s layout.

The initialisation scheme field is `init_scheme` ("default" or "torch", see `cells.lstm_init`), not
`init`, which would shadow `flax.linen.Module.init`.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from skipjax import cells
from skipjax import recurrence
from skipjax import validation

Array = jax.Array


def _carry_batch_dims(input_shape):
  return tuple(input_shape[:-1])


class LSTMCell(nn.RNNCellBase):
  """LSTM cell (torch gate order) as a Flax RNN cell; carry is `cells.LSTMState(c, h)`."""
  features: int
  forget_bias: float = 1.0
  init_scheme: str = "default"
  param_dtype: Any = jnp.float32

  def cell_params(self, input_dim: int) -> cells.LSTMParams:
    validation.check_positive_int("features", self.features)
    p = self.param("cell", lambda rng: cells.lstm_init(
        rng, input_dim, self.features, forget_bias=self.forget_bias, init=self.init_scheme,
        param_dtype=self.param_dtype)._asdict())
    return cells.LSTMParams(**p)

  @nn.compact
  def __call__(self, carry, inputs):
    params = self.cell_params(inputs.shape[-1])
    return cells.lstm_step(params, cells.LSTMState(*carry), inputs)

  @nn.nowrap
  def initialize_carry(self, rng, input_shape):
    del rng
    return cells.lstm_zero_state(_carry_batch_dims(input_shape), self.features)

  @property
  def num_feature_axes(self) -> int:
    return 1


class GRUCell(nn.RNNCellBase):
  """GRU cell (torch gate order) as a Flax RNN cell; carry is h."""
  features: int
  init_scheme: str = "default"
  param_dtype: Any = jnp.float32

  def cell_params(self, input_dim: int) -> cells.GRUParams:
    validation.check_positive_int("features", self.features)
    p = self.param("cell", lambda rng: cells.gru_init(
        rng, input_dim, self.features, init=self.init_scheme,
        param_dtype=self.param_dtype)._asdict())
    return cells.GRUParams(**p)

  @nn.compact
  def __call__(self, carry, inputs):
    return cells.gru_step(self.cell_params(inputs.shape[-1]), carry, inputs)

  @nn.nowrap
  def initialize_carry(self, rng, input_shape):
    del rng
    return cells.gru_zero_state(_carry_batch_dims(input_shape), self.features)

  @property
  def num_feature_axes(self) -> int:
    return 1


class LSTM(nn.Module):
  """Whole-sequence LSTM: `(xs [B, T, D], lengths [B]) -> (final LSTMState, hs [B, T, H])`."""
  features: int
  forget_bias: float = 1.0
  init_scheme: str = "default"
  param_dtype: Any = jnp.float32
  reverse: bool = False
  unroll: int = 1
  backward: str = "autodiff"  # or "fused": `recurrence.lstm_layer`'s backward

  @nn.compact
  def __call__(self, xs, lengths=None, initial_state=None):
    validation.check_positive_int("features", self.features)
    validation.check_rank("xs", xs, 3)
    p = self.param("cell", lambda rng: cells.lstm_init(
        rng, xs.shape[-1], self.features, forget_bias=self.forget_bias, init=self.init_scheme,
        param_dtype=self.param_dtype)._asdict())
    return recurrence.lstm_layer(cells.LSTMParams(**p), xs, lengths, initial_state,
                                 reverse=self.reverse, unroll=self.unroll,
                                 backward=self.backward)


class GRU(nn.Module):
  """Whole-sequence GRU: `(xs [B, T, D], lengths [B]) -> (final h, hs [B, T, H])`."""
  features: int
  init_scheme: str = "default"
  param_dtype: Any = jnp.float32
  reverse: bool = False
  unroll: int = 1

  @nn.compact
  def __call__(self, xs, lengths=None, initial_state=None):
    validation.check_positive_int("features", self.features)
    validation.check_rank("xs", xs, 3)
    p = self.param("cell", lambda rng: cells.gru_init(
        rng, xs.shape[-1], self.features, init=self.init_scheme,
        param_dtype=self.param_dtype)._asdict())
    return recurrence.gru_layer(cells.GRUParams(**p), xs, lengths, initial_state,
                                reverse=self.reverse, unroll=self.unroll)


# ----------------------------------------------------------------------------------------------
# Converting to and from flax.linen.LSTMCell
# ----------------------------------------------------------------------------------------------

_FLAX_GATES = ("i", "f", "g", "o")   # flax.linen.LSTMCell's gates, in skipjax's (torch) order


def lstm_params_from_flax(flax_params: Any) -> cells.LSTMParams:
  """`cells.LSTMParams` from the parameters of a `flax.linen.LSTMCell`.

  `flax_params` is the cell's parameter dict (`variables["params"]`, or the sub-dict of a cell
  inside a bigger module): input kernels `ii, if, ig, io` [D, H] (no bias) and hidden kernels
  `hi, hf, hg, ho` [H, H] with biases [H]. flax's cell computes the same equations as skipjax's
  (sigmoid gates, tanh cell activation, carry (c, h)), so the two then agree step for step.
  """
  try:
    w_i = [flax_params[f"i{g}"]["kernel"] for g in _FLAX_GATES]
    w_h = [flax_params[f"h{g}"]["kernel"] for g in _FLAX_GATES]
    b = [flax_params[f"h{g}"]["bias"] for g in _FLAX_GATES]
  except (KeyError, TypeError) as e:
    raise ValueError("not flax.linen.LSTMCell parameters: need 'ii', 'if', 'ig', 'io' "
                     "{'kernel'} and 'hi', 'hf', 'hg', 'ho' {'kernel', 'bias'}; got keys "
                     f"{sorted(flax_params) if hasattr(flax_params, 'keys') else flax_params!r}"
                     ) from e
  if any(f"i{g}" in flax_params and "bias" in flax_params[f"i{g}"] for g in _FLAX_GATES):
    raise ValueError("flax.linen.LSTMCell input kernels carry no bias; got an input bias")
  hidden = np.shape(w_h[0])[-1]
  input_dim = np.shape(w_i[0])[0]
  expected = [(input_dim, hidden)] * 4 + [(hidden, hidden)] * 4 + [(hidden,)] * 4
  if [np.shape(x) for x in w_i + w_h + b] != expected:
    raise ValueError("inconsistent flax.linen.LSTMCell shapes: input kernels "
                     f"{[np.shape(w) for w in w_i]} (want [D, H]), hidden kernels "
                     f"{[np.shape(w) for w in w_h]} (want [H, H]), biases "
                     f"{[np.shape(x) for x in b]} (want [H]), H={hidden}")
  return cells.LSTMParams(w_i=jnp.concatenate(w_i, axis=-1), w_h=jnp.concatenate(w_h, axis=-1),
                          b=jnp.concatenate(b, axis=-1))


def lstm_params_to_flax(params: cells.LSTMParams) -> dict[str, dict[str, Array]]:
  """The parameter dict of a `flax.linen.LSTMCell` computing the same as `params`; use it as
  `{"params": lstm_params_to_flax(p)}`. The inverse of `lstm_params_from_flax`."""
  if not isinstance(params, cells.LSTMParams):
    raise TypeError(f"params must be cells.LSTMParams, got {type(params).__name__}")
  cells.check_params("params", params)
  w_i = jnp.split(params.w_i, 4, axis=-1)
  w_h = jnp.split(params.w_h, 4, axis=-1)
  b = jnp.split(params.b, 4, axis=-1)
  out = {}
  for gate, wi, wh, bh in zip(_FLAX_GATES, w_i, w_h, b):
    out[f"i{gate}"] = {"kernel": wi}
    out[f"h{gate}"] = {"kernel": wh, "bias": bh}
  return out
