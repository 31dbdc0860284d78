"""The compiled pieces of a sweep (`sweep_loop.fit_sweep`): the carry of S settings, the train
and eval steps over the settings axis (vmapped, or looped inside the program, optionally over a
data mesh), and per-setting early stopping with each setting's best state.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import validation
from skipjax.train import early_stopping
from skipjax.train import loop as loop_lib
from skipjax.train import metrics_log
from skipjax.train import step as step_lib
from skipjax.train.state import TrainState

Array = jax.Array


class SweepCarry(NamedTuple):
  """Everything a sweep step reads and writes; every leaf but `step` has a leading axis S."""
  step: Array                                # int32 scalar: loop steps taken
  state: TrainState                          # each setting's current state
  best: TrainState                           # each setting's state at its best dev evaluation
  early_stopping: early_stopping.EarlyStoppingState  # per setting
  active: Array                              # bool [S]: neither stopped early nor failed
  failed_step: Array                         # int32 [S]: the step that went non-finite, or -1


def stack_states(states: Sequence[TrainState]) -> TrainState:
  """One TrainState with a leading settings axis from S single-run states of one structure."""
  if not states:
    raise ValueError("a sweep needs at least one setting")
  return jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *states)


def num_settings(tree: Any) -> int:
  """S, the leading settings axis every leaf of a stacked tree shares (checked)."""
  sizes = {np.shape(x)[0] if np.ndim(x) else None for x in jax.tree.leaves(tree)}
  if len(sizes) != 1 or None in sizes:
    raise ValueError(f"every leaf of a sweep state needs the same leading settings axis, got "
                     f"leading sizes {sorted(map(str, sizes))}")
  return sizes.pop()


def init_carry(state: TrainState, patience: int = 0, mode: str = "max",
               min_delta: float = 0.0) -> SweepCarry:
  """The carry at step 0 of a stacked state (leaves [S, ...], all at the same step)."""
  size = num_settings(state)
  steps = np.asarray(jax.device_get(state.step))
  if len(set(steps.tolist())) != 1:
    raise ValueError(f"the settings' states are at different steps {steps.tolist()}")
  es_init, _ = early_stopping.early_stopping(patience or 2**31 - 1, mode, min_delta)
  es = jax.tree.map(lambda x: jnp.broadcast_to(x, (size,)), es_init())
  # `best` gets buffers of its own: the jitted step donates the whole carry.
  return SweepCarry(step=jnp.asarray(steps[0], jnp.int32), state=state,
                    best=jax.tree.map(jnp.copy, state),
                    early_stopping=es, active=jnp.ones(size, bool),
                    failed_step=jnp.full(size, -1, jnp.int32))


def select(mask: Array, new: Any, old: Any) -> Any:
  """Per setting: `new` where mask[s], else `old` (mask [S] broadcast over each leaf)."""
  def pick(a, b):
    m = jnp.reshape(mask, mask.shape + (1,) * (jnp.ndim(a) - 1))
    return jnp.where(m, a, b)
  return jax.tree.map(pick, new, old)


def _finite_per_setting(tree: Any) -> Array:
  """bool [S]: every float of setting s in `tree` is finite."""
  flags = [jnp.all(jnp.isfinite(x), axis=tuple(range(1, x.ndim)))
           for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
  return jnp.all(jnp.stack(flags), axis=0)


def _over_settings(fn: Any, settings_per_call: int | None) -> Any:
  """`fn(state, batch, key)` over the settings axis of state and key, batch shared: vmapped
  (None), or k settings at a time in a loop inside the program (`lax.map(batch_size=k)`)."""
  if settings_per_call is None:
    return jax.vmap(fn, in_axes=(0, None, 0))
  validation.check_positive_int("settings_per_call", settings_per_call)

  def looped(states, batch, keys):
    return jax.lax.map(lambda sk: fn(sk[0], batch, sk[1]), (states, keys),
                       batch_size=settings_per_call)
  return looped


def default_settings_per_call() -> int | None:
  """1 (a loop over the settings inside one program) on a CPU, where XLA's batched matmuls of a
  vmapped backward pass are slower than S separate ones (`python -m skipjax.bench sweep`); None
  (vmap) on an accelerator, where the settings become one batched program."""
  return 1 if jax.default_backend() == "cpu" else None


def _jit(fn: Any, mesh: Any, donate: bool) -> Any:
  """jit; over a data mesh (`parallel.make_mesh`): every argument and output replicated but the
  batch (argument 1), which is split along its rows."""
  donated = (0,) if donate else ()
  if mesh is None:
    return jax.jit(fn, donate_argnums=donated)
  from skipjax.train import parallel  # pylint: disable=g-import-not-at-top
  rep = parallel.replicated_sharding(mesh)
  return jax.jit(fn, in_shardings=(rep, parallel.batch_sharding(mesh), rep), out_shardings=rep,
                 donate_argnums=donated)


def make_sweep_train_step(train_step: step_lib.TrainStep, settings_per_call: int | None = None,
                          mesh: Any = None):
  """`(carry, batch, keys [S]) -> (carry, metrics {name: [S]}, updated [S])`, jitted, donating
  the carry. `updated[s]` says whether setting s took this step (active and finite).
  settings_per_call: see `_over_settings` (None: vmap all settings at once). mesh: a data mesh
  (`parallel.make_mesh`): the settings replicated on every device, the batch split over them
  (each setting then trains as its own `--mesh data=N` run would)."""
  vstep = _over_settings(train_step, settings_per_call)

  def sweep_step(carry: SweepCarry, batch: Any, keys: Array):
    step_keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, carry.step)
    new_state, metrics = vstep(carry.state, batch, step_keys)
    watched = {k: metrics[k] for k in loop_lib.FINITE_METRICS if k in metrics}
    finite = _finite_per_setting((watched, new_state))
    updated = carry.active & finite
    failed = carry.active & ~finite
    return carry._replace(
        step=carry.step + 1, state=select(updated, new_state, carry.state), active=updated,
        failed_step=jnp.where(failed, carry.step + 1, carry.failed_step)), metrics, updated

  return _jit(sweep_step, mesh, donate=True)


def make_sweep_eval_step(eval_step: loop_lib.EvalStep, settings_per_call: int | None = None,
                         mesh: Any = None):
  """`(states [S], batch, keys [S]) -> metric sums {name: [S]}`, jitted (over `mesh` as
  `make_sweep_train_step`)."""
  return _jit(_over_settings(eval_step, settings_per_call), mesh, donate=False)


def evaluate_settings(sweep_eval: Any, states: TrainState, batches: loop_lib.Batches,
                      keys: Array, *, desc: str, show_progress: bool) -> list[dict[str, float]]:
  """Per setting, exact metric means over a whole evaluation set (as `loop.evaluate`)."""
  iterable = metrics_log.progress(loop_lib.fresh_iterable(batches, desc),
                                  desc=desc, enabled=show_progress)
  fold = jax.vmap(jax.random.fold_in, in_axes=(0, None))
  total = None
  for i, batch in enumerate(iterable):
    total = step_lib.accumulate_metrics(total, sweep_eval(states, batch, fold(keys, i)))
  if total is None:
    raise ValueError(f"evaluation set {desc!r} has no batches")
  total = jax.device_get(total)
  size = len(total["count"])
  return [step_lib.finalize_metrics({k: v[s] for k, v in total.items()}) for s in range(size)]


@jax.jit
def update_early_stopping(carry: SweepCarry, values: Array, valid: Array, patience: Array,
                           sign: Array, min_delta: Array) -> SweepCarry:
  """One dev evaluation: each active setting's early stopping, best state and failure."""
  es = carry.early_stopping
  improved = sign * (values - es.best) > min_delta
  num_bad = jnp.where(improved, 0, es.num_bad + 1).astype(jnp.int32)
  new = early_stopping.EarlyStoppingState(
      best=jnp.where(improved, values, es.best),
      best_step=jnp.where(improved, carry.step, es.best_step),
      num_bad=num_bad, improved=improved, should_stop=es.should_stop | (num_bad >= patience))
  live = carry.active & valid
  new = select(live, new, es._replace(improved=jnp.zeros_like(es.improved)))
  failed = carry.active & ~valid
  return carry._replace(
      early_stopping=new, best=select(live & new.improved, carry.state, carry.best),
      active=live & ~new.should_stop,
      failed_step=jnp.where(failed, carry.step, carry.failed_step))
