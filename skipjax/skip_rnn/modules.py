"""Flax linen wrappers: `SkipLSTM` and `SkipGRU` over the pure Skip RNN functions.

The parameters live under one entry "skip", a `core.SkipParams` pytree, so a module's params
can be handed to the pure functions (`core.skip_rnn`, `inference.skip_rnn_infer_batch`) and back.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from skipjax import validation
from skipjax.skip_rnn import core
from skipjax.skip_rnn import inference

Array = jax.Array


class _SkipRNN(nn.Module):
  features: int
  num_layers: int = 1
  gate_bias: float = 1.0
  cell: str = "lstm"
  init_scheme: str = "default"  # cells' "default" or "torch" initialisation
  param_dtype: Any = jnp.float32

  def skip_params(self, input_dim: int) -> core.SkipParams:
    validation.check_positive_int("features", self.features)
    return self.param("skip", lambda rng: core.skip_init(
        rng, input_dim, self.features, num_layers=self.num_layers, cell=self.cell,
        gate_bias=self.gate_bias, init=self.init_scheme, param_dtype=self.param_dtype))

  @nn.compact
  def __call__(self, xs: Array, lengths: Array | None = None, *,
               key: Array | None = None) -> core.SkipOutput:
    """Masked (training) path: xs [B, T, D], lengths [B] -> core.SkipOutput. A `key` switches to
    straight-through Bernoulli sampling of the gate."""
    validation.check_rank("xs", xs, 3)
    return core.skip_rnn(self.skip_params(xs.shape[-1]), xs, lengths, key=key)

  @nn.compact
  def infer(self, xs: Array, lengths: Array | None = None, *,
            return_hidden: bool = False) -> inference.SkipInference:
    """Jumping inference (only updated steps computed): xs [B, T, D] -> SkipInference [B, ...]."""
    validation.check_rank("xs", xs, 3)
    return inference.skip_rnn_infer_batch(self.skip_params(xs.shape[-1]), xs, lengths,
                                          return_hidden=return_hidden)


class SkipLSTM(_SkipRNN):
  """Skip LSTM (Campos et al. 2018), single or stacked (`num_layers`, one gate for the stack)."""
  cell: str = "lstm"


class SkipGRU(_SkipRNN):
  """Skip GRU (Campos et al. 2018), single or stacked (`num_layers`, one gate for the stack)."""
  cell: str = "gru"
