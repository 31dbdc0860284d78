"""Run-directory bookkeeping (skipjax/train/workdir.py): the lock, config differences, restart."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from skipjax.train import workdir as workdir_lib


def _write_lock(workdir, **info):
  workdir.mkdir(parents=True, exist_ok=True)
  holder = {"pid": os.getpid(), "host": socket.gethostname(), "started": "then"}
  holder.update(info)
  (workdir / workdir_lib.LOCK_NAME).write_text(json.dumps(holder))


def _dead_pid():
  proc = subprocess.Popen([sys.executable, "-c", "pass"])
  proc.wait()
  return proc.pid


def test_lock_is_exclusive_reentrant_and_released(tmp_path):
  lock_path = tmp_path / workdir_lib.LOCK_NAME
  with workdir_lib.WorkdirLock(tmp_path):
    holder = json.loads(lock_path.read_text())
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
    with workdir_lib.WorkdirLock(tmp_path):  # the same process (run.py, then fit): a no-op
      pass
    assert lock_path.exists()
    # Another process cannot take it.
    code = ("import sys; from skipjax.train import workdir as w\n"
            f"try:\n  w.WorkdirLock({str(tmp_path)!r}).acquire()\n"
            "except w.WorkdirLockedError as e:\n  print(e); sys.exit(3)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert f"pid {os.getpid()} on {socket.gethostname()}" in proc.stdout
  assert not lock_path.exists()


def test_live_holder_is_reported(tmp_path):
  sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
  try:
    _write_lock(tmp_path, pid=sleeper.pid, started="2026-01-01T00:00:00+00:00")
    with pytest.raises(workdir_lib.WorkdirLockedError,
                       match=f"pid {sleeper.pid} on .*started 2026-01-01"):
      workdir_lib.WorkdirLock(tmp_path).acquire()
  finally:
    sleeper.kill()
    sleeper.wait()
  # Another host's lock cannot be checked from here: it counts as live.
  _write_lock(tmp_path, pid=_dead_pid(), host="elsewhere.example")
  with pytest.raises(workdir_lib.WorkdirLockedError, match="elsewhere.example"):
    workdir_lib.WorkdirLock(tmp_path).acquire()


def test_stale_lock_is_taken_over(tmp_path, capsys):
  dead = _dead_pid()
  _write_lock(tmp_path, pid=dead)
  with workdir_lib.WorkdirLock(tmp_path):
    assert json.loads((tmp_path / ".lock").read_text())["pid"] == os.getpid()
  assert f"taking over the stale lock {tmp_path.resolve() / '.lock'}" in capsys.readouterr().err
  # A live pid that started after the lock was written is another process: stale too.
  _write_lock(tmp_path, pid=os.getppid(), pid_start_ticks=1)
  with workdir_lib.WorkdirLock(tmp_path):
    pass
  assert f"pid {os.getppid()}" in capsys.readouterr().err
  # An unreadable lock: a run being started (fresh) or one that died writing it (old).
  (tmp_path / ".lock").write_text("")
  with pytest.raises(workdir_lib.WorkdirLockedError, match="being written"):
    workdir_lib.WorkdirLock(tmp_path).acquire()
  old = time.time() - 3600
  os.utime(tmp_path / ".lock", (old, old))
  with workdir_lib.WorkdirLock(tmp_path):
    pass
  assert "died while writing it" in capsys.readouterr().err


def test_release_leaves_another_runs_lock_alone(tmp_path):
  lock = workdir_lib.WorkdirLock(tmp_path)
  lock.acquire()
  _write_lock(tmp_path, pid=12345678)  # replaced behind our back
  lock.release()
  assert json.loads((tmp_path / ".lock").read_text())["pid"] == 12345678


def test_config_differences():
  saved = {"net": {"hidden_dim": 8, "embed_dim": None}, "num_steps": 10, "hparams": {},
           "tags": []}
  assert workdir_lib.config_differences(saved, saved) == []
  new = {"net": {"hidden_dim": 16}, "num_steps": 20, "optimizer": {"clip_norm": None},
         "seed": 0}
  # embed_dim/hparams/tags absent now but unset before, clip_norm new but unset: no difference;
  # seed new with a value: a difference.
  assert workdir_lib.config_differences(saved, new) == [
      "config.net.hidden_dim: 8 -> 16", "config.num_steps: 10 -> 20", "config.seed: (absent) -> 0"]
  allowed = workdir_lib.config_differences(
      saved, new, may_change=lambda name, old, cur: name == "num_steps" and cur > old)
  assert "config.num_steps: 10 -> 20" not in allowed and len(allowed) == 2


def test_archive_previous_moves_everything_but_the_lock(tmp_path):
  assert workdir_lib.archive_previous(tmp_path) is None
  (tmp_path / "checkpoints" / "3").mkdir(parents=True)
  (tmp_path / "metrics.jsonl").write_text("{}\n")
  (tmp_path / ".lock").write_text("{}")
  first = workdir_lib.archive_previous(tmp_path)
  assert first.name.startswith("previous-") and first.parent == tmp_path
  assert sorted(p.name for p in first.iterdir()) == ["checkpoints", "metrics.jsonl"]
  assert sorted(p.name for p in tmp_path.iterdir()) == [".lock", first.name]
  (tmp_path / "metrics.jsonl").write_text("{}\n")
  second = workdir_lib.archive_previous(tmp_path)  # earlier archives stay where they are
  assert second != first and (first / "metrics.jsonl").exists()
  assert sorted(p.name for p in second.iterdir()) == ["metrics.jsonl"]


def test_json_safe_and_strict_writes(tmp_path):
  obj = {"a": float("nan"), "b": [1.0, float("-inf")], "c": {"d": 2}}
  assert workdir_lib.json_safe(obj) == {"a": "nan", "b": [1.0, "-inf"], "c": {"d": 2}}
  with pytest.raises(ValueError):
    workdir_lib.write_json_atomic(tmp_path / "x.json", obj)
  workdir_lib.write_json_atomic(tmp_path / "x.json", workdir_lib.json_safe(obj))
  assert json.loads((tmp_path / "x.json").read_text())["a"] == "nan"
