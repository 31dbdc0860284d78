"""The training state and the loss protocol every model follows.

A model exposes a loss with this signature (its own regulariser and estimator terms included):

    loss_fn(params, model_state, batch, key, hparams) -> (loss, (new_model_state, metrics))

- params: the differentiated pytree.
- model_state: non-differentiated state carried between steps (e.g. an EMA reward baseline);
  `{}` when the model has none.
- batch: dict of arrays with a leading batch axis, e.g. {'inputs', 'lengths', 'labels'}.
- key: PRNG key for this step's sampling (Gumbel noise, Bernoulli gates, REINFORCE actions).
- hparams: dict of float32 scalars that a sweep may vary (e.g. 'budget_lambda', 'skim_gamma');
  also 'step' (int32 scalar, updates applied so far) is provided by the train step for
  annealing schedules.
- metrics: dict of scalar means over the batch ('loss', 'accuracy', 'fraction_computed', ...),
  optionally 'count': the total example (or token) weight behind those means. The eval step and
  the pmap step use it to weigh batches and devices exactly; without it they use the sum of
  `example_weights(batch)`.
- padded batch entries: `batch['mask']` [B] (0/False = padding) and `batch['weights']` [B] weigh
  examples; `example_weights` and `weighted_mean` below compute the weighted means.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class TrainState(NamedTuple):
  step: jax.Array        # int32 scalar: number of updates applied
  params: Any
  opt_state: Any
  model_state: Any       # {} if the model has none
  hparams: Any           # dict of float32 scalars; a vmapped sweep gives each a leading axis


def example_weights(batch: dict[str, Any], batch_size: int) -> jax.Array:
  """Per-example loss weights [B] float32 from a protocol batch.

  `batch['mask']` [B] (bool or 0/1: 0 marks a padded batch entry) and `batch['weights']` [B]
  (float) multiply; with neither, every example weighs 1. Models weigh their losses and metrics
  with these so that padded entries of a fixed-shape batch change nothing.
  """
  w = jnp.ones((batch_size,), jnp.float32)
  for name in ("mask", "weights"):
    if name in batch:
      value = jnp.asarray(batch[name])
      if value.shape != (batch_size,):
        raise ValueError(f"batch['{name}'] must have shape ({batch_size},) (one value per "
                         f"example), got {value.shape}")
      w = w * value.astype(jnp.float32)
  return w


def weighted_mean(values: jax.Array, weights: jax.Array) -> jax.Array:
  """`sum(w * x) / sum(w)` over all axes, 0 when every weight is 0 (an all-padding batch)."""
  weights = jnp.broadcast_to(weights.astype(jnp.float32), values.shape)
  total = jnp.sum(weights)
  return jnp.sum(weights * values.astype(jnp.float32)) / jnp.maximum(total, 1e-12)
