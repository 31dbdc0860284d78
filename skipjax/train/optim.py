"""Optimisers whose learning rate (and weight decay) live in the optimiser state as arrays.

    make_optimizer('adam', 1e-4, clip_norm=1.0)          # Campos et al. 2018: Adam 1e-4, clip 1
    = optax.chain(optax.clip_by_global_norm(1.0),
                  optax.inject_hyperparams(core)(learning_rate=1e-4, weight_decay=0.0))

`core` is scale_by_{adam, rms, momentum} [+ decoupled weight decay] followed by a step of size
`-learning_rate * multiplier(count)`, where `multiplier` is the schedule's shape (1 at its peak).
The injected `learning_rate` is therefore the peak rate: an array in `opt_state` that a vmapped
sweep may give a leading settings axis (`set_hyperparam`), with the schedule still applied on top.
`current_learning_rate(opt_state)` reads the rate used by the last update.
"""

from __future__ import annotations

import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import optax

from skipjax import validation

Array = jax.Array

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine", "warmup_cosine", "exponential")
# Schedules whose shape depends on total_steps (a run resumed with another num_steps would
# change its rates when total_steps is left to default to num_steps).
SCHEDULES_USING_TOTAL_STEPS = ("cosine", "warmup_cosine")


class ScheduledLRState(NamedTuple):
  """count: updates applied (int32); learning_rate: the rate used by the last update (float32)."""
  count: Array
  learning_rate: Array


def scale_by_scheduled_lr(learning_rate: Array | float,
                          multiplier: Callable[[Array], Array]) -> optax.GradientTransformation:
  """Scales updates by `-learning_rate * multiplier(count)` and records the rate it used."""
  def init_fn(params):
    del params
    return ScheduledLRState(count=jnp.zeros((), jnp.int32),
                            learning_rate=jnp.zeros((), jnp.float32))

  def update_fn(updates, state, params=None):
    del params
    lr = jnp.asarray(learning_rate, jnp.float32) * multiplier(state.count)
    updates = jax.tree.map(lambda u: (-lr * u).astype(u.dtype), updates)
    return updates, ScheduledLRState(count=optax.safe_increment(state.count),
                                     learning_rate=jnp.asarray(lr, jnp.float32))

  return optax.GradientTransformation(init_fn, update_fn)


def make_schedule(schedule: str = "constant", *, total_steps: int | None = None,
                  warmup_steps: int = 0, final_fraction: float = 0.0,
                  decay_rate: float = 0.1, transition_steps: int | None = None,
                  transition_begin: int = 0, staircase: bool = False
                  ) -> Callable[[Array], Array]:
  """The schedule's shape, `count -> multiplier` with peak 1 (multiply by the peak rate).

  - 'constant': 1.
  - 'cosine': cosine decay from 1 to `final_fraction` over `total_steps`.
  - 'warmup_cosine': linear 0 -> 1 over `warmup_steps`, then cosine to `final_fraction` at
    `total_steps`.
  - 'exponential': `decay_rate ** ((count - transition_begin) / transition_steps)` after
    `transition_begin` updates (1 before), the exponent floored to an integer with `staircase`
    (Zaremba et al. 2014: x0.8 per epoch after epoch 6 is transition_steps = one epoch,
    transition_begin = 5 epochs, staircase), floored at `final_fraction` when that is > 0.
  """
  if schedule == "constant":
    return lambda count: jnp.ones((), jnp.float32)
  if schedule in ("cosine", "warmup_cosine"):
    validation.check_positive_int("total_steps", total_steps)
    validation.check_nonneg_int("warmup_steps", warmup_steps)
    if not 0.0 <= final_fraction <= 1.0:
      raise ValueError(f"final_fraction must lie in [0, 1], got {final_fraction}")
    if schedule == "cosine":
      return optax.cosine_decay_schedule(1.0, total_steps, alpha=final_fraction)
    if warmup_steps >= total_steps:
      raise ValueError(f"warmup_steps ({warmup_steps}) must be < total_steps ({total_steps})")
    return optax.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps, total_steps,
                                              end_value=final_fraction)
  if schedule == "exponential":
    validation.check_positive_int("transition_steps", transition_steps)
    if not 0.0 < decay_rate <= 1.0:
      raise ValueError(f"decay_rate must lie in (0, 1], got {decay_rate}")
    validation.check_nonneg_int("transition_begin", transition_begin)
    return optax.exponential_decay(1.0, transition_steps, decay_rate,
                                   transition_begin=transition_begin, staircase=bool(staircase),
                                   end_value=final_fraction if final_fraction > 0 else None)
  raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")


