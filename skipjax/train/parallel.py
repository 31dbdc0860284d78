"""Data parallelism: one `jax.jit` code path from one device to many hosts, and a `pmap` step.

Sharding (recommended):

    initialize_distributed()              # multi-host only; before any other JAX call
    mesh = make_mesh()                    # every device of every process on one 'data' axis
    state = replicate(state, mesh)
    train_step = data_parallel_train_step(make_train_step(loss_fn, optimizer), mesh)
    for i, local_batch in enumerate(batches):          # this process's rows of the global batch
      state, metrics = train_step(state, shard_batch(local_batch, mesh), fold_in(key, i))

The step is the ordinary `train_step` jitted with the state replicated and the batch split along
its leading axis over the mesh's 'data' axis: the loss is the same mean over the global batch, and
XLA inserts the gradient all-reduce. So N devices give the parameters one device gives on the same
global batch (up to float summation order), for any model, stochastic ones included (random
bits do not depend on the sharding). With several processes, each passes only its local rows
(`jax.make_array_from_process_local_data`); the global batch is the processes' rows in process
order.

pmap (for code that still uses it): `pmap_train_step` computes each device's gradient on its
slice and averages with weights `count_d / sum(count)` (`lax.psum`), `count` being the loss's
`metrics['count']` (its example weight, padding excluded), so unevenly padded slices still give
the global-batch mean. State carries a leading device axis (`replicate_for_pmap`), batches are
[n_devices, B / n_devices, ...] (`split_for_pmap`).
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from skipjax.train import state as state_lib
from skipjax.train import step as step_lib

Array = jax.Array
DATA_AXIS = "data"


def initialize_distributed(coordinator_address: str | None = None,
                           num_processes: int | None = None, process_id: int | None = None,
                           local_device_ids: int | Sequence[int] | None = None,
                           **kwargs: Any) -> None:
  """`jax.distributed.initialize` (once; later calls do nothing). Call it before any other JAX
  call in every process. On managed clusters (SLURM, TPU pods) all arguments may be None; on
  plain hosts give `coordinator_address='host0:port'`, `num_processes` and this `process_id`.
  kwargs (e.g. `initialization_timeout`) go to jax.distributed.initialize."""
  if jax.distributed.is_initialized():
    return
  # CPU devices of several processes talk through gloo (no effect on GPU/TPU devices); the
  # default leaves CPU processes unable to run a cross-process collective.
  if jax.config.jax_cpu_collectives_implementation in (None, "", "none"):
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes, process_id=process_id,
                             local_device_ids=local_device_ids, **kwargs)


def make_mesh(devices: Sequence[Any] | None = None, axis_name: str = DATA_AXIS) -> Mesh:
  """A 1-D mesh over `devices` (default: all devices of all processes) with an Auto axis, so
  `jit` propagates shardings itself (jax.make_mesh's default Explicit axes would not)."""
  devices = jax.devices() if devices is None else list(devices)
  if not devices:
    raise ValueError("devices is empty")
  return Mesh(np.asarray(devices), (axis_name,), axis_types=(jax.sharding.AxisType.Auto,))


def replicated_sharding(mesh: Mesh) -> NamedSharding:
  """Every device holds the whole array."""
  return NamedSharding(mesh, PartitionSpec())


def batch_sharding(mesh: Mesh, axis_name: str = DATA_AXIS) -> NamedSharding:
  """Leading (batch) axis split over `axis_name`, the rest whole."""
  return NamedSharding(mesh, PartitionSpec(axis_name))


def replicate(tree: Any, mesh: Mesh) -> Any:
  """Puts every leaf, whole, on every device of `mesh` (each process passes the same values)."""
  sharding = replicated_sharding(mesh)

  def put(x):
    host = np.asarray(x)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

  return jax.tree.map(put, tree)


def _local_batch_devices(mesh: Mesh) -> int:
  return sum(d.process_index == jax.process_index() for d in mesh.devices.flat)


def shard_batch(local_batch: Any, mesh: Mesh, axis_name: str = DATA_AXIS) -> Any:
  """Global arrays from this process's rows of the batch, split over `axis_name`.

  Args:
    local_batch: pytree of host arrays [B_local, ...]; with one process this is the whole batch.
    mesh: from `make_mesh`.
  Returns:
    the same pytree of global arrays [B_local * num_processes, ...], batch-sharded. B_local must
    divide evenly over this process's devices: pad with masked entries (batch['mask'] = 0)
    rather than drop examples.
  """
  sharding = batch_sharding(mesh, axis_name)
  num_local = _local_batch_devices(mesh)

  def put(x):
    host = np.asarray(x)
    if host.ndim == 0 or host.shape[0] % num_local:
      raise ValueError(f"every batch array's leading (batch) axis must divide evenly over this "
                       f"process's {num_local} devices; got shape {host.shape} (pad the batch "
                       "with masked entries)")
    return jax.make_array_from_process_local_data(sharding, host)

  return jax.tree.map(put, local_batch)


def process_rows(batch: Any) -> Any:
  """This process's contiguous block of rows of a global host batch (the whole batch with one
  process): process p of P keeps rows [p * B / P, (p + 1) * B / P). B must divide by P."""
  count, index = jax.process_count(), jax.process_index()
  if count == 1:
    return batch

  def rows(x):
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[0] % count:
      raise ValueError(f"batch arrays' leading axis must divide evenly over {count} processes, "
                       f"got shape {x.shape}")
    size = x.shape[0] // count
    return x[index * size:(index + 1) * size]

  return jax.tree.map(rows, batch)


class ShardedIterator:
  """A resumable train iterator (`get_state`/`set_state`) whose batches come out as global
  arrays split over `mesh`'s data axis, each process contributing its own rows. The position is
  the wrapped iterator's, so a checkpoint taken on one mesh resumes on another.

  local=False: the wrapped iterator yields whole global batches and each process keeps its rows
  (`process_rows`). local=True: it already yields this process's rows (a batcher built with
  process_index / process_count, which reads only those examples)."""

  def __init__(self, iterator: Any, mesh: Mesh, axis_name: str = DATA_AXIS, *,
               local: bool = False):
    self._iterator, self._mesh, self._axis = iterator, mesh, axis_name
    self._rows = (lambda batch: batch) if local else process_rows

  def __iter__(self) -> "ShardedIterator":
    return self

  def __next__(self) -> Any:
    return shard_batch(self._rows(next(self._iterator)), self._mesh, self._axis)

  def get_state(self) -> Any:
    return self._iterator.get_state()

  def set_state(self, state: Any) -> None:
    self._iterator.set_state(state)


def sharded_batches(batches: Any, mesh: Mesh, axis_name: str = DATA_AXIS) -> Any:
  """An evaluation set (a re-iterable, or a function returning a fresh iterable) as a function
  returning a fresh iterable of batch-sharded global arrays."""
  def fresh():
    for batch in (batches() if callable(batches) else batches):
      yield shard_batch(process_rows(batch), mesh, axis_name)
  return fresh


def data_parallel_train_step(train_step: step_lib.TrainStep, mesh: Mesh,
                             axis_name: str = DATA_AXIS, *, donate: bool = True
                             ) -> step_lib.TrainStep:
  """`jax.jit(train_step)` with the state and key replicated, the batch split over the mesh, and
  the state donated: `(state, batch, key) -> (state, metrics)`, metrics replicated."""
  rep = replicated_sharding(mesh)
  return jax.jit(train_step, in_shardings=(rep, batch_sharding(mesh, axis_name), rep),
                 out_shardings=(rep, rep), donate_argnums=(0,) if donate else ())


def data_parallel_eval_step(eval_step: step_lib.EvalStep, mesh: Mesh,
                            axis_name: str = DATA_AXIS) -> step_lib.EvalStep:
  """`jax.jit(eval_step)` with the batch split over the mesh (no donation)."""
  rep = replicated_sharding(mesh)
  return jax.jit(eval_step, in_shardings=(rep, batch_sharding(mesh, axis_name), rep),
                 out_shardings=rep)


# ----------------------------------------------------------------------------------------------
# pmap
# ----------------------------------------------------------------------------------------------


def replicate_for_pmap(tree: Any, num_devices: int | None = None) -> Any:
  """Stacks `num_devices` (default: local device count) copies of every leaf on a new axis 0."""
  n = jax.local_device_count() if num_devices is None else num_devices
  return jax.tree.map(lambda x: jnp.broadcast_to(x, (n,) + jnp.shape(x)), tree)


def split_for_pmap(batch: Any, num_devices: int | None = None) -> Any:
  """[B, ...] -> [num_devices, B / num_devices, ...] (B must divide evenly)."""
  n = jax.local_device_count() if num_devices is None else num_devices

  def split(x):
    x = np.asarray(x)
    if x.ndim == 0 or x.shape[0] % n:
      raise ValueError(f"batch arrays' leading axis must divide evenly over {n} devices, got "
                       f"shape {x.shape}")
    return x.reshape((n, x.shape[0] // n) + x.shape[1:])

  return jax.tree.map(split, batch)


def unreplicate(tree: Any) -> Any:
  """The first device's copy of every leaf."""
  return jax.tree.map(lambda x: x[0], tree)


def pmap_train_step(loss_fn: step_lib.LossFn, optimizer: Any, axis_name: str = "batch", *,
                    donate: bool = True) -> step_lib.TrainStep:
  """A `jax.pmap`-ed train step: `(state [n, ...], batch [n, B/n, ...], key) -> (state [n, ...],
  metrics [n])` (every device's metrics equal).

  Gradients and metrics are averaged over devices with weights `count_d / psum(count)` (count:
  the loss's metrics['count'], else the batch's example weights), i.e. the global-batch mean;
  float model_state leaves (e.g. an EMA baseline) are `pmean`-ed so copies stay equal. Each
  device folds its index into the (shared) key so sampling differs between slices.
  """
  def step(state, batch, key):
    key = jax.random.fold_in(key, lax.axis_index(axis_name))
    grads, model_state, metrics = step_lib.compute_grads(loss_fn, state, batch, key)
    count = metrics.pop("count", None)
    if count is None:
      batch_size = jax.tree.leaves(batch)[0].shape[0]
      count = jnp.sum(state_lib.example_weights(batch, batch_size))
    count = jnp.asarray(count, jnp.float32)
    total = lax.psum(count, axis_name)
    weight = count / jnp.maximum(total, 1e-12)
    average = lambda x: lax.psum(x * weight.astype(x.dtype), axis_name)
    grads = jax.tree.map(average, grads)
    metrics = {k: average(jnp.asarray(v, jnp.float32)) for k, v in metrics.items()}
    metrics["count"] = total
    model_state = jax.tree.map(
        lambda x: lax.pmean(x, axis_name) if jnp.issubdtype(x.dtype, jnp.floating) else x,
        model_state)
    return step_lib.apply_grads(optimizer, state, grads, model_state, metrics)

  return jax.pmap(step, axis_name=axis_name, in_axes=(0, 0, None),
                  donate_argnums=(0,) if donate else ())
