"""Data parallelism on 8 fake CPU devices (in a subprocess): sharded jit and pmap steps give the
parameters of a single-device run on the same global batches."""

import jax
import numpy as np
import pytest

import _mp_problem
from _mp_launch import finish_script, start_script
from skipjax.train import parallel


@pytest.fixture(scope="module")
def reference_and_results(tmp_path_factory):
  out = tmp_path_factory.mktemp("dp") / "out.npz"
  proc = start_script("_mp_data_parallel.py", out)
  try:
    # The reference, computed here on one device while the script runs.
    reference = _mp_problem.train_single_device()
  finally:
    finish_script(proc, timeout=300)
  return reference, dict(np.load(out))


@pytest.fixture(scope="module")
def results(reference_and_results):
  return reference_and_results[1]


def _params(results, prefix):
  return [results[k] for k in sorted(results, key=lambda k: (len(k), k))
          if k.startswith(prefix + "_p")]


@pytest.mark.parametrize("prefix", ["mesh1", "mesh8", "pmap"])
def test_eight_devices_match_one(reference_and_results, prefix):
  (ref, ref_metrics), results = reference_and_results
  want = [ref[k] for k in sorted(ref, key=lambda k: (len(k), k))]
  got = _params(results, prefix)
  assert len(got) == len(want) > 0
  for g, w in zip(got, want):
    np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(results[f"{prefix}_loss"], ref_metrics["loss"], rtol=1e-5)
  if prefix != "pmap":  # the sharded eval step on the final state
    np.testing.assert_allclose(results[f"{prefix}_eval_loss"], ref_metrics["eval_loss"],
                               rtol=1e-5)
    assert float(results[f"{prefix}_eval_count"]) == ref_metrics["eval_count"] == (
        _mp_problem.GLOBAL_BATCH - len(_mp_problem.PADDED))


def test_batch_really_sharded_and_padding_excluded(results):
  assert int(results["mesh1_batch_devices"]) == 1
  assert int(results["mesh8_batch_devices"]) == 8
  assert float(results["pmap_count"]) == _mp_problem.GLOBAL_BATCH - len(_mp_problem.PADDED)
  # Training moved the parameters (the comparison above is not between two initialisations).
  params, *_ = _mp_problem.make_problem()
  assert not np.allclose(_params(results, "mesh8")[0], np.asarray(jax.tree.leaves(params)[0]))


def test_bad_batches_raise():
  mesh = parallel.make_mesh(jax.devices()[:1])
  with pytest.raises(ValueError, match="leading"):
    parallel.shard_batch({"x": np.float32(1.0)}, mesh)
  with pytest.raises(ValueError, match="divide evenly over 4"):
    parallel.split_for_pmap({"x": np.zeros((6, 2))}, 4)
  with pytest.raises(ValueError, match="devices"):
    parallel.make_mesh([])
