"""Flax linen `LSTMJump` over the pure LSTM-Jump functions.

`__call__` is the training path (`core.apply`: sampled decisions with a `key`, forced or greedy
otherwise; differentiable); `infer` the inference path that computes only what it reads
(`inference.infer`). The parameters live under one entry "lstm_jump", a `core.LSTMJumpParams`
pytree, so they move between the module and the pure functions (and `model.make_loss_fn`)
unchanged.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from skipjax import validation
from skipjax.lstm_jump import core
from skipjax.lstm_jump import inference

Array = jax.Array


class LSTMJump(nn.Module):
  """LSTM-Jump (Yu et al. 2017): an LSTM of `features` units that reads R tokens, then jumps up
  to `max_jump` ahead or stops, with a `num_classes` classifier on its final state. Token inputs
  need `vocab_size` and `embed_dim`; float inputs [B, T, D] neither."""
  features: int
  num_classes: int
  max_jump: int
  vocab_size: int | None = None
  embed_dim: int | None = None
  forget_bias: float = 1.0
  init_scheme: str = "default"  # cells' "default" or "torch" initialisation
  param_dtype: Any = jnp.float32

  def jump_params(self, inputs: Array) -> core.LSTMJumpParams:
    input_dim = None if self.vocab_size is not None else inputs.shape[-1]
    return self.param("lstm_jump", lambda rng: core.init(
        rng, vocab_size=self.vocab_size, input_dim=input_dim, embed_dim=self.embed_dim,
        hidden_dim=self.features, num_classes=self.num_classes, max_jump=self.max_jump,
        forget_bias=self.forget_bias, cell_init=self.init_scheme, param_dtype=self.param_dtype))

  @nn.compact
  def __call__(self, inputs: Array, lengths: Array | None = None, *, read_size: int,
               num_jumps: int, key: Array | None = None, forced_jumps: Array | None = None,
               dropout: float | Array | None = None,
               dropout_key: Array | None = None) -> core.LSTMJumpOutput:
    """Training path: inputs [B, T] ids or [B, T, D] floats -> LSTMJumpOutput (`core.apply`)."""
    validation.check_rank("inputs", inputs, 2 if self.vocab_size is not None else 3)
    return core.apply(self.jump_params(inputs), inputs, lengths, read_size=read_size,
                      num_jumps=num_jumps, key=key, forced_jumps=forced_jumps, dropout=dropout,
                      dropout_key=dropout_key)

  @nn.compact
  def infer(self, inputs: Array, lengths: Array | None = None, *, read_size: int,
            num_jumps: int, forced_jumps: Array | None = None) -> core.LSTMJumpOutput:
    """Greedy (or forced) reading that computes only what it reads (`inference.infer`)."""
    validation.check_rank("inputs", inputs, 2 if self.vocab_size is not None else 3)
    return inference.infer(self.jump_params(inputs), inputs, lengths, read_size=read_size,
                           num_jumps=num_jumps, forced_jumps=forced_jumps)
