"""Two JAX processes on localhost (jax.distributed, 2 fake CPU devices each) train on their halves
of each global batch and end with the parameters of one process training on whole batches."""

import socket

import numpy as np

import _mp_problem
from _mp_launch import finish_script, start_script

NUM_PROCESSES, DEVICES_PER_PROCESS = 2, 2


def _free_port():
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def test_two_processes_match_single_process(tmp_path):
  port = _free_port()
  outs = [tmp_path / f"process{i}.npz" for i in range(NUM_PROCESSES)]
  procs = [start_script("_mp_multiprocess.py", i, NUM_PROCESSES, port, outs[i],
                        devices=DEVICES_PER_PROCESS) for i in range(NUM_PROCESSES)]
  try:
    ref, ref_metrics = _mp_problem.train_single_device()
  finally:
    errors = []
    for proc in procs:
      try:
        finish_script(proc, timeout=300)
      except BaseException as e:  # pylint: disable=broad-except
        errors.append(e)
        for other in procs:  # the others would wait on a collective until their timeout
          if other.poll() is None:
            other.kill()
    if errors:
      raise errors[0]
  want = [ref[k] for k in sorted(ref, key=lambda k: (len(k), k))]
  for out in outs:
    got = dict(np.load(out))
    assert int(got["global_devices"]) == NUM_PROCESSES * DEVICES_PER_PROCESS
    params = [got[k] for k in sorted(got, key=lambda k: (len(k), k)) if k.startswith("p")]
    assert len(params) == len(want) > 0
    for g, w in zip(params, want):
      np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["loss"], ref_metrics["loss"], rtol=1e-5)
