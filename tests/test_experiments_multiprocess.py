"""`experiments.run` in 2 processes x 2 CPU devices (`jax.distributed`, issue 14 item 2).

The same command in two processes (`--coordinator_address --num_processes --process_id`) trains
one model over a mesh of all four devices, each process feeding its own rows of every batch.
Checked here, against the single-device run of the same config:
- the parameters, the logged losses and the test metric agree to float tolerance, for a run
  straight through and for one killed with SIGKILL in the middle (both processes) and rerun;
  and for one process over 8 fake devices (`--mesh data=8`) killed in the middle and rerun;
- only process 0 writes the run's files (process 1's log has no result line; the workdir has
  one metrics.jsonl, one result.json); orbax writes the checkpoints from both;
- a failure that only process 0 sees (the workdir locked by another run) stops both processes,
  each with a one-line error.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from experiments import exit_codes

REPO = pathlib.Path(__file__).resolve().parent.parent
STEPS = 24
OVERRIDES = ["--config.net.hidden_dim=8", "--config.data.batch_size=16",
             "--config.data.eval_batch_size=16", "--config.data.dev_examples=32",
             "--config.data.test_examples=32", "--config.data.length=8",
             f"--config.num_steps={STEPS}", "--config.eval_every=8", "--config.log_every=1",
             "--config.checkpoint_every=2", "--config.progress=False",
             "--config.tensorboard=False", "--noplot"]


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("localhost", 0))
    return s.getsockname()[1]


def _env(devices: int) -> dict[str, str]:
  return dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO),
              XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")


def _command(workdir: pathlib.Path) -> list[str]:
  return [sys.executable, "-m", "experiments.run", "--config",
          "experiments/configs/skip_lstm_adding.py:1e-5", f"--workdir={workdir}", *OVERRIDES]


def _start_pair(workdir: pathlib.Path, logs: pathlib.Path,
                extra: tuple[str, ...] = ()) -> list[subprocess.Popen]:
  port = _free_port()
  procs = []
  for index in (0, 1):
    log = open(logs / f"{workdir.name}.p{index}.log", "a")
    procs.append(subprocess.Popen(
        _command(workdir) + [f"--coordinator_address=localhost:{port}", "--num_processes=2",
                             f"--process_id={index}", *extra],
        cwd=REPO, env=_env(2), stdout=log, stderr=subprocess.STDOUT))
  return procs


def _wait(procs: list[subprocess.Popen], timeout: float = 400) -> list[int]:
  deadline = time.monotonic() + timeout
  codes = []
  for proc in procs:
    try:
      codes.append(proc.wait(timeout=max(1.0, deadline - time.monotonic())))
    except subprocess.TimeoutExpired:
      for p in procs:
        p.kill()
      raise
  return codes


def _outcome(workdir: pathlib.Path) -> dict:
  import jax  # pylint: disable=g-import-not-at-top
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  path = (workdir / "checkpoints" / str(STEPS) / "state").resolve()
  checkpointer = ocp.StandardCheckpointer()
  # Saved from 4 devices: restored onto this process's one device.
  device = jax.sharding.SingleDeviceSharding(jax.devices()[0])
  target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=device),
                        checkpointer.metadata(path).item_metadata.tree)
  state = checkpointer.restore(path, target)
  params = {jax.tree_util.keystr(p): np.asarray(v)
            for p, v in jax.tree_util.tree_flatten_with_path(state["params"])[0]}
  records = [json.loads(line) for line in open(workdir / "metrics.jsonl")]
  losses = {r["step"]: r["train/loss"] for r in records if "train/loss" in r}
  return {"params": params, "losses": [losses[s] for s in sorted(losses)],
          "steps": [r["step"] for r in records if "train/loss" in r],
          "record": json.loads((workdir / "result.json").read_text())}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  root = tmp_path_factory.mktemp("multiprocess")
  out = {}
  single = root / "single"
  proc = subprocess.run(_command(single), cwd=REPO, env=_env(1), capture_output=True, text=True,
                        timeout=400)
  assert proc.returncode == 0, proc.stderr[-3000:]
  out["single"] = _outcome(single)

  straight = root / "straight"
  assert _wait(_start_pair(straight, root)) == [0, 0], (root / "straight.p0.log").read_text()
  out["straight"] = _outcome(straight)

  # Killed (SIGKILL, both processes) once a checkpoint is complete and before the run ends.
  killed = root / "killed"
  _kill_after_a_checkpoint(killed, _start_pair(killed, root), root / "killed.p0.log", out,
                           "killed")
  assert _wait(_start_pair(killed, root)) == [0, 0], (root / "killed.p0.log").read_text()[-3000:]
  out["killed"] = _outcome(killed)

  # One process over 8 fake devices (--mesh data=8), killed the same way and rerun.
  mesh8 = root / "mesh8_killed"
  log_path = root / "mesh8_killed.log"

  def start_mesh8():
    log = open(log_path, "a")
    return [subprocess.Popen(_command(mesh8) + ["--mesh=data=8"], cwd=REPO, env=_env(8),
                             stdout=log, stderr=subprocess.STDOUT)]

  _kill_after_a_checkpoint(mesh8, start_mesh8(), log_path, out, "mesh8_killed")
  assert _wait(start_mesh8()) == [0], log_path.read_text()[-3000:]
  out["mesh8_killed"] = _outcome(mesh8)
  out["root"] = root
  return out


def _kill_after_a_checkpoint(workdir: pathlib.Path, procs: list[subprocess.Popen],
                             log: pathlib.Path, out: dict, name: str) -> None:
  """SIGKILLs procs once a checkpoint of workdir is complete; records in out whether that came
  before the end of the run and which checkpoints were kept."""
  deadline = time.monotonic() + 300
  while not any((workdir / "checkpoints").glob("*/skipjax_files.json")):
    assert all(p.poll() is None for p in procs), log.read_text()[-3000:]
    assert time.monotonic() < deadline, "no checkpoint within 300 s"
    time.sleep(0.02)
  for p in procs:
    p.send_signal(signal.SIGKILL)
  _wait(procs)
  out[f"{name}_before_end"] = not (workdir / "result.json").exists()
  out[f"{name}_kept_steps"] = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir()
                                     if p.name.isdigit())


@pytest.mark.parametrize("name", ["straight", "killed", "mesh8_killed"])
def test_two_processes_or_eight_devices_end_equal_to_one_device(runs, name):
  one, two = runs["single"], runs[name]
  if name == "mesh8_killed":
    assert "data parallel over 8 devices" in two["record"]["hardware"], two["record"]["hardware"]
  else:
    assert "in 2 processes" in two["record"]["hardware"], two["record"]["hardware"]
  assert "processes" not in one["record"]["hardware"]
  assert "data parallel" not in one["record"]["hardware"]
  assert sorted(two["params"]) == sorted(one["params"])
  for key, value in one["params"].items():
    np.testing.assert_allclose(two["params"][key], value, rtol=2e-4, atol=2e-5, err_msg=key)
  assert two["steps"] == list(range(1, STEPS + 1))  # one log line per step, resumed or not
  np.testing.assert_allclose(two["losses"], one["losses"], rtol=2e-4)
  assert two["record"]["value"] == pytest.approx(one["record"]["value"], rel=1e-3, abs=1e-4)
  assert len(set(np.round(one["losses"], 6))) > 1  # it trained


@pytest.mark.parametrize("name,log", [("killed", "killed.p0.log"),
                                      ("mesh8_killed", "mesh8_killed.log")])
def test_the_kill_came_in_the_middle_and_the_rerun_resumed(runs, name, log):
  assert runs[f"{name}_before_end"]
  assert runs[f"{name}_kept_steps"] and max(runs[f"{name}_kept_steps"]) < STEPS
  assert "resumed from step" in (runs["root"] / log).read_text()


def test_only_process_0_writes(runs):
  root = runs["root"]
  p0, p1 = ((root / f"straight.p{i}.log").read_text() for i in (0, 1))
  assert "result: test mse" in p0 and "result: test mse" not in p1
  assert "data parallel over 4 cpu devices (mesh data=4, 2 processes)" in p1
  assert sorted(p.name for p in (root / "straight").iterdir()) == [
      "checkpoints", "config.json", "data_spec.json", "metrics.jsonl", "result.json",
      "summary.json"]


def test_a_failure_on_process_0_stops_both(tmp_path):
  workdir = tmp_path / "locked"
  workdir.mkdir()
  # A live lock of another run (this test's own pid) that only process 0 checks.
  (workdir / ".lock").write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
  codes = _wait(_start_pair(workdir, tmp_path), timeout=200)
  p0, p1 = ((tmp_path / f"locked.p{i}.log").read_text() for i in (0, 1))
  assert codes == [exit_codes.WORKDIR_LOCKED, exit_codes.OTHER_PROCESS_FAILED], (p0, p1)
  assert "FATAL" in p0 and "in use by another run" in p0 and "Traceback" not in p0
  assert "FATAL process 0 failed while checking the workdir" in p1 and "Traceback" not in p1
  assert not (workdir / "checkpoints").exists()


def test_a_sweep_over_two_processes_is_refused_by_both(tmp_path):
  codes = _wait(_start_pair(tmp_path / "sweep", tmp_path, ("--sweep=seed=0,1",)), timeout=200)
  assert codes == [exit_codes.BAD_CONFIG] * 2
  for index in (0, 1):
    log = (tmp_path / f"sweep.p{index}.log").read_text()
    assert "FATAL --sweep with 2 processes: a study runs in one process" in log, log[-2000:]


@pytest.mark.parametrize("flags,match", [
    (["--num_processes=0"], "--num_processes=0: must be >= 1"),
    (["--num_processes=2", "--process_id=2"], "--process_id=2: must be in 0 .. 1"),
    (["--coordinator_address=localhost:1"], "needs --num_processes and --process_id"),
])
def test_bad_process_flags_are_one_fatal_line(tmp_path, flags, match):
  proc = subprocess.run(_command(tmp_path / "w") + flags, cwd=REPO, env=_env(1),
                        capture_output=True, text=True, timeout=200)
  assert proc.returncode == exit_codes.BAD_CONFIG, proc.stderr[-2000:]
  assert match in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-2000:]
