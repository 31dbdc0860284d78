"""Flax linen wrappers over the pure Skip RNN functions.

- `SkipLSTM` / `SkipGRU`: whole-sequence layers; `__call__` is the masked training pass
  (`core.skip_rnn`), `infer` the jumping inference (`inference.skip_rnn_infer_batch`).
- `SkipLSTMCell` / `SkipGRUCell`: one step (`core.skip_step`), a `flax.linen.RNNCellBase` for a
  user's own `nn.RNN` / `nn.scan`. The carry is a `core.SkipCarry` (states, u_cum, steps left
  to skip) that starts from the learned initial state (`initialize_carry` reads it from the
  parameters; during `init`, before they exist, it gives a zero state of the same shapes). The
  step's output is a `SkipStep` (h, u_t, u_cum_t), from which a user forms the budget loss
  (`core.budget_loss` on the u_t).

The parameters live under one entry "skip", a `core.SkipParams` pytree, the same for a layer and
its cell, so a module's params can be handed to the pure functions and back.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from skipjax import cells
from skipjax import validation
from skipjax.skip_rnn import core
from skipjax.skip_rnn import inference

Array = jax.Array


class _SkipParamsMixin:
  """The parameter entry shared by the Skip RNN layers and cells."""

  def skip_params(self, input_dim: int) -> core.SkipParams:
    validation.check_positive_int("features", self.features)
    return self.param("skip", lambda rng: core.skip_init(
        rng, input_dim, self.features, num_layers=self.num_layers, cell=self.cell,
        gate_bias=self.gate_bias, init=self.init_scheme, param_dtype=self.param_dtype))


class _SkipRNN(_SkipParamsMixin, nn.Module):
  features: int
  num_layers: int = 1
  gate_bias: float = 1.0
  cell: str = "lstm"
  init_scheme: str = "default"  # cells' "default" or "torch" initialisation
  param_dtype: Any = jnp.float32

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


class SkipStep(NamedTuple):
  """Per-step output of a Skip cell: h [..., H] (the top layer's state), update [...] (u_t in
  {0, 1}, straight-through) and update_prob [...] (u_cum_t, the soft value behind it)."""
  h: Array
  update: Array
  update_prob: Array


class _SkipCell(_SkipParamsMixin, nn.RNNCellBase):
  features: int
  num_layers: int = 1
  gate_bias: float = 1.0
  cell: str = "lstm"
  init_scheme: str = "default"
  param_dtype: Any = jnp.float32
  # The longest skip counted after an update (`core.num_skips`); a step equals the whole-sequence
  # layer's whenever max_skip >= the sequence length (the layer uses T).
  max_skip: int = 2 ** 30
  # True: u_t ~ Bernoulli(u_cum), drawn from the "skip" RNG stream (in `nn.RNN`, split it per
  # step: split_rngs={"params": False, "skip": True}).
  stochastic: bool = False

  @nn.compact
  def __call__(self, carry: core.SkipCarry, inputs: Array) -> tuple[core.SkipCarry, SkipStep]:
    """(carry, x_t [B, D]) -> (new carry, SkipStep)."""
    validation.check_rank("inputs", inputs, 2)
    params = self.skip_params(inputs.shape[-1])
    key = self.make_rng("skip") if self.stochastic else None
    x_proj = core.core_input_projection(params.cores[0], inputs)
    new, (h, u, u_cum) = core.skip_step(params, carry, x_proj, max_skip=self.max_skip, key=key)
    return new, SkipStep(h, u, u_cum)

  @nn.nowrap
  def initialize_carry(self, rng, input_shape) -> core.SkipCarry:
    """The learned initial state (`core.initial_carry`) for a batch `input_shape[:-1]` (one
    batch axis), u_cum = 1. While the parameters are being created (`init`), they do not exist
    yet: the carry then has the same shapes with a zero state."""
    del rng
    if len(input_shape) != 2:
      raise ValueError(f"a Skip cell steps a batch [B, D]; got input shape {tuple(input_shape)}")
    batch = input_shape[0]
    if self.scope is not None and self.has_variable("params", "skip"):
      return core.initial_carry(self.get_variable("params", "skip"), batch)
    zeros = jnp.zeros((batch, self.features), jnp.float32)
    layer = cells.LSTMState(zeros, zeros) if self.cell == "lstm" else zeros
    return core.SkipCarry(state=(layer,) * self.num_layers, u_cum=jnp.ones((batch,), jnp.float32),
                          skip_left=jnp.zeros((batch,), jnp.int32))

  @property
  def num_feature_axes(self) -> int:
    return 1


class SkipLSTMCell(_SkipCell):
  """One Skip LSTM step as a Flax RNN cell (`core.skip_step`)."""
  cell: str = "lstm"


class SkipGRUCell(_SkipCell):
  """One Skip GRU step as a Flax RNN cell (`core.skip_step`)."""
  cell: str = "gru"
