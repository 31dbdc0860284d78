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
  examples; `layers.example_weights` (re-exported here) and `layers.weighted_mean` compute the
  weighted means: one rule for every model.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from skipjax.layers import example_weights, weighted_mean  # noqa: F401  (re-exported)


class TrainState(NamedTuple):
  step: jax.Array        # int32 scalar: number of updates applied
  params: Any
  opt_state: Any
  model_state: Any       # {} if the model has none
  hparams: Any           # dict of float32 scalars; a vmapped sweep gives each a leading axis
