"""Subprocess for test_parallel.py: trains the shared problem with 8 fake CPU devices.

Usage: XLA_FLAGS=--xla_force_host_platform_device_count=8 python _mp_data_parallel.py OUT.npz
Saves the parameters from the sharded step on a 1-device mesh ('mesh1_'), on the 8-device mesh
('mesh8_') and from pmap ('pmap_'), plus a few facts. The test compares them with a reference it
computes itself (the plain jitted step on one device).
"""

import sys

import jax
import numpy as np

import _mp_problem
from skipjax.train import parallel
from skipjax.train import step as step_lib


def train_sharded(mesh):
  params, optimizer, loss_fn, batches, keys = _mp_problem.make_problem()
  state = parallel.replicate(step_lib.init_train_state(params, optimizer), mesh)
  train_step = parallel.data_parallel_train_step(step_lib.make_train_step(loss_fn, optimizer),
                                                 mesh)
  for batch, key in zip(batches, keys):
    sharded = parallel.shard_batch(batch, mesh)
    state, metrics = train_step(state, sharded, key)
  num_batch_devices = len(sharded["inputs"].sharding.device_set)
  eval_step = parallel.data_parallel_eval_step(step_lib.make_eval_step(loss_fn), mesh)
  sums = eval_step(state, parallel.shard_batch(batches[0], mesh), keys[0])
  metrics = dict(metrics, **{f"eval_{k}": v for k, v in sums.items()})
  return state, metrics, num_batch_devices


def train_pmap():
  params, optimizer, loss_fn, batches, keys = _mp_problem.make_problem()
  state = parallel.replicate_for_pmap(step_lib.init_train_state(params, optimizer))
  train_step = parallel.pmap_train_step(loss_fn, optimizer)
  for batch, key in zip(batches, keys):
    state, metrics = train_step(state, parallel.split_for_pmap(batch), key)
  return parallel.unreplicate(state), parallel.unreplicate(metrics)


def main(out):
  assert jax.device_count() == 8, jax.devices()
  results = {}
  for name, devices in (("mesh1", jax.devices()[:1]), ("mesh8", jax.devices())):
    state, metrics, num_batch_devices = train_sharded(parallel.make_mesh(devices))
    results.update({f"{name}_{k}": v for k, v in _mp_problem.flat(state.params).items()})
    results[f"{name}_loss"] = np.asarray(metrics["loss"])
    results[f"{name}_eval_loss"] = np.asarray(metrics["eval_loss"])
    results[f"{name}_eval_count"] = np.asarray(metrics["eval_count"])
    results[f"{name}_batch_devices"] = np.asarray(num_batch_devices)
  state, metrics = train_pmap()
  results.update({f"pmap_{k}": v for k, v in _mp_problem.flat(state.params).items()})
  results["pmap_loss"] = np.asarray(metrics["loss"])
  results["pmap_count"] = np.asarray(metrics["count"])
  np.savez(out, **results)


if __name__ == "__main__":
  main(sys.argv[1])
