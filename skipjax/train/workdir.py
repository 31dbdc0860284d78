"""A run directory's bookkeeping: one run at a time, the config it belongs to, starting over.

- `WorkdirLock`: `<workdir>/.lock` holds the pid, host and start time of the run using the
  directory. It is created atomically (`O_CREAT | O_EXCL`), so a second run fails at once with
  `WorkdirLockedError` naming the holder. A lock left by a killed run (its pid is dead on this
  host, or now belongs to a younger process) is stale: it is taken over, with a message.
- `config_differences`: which fields of a new config differ from the one a workdir was started
  with (`<workdir>/config.json`), so that a resumed run cannot silently mix two settings.
- `archive_previous`: starting over moves the directory's contents into
  `<workdir>/previous-<UTC time>/`; nothing is deleted.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import math
import os
import pathlib
import shutil
import socket
import sys
import time
from typing import Any, Callable, Mapping

LOCK_NAME = ".lock"
PREVIOUS_PREFIX = "previous-"
# Schedule fields (of skipjax.train.loop.LoopConfig) that change only what a run shows or keeps
# on disk, never its trajectory, its evaluations or its result.
OBSERVATION_FIELDS = frozenset({"progress", "tensorboard", "log_every", "checkpoint_every",
                                "keep_checkpoints"})


class WorkdirLockedError(RuntimeError):
  """Another live run holds the workdir's lock (the message names its pid, host and start)."""


class ConfigMismatchError(ValueError):
  """A workdir holds a run of another config (the message names the fields that differ)."""


# ---------------------------------------------------------------------------------------- lock


def _process_start_ticks(pid: int) -> int | None:
  """The start time of process `pid` in clock ticks since boot (Linux /proc), else None."""
  try:
    stat = pathlib.Path(f"/proc/{pid}/stat").read_text()
  except OSError:
    return None
  fields = stat[stat.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
  if fields[0] == "Z":  # a zombie: killed, not yet reaped
    return -1
  return int(fields[19])


def _pid_alive(pid: int) -> bool:
  try:
    os.kill(pid, 0)
  except ProcessLookupError:
    return False
  except PermissionError:  # exists, belongs to another user
    return True
  return _process_start_ticks(pid) != -1


def _describe(holder: Mapping[str, Any]) -> str:
  return (f"pid {holder.get('pid')} on {holder.get('host')}, started {holder.get('started')}")


class WorkdirLock:
  """`with WorkdirLock(workdir): ...` holds `<workdir>/.lock` for the duration.

  Re-entrant within one process (a nested `WorkdirLock` on the same directory, e.g. `fit` called
  by `experiments.run`, is a no-op). Raises WorkdirLockedError if a live run holds it, naming
  that run; a stale lock (a dead pid on this host) is taken over with a message on stderr. A lock
  held from another host cannot be checked from here and always counts as live.
  """

  _held: dict[str, int] = {}  # resolved lock path -> nesting depth, for this process

  def __init__(self, workdir: str | os.PathLike[str]):
    self.path = pathlib.Path(workdir).resolve() / LOCK_NAME
    self._key = str(self.path)

  def _info(self) -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "pid_start_ticks": _process_start_ticks(pid), "argv": sys.argv}

  def _read(self) -> dict[str, Any] | None:
    try:
      holder = json.loads(self.path.read_text())
    except FileNotFoundError:
      return None
    except (OSError, ValueError):
      holder = {}
    return holder if isinstance(holder, dict) else {}

  def _is_stale(self, holder: Mapping[str, Any]) -> bool:
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int):
      return False
    if not _pid_alive(pid):
      return True
    ticks = holder.get("pid_start_ticks")
    now = _process_start_ticks(pid)
    return ticks is not None and now is not None and now != ticks  # the pid was reused

  def acquire(self) -> None:
    if self._held.get(self._key):
      self._held[self._key] += 1
      return
    self.path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(5):
      try:
        fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
      except FileExistsError:
        holder = self._read()
        if holder is None:  # released between our open and read: try again
          continue
        if not holder:
          age = time.time() - self.path.stat().st_mtime
          if age < 60:  # being written by a run that is starting
            raise WorkdirLockedError(f"{self.path.parent} is locked ({self.path} is being "
                                     "written by a starting run)") from None
        elif not self._is_stale(holder):
          raise WorkdirLockedError(
              f"{self.path.parent} is in use by another run ({_describe(holder)}; lock "
              f"{self.path}); wait for it to finish, or use another --workdir") from None
        self._take_over(holder)
        continue
      with os.fdopen(fd, "w") as f:
        json.dump(self._info(), f)
        f.flush()
        os.fsync(f.fileno())
      self._held[self._key] = 1
      return
    raise WorkdirLockedError(f"could not take the lock {self.path}: it keeps changing hands")

  def _take_over(self, stale: Mapping[str, Any]) -> None:
    """Removes a stale lock unless another run replaced it meanwhile. Runs taking over at once
    are serialised by an flock on the directory, and each re-reads the lock under it, so a fresh
    lock is never removed."""
    fd = os.open(self.path.parent, os.O_RDONLY)
    try:
      fcntl.flock(fd, fcntl.LOCK_EX)
      if self._read() != stale:
        return  # taken over (or released) by another run meanwhile: retry the O_EXCL create
      self.path.unlink(missing_ok=True)
    finally:
      os.close(fd)  # releases the flock
    what = (f"a run that is no longer alive ({_describe(stale)})" if stale else
            "a run that died while writing it")
    print(f"taking over the stale lock {self.path} of {what}", file=sys.stderr)

  def release(self) -> None:
    depth = self._held.get(self._key, 0)
    if depth > 1:
      self._held[self._key] = depth - 1
      return
    self._held.pop(self._key, None)
    holder = self._read()
    if holder and holder.get("pid") == os.getpid() and holder.get("host") == socket.gethostname():
      self.path.unlink(missing_ok=True)

  def __enter__(self) -> "WorkdirLock":
    self.acquire()
    return self

  def __exit__(self, *exc: Any) -> None:
    self.release()


