"""Subprocess for test_multiprocess.py: one of several JAX processes training data-parallel.

Usage (each with XLA_FLAGS=--xla_force_host_platform_device_count=D):
    python _mp_multiprocess.py PROCESS_ID NUM_PROCESSES PORT OUT.npz
Process i feeds only its rows [i * B / P, (i + 1) * B / P) of each global batch of the shared
problem; the step runs on a mesh over all P * D devices. Saves its copy of the final parameters.
"""

import sys

from skipjax.train import parallel

if __name__ == "__main__":
  process_id, num_processes, port, out = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                          sys.argv[4])
  # Before any other JAX call.
  parallel.initialize_distributed(f"127.0.0.1:{port}", num_processes=num_processes,
                                  process_id=process_id, initialization_timeout=60)

  import jax  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top

  import _mp_problem  # pylint: disable=g-import-not-at-top
  from skipjax.train import step as step_lib  # pylint: disable=g-import-not-at-top

  assert jax.process_count() == num_processes, jax.process_count()
  mesh = parallel.make_mesh()
  params, optimizer, loss_fn, batches, keys = _mp_problem.make_problem()
  state = parallel.replicate(step_lib.init_train_state(params, optimizer), mesh)
  train_step = parallel.data_parallel_train_step(step_lib.make_train_step(loss_fn, optimizer),
                                                 mesh)
  rows = _mp_problem.GLOBAL_BATCH // num_processes
  for batch, key in zip(batches, keys):
    local = {k: v[process_id * rows:(process_id + 1) * rows] for k, v in batch.items()}
    global_batch = parallel.shard_batch(local, mesh)
    assert global_batch["inputs"].shape[0] == _mp_problem.GLOBAL_BATCH
    state, metrics = train_step(state, global_batch, key)
  local_copy = jax.tree.map(lambda x: x.addressable_shards[0].data, state.params)
  results = _mp_problem.flat(local_copy)
  results["loss"] = np.asarray(metrics["loss"].addressable_shards[0].data)
  results["global_devices"] = np.asarray(jax.device_count())
  np.savez(out, **results)
  jax.distributed.shutdown()
