"""The training state and the loss protocol every model follows.

A model exposes a loss with this signature (its own regulariser and estimator terms included):

    loss_fn(params, model_state, batch, key, hparams) -> (loss, (new_model_state, metrics))

- params: the differentiated pytree.
- model_state: non-differentiated state carried between steps (e.g. an EMA reward baseline);
  `{}` when the model has none.
- batch: dict of arrays with a leading batch axis, e.g. {'inputs', 'lengths', 'labels'}.
- key: PRNG key for this step's sampling (Gumbel noise, Bernoulli gates, REINFORCE actions).
- hparams: dict of float32 scalars that a sweep may vary (e.g. 'budget_lambda', 'skim_gamma');
  also 'step' is provided by the train step for annealing schedules.
- metrics: dict of scalar means over the batch ('loss', 'accuracy', 'fraction_computed', ...).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax


class TrainState(NamedTuple):
  step: jax.Array        # int32 scalar: number of updates applied
  params: Any
  opt_state: Any
  model_state: Any       # {} if the model has none
  hparams: Any           # dict of float32 scalars; a vmapped sweep gives each a leading axis