# ---------------------------------------------------------------------------------------- config


def flatten(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  """Nested dicts -> {'a.b.c': value}; an empty dict is kept as a value ({})."""
  flat: dict[str, Any] = {}
  for key, value in config.items():
    name = f"{prefix}{key}"
    if isinstance(value, Mapping) and value:
      flat.update(flatten(value, name + "."))
    else:
      flat[name] = value
  return flat


def _is_unset(value: Any) -> bool:
  return value is None or (isinstance(value, (Mapping, list, tuple)) and not value)


def config_differences(saved: Mapping[str, Any], new: Mapping[str, Any], *,
                       may_change: Callable[[str, Any, Any], bool] = lambda *_: False,
                       prefix: str = "config.") -> list[str]:
  """The fields (dotted names) in which `new` differs from `saved`, as 'name: old -> new'.

  Both are JSON-like nested dicts (compare what `config.json` holds with the new config's JSON
  form, so that tuples/lists and ints/floats compare alike). A field present on one side only
  counts as a difference unless its value there is unset (None, or an empty dict/list): a field
  added to the configs since the run started, left at None, changes nothing. `may_change(name,
  old, new)` (name without `prefix`) returns True for a difference that is allowed.
  """
  old_flat, new_flat = flatten(saved), flatten(new)
  missing = object()
  out = []
  for name in sorted(set(old_flat) | set(new_flat)):
    old, cur = old_flat.get(name, missing), new_flat.get(name, missing)
    if old is missing or cur is missing:
      present = cur if old is missing else old
      if _is_unset(present):
        continue
    elif old == cur:
      continue
    if may_change(name, None if old is missing else old, None if cur is missing else cur):
      continue
    show = lambda v: "(absent)" if v is missing else json.dumps(v)
    out.append(f"{prefix}{name}: {show(old)} -> {show(cur)}")
  return out


# ---------------------------------------------------------------------------------------- restart


def archive_previous(workdir: str | os.PathLike[str]) -> pathlib.Path | None:
  """Moves everything in `workdir` (except the lock and earlier archives) into
  `workdir/previous-<UTC time>/` and returns that directory; None if there was nothing to move."""
  workdir = pathlib.Path(workdir)
  entries = [p for p in sorted(workdir.iterdir()) if p.name != LOCK_NAME and
             not p.name.startswith(PREVIOUS_PREFIX)] if workdir.is_dir() else []
  if not entries:
    return None
  stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
  target = workdir / f"{PREVIOUS_PREFIX}{stamp}"
  n = 1
  while target.exists():
    n += 1
    target = workdir / f"{PREVIOUS_PREFIX}{stamp}-{n}"
  target.mkdir()
  for entry in entries:
    shutil.move(str(entry), str(target / entry.name))
  return target


def json_safe(obj: Any) -> Any:
  """`obj` with every NaN/infinite float replaced by its name ('nan', 'inf', '-inf'), the
  convention of metrics.jsonl: strict JSON has no such numbers."""
  if isinstance(obj, float) and not math.isfinite(obj):
    return str(obj)
  if isinstance(obj, Mapping):
    return {k: json_safe(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return [json_safe(v) for v in obj]
  return obj


def write_json_atomic(path: str | os.PathLike[str], obj: Any) -> pathlib.Path:
  """Writes strict JSON (no NaN/Infinity) to `path` through a temporary file and a rename."""
  path = pathlib.Path(path)
  text = json.dumps(obj, indent=1, sort_keys=True, allow_nan=False) + "\n"
  tmp = path.with_name(path.name + ".tmp")
  tmp.write_text(text)
  os.replace(tmp, path)
  return path
