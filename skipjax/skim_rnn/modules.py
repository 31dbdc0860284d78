"""Flax linen modules over the pure Skim-RNN functions.

- `SkimLSTM` / `SkimGRU`: whole-sequence layers. `__call__` is the Gumbel-softmax training pass
  (`steps.gumbel_layer`), `infer` the hard-decision inference (`inference.infer`, masked or
  batch-1 conditional path).
- `SkimLSTMCell` / `SkimGRUCell`: one step, a `flax.linen.RNNCellBase`, for a user's own
  `nn.RNN` / `nn.scan`. With `threshold=None` a step is the training step (`steps.gumbel_step`,
  noise from the "gumbel" RNG stream unless passed); with a threshold it is the hard-decision
  step (`steps.hard_step`). The step's output is a `SkimStep` (h, decision log-probabilities,
  mixture weights / one-hot read-skim decision), so a user can form the skim loss.

The parameters live under one entry "skim", a `core.SkimParams` pytree, the same for a layer and
its cell, so params move between the modules and the pure functions unchanged.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from skipjax import cells
from skipjax import validation
from skipjax.skim_rnn import core
from skipjax.skim_rnn import inference
from skipjax.skim_rnn import steps

Array = jax.Array


class SkimStep(NamedTuple):
  """Per-step output of a Skim cell: h [..., d]; log_p [..., 2] decision log-probabilities
  (read, skim); r [..., 2] mixture weights (training) or the one-hot hard decision (threshold)."""
  h: Array
  log_p: Array
  r: Array


class _SkimParamsMixin:
  """Shared fields and the parameter entry of the Skim modules."""

  def skim_params(self, input_dim: int) -> core.SkimParams:
    validation.check_positive_int("features", self.features)
    return self.param("skim", lambda rng: core.skim_init(
        rng, input_dim, self.features, self.small_features, cell=self.cell,
        forget_bias=self.forget_bias, param_dtype=self.param_dtype))


class _SkimRNN(_SkimParamsMixin, nn.Module):
  features: int
  small_features: int
  cell: str = "lstm"
  forget_bias: float = 1.0
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, xs: Array, lengths: Array | None = None, *, key: Array,
               tau: Array | float = 1.0, hard: Array | float = 0.0):
    """Training pass: xs [B, T, D], lengths [B] -> (final carry, hs [B, T, d], log_p [B, T, 2],
    r [B, T, 2]), `steps.gumbel_layer` with Gumbel noise from `key`."""
    validation.check_rank("xs", xs, 3)
    return steps.gumbel_layer(self.skim_params(xs.shape[-1]), xs, key, tau, lengths, hard=hard)

  @nn.compact
  def infer(self, xs: Array, lengths: Array | None = None, threshold: Array | float = 0.5, *,
            path: str = "masked", return_sequences: bool = True) -> core.SkimOutput:
    """Hard decisions (read iff p_read >= threshold): xs [B, T, D] -> SkimOutput [B, ...].
    `path="cond"` really skips work at batch 1 (`inference.cond_layer`)."""
    validation.check_rank("xs", xs, 3)
    return inference.infer(self.skim_params(xs.shape[-1]), xs, lengths, threshold, path=path,
                           return_sequences=return_sequences)


class SkimLSTM(_SkimRNN):
  """Skim-LSTM (Seo et al. 2018): a big LSTM of `features` units and a small one of
  `small_features` (d') that rewrites the first d' units on a skim."""
  cell: str = "lstm"


class SkimGRU(_SkimRNN):
  """Skim-GRU (Seo et al. 2018)."""
  cell: str = "gru"


class _SkimCell(_SkimParamsMixin, nn.RNNCellBase):
  features: int
  small_features: int
  cell: str = "lstm"
  forget_bias: float = 1.0
  param_dtype: Any = jnp.float32
  threshold: float | None = None   # None: Gumbel training step; else hard decisions
  tau: Any = 1.0                    # Gumbel-softmax temperature (may be a traced scalar)
  hard: Any = 0.0                   # 1: straight-through Gumbel-softmax

  @nn.compact
  def __call__(self, carry, inputs: Array, noise: Array | None = None):
    """(carry, x_t [..., D]) -> (new carry, SkimStep). `noise` [..., 2]: the Gumbel noise of this
    step (default: drawn from the "gumbel" RNG stream); ignored with a threshold."""
    params = self.skim_params(inputs.shape[-1])
    if self.cell == "lstm":
      carry = cells.LSTMState(*carry)
    if self.threshold is not None:
      new, log_p, read = steps.hard_step(params, carry, inputs, self.threshold)
      r = jax.nn.one_hot(jnp.where(read, core.READ, core.SKIM), 2, dtype=jnp.float32)
    else:
      if noise is None:
        noise = jax.random.gumbel(self.make_rng("gumbel"), inputs.shape[:-1] + (2,),
                                  jnp.float32)
      new, log_p, r = steps.gumbel_step(params, carry, inputs, noise, self.tau, self.hard)
    return new, SkimStep(new.h if self.cell == "lstm" else new, log_p, r)

  @nn.nowrap
  def initialize_carry(self, rng, input_shape):
    del rng
    batch = tuple(input_shape[:-1])
    if self.cell == "lstm":
      return cells.lstm_zero_state(batch, self.features)
    return cells.gru_zero_state(batch, self.features)

  @property
  def num_feature_axes(self) -> int:
    return 1


class SkimLSTMCell(_SkimCell):
  """One Skim-LSTM step as a Flax RNN cell; carry `cells.LSTMState(c, h)`."""
  cell: str = "lstm"


class SkimGRUCell(_SkimCell):
  """One Skim-GRU step as a Flax RNN cell; carry h."""
  cell: str = "gru"
