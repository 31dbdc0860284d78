"""Hyperparameter sweeps in one compiled program: `vmap` of the train step over settings.

    settings = grid(learning_rate=[1e-3, 1e-4], budget_lambda=[1e-5, 1e-4, 1e-3])  # S = 6
    state = init_sweep_state(params, optimizer, settings)
    state, history = sweep(model.loss_fn, optimizer, state, batches, key)
    history['accuracy'][-1]                  # [S]: last step's accuracy of each setting
    best = select(state, i)                  # setting i's TrainState

Every setting is a TrainState whose leaves gain a leading settings axis S: loss hparams
(`state.hparams[name]` [S]) and the optimiser's injected hyperparameters ('learning_rate',
'weight_decay' of `optim.make_optimizer`, in `opt_state`). The sweep step is
`vmap(train_step, in_axes=(0, None, None))`: all settings see the same batch and the same key, so
setting s follows exactly the trajectory of a single run with its values (common random numbers:
differences between settings are not sampling noise). On an accelerator the S small programs
become one batched program. On a CPU the batched backward pass can be slower than S separate
ones (bench/sweep.py); `settings_per_call=1` then loops over the settings inside the one
compiled program instead.

vmap turns data-dependent `lax.cond` into `select` (both branches run), so models whose savings
come from skipping work save nothing inside a sweep; the numbers they learn are unchanged.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any, Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from skipjax import validation
from skipjax.train import optim
from skipjax.train import step as step_lib
from skipjax.train.state import TrainState

Array = jax.Array


def grid(**axes: Sequence[float]) -> dict[str, np.ndarray]:
  """The Cartesian product of named value lists, flattened: each name -> float32 [S].

  `grid(lr=[1, 2], lam=[3, 4, 5])` gives S = 6 settings, `lr` varying slowest.
  """
  if not axes:
    raise ValueError("grid needs at least one named axis of values")
  for name, values in axes.items():
    if len(values) == 0:
      raise ValueError(f"grid axis {name!r} has no values")
  combos = list(itertools.product(*axes.values()))
  return {name: np.asarray([c[i] for c in combos], np.float32) for i, name in enumerate(axes)}


def num_settings(settings: Mapping[str, Any]) -> int:
  """S, the common length of every settings array (checked)."""
  if not settings:
    raise ValueError("settings is empty")
  sizes = {name: np.shape(v) for name, v in settings.items()}
  if any(len(s) != 1 for s in sizes.values()) or len({s[0] for s in sizes.values()}) != 1:
    raise ValueError(f"every setting must be a 1-D array of the same length S, got {sizes}")
  return next(iter(sizes.values()))[0]


def init_sweep_state(params: Any, optimizer: optax.GradientTransformation,
                     settings: Mapping[str, Any], *, model_state: Any = None,
                     hparams: Mapping[str, Any] | None = None,
                     stacked_params: bool = False) -> TrainState:
  """A TrainState with a leading settings axis S on every leaf.

  Args:
    params: the initial parameters shared by all settings, or (stacked_params=True) already
      stacked [S, ...] (e.g. one init per seed via `jax.vmap(init)(keys)`).
    optimizer: from `optim.make_optimizer` if the sweep varies 'learning_rate'/'weight_decay'.
    settings: name -> [S] values. Names of the optimiser's injected hyperparameters set those in
      opt_state; every other name becomes a loss hparam.
    model_state: shared initial model_state ({} if None).
    hparams: loss hparams shared by all settings.
  """
  size = num_settings(settings)
  injected = {}
  try:
    injected = optim.get_hyperparams(optimizer.init(params if not stacked_params else
                                                    jax.tree.map(lambda x: x[0], params)))
  except ValueError:
    pass
  loss_settings = {k: v for k, v in settings.items() if k not in injected}
  fixed = dict(hparams or {})
  clash = set(fixed) & set(loss_settings)
  if clash:
    raise ValueError(f"{sorted(clash)} given both in settings and in hparams")
  stack = lambda tree: jax.tree.map(lambda x: jnp.broadcast_to(x, (size,) + jnp.shape(x)), tree)

  if stacked_params:
    sizes = {jnp.shape(x)[0] if jnp.ndim(x) else None for x in jax.tree.leaves(params)}
    if sizes != {size}:
      raise ValueError(f"stacked params must all have leading axis S={size}, got {sizes}")
    init_one = lambda p: step_lib.init_train_state(p, optimizer, model_state, fixed)
    state = jax.jit(jax.vmap(init_one))(params)
  else:
    state = stack(step_lib.init_train_state(params, optimizer, model_state, fixed))
  new_hparams = dict(state.hparams)
  for name, values in loss_settings.items():
    new_hparams[name] = jnp.asarray(values, jnp.float32)
  opt_state = state.opt_state
  for name in set(settings) & set(injected):
    opt_state = optim.set_hyperparam(opt_state, name, settings[name])
  return state._replace(hparams=new_hparams, opt_state=opt_state)


def make_sweep_step(train_step: step_lib.TrainStep, settings_per_call: int | None = None
                    ) -> step_lib.TrainStep:
  """`vmap(train_step)` over the settings axis of the state; batch and key shared.

  Args:
    train_step: from `step.make_train_step`.
    settings_per_call: None (default) vmaps all S settings at once. k >= 1 runs them k at a time
      in a loop inside the same program (`lax.map(..., batch_size=k)`); k = 1 is a plain loop,
      which on CPUs can beat the batched program (vmapped matmuls of the backward pass are slower
      there, see bench/sweep.py), and a smaller k bounds memory on accelerators.
  Returns:
    `(state [S, ...], batch, key) -> (state [S, ...], metrics {name: [S]})`, unjitted.
  """
  if settings_per_call is None:
    return jax.vmap(train_step, in_axes=(0, None, None))
  validation.check_positive_int("settings_per_call", settings_per_call)

  def sweep_step(state, batch, key):
    return lax.map(lambda s: train_step(s, batch, key), state, batch_size=settings_per_call)

  return sweep_step


def select(tree: Any, index: int) -> Any:
  """Setting `index` of a stacked state (or metrics): every leaf's `x[index]`."""
  return jax.tree.map(lambda x: x[index], tree)


