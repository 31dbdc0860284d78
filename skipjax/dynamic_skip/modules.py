"""Flax linen layers over the pure dynamic-skip functions.

- `DynamicSkipLSTM`: the LSTM with dynamic skip connections (`core.dynamic_skip_layer`); the
  agent samples k with a `key` (training), else takes argmax pi (test), or follows
  `forced_skips`.
- `FixedSkipLSTM` / `AttentionSkipLSTM`: the paper's baselines (`baselines.fixed_skip_layer`,
  `baselines.attention_skip_layer`).

Each layer keeps its parameters under one entry ("dynamic_skip", "lstm" or "attention_skip"), the
pytree of the pure functions (`core.DynamicSkipParams`, `cells.LSTMParams`,
`baselines.AttentiveSkipParams`), so params move between the modules and the functions unchanged.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from skipjax import cells
from skipjax import validation
from skipjax.dynamic_skip import baselines
from skipjax.dynamic_skip import core

Array = jax.Array


class DynamicSkipLSTM(nn.Module):
  """LSTM with dynamic skip connections (Gui et al. 2019): `features` units, an agent of
  `agent_features` units choosing among the last `num_skips` states."""
  features: int
  num_skips: int = 10
  agent_features: int = 64
  forget_bias: float = 1.0
  init_scheme: str = "default"  # cells' "default" or "torch" initialisation
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, xs: Array, lengths: Array | None = None, *, lam: Array | float,
               key: Array | None = None, mode: str | None = None,
               forced_skips: Array | None = None, initial: core.SkipBuffer | None = None,
               reverse: bool = False) -> tuple[core.SkipBuffer, core.DynamicSkipOutput]:
    """xs [B, T, D], lengths [B] -> (final SkipBuffer, DynamicSkipOutput). mode (default:
    "sample" with a key, "forced" with forced_skips, else "greedy"): see
    `core.dynamic_skip_layer`."""
    validation.check_rank("xs", xs, 3)
    validation.check_positive_int("features", self.features)
    params = self.param("dynamic_skip", lambda rng: core.dynamic_skip_init(
        rng, xs.shape[-1], self.features, self.num_skips, self.agent_features,
        forget_bias=self.forget_bias, init=self.init_scheme, param_dtype=self.param_dtype))
    if mode is None:
      mode = "sample" if key is not None else "forced" if forced_skips is not None else "greedy"
    return core.dynamic_skip_layer(params, xs, lengths, key, lam=lam, mode=mode,
                                   forced_skips=forced_skips, initial=initial, reverse=reverse)


class FixedSkipLSTM(nn.Module):
  """LSTM with a fixed skip connection of `skip` steps (Gui et al.'s "LSTM + fixed skip")."""
  features: int
  skip: int = 3
  forget_bias: float = 1.0
  init_scheme: str = "default"
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, xs: Array, lengths: Array | None = None, *, lam: Array | float,
               initial: core.SkipBuffer | None = None,
               reverse: bool = False) -> tuple[core.SkipBuffer, Array]:
    """xs [B, T, D], lengths [B] -> (final SkipBuffer, hs [B, T, features])."""
    validation.check_rank("xs", xs, 3)
    validation.check_positive_int("features", self.features)
    params = self.param("lstm", lambda rng: cells.lstm_init(
        rng, xs.shape[-1], self.features, forget_bias=self.forget_bias, init=self.init_scheme,
        param_dtype=self.param_dtype))
    return baselines.fixed_skip_layer(params, xs, lengths, skip=self.skip, lam=lam,
                                      initial=initial, reverse=reverse)


class AttentionSkipLSTM(nn.Module):
  """LSTM attending over its last `num_skips` states (Gui et al.'s soft baseline)."""
  features: int
  num_skips: int = 10
  attention_features: int = 64
  forget_bias: float = 1.0
  init_scheme: str = "default"
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, xs: Array, lengths: Array | None = None, *, lam: Array | float,
               initial: core.SkipBuffer | None = None,
               reverse: bool = False) -> tuple[core.SkipBuffer, tuple[Array, Array]]:
    """xs [B, T, D], lengths [B] -> (final SkipBuffer, (hs [B, T, features], attention weights
    [B, T, num_skips]))."""
    validation.check_rank("xs", xs, 3)
    validation.check_positive_int("features", self.features)
    params = self.param("attention_skip", lambda rng: baselines.attention_skip_init(
        rng, xs.shape[-1], self.features, self.attention_features,
        forget_bias=self.forget_bias, init=self.init_scheme, param_dtype=self.param_dtype))
    return baselines.attention_skip_layer(params, xs, lengths, num_skips=self.num_skips,
                                          lam=lam, initial=initial, reverse=reverse)
