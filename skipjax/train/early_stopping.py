"""Early stopping on a validation metric as a pure `(init, update)` pair.

    init, update = early_stopping(patience=5, mode='max')
    es = init()
    for each evaluation:  es = update(es, val_accuracy, step)
                          if es.improved: save the best checkpoint
                          if es.should_stop: break

The state is a NamedTuple of arrays, so `update` jits and vmaps (a sweep stops each setting on
its own: stop the loop when `all(es.should_stop)`, and read `es.best` per setting).
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from skipjax import validation

Array = jax.Array


class EarlyStoppingState(NamedTuple):
  best: Array         # float32: best metric value seen (-inf / +inf before any)
  best_step: Array    # int32: train step of the best value (-1 before any)
  num_bad: Array      # int32: evaluations since the last improvement
  improved: Array     # bool: the last update improved on the best
  should_stop: Array  # bool: num_bad reached patience (stays True)


def early_stopping(patience: int, mode: str = "max", min_delta: float = 0.0
                   ) -> tuple[Callable[[], EarlyStoppingState],
                              Callable[[EarlyStoppingState, Array, Array], EarlyStoppingState]]:
  """`(init, update)`: stop after `patience` evaluations without improvement.

  Args:
    patience: evaluations without improvement tolerated before `should_stop`.
    mode: 'max' (accuracy) or 'min' (loss, perplexity).
    min_delta: an improvement must beat the best by more than this (>= 0).
  Returns:
    init() -> EarlyStoppingState; update(state, value, step) -> EarlyStoppingState. A NaN value
    never improves.
  """
  validation.check_positive_int("patience", patience)
  if mode not in ("max", "min"):
    raise ValueError(f"mode must be 'max' or 'min', got {mode!r}")
  if min_delta < 0:
    raise ValueError(f"min_delta must be >= 0, got {min_delta}")
  sign = 1.0 if mode == "max" else -1.0

  def init() -> EarlyStoppingState:
    return EarlyStoppingState(best=jnp.asarray(-sign * jnp.inf, jnp.float32),
                              best_step=jnp.asarray(-1, jnp.int32),
                              num_bad=jnp.zeros((), jnp.int32),
                              improved=jnp.zeros((), bool), should_stop=jnp.zeros((), bool))

  def update(state: EarlyStoppingState, value: Array, step: Array) -> EarlyStoppingState:
    value = jnp.asarray(value, jnp.float32)
    improved = sign * (value - state.best) > min_delta  # False for NaN
    num_bad = jnp.where(improved, 0, state.num_bad + 1)
    return EarlyStoppingState(
        best=jnp.where(improved, value, state.best),
        best_step=jnp.where(improved, jnp.asarray(step, jnp.int32), state.best_step),
        num_bad=num_bad.astype(jnp.int32), improved=improved,
        should_stop=state.should_stop | (num_bad >= patience))

  return init, update


def to_json(es: EarlyStoppingState) -> dict[str, Any]:
  """The state as the loop's checkpointed JSON (`best` None while nothing was evaluated)."""
  best = float(es.best)
  return {"best": best if math.isfinite(best) else None, "best_step": int(es.best_step),
          "num_bad": int(es.num_bad), "should_stop": bool(es.should_stop)}


def from_json(es_json: dict[str, Any], mode: str) -> EarlyStoppingState:
  """The inverse of `to_json` (`mode` 'max' or 'min' gives the empty state's `best`)."""
  best = es_json["best"]
  if best is None:
    best = -math.inf if mode == "max" else math.inf
  return EarlyStoppingState(
      best=jnp.asarray(best, jnp.float32), best_step=jnp.asarray(es_json["best_step"], jnp.int32),
      num_bad=jnp.asarray(es_json["num_bad"], jnp.int32), improved=jnp.zeros((), bool),
      should_stop=jnp.asarray(es_json["should_stop"]))