@functools.lru_cache(maxsize=16)
def _jitted_sweep_step(loss_fn: step_lib.LossFn, optimizer: optax.GradientTransformation,
                       settings_per_call: int | None) -> step_lib.TrainStep:
  # Cached so that calling `sweep` again (e.g. once per epoch) reuses the compiled program.
  return step_lib.jit_train_step(make_sweep_step(step_lib.make_train_step(loss_fn, optimizer),
                                                 settings_per_call))


def sweep(loss_fn: step_lib.LossFn, optimizer: optax.GradientTransformation, state: TrainState,
          batches: Iterable[Any], key: Array, *, settings_per_call: int | None = None
          ) -> tuple[TrainState, dict[str, np.ndarray]]:
  """Trains every setting of `state` on `batches` with one jitted, vmapped step.

  Step i uses key `fold_in(key, i)` for every setting (as a single run with the same key would);
  to continue a sweep in chunks, pass a new key per chunk. The compiled step is cached per
  (loss_fn, optimizer, settings_per_call). `state` is donated: use the returned one.
  settings_per_call: see `make_sweep_step` (None: all settings vmapped at once).
  Returns the final stacked state and each metric's history as float32 [num_steps, S].
  """
  sweep_step = _jitted_sweep_step(loss_fn, optimizer, settings_per_call)
  history = []
  for i, batch in enumerate(batches):
    state, metrics = sweep_step(state, batch, jax.random.fold_in(key, i))
    history.append(metrics)
  if not history:
    raise ValueError("batches is empty")
  stacked = jax.device_get(history)
  return state, {k: np.stack([np.asarray(m[k], np.float32) for m in stacked]) for k in stacked[0]}
