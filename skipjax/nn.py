"""Flax linen wrappers around the pure cells.

`LSTMCell` and `GRUCell` implement `flax.linen.RNNCellBase`, so they drop into `nn.RNN`;
`LSTM` and `GRU` are whole-sequence layers over `recurrence.lstm_layer` / `gru_layer` (input
projection hoisted out of the loop, per-example lengths). A cell and its layer share one
parameter layout: `{'w_i', 'w_h', 'b'}` (LSTM) or `{'w_i', 'w_h', 'b_i', 'b_h'}` (GRU) under the
collection entry "cell", i.e. the fields of `cells.LSTMParams` / `cells.GRUParams`.

The initialisation scheme field is `init_scheme` ("default" or "torch", see `cells.lstm_init`), not
`init`, which would shadow `flax.linen.Module.init`.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

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

  @nn.compact
  def __call__(self, xs, lengths=None, initial_state=None):
    validation.check_positive_int("features", self.features)
    validation.check_rank("xs", xs, 3)
    p = self.param("cell", lambda rng: cells.lstm_init(
        rng, xs.shape[-1], self.features, forget_bias=self.forget_bias, init=self.init_scheme,
        param_dtype=self.param_dtype)._asdict())
    return recurrence.lstm_layer(cells.LSTMParams(**p), xs, lengths, initial_state,
                                 reverse=self.reverse, unroll=self.unroll)


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