def make_optimizer(name: str = "adam", learning_rate: float = 1e-3, *,
                   schedule: str = "constant", total_steps: int | None = None,
                   warmup_steps: int = 0, final_fraction: float = 0.0, decay_rate: float = 0.1,
                   transition_steps: int | None = None, transition_begin: int = 0,
                   staircase: bool = False, clip_norm: float | None = None,
                   weight_decay: float = 0.0, b1: float = 0.9, b2: float = 0.999,
                   eps: float = 1e-8, momentum: float = 0.0, nesterov: bool = False,
                   rms_decay: float = 0.9) -> optax.GradientTransformation:
  """An optax optimiser `chain(clip_by_global_norm, inject_hyperparams(core))`.

  Args:
    name: 'adam' (Kingma & Ba 2015; weight_decay, if any, is an L2 term added to the gradient),
      'adamw' (decoupled weight decay, Loshchilov & Hutter 2019), 'sgd' (with optional
      `momentum`/`nesterov`; weight decay as L2) or 'rmsprop' (`rms_decay`, `eps`; L2 decay).
    learning_rate: the peak rate, injected: `opt_state` holds it as a float32 array.
    schedule, total_steps, warmup_steps, final_fraction, decay_rate, transition_steps,
      transition_begin, staircase: the rate's shape over steps (see `make_schedule`).
    clip_norm: clip the gradient's global norm to this before anything else (None: no clipping;
      an identity keeps the chain's structure the same).
    weight_decay: injected, so a sweep may vary it too.
    b1, b2, eps: Adam moments; eps also RMSProp's.
  """
  if name not in OPTIMIZERS:
    raise ValueError(f"name must be one of {OPTIMIZERS}, got {name!r}")
  if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
    raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")
  if clip_norm is not None and not clip_norm > 0:
    raise ValueError(f"clip_norm must be positive or None, got {clip_norm!r}")
  if weight_decay < 0:
    raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
  multiplier = make_schedule(schedule, total_steps=total_steps, warmup_steps=warmup_steps,
                             final_fraction=final_fraction, decay_rate=decay_rate,
                             transition_steps=transition_steps,
                             transition_begin=transition_begin, staircase=staircase)

  def core(learning_rate, weight_decay):
    l2 = optax.add_decayed_weights(weight_decay)
    if name == "adam":
      parts = [l2, optax.scale_by_adam(b1=b1, b2=b2, eps=eps)]
    elif name == "adamw":
      parts = [optax.scale_by_adam(b1=b1, b2=b2, eps=eps), optax.add_decayed_weights(weight_decay)]
    elif name == "sgd":
      parts = [l2, optax.trace(decay=momentum, nesterov=nesterov) if momentum else optax.identity()]
    else:
      parts = [l2, optax.scale_by_rms(decay=rms_decay, eps=eps)]
    return optax.chain(*parts, scale_by_scheduled_lr(learning_rate, multiplier))

  clip = optax.clip_by_global_norm(clip_norm) if clip_norm is not None else optax.identity()
  return optax.chain(clip, optax.inject_hyperparams(core)(learning_rate=learning_rate,
                                                          weight_decay=weight_decay))


def _is_injected(x: Any) -> bool:
  return isinstance(x, (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState))


def _is_scheduled(x: Any) -> bool:
  return isinstance(x, ScheduledLRState)


def _find(opt_state: Any, pred: Callable[[Any], bool], what: str) -> Any:
  found = [x for x in jax.tree.leaves(opt_state, is_leaf=pred) if pred(x)]
  if len(found) != 1:
    raise ValueError(f"opt_state must hold exactly one {what} (build the optimiser with "
                     f"make_optimizer), found {len(found)}")
  return found[0]


def get_hyperparams(opt_state: Any) -> dict[str, Array]:
  """The injected hyperparameters ({'learning_rate', 'weight_decay'}) of a make_optimizer state."""
  return dict(_find(opt_state, _is_injected, "InjectHyperparamsState").hyperparams)


def set_hyperparam(opt_state: Any, name: str, value: Array | float) -> Any:
  """A copy of `opt_state` with injected hyperparameter `name` set to `value` (float32; any
  shape, e.g. [S] for a sweep's settings axis)."""
  current = get_hyperparams(opt_state)
  if name not in current:
    raise ValueError(f"{name!r} is not an injected hyperparameter; have {sorted(current)}")

  def replace(x):
    if _is_injected(x):
      hyper = dict(x.hyperparams)
      hyper[name] = jnp.asarray(value, jnp.float32)
      return x._replace(hyperparams=hyper)
    return x

  return jax.tree.map(replace, opt_state, is_leaf=_is_injected)


def current_learning_rate(opt_state: Any) -> Array:
  """The learning rate used by the last update (peak rate times the schedule), float32."""
  return _find(opt_state, _is_scheduled, "ScheduledLRState").learning_rate


def num_params(params: Any) -> int:
  """Total number of parameters in a pytree."""
  return int(sum(math.prod(x.shape) for x in jax.tree.leaves(params)))
