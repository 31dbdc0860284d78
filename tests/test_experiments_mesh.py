"""`experiments.run --mesh data=N` (issue 14 item 2): data-parallel training over 8 fake CPU
devices through the same runner ends equal, to float tolerance, to the single-device run of the
same config, also when it is stopped halfway and resumed; bad meshes are one-line errors.

The runs happen in a child process with `--xla_force_host_platform_device_count=8` (the device
count is fixed when jax starts)."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from experiments import exit_codes

REPO = pathlib.Path(__file__).resolve().parent.parent

_CHILD = r'''
import json, pathlib, sys
import jax
import numpy as np
import orbax.checkpoint as ocp
from experiments import run
from test_config import _load

assert len(jax.devices()) == 8, jax.devices()
root = pathlib.Path(sys.argv[1])
out = {}
from experiments import configs
for name, net in (("skip_lstm_adding", {"hidden_dim": 8}),
                  ("dynamic_skip_number_prediction_11", {"hidden_dim": 8, "agent_dim": 4})):
  def config(steps):
    c = configs.load(configs.RENAMED.get(name, name))
    c.net.update(net)
    c.data.update(batch_size=16, eval_batch_size=16)
    for key in ("dev_examples", "test_examples", "train_examples"):
      if key in c.data and c.data[key] is not None:
        c.data[key] = 40
    c.update(num_steps=steps, eval_every=3, log_every=1, checkpoint_every=3,
             progress=False, tensorboard=False)
    return c
  for mesh, halves in (("data=1", False), ("data=8", False), ("data=8", True)):
    workdir = root / f"{name}-{mesh}-{halves}"
    if halves:  # stopped at step 3, then continued to 6 on the mesh
      run.train_and_evaluate(config(3), workdir, command="t", plot=False, mesh=mesh)
    record = run.train_and_evaluate(config(6), workdir, command="t", plot=False, mesh=mesh)
    state = ocp.StandardCheckpointer().restore((workdir / "checkpoints" / "6" / "state").resolve())
    params = {jax.tree_util.keystr(p): np.asarray(v).tolist()
              for p, v in jax.tree_util.tree_flatten_with_path(state["params"])[0]}
    losses = [json.loads(l).get("train/loss") for l in open(workdir / "metrics.jsonl")]
    out[f"{name} {mesh} {halves}"] = {"value": record["value"], "hardware": record["hardware"],
                                      "params": params, "losses": [l for l in losses if l]}
json.dump(out, open(root / "out.json", "w"))
'''


def _env():
  return dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=f"{REPO}:{REPO / 'tests'}",
              XLA_FLAGS="--xla_force_host_platform_device_count=8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp("mesh")
  proc = subprocess.run([sys.executable, "-c", _CHILD, str(root)], cwd=REPO, env=_env(),
                        capture_output=True, text=True, timeout=900)
  assert proc.returncode == 0, proc.stderr[-4000:]
  assert "data parallel over 8 cpu devices" in proc.stderr
  return json.loads((root / "out.json").read_text())


@pytest.mark.parametrize("name", ["skip_lstm_adding", "dynamic_skip_number_prediction_11"])
def test_eight_devices_end_equal_to_one_also_after_resume(runs, name):
  one = runs[f"{name} data=1 False"]
  assert "data parallel" not in one["hardware"]
  for halves in (False, True):
    eight = runs[f"{name} data=8 {halves}"]
    assert "data parallel over 8 devices" in eight["hardware"]
    assert sorted(eight["params"]) == sorted(one["params"])
    for key, value in one["params"].items():
      np.testing.assert_allclose(eight["params"][key], value, rtol=2e-4, atol=2e-5, err_msg=key)
    np.testing.assert_allclose(eight["losses"], one["losses"], rtol=2e-4)
    assert eight["value"] == pytest.approx(one["value"], rel=1e-3, abs=1e-4)
  # The runs did train: the parameters moved from their first-step values is not checked here,
  # but the losses of six steps must not all be equal.
  assert len(set(np.round(one["losses"], 6))) > 1


@pytest.mark.parametrize("mesh,match", [
    ("data=9", "only 8 device"),
    ("model=2", "expected 'data=N'"),
    ("data=3", "batch_size=16 does not divide over 3 devices"),
])
def test_bad_mesh_is_one_fatal_line(tmp_path, mesh, match):
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.run", "--config",
       "experiments/configs/lstm_adding.py", "--workdir", str(tmp_path / "w"), f"--mesh={mesh}",
       "--config.data.batch_size=16", "--config.data.eval_batch_size=16"],
      cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
  assert proc.returncode == exit_codes.BAD_CONFIG, proc.stderr[-2000:]
  assert match in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
  assert not (tmp_path / "w" / "checkpoints").exists()


_SWEEP_CHILD = r'''
import json, pathlib, sys
import jax
import numpy as np
import orbax.checkpoint as ocp
from experiments import sweep
from test_config import _load

assert len(jax.devices()) == 8, jax.devices()
root = pathlib.Path(sys.argv[1])
def config(steps):
  c = _load(pathlib.Path("experiments/configs/skip_lstm_adding.py")).get_config("1e-5")
  c.net.hidden_dim = 8
  c.data.update(batch_size=16, eval_batch_size=16, dev_examples=32, test_examples=32, length=8)
  c.update(num_steps=steps, eval_every=3, log_every=1, checkpoint_every=3, progress=False,
           tensorboard=False)
  return c
flags = ["hparams.budget_lambda=0,0.3", "seed=0,1"]
out = {}
for mesh, halves in (("data=1", False), ("data=8", False), ("data=8", True)):
  workdir = root / f"{mesh}-{halves}"
  if halves:  # stopped at step 3, then continued to 6 on the mesh
    sweep.train_and_evaluate_sweep(config(3), workdir, flags, command="t", plot=False, mesh=mesh)
  records = sweep.train_and_evaluate_sweep(config(6), workdir, flags, command="t", plot=False,
                                           mesh=mesh)
  carry = ocp.StandardCheckpointer().restore((workdir / "checkpoints" / "6" / "state").resolve())
  params = {jax.tree_util.keystr(p): np.asarray(v).tolist()
            for p, v in jax.tree_util.tree_flatten_with_path(carry["state"]["params"])[0]}
  out[f"{mesh} {halves}"] = {"values": [r["value"] for r in records],
                             "hardware": records[0]["hardware"], "params": params}
json.dump(out, open(root / "out.json", "w"))
'''


def test_sweep_on_eight_devices_equals_one_also_after_resume(tmp_path):
  """--sweep with --mesh data=8: every setting replicated, each batch split over the devices;
  the study ends equal (float tolerance) to the one-device study, also resumed halfway."""
  proc = subprocess.run([sys.executable, "-c", _SWEEP_CHILD, str(tmp_path)], cwd=REPO, env=_env(),
                        capture_output=True, text=True, timeout=900)
  assert proc.returncode == 0, proc.stderr[-4000:]
  assert "every setting on each" in proc.stderr
  runs = json.loads((tmp_path / "out.json").read_text())
  one = runs["data=1 False"]
  assert "data parallel" not in one["hardware"] and len(one["values"]) == 4
  for halves in (False, True):
    eight = runs[f"data=8 {halves}"]
    assert "data parallel over 8 devices" in eight["hardware"]
    for key, value in one["params"].items():  # [4 settings, ...] each
      np.testing.assert_allclose(eight["params"][key], value, rtol=2e-4, atol=2e-5, err_msg=key)
    np.testing.assert_allclose(eight["values"], one["values"], rtol=1e-3, atol=1e-4)
  assert len(set(np.round(one["values"], 6))) == 4  # four settings, four results
