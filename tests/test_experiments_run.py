"""experiments.run as a user drives it: tiny adding-task runs in real subprocesses (issue 11).

Each test reproduces a way a run used to lose work silently: resuming with another config,
a NaN loss, two runs on one workdir, a scratch run replacing a committed record; and a soak test
killing a run (SIGKILL) at random moments. The in-process runs (`run.train_and_evaluate`) set up
workdirs quickly; whatever a user sees (exit status, the FATAL line) comes from a subprocess.
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

import ml_collections
import numpy as np
import pytest

from experiments import exit_codes
from experiments import run
from skipjax.train import metrics_log

REPO = pathlib.Path(run.__file__).resolve().parents[1]
ADDING = REPO / "experiments" / "configs" / "lstm_adding.py"
# The tiny setting, as config overrides (the subprocess gets them as --config.X=V flags).
TINY = {"net.hidden_dim": 8, "data.batch_size": 8, "data.eval_batch_size": 16,
        "data.dev_examples": 20, "data.test_examples": 20, "data.length": 6, "num_steps": 6,
        "eval_every": 3, "log_every": 3, "progress": False, "tensorboard": False}


def _flags(overrides):
  return [f"--config.{k}={v}" for k, v in overrides.items()]


def tiny_config(**changes) -> ml_collections.ConfigDict:
  """The config a subprocess given `_flags({**TINY, **changes})` builds."""
  from test_config import _load  # pylint: disable=g-import-not-at-top
  config = _load(ADDING).get_config()
  for key, value in {**TINY, **changes}.items():
    node = config
    *parents, leaf = key.split(".")
    for p in parents:
      node = node[p]
    node[leaf] = value
  return config


def _env():
  # The worktree first, whatever the cwd: the venv's editable install points elsewhere.
  return dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu")


def cli(workdir, *args, overrides=None):
  """argv of `python -m experiments.run` on the tiny adding setting."""
  return [sys.executable, "-m", "experiments.run", f"--config={ADDING}",
          *_flags({**TINY, **(overrides or {})}), f"--workdir={workdir}", "--noplot", *args]


def run_cli(workdir, *args, overrides=None, cwd=None, timeout=180):
  return subprocess.run(cli(workdir, *args, overrides=overrides), cwd=cwd or REPO, env=_env(),
                        capture_output=True, text=True, timeout=timeout)


def fatal_lines(proc):
  return [line for line in proc.stderr.splitlines() if line.startswith("FATAL")]


def _tree(workdir: pathlib.Path) -> dict[str, bytes]:
  return {str(p.relative_to(workdir)): p.read_bytes() for p in sorted(workdir.rglob("*"))
          if p.is_file()}


def _without_time(records):
  return [{k: v for k, v in r.items() if k not in ("time", "train/examples_per_second")}
          for r in records]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  """A finished tiny run (in-process): its workdir, to copy."""
  workdir = tmp_path_factory.mktemp("finished") / "tiny"
  run.train_and_evaluate(tiny_config(), workdir, command="pytest", plot=False)
  return workdir


def _copy(src: pathlib.Path, dst: pathlib.Path) -> pathlib.Path:
  import shutil  # pylint: disable=g-import-not-at-top
  shutil.copytree(src, dst)
  return dst


# ------------------------------------------------------------------ 1. resume with another config


def test_resume_with_another_config_is_refused_and_touches_nothing(finished, tmp_path):
  workdir = _copy(finished, tmp_path / "tiny")
  before = _tree(workdir)
  proc = run_cli(workdir, overrides={"net.hidden_dim": 16})
  assert proc.returncode == exit_codes.CONFIG_MISMATCH, proc.stderr[-3000:]
  (line,) = fatal_lines(proc)
  assert "config.net.hidden_dim: 8 -> 16" in line and "--restart" in line
  assert "config.num_steps" not in line  # only the fields that differ are named
  assert "Corrupt" not in proc.stderr
  assert _tree(workdir) == before  # checkpoints, metrics, config, summary and result untouched
  assert not (workdir / "checkpoints_corrupt").exists()


def test_resume_rules_and_restart(finished, tmp_path):
  workdir = _copy(finished, tmp_path / "tiny")
  record = json.loads((workdir / "result.json").read_text())
  # Allowed: showing/keeping things differently, and training longer.
  again = run.train_and_evaluate(tiny_config(log_every=2, progress=True), workdir,
                                 command="pytest", plot=False)
  assert again == record  # already finished: not re-tested, the record is unchanged
  longer = run.train_and_evaluate(tiny_config(num_steps=9), workdir, command="pytest",
                                  plot=False)
  assert longer["train_steps"] == 9
  assert json.loads((workdir / "config.json").read_text())["num_steps"] == 9
  steps = [r["step"] for r in metrics_log.read_jsonl(workdir / "metrics.jsonl")
           if "train/loss" in r]
  assert steps == sorted(set(steps)) and steps[-1] == 9
  # Refused: lowering num_steps, another seed or optimiser, a schedule spanning num_steps.
  from skipjax.train import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  for changes, named in [({"num_steps": 6}, "config.num_steps: 9 -> 6"),
                         ({"num_steps": 9, "seed": 1}, "config.seed: 0 -> 1"),
                         ({"num_steps": 9, "eval_every": 2}, "config.eval_every: 3 -> 2"),
                         ({"num_steps": 12, "optimizer.schedule": "cosine"},
                          "config.optimizer.schedule")]:
    with pytest.raises(workdir_lib.ConfigMismatchError, match=named):
      run.train_and_evaluate(tiny_config(**changes), workdir, command="pytest", plot=False)
  # --restart keeps the old run under previous-<time>/ and starts clean.
  old = _tree(workdir)
  fresh = run.train_and_evaluate(tiny_config(**{"net.hidden_dim": 16}), workdir,
                                 command="pytest", restart=True, plot=False)
  (previous,) = workdir.glob("previous-*")
  assert _tree(previous) == old
  assert fresh["config"]["net"]["hidden_dim"] == 16 and fresh["train_steps"] == 6
  log = metrics_log.read_jsonl(workdir / "metrics.jsonl")
  assert [r["step"] for r in log if "train/loss" in r] == [3, 6]


def test_checkpoints_without_config_json_are_not_trusted(finished, tmp_path):
  from skipjax.train import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  workdir = _copy(finished, tmp_path / "tiny")
  (workdir / "config.json").unlink()
  (workdir / "result.json").unlink()
  with pytest.raises(workdir_lib.ConfigMismatchError, match="no config.json"):
    run.train_and_evaluate(tiny_config(), workdir, command="pytest", plot=False)


# ------------------------------------------------------------------ 2. a NaN loss stops the run


def test_non_finite_loss_stops_with_the_step_and_no_result(tmp_path):
  workdir = tmp_path / "nan"
  proc = run_cli(workdir, overrides={"optimizer.learning_rate": 1e30, "num_steps": 12,
                                     "checkpoint_every": 1, "log_every": 6})
  assert proc.returncode == exit_codes.NON_FINITE, proc.stderr[-3000:]
  (line,) = fatal_lines(proc)
  assert "non-finite" in line and " at step " in line and "no result written" in line
  assert "the last finite checkpoint is step" in line or "no checkpoint was saved" in line
  assert not (workdir / "result.json").exists() and not (workdir / "summary.json").exists()
  assert "result:" not in proc.stderr
  # Every checkpoint left is finite and precedes the reported step.
  bad_step = int(line.split(" at step ")[1].split(";")[0])
  saved = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
  assert all(s < bad_step for s in saved)


# ------------------------------------------------------------------ 3. one run per workdir


def test_second_run_on_a_locked_workdir_fails_at_once_and_a_stale_lock_is_taken_over(tmp_path):
  workdir = tmp_path / "locked"
  overrides = {"num_steps": 30, "checkpoint_every": 2}
  first = subprocess.Popen(cli(workdir, overrides=overrides), cwd=REPO, env=_env(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.time() + 120
    # Training has begun: a checkpoint is complete (its manifest is written last).
    while not list((workdir / "checkpoints").glob("[0-9]*/skipjax_files.json")):
      assert first.poll() is None, first.stderr.read()[-3000:]
      assert time.time() < deadline
      time.sleep(0.05)
    os.kill(first.pid, signal.SIGSTOP)  # alive but frozen: holds the lock for as long as needed
    second = run_cli(workdir, overrides=overrides)
    assert second.returncode == exit_codes.WORKDIR_LOCKED, second.stderr[-3000:]
    (line,) = fatal_lines(second)
    assert f"pid {first.pid}" in line and socket.gethostname() in line
    assert first.poll() is None
  finally:
    first.kill()  # SIGKILL: the lock stays behind
    first.wait()
  assert (workdir / ".lock").exists()
  third = run_cli(workdir, overrides=overrides)
  assert third.returncode == 0, third.stderr[-3000:]
  assert f"taking over the stale lock {workdir.resolve() / '.lock'}" in third.stderr
  assert f"pid {first.pid}" in third.stderr
  assert "resumed from step" in third.stderr
  assert not (workdir / ".lock").exists()  # released at the end
  assert json.loads((workdir / "result.json").read_text())["train_steps"] == 30


# ------------------------------------------------------------------ stopping on request


def test_stop_after_checkpoints_exits_8_and_the_same_command_finishes_as_unstopped(finished,
                                                                                    tmp_path):
  workdir = tmp_path / "stopped"
  proc = run_cli(workdir, "--stop_after=0")
  assert proc.returncode == exit_codes.INTERRUPTED, proc.stderr[-3000:]
  (line,) = fatal_lines(proc)
  assert line.startswith("FATAL stopped at step 1 (time limit of 0 s reached); checkpoint "
                         f"{workdir.resolve() / 'checkpoints' / '1'}: run it again"), line
  assert not (workdir / "result.json").exists() and not (workdir / "summary.json").exists()
  again = run_cli(workdir, "--stop_after=3600")
  assert again.returncode == 0, again.stderr[-3000:]
  assert "resumed from step 1" in again.stderr
  got = json.loads((workdir / "result.json").read_text())
  want = json.loads((finished / "result.json").read_text())
  assert got["value"] == want["value"] and got["train_steps"] == want["train_steps"]
  assert "--stop_after" not in got["command"]  # the recorded command reproduces the result
  assert (_without_time(metrics_log.read_jsonl(workdir / "metrics.jsonl"))[-1] ==
          _without_time(metrics_log.read_jsonl(finished / "metrics.jsonl"))[-1])


def test_sigterm_stops_at_the_step_in_flight_with_a_checkpoint(tmp_path):
  workdir = tmp_path / "term"
  overrides = {"num_steps": 100000, "eval_every": 0, "checkpoint_every": 0, "log_every": 1}
  proc = subprocess.Popen(cli(workdir, overrides=overrides), cwd=REPO, env=_env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
  try:
    deadline = time.time() + 120
    while not (workdir / "metrics.jsonl").exists() or not (workdir / "metrics.jsonl").stat().st_size:
      assert proc.poll() is None, proc.stderr.read()[-3000:]
      assert time.time() < deadline
      time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
  finally:
    proc.kill()
  assert proc.returncode == exit_codes.INTERRUPTED, stderr[-3000:]
  line = [l for l in stderr.splitlines() if l.startswith("FATAL")][0]
  step = int(line.split("stopped at step ")[1].split(" ")[0])
  assert "(SIGTERM)" in line and step >= 1
  saved = sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
  assert saved[-1] == step  # no checkpoint before it: only the stop saved one


# ------------------------------------------------------------------ 4. results stay in the workdir


def test_a_run_writes_only_into_its_workdir_and_publishing_never_replaces(finished, tmp_path):
  scratch = tmp_path / "scratch"
  scratch.mkdir()
  committed = REPO / "experiments" / "results" / "lstm_adding.json"
  committed_before = committed.read_bytes()
  # A trial run from another directory, named like a committed run.
  workdir = _copy(finished, scratch / "lstm_adding")
  (workdir / "result.json").unlink()  # so that it tests again and writes its record
  proc = run_cli(workdir, cwd=scratch)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert sorted(p.name for p in scratch.iterdir()) == ["lstm_adding"]  # no experiments/results
  assert committed.read_bytes() == committed_before
  record = json.loads((workdir / "result.json").read_text())
  assert record["train_steps"] == 6

  # Publishing is explicit; the same result again is kept, another one refused.
  published = tmp_path / "results"
  again = run_cli(workdir, f"--publish={published}", cwd=scratch)
  assert again.returncode == 0, again.stderr[-3000:]
  assert f"already finished: {workdir / 'result.json'}" in again.stderr
  assert json.loads((published / "lstm_adding.json").read_text()) == record
  other = json.loads(committed_before)  # the committed 400-step record
  (published / "lstm_adding.json").write_text(json.dumps(other))
  refused = run_cli(workdir, f"--publish={published}", cwd=scratch)
  assert refused.returncode == exit_codes.PUBLISH_CONFLICT, refused.stderr[-3000:]
  (line,) = fatal_lines(refused)
  assert str(published / "lstm_adding.json") in line and str(workdir / "result.json") in line
  assert f"train_steps: {other['train_steps']} -> 6" in line and "value:" in line
  assert json.loads((published / "lstm_adding.json").read_text()) == other
  replaced = run_cli(workdir, f"--publish={published}", "--replace_published", cwd=scratch)
  assert replaced.returncode == 0, replaced.stderr[-3000:]
  assert "replaced" in replaced.stderr and "train_steps" in replaced.stderr
  assert json.loads((published / "lstm_adding.json").read_text()) == record


def test_results_dir_flag_is_gone_with_a_pointer():
  proc = run_cli("/nonexistent/w", "--results_dir=experiments/results")
  assert proc.returncode == exit_codes.BAD_CONFIG
  assert "--publish" in proc.stderr


# ------------------------------------------------------------------ 5. what a user sees (issue 16)


def _run_module(*args, cwd=None):
  return subprocess.run([sys.executable, "-m", "experiments.run", *args], cwd=cwd or REPO,
                        env=_env(), capture_output=True, text=True, timeout=180)


def _one_fatal_line(proc):
  assert proc.returncode == exit_codes.BAD_CONFIG, proc.stderr[-3000:]
  assert "Traceback" not in proc.stderr and "flags:" not in proc.stderr, proc.stderr[-3000:]
  (line,) = [line for line in proc.stderr.splitlines() if line.strip()]  # nothing else printed
  assert line.startswith("FATAL "), line
  return line


def test_a_config_path_typo_is_one_line_with_the_closest_config(tmp_path):
  line = _one_fatal_line(_run_module("--config", "experiments/configs/lstm_addng.py",
                                     f"--workdir={tmp_path / 'w'}"))
  assert line == ("FATAL --config experiments/configs/lstm_addng.py: no such file (relative to "
                  f"the current directory {REPO}); did you mean "
                  "experiments/configs/lstm_adding.py?")
  line = _one_fatal_line(_run_module("--config=experiments/configs/nope.py",
                                     f"--workdir={tmp_path / 'w'}"))
  assert "experiments/configs/nope.py: no such file" in line
  assert "the configs are experiments/configs/*.py" in line  # nothing close: where they are
  # From another directory the path is relative to it: the message says so, and where they are.
  line = _one_fatal_line(_run_module("--config=experiments/configs/lstm_adding.py",
                                     f"--workdir={tmp_path / 'w'}", cwd=tmp_path))
  assert f"relative to the current directory {tmp_path}" in line
  assert f"did you mean {REPO / 'experiments' / 'configs' / 'lstm_adding.py'}?" in line
  assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("source,match", [
    ("def get_config(:\n  pass\n", r"SyntaxError: .* \(at {path}:1\)$"),
    ("def get_config():\n  raise ValueError('no such task')\n",
     r"Error whilst parsing config file: ValueError: no such task \(at {path}:2\)$"),
    ("def get_config():\n  return undefined_name\n", r"NameError: .*undefined_name.*:2\)$"),
])
def test_a_broken_config_file_is_one_line_naming_the_line(tmp_path, source, match):
  import re  # pylint: disable=g-import-not-at-top
  path = tmp_path / "broken.py"
  path.write_text(source)
  line = _one_fatal_line(_run_module(f"--config={path}", f"--workdir={tmp_path / 'w'}"))
  assert re.search(match.format(path=re.escape(str(path))), line), line


@pytest.mark.parametrize("args,want", [
    (["--config.num_steps=-1"], "FATAL config.num_steps must be a positive integer, got -1"),
    (["--config.num_stepz=3"], "FATAL --config.num_stepz: the config has no field 'num_stepz'; "
     "did you mean 'num_steps'?"),
    (["--config.num_steps=abc"], "FATAL flag --config.num_steps=abc: invalid literal"),
    (["--bogus"], "FATAL Unknown command line flag 'bogus'"),
    (["stray"], "FATAL unexpected arguments ['stray']"),
    (["--stop_after=-1"], "FATAL --stop_after=-1.0: must be >= 0 seconds"),
])
def test_bad_flags_and_values_are_one_line_without_the_help_text(tmp_path, args, want):
  line = _one_fatal_line(_run_module(f"--config={ADDING}", f"--workdir={tmp_path / 'w'}",
                                     *args))
  assert line.startswith(want), line


def test_missing_workdir_is_one_line():
  line = _one_fatal_line(_run_module(f"--config={ADDING}"))
  assert line.startswith("FATAL --workdir is required")


@pytest.mark.parametrize("flag", ["--help", "-h", "--helpfull"])
def test_help_exits_0_with_an_unbroken_usage_line(flag):
  proc = _run_module(flag)
  assert proc.returncode == 0, proc.stderr[-3000:]
  lines = proc.stdout.splitlines()
  (usage,) = [i for i, line in enumerate(lines) if "python -m experiments.run --config" in line]
  assert lines[usage].endswith("[--config.FIELD=VALUE ...] \\")  # continued on the next line
  assert lines[usage + 1].strip().startswith("--workdir DIR [--restart]")
  assert "--workdir: Run directory" in proc.stdout


def test_resuming_and_rerunning_say_what_happens(finished, tmp_path):
  workdir = _copy(finished, tmp_path / "tiny")
  before = _tree(workdir)
  # The same command again: nothing is trained or tested, nothing is rewritten.
  again = run_cli(workdir)
  assert again.returncode == 0, again.stderr[-3000:]
  assert f"already finished: {workdir / 'result.json'}" in again.stderr.splitlines()
  assert "resumed from" not in again.stderr and "result:" not in again.stderr
  assert _tree(workdir) == before
  # Training it on resumes from its last checkpoint, says so, and shows plain progress lines
  # (stderr is a pipe here: no tqdm bars, no carriage returns).
  longer = run_cli(workdir, overrides={"num_steps": 9, "progress": True})
  assert longer.returncode == 0, longer.stderr[-3000:]
  lines = longer.stderr.splitlines()
  assert f"resumed from step 6 (checkpoint {workdir / 'checkpoints' / '6'})" in lines
  assert "\r" not in longer.stderr
  assert any(line.startswith("train: step 9/9 (100%), ") for line in lines), lines
  assert any(line.startswith("step 9: dev/") and "count" not in line for line in lines), lines
  assert json.loads((workdir / "result.json").read_text())["train_steps"] == 9


# ------------------------------------------------------------------ soak: SIGKILL at random moments


def _final_params(workdir: pathlib.Path):
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  step = max(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())
  restored = ocp.StandardCheckpointer().restore(workdir / "checkpoints" / str(step) / "state")
  return step, restored["params"]


def _logged_step(workdir: pathlib.Path) -> int:
  try:
    records = metrics_log.read_jsonl(workdir / metrics_log.JSONL_NAME)
  except (OSError, ValueError):
    return 0
  return max((r["step"] for r in records), default=0)


def _log_mtime(workdir: pathlib.Path) -> float:
  try:
    return (workdir / metrics_log.JSONL_NAME).stat().st_mtime
  except OSError:
    return 0.0


def test_soak_killed_at_five_random_moments_equals_uninterrupted(tmp_path):
  overrides = {"num_steps": 40, "eval_every": 8, "log_every": 1, "checkpoint_every": 3}
  reference = run_cli(tmp_path / "reference", overrides=overrides)
  assert reference.returncode == 0, reference.stderr[-3000:]

  workdir = tmp_path / "killed"
  rng = np.random.default_rng(int(time.time()))
  targets = sorted(rng.choice(np.arange(1, 35), size=5, replace=False))
  delays = rng.uniform(0.0, 0.15, size=5)
  moments = []
  for i, (target, delay) in enumerate(zip(targets, delays)):
    proc = subprocess.Popen(cli(workdir, overrides=overrides), cwd=REPO, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    started = time.time()
    deadline = started + 120
    # This process must have taken the workdir first (it rewrites the log when it resumes): the
    # log of the previous, killed run may already reach this target.
    while _logged_step(workdir) < target or _log_mtime(workdir) < started:
      assert proc.poll() is None, proc.stderr.read()[-3000:]
      assert time.time() < deadline
      time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    stderr = proc.communicate()[1]
    moments.append((int(target), round(float(delay), 3)))
    assert proc.returncode == -signal.SIGKILL, (moments, stderr[-3000:])
    if i:
      assert "taking over the stale lock" in stderr, stderr[-3000:]
  final = run_cli(workdir, overrides=overrides)
  assert final.returncode == 0, (moments, final.stderr[-3000:])

  got = json.loads((workdir / "result.json").read_text())
  want = json.loads((tmp_path / "reference" / "result.json").read_text())
  for field in ("value", "train_steps", "best_step", "best_dev", "metrics", "stopped_early"):
    assert got[field] == want[field], (field, moments)
  assert (_without_time(metrics_log.read_jsonl(workdir / "metrics.jsonl")) ==
          _without_time(metrics_log.read_jsonl(tmp_path / "reference" / "metrics.jsonl")))
  step, params = _final_params(workdir)
  want_step, want_params = _final_params(tmp_path / "reference")
  assert step == want_step == 40
  import jax  # pylint: disable=g-import-not-at-top
  assert jax.tree.structure(params) == jax.tree.structure(want_params)
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(want_params)):
    np.testing.assert_array_equal(a, b)  # bit for bit
