"""Reproduce the papers' tables: a resumable queue of training runs, one row at a time.

    python -m experiments.reproduce [--only PREFIX ...] [--list | --dry_run]
                                    [--root experiments/workdirs/reproduce]
                                    [--results_dir experiments/results] [--cpus 0-1]
                                    [--threads N] [--max_rows N] [--retry_failed]
                                    [--stop_after SECONDS] [--platform cpu|gpu]

    make reproduce                    # the same, every row

The rows are the seed tables of the four papers (`experiments.queue.ROWS`): each names a config
and its overrides, e.g. `skip_rnn/table1/skip_lstm_lam1e-5`. `--only skip_rnn/table1` (a prefix of
row ids, repeatable) selects some. Each row trains with `python -m experiments.run` in a child
process in its own workdir `<root>/<row id>`, using every core of the machine unless `--cpus`
pins it (`taskset`) and `--threads` limits XLA's intra-op threads.

The queue never loses work:
- a finished row (its workdir holds `result.json`) is skipped; so is a row whose published record
  in `--results_dir` (`reproduce_row` naming the row) was trained at the row's current config,
  e.g. on another machine whose workdirs are gone: `--list` shows it as done (published, with its
  commit). A record whose config differs from the row's now (a changed config or override) does
  not count: the row is trained again and `--list` names the fields that changed.
  `--ignore_published` trains such rows anyway;
- an unfinished row resumes from its latest checkpoint (`experiments.run` resumes bit for bit);
- `kill -9` of this process at any moment kills its child too (PR_SET_PDEATHSIG); running the
  same command again continues where it stopped;
- `--stop_after SECONDS` (a session or a lease that ends at a known time) and SIGTERM or Ctrl-C
  stop the queue cleanly: the running row is told to stop (`experiments.run --stop_after` /
  SIGTERM), checkpoints the step in flight and exits 8; the queue says where it stopped, starts
  no other row and exits 8. The same command continues;
- a row that fails (non-zero exit: a NaN loss, a config that no longer matches its workdir, a
  crash) is reported with its exit code and last log line, written to `<root>/<row>/FAILED`, and
  the queue goes on with the next row. Failed rows are retried only with `--retry_failed`.

After every finished row its record, with the git commit it ran at, is copied into
`--results_dir` (an existing record of the same name is replaced only by one trained for at least
as many steps; otherwise the queue says why it was not published), and experiments/RESULTS.md is
regenerated.

A sweep row (`Row.sweep`) trains a study (`experiments.run --sweep`, every setting in one
program) in its workdir; it is done when every setting has its record or failed, and each
setting's record is published as `<name>.<label>.json`.

A row with a speed-up tool (Skim-LSTM, LSTM-Jump: `Row.speedup`) then has its own test-time
setting timed at batch 1 against a plain LSTM of the same weights (`experiments.tradeoff
--own_only --write_result`), so that the record carries `speedup_batch1` before the
checkpoint can be lost; a failed measurement is reported (`<root>/<row>/SPEEDUP_FAILED`) and
retried on the next run of the queue only with `--retry_failed`. Time it on a quiet core.

`--platform gpu` (or cpu) runs every row on that JAX platform (`JAX_PLATFORMS`; checked before
any row starts) in workdirs of their own, `<root>/<platform>/<row id>`, and publishes its records
as `<name>_<platform>.json`: a GPU figure is a row of its own in RESULTS.md, never mixed into the
CPU row's checkpoints. `experiments/gpu/run_long_rows.sh` drives it on a GPU machine.

While a row runs, a status table (rows done / running / left) is printed every `--status_every`
seconds, with an ETA from the measured steps per second: the running row's own rate (read from
its metrics.jsonl), and for rows not started the rate measured on earlier runs of the same row
(kept in `<root>/rates.json`) or the row's estimate in `experiments.queue`.
"""

from __future__ import annotations

import ctypes
import dataclasses
import datetime
import json
import os
import pathlib
import shlex
import signal
import subprocess
import sys
import time
from typing import Sequence

from experiments import exit_codes
from experiments import queue as queue_lib
from experiments.run import git_commit
from skipjax import cli

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
RESULT_NAME = "result.json"
FAILED_NAME = "FAILED"
SPEEDUP_FAILED_NAME = "SPEEDUP_FAILED"
RATES_NAME = "rates.json"
# How long an interrupted queue waits for its row to checkpoint and exit before killing it (a
# step, or an evaluation in flight, must end first).
CHILD_STOP_SECONDS = 300


# --platform: the JAX_PLATFORMS value of each.
PLATFORMS = {"cpu": "cpu", "gpu": "cuda"}


def check_platform(platform: str) -> str:
  """The device JAX finds for `platform` in a child process (e.g. 'gpu NVIDIA H100 80GB HBM3');
  a platform it cannot start is one FATAL line."""
  env = dict(os.environ, JAX_PLATFORMS=PLATFORMS[platform])
  code = "import jax; d = jax.devices()[0]; print(d.platform, d.device_kind)"
  proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                        timeout=600, check=False)
  if proc.returncode:
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    cli.fatal(f"reproduce: --platform {platform}: JAX cannot use it here "
              f"(JAX_PLATFORMS={PLATFORMS[platform]}): {lines[-1] if lines else 'no message'}")
  return proc.stdout.strip()


class Terminated(Exception):
  """This process got SIGTERM (raised by its handler, so that the running row is stopped)."""


# ----------------------------------------------------------------------------------------------
# Row state on disk.


@dataclasses.dataclass
class RowStatus:
  row: queue_lib.Row
  workdir: pathlib.Path
  state: str                 # 'done', 'failed', 'partial' (has checkpoints), 'todo'
  num_steps: int
  step: int                  # last logged step (0 if none)
  detail: str = ""


def last_logged_step(workdir: pathlib.Path) -> tuple[int, float | None]:
  """(last step in metrics.jsonl, measured seconds per step over its last records or None)."""
  path = workdir / "metrics.jsonl"
  if not path.exists():
    return 0, None
  from skipjax.train import metrics_log  # pylint: disable=g-import-not-at-top
  try:
    records = [r for r in metrics_log.read_jsonl(path) if "time" in r and "step" in r]
  except ValueError:
    return 0, None
  if not records:
    return 0, None
  # The rate over the latest stretch of one process: consecutive records with rising steps
  # and no gap longer than 10 minutes (a restart).
  tail = [records[-1]]
  for r in reversed(records[:-1]):
    if r["step"] >= tail[-1]["step"] or tail[-1]["time"] - r["time"] > 600:
      break
    tail.append(r)
    if len(tail) >= 50:
      break
  rate = None
  if len(tail) >= 2 and tail[0]["step"] > tail[-1]["step"]:
    rate = (tail[0]["time"] - tail[-1]["time"]) / (tail[0]["step"] - tail[-1]["step"])
  return int(records[-1]["step"]), rate


def result_path(row: queue_lib.Row, workdir: pathlib.Path) -> pathlib.Path | None:
  """The record a finished run left in its workdir, or None. For a sweep row: the study's
  summary.json once every setting has its record or failed (`sweep_records`)."""
  if row.sweep:
    path = workdir / "summary.json"
    return path if path.is_file() and sweep_records(row, workdir) is not None else None
  for path in (workdir / RESULT_NAME, workdir / f"{row.name}.json"):
    if path.is_file():
      return path
  return None


def sweep_records(row: queue_lib.Row, workdir: pathlib.Path
                  ) -> dict[str, pathlib.Path | None] | None:
  """label -> the setting's record (None: the setting failed) of a finished sweep row, or None
  while the study is unfinished."""
  summary_path = workdir / "summary.json"
  if not summary_path.is_file():
    return None
  summary = json.loads(summary_path.read_text())
  labels = row.sweep_labels()
  if summary.get("settings") != labels or not (summary.get("steps", 0) >= row.num_steps() or
                                               summary.get("all_stopped")):
    return None
  failed = summary.get("failed") or {}
  out = {}
  for name in labels:
    path = workdir / "settings" / name / RESULT_NAME
    if path.is_file():
      out[name] = path
    elif name in failed:
      out[name] = None
    else:
      return None
  return out


def _logged_step(row: queue_lib.Row, workdir: pathlib.Path) -> tuple[int, float | None]:
  """last_logged_step of a run, or of a study's furthest setting."""
  if not row.sweep:
    return last_logged_step(workdir)
  steps = [last_logged_step(d) for d in sorted((workdir / "settings").glob("*"))]
  return max(steps, default=(0, None), key=lambda sr: sr[0])


# Config fields that say how a run is shown or kept, not what it trains: a published record
# that differs from the row's config only in these still counts as the row's.
_DISPLAY_FIELDS = frozenset({"progress", "tensorboard", "paper", "paper_value", "speedup_batch1",
                             "checkpoint_every", "keep_checkpoints", "log_every", "experiment"})


def _is_off(value) -> bool:
  """A field that a record lacks (added to the configs after it ran) counts as unchanged when
  the row's value is off: the run trained as the record's did."""
  return value is None or value is False or value == "auto"


def _flatten(tree: dict, prefix: str = "") -> dict:
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      out.update(_flatten(value, f"{prefix}{key}."))
    else:
      out[prefix + key] = json.loads(json.dumps(value))  # tuples and lists alike
  return out


def config_changes(record_config: dict, row_config: dict,
                   ignore: Sequence[str] = ()) -> dict[str, tuple]:
  """field -> (the record's value, the row's) for every field in which a published record's
  config differs from the row's config now (`_DISPLAY_FIELDS` and `ignore` left out; '<absent>'
  for a field one side lacks)."""
  old, new = _flatten(record_config), _flatten(row_config)
  changes = {}
  for key in sorted(set(old) | set(new)):
    if key in ignore or key in _DISPLAY_FIELDS:
      continue
    if key not in old and _is_off(new[key]):
      continue
    before, after = old.get(key, "<absent>"), new.get(key, "<absent>")
    if before != after:
      changes[key] = (before, after)
  return changes


def published_state(row: queue_lib.Row, results_dir: pathlib.Path) -> tuple[bool, str]:
  """(True, 'published at <commit>') when results_dir holds the row's records (every setting's,
  for a sweep row; `reproduce_row` naming the row, or absent in a record from before the queue)
  trained at the row's current config; else (False, why not, or '' when the row
  has no record there)."""
  names = ([f"{row.name}.{label}" for label in row.sweep_labels()] if row.sweep
           else [row.name])
  config = row.load_config().to_dict()
  ignore = [spec.split("=", 1)[0] for spec in row.sweep]  # a setting's own values
  commits = set()
  for name in names:
    path = results_dir / f"{name}.json"
    if not path.is_file():
      return False, ""
    try:
      record = json.loads(path.read_text())
    except ValueError:
      return False, f"published record {path.name} unreadable"
    # A record from before the queue (no reproduce_row) counts when its config is the row's.
    if record.get("reproduce_row", row.id) != row.id:
      return False, ""
    changes = config_changes(record.get("config") or {}, config, ignore)
    if changes:
      shown = ", ".join(f"{k} {a!r} -> {b!r}" for k, (a, b) in list(changes.items())[:3])
      more = f" (+{len(changes) - 3} more)" if len(changes) > 3 else ""
      return False, f"published record is stale: {shown}{more}"
    commits.add(str(record.get("git_commit") or "?")[:8])
  return True, f"published at {', '.join(sorted(commits))}"


def row_status(row: queue_lib.Row, root: pathlib.Path,
               results_dir: pathlib.Path | None = None) -> RowStatus:
  """The row's state from its workdir under root, and, for a row with nothing there, from its
  published records in results_dir (None: the workdir alone)."""
  workdir = root / row.id
  num_steps = row.num_steps()
  if result_path(row, workdir) is not None:
    return RowStatus(row, workdir, "done", num_steps, num_steps)
  step, _ = _logged_step(row, workdir)
  if (workdir / FAILED_NAME).exists():
    return RowStatus(row, workdir, "failed", num_steps, step,
                     (workdir / FAILED_NAME).read_text().strip().splitlines()[0])
  detail = ""
  if results_dir is not None and not step:
    published, detail = published_state(row, results_dir)
    if published:
      return RowStatus(row, workdir, "done", num_steps, num_steps, detail)
  return RowStatus(row, workdir, "partial" if step else "todo", num_steps, step, detail)


def load_rates(root: pathlib.Path) -> dict[str, float]:
  path = root / RATES_NAME
  if not path.exists():
    return {}
  try:
    return {k: float(v) for k, v in json.loads(path.read_text()).items()}
  except (ValueError, AttributeError):
    return {}


def save_rate(root: pathlib.Path, row_id: str, sec_per_step: float) -> None:
  rates = load_rates(root)
  rates[row_id] = sec_per_step
  root.mkdir(parents=True, exist_ok=True)
  tmp = root / (RATES_NAME + ".tmp")
  tmp.write_text(json.dumps(rates, indent=1, sort_keys=True) + "\n")
  os.replace(tmp, root / RATES_NAME)


def seconds_left(status: RowStatus, rates: dict[str, float],
                 live_rate: float | None = None) -> float:
  rate = live_rate or rates.get(status.row.id) or status.row.sec_per_step
  if status.state == "done":
    return 0.0
  return max(status.num_steps - status.step, 0) * rate + status.row.overhead_s


def _fmt_duration(seconds: float) -> str:
  if seconds < 60:
    return f"{seconds:.0f} s"
  if seconds < 3600:
    return f"{seconds / 60:.0f} min"
  return f"{seconds / 3600:.1f} h"


def status_table(statuses: Sequence[RowStatus], rates: dict[str, float], *,
                 running: str | None = None, live_rate: float | None = None) -> str:
  """A plain-text table of the queue: one line per row, then the totals and the ETA."""
  lines = []
  width = max([len(s.row.id) for s in statuses] + [3])
  total_left = 0.0
  counts = {"done": 0, "running": 0, "failed": 0, "left": 0}
  for s in statuses:
    is_running = s.row.id == running
    left = seconds_left(s, rates, live_rate if is_running else None)
    total_left += left if s.state != "failed" else 0.0
    state = "running" if is_running else s.state
    counts["done" if state == "done" else "running" if is_running else
           "failed" if state == "failed" else "left"] += 1
    progress = f"{s.step:>7,}/{s.num_steps:<7,}"
    eta = "" if state == "done" else f"~{_fmt_duration(left)} left"
    detail = f"  {s.detail}" if s.detail else ""
    lines.append(f"  {s.row.id:<{width}}  {state:<8} {progress} {eta}{detail}")
  head = (f"reproduce: {counts['done']} done, {counts['running']} running, {counts['left']} left"
          f", {counts['failed']} failed; estimated {_fmt_duration(total_left)} of training left")
  return "\n".join([head] + lines)


# ----------------------------------------------------------------------------------------------
# Running one row.


def _die_with_parent() -> None:  # runs in the child between fork and exec
  try:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
  except OSError:
    pass
  os.setpgrp()  # its own process group: a Ctrl-C of the queue is forwarded explicitly


def parse_cpu_list(cpus: str) -> set[int]:
  """The CPUs of a taskset list such as '1', '0-1' or '0,2-3'; ValueError names a bad one."""
  out = set()
  for part in cpus.split(","):
    lo, sep, hi = part.strip().partition("-")
    if not lo.isdigit() or (sep and not hi.isdigit()) or (sep and int(hi) < int(lo)):
      raise ValueError(f"--cpus {cpus!r}: {part!r} is not a CPU or a range of CPUs (a taskset "
                       f"list such as 1, 0-1 or 0,2-3)")
    out.update(range(int(lo), int(hi if sep else lo) + 1))
  return out


def check_cpus(cpus: str, allowed: set[int]) -> None:
  """ValueError unless the CPU list `cpus` lies within `allowed` (this process's affinity): rows
  pinned elsewhere would share a core that another job was given (`taskset -c 0 ... --cpus 1`
  runs the rows on CPU 1, not on one CPU of 0)."""
  wanted = parse_cpu_list(cpus)
  outside = sorted(wanted - set(allowed))
  if outside:
    raise ValueError(f"--cpus {cpus!r} names CPU(s) {outside} outside this process's CPUs "
                     f"{sorted(allowed)}; --cpus is a CPU list, not a count")


def row_command(row: queue_lib.Row, workdir: pathlib.Path, *, cpus: str | None,
                python: str = sys.executable, stop_after: float | None = None) -> list[str]:
  cmd = [python, "-m", "experiments.run", "--config", row.config,
         "--workdir", _relative(workdir), "--noplot",
         f"--run_name={row.name}", *row.overrides, *(f"--sweep={v}" for v in row.sweep)]
  if stop_after is not None:
    cmd.append(f"--stop_after={max(stop_after, 0.0):.0f}")
  if cpus:
    cmd = ["taskset", "-c", cpus, *cmd]
  return cmd


def _relative(path: pathlib.Path) -> str:
  try:
    return str(path.resolve().relative_to(REPO))
  except ValueError:
    return str(path)


def run_row(status: RowStatus, root: pathlib.Path, statuses: Sequence[RowStatus], *,
            cpus: str | None, threads: int | None, status_every: float,
            stop_after: float | None = None, log=print) -> int:
  """Trains one row in a child process; returns its exit status. `stop_after`: the child
  stops cleanly (exit 8) after this many seconds. If this process is interrupted (Ctrl-C,
  SIGTERM), the child is sent SIGTERM and given up to CHILD_STOP_SECONDS to checkpoint."""
  row, workdir = status.row, status.workdir
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / FAILED_NAME).unlink(missing_ok=True)
  env = dict(os.environ)
  if threads:
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                        f"intra_op_parallelism_threads={threads}").strip()
  cmd = row_command(row, workdir, cpus=cpus, stop_after=stop_after)
  log(f"[{_now()}] row {row.id}: {shlex.join(cmd[cmd.index('-m') - 1:])}")
  log_path = workdir / "train.log"
  with open(log_path, "ab") as log_file:
    log_file.write(f"\n===== {_now()} reproduce {row.id} at {git_commit()}\n".encode())
    log_file.flush()
    child = subprocess.Popen(cmd, cwd=str(REPO), env=env, stdout=log_file,
                             stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    try:
      last_print = time.monotonic()
      while True:
        try:
          rc = child.wait(timeout=5.0)
          break
        except subprocess.TimeoutExpired:
          pass
        if time.monotonic() - last_print >= status_every:
          last_print = time.monotonic()
          step, rate = _logged_step(row, workdir)
          current = dataclasses.replace(status, step=step, state="partial", detail="")
          table = [current if s.row.id == row.id else s for s in statuses]
          log(status_table(table, load_rates(root), running=row.id, live_rate=rate))
    except BaseException:
      child.send_signal(signal.SIGTERM)  # it checkpoints the step in flight and exits 8
      try:
        child.wait(timeout=CHILD_STOP_SECONDS)
      except subprocess.TimeoutExpired:
        child.kill()
      raise
  _, rate = _logged_step(row, workdir)
  if rate:
    save_rate(root, row.id, rate)
  return rc


_EXIT_NAMES = {getattr(exit_codes, n): n.lower().replace("_", " ") for n in dir(exit_codes)
               if n.isupper() and isinstance(getattr(exit_codes, n), int)}


def _now() -> str:
  return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _last_line(path: pathlib.Path) -> str:
  try:
    lines = [l for l in path.read_text(errors="replace").splitlines() if l.strip()]
  except OSError:
    return ""
  for line in reversed(lines):
    if "FATAL" in line or "Error" in line:
      return line.strip()[:300]
  return lines[-1].strip()[:300] if lines else ""


def publish(status: RowStatus, results_dir: pathlib.Path, commit: str, log=print) -> bool:
  """Copies the row's record into results_dir (`skipjax.results.publish_result`); True if the
  record there is now the row's. A published record trained for more steps is kept (the queue
  says so); a shorter or equal one is replaced, with the message naming what it held."""
  if status.row.sweep:
    records = sweep_records(status.row, status.workdir) or {}
    done = [publish_record(status.row, path, results_dir, f"{status.row.name}.{name}", commit,
                           log) for name, path in records.items() if path is not None]
    for name in (n for n, p in records.items() if p is None):
      log(f"row {status.row.id}: setting {name} failed (non-finite); no record")
    return bool(done) and all(done)
  return publish_record(status.row, result_path(status.row, status.workdir), results_dir,
                        status.row.name, commit, log)


def publish_record(row: queue_lib.Row, source: pathlib.Path, results_dir: pathlib.Path,
                   name: str, commit: str, log=print) -> bool:
  """publish's rule for one record: `results_dir/<name>.json`."""
  from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
  record = results_lib.read_record(source)
  record.setdefault("git_commit", commit)
  record["reproduce_row"] = row.id
  paper = row.paper_value(name[len(row.name) + 1:]) if name != row.name else None
  if paper is not None:  # this setting is another row of the paper's table
    record["paper_value"] = paper
  existing_path = results_dir / f"{name}.json"
  if existing_path.exists():
    try:
      existing = results_lib.read_record(existing_path)
    except ValueError:
      existing = {}
    if (existing.get("train_steps") or 0) > (record.get("train_steps") or 0):
      log(f"row {row.id}: not published: {existing_path} holds a record trained for "
          f"{existing['train_steps']} steps, this one {record.get('train_steps')}")
      return False
  published = results_lib.publish_result(record, results_dir, name, replace=True,
                                         source=source)
  log(f"row {row.id}: {published.message}")
  return True


def needs_publish(status: RowStatus, results_dir: pathlib.Path) -> bool:
  """A finished row with a record of its own that results_dir does not hold yet."""
  if status.state != "done" or result_path(status.row, status.workdir) is None:
    return False
  if status.row.sweep:
    records = sweep_records(status.row, status.workdir) or {}
    names = [f"{status.row.name}.{label}" for label, path in records.items() if path is not None]
  else:
    names = [status.row.name]
  return any(not (results_dir / f"{name}.json").is_file() for name in names)


def needs_speedup(status: RowStatus, results_dir: pathlib.Path, *, retry_failed: bool) -> bool:
  """A finished row with a speed-up tool whose published record has no `speedup_batch1` yet (and
  whose measurement has not failed before, unless retry_failed)."""
  if (not status.row.speedup or status.state != "done"
      or result_path(status.row, status.workdir) is None):  # published from elsewhere
    return False
  if (status.workdir / SPEEDUP_FAILED_NAME).exists() and not retry_failed:
    return False
  path = results_dir / f"{status.row.name}.json"
  if not path.is_file():
    return False
  record = json.loads(path.read_text())
  own = json.loads(result_path(status.row, status.workdir).read_text())
  return (record.get("speedup_batch1") is None and record.get("reproduce_row") == status.row.id
          and record.get("train_steps") == own.get("train_steps"))


def speedup_command(row: queue_lib.Row, workdir: pathlib.Path, results_dir: pathlib.Path, *,
                    cpus: str | None, python: str = sys.executable) -> list[str]:
  cmd = [python, "-m", "experiments.tradeoff", "--workdir", _relative(workdir),
         "--own_only", "--noplot", "--write_result", "--results_dir", str(results_dir),
         "--out", _relative(workdir / "speedup"), *row.speedup_args]
  if cpus:
    cmd = ["taskset", "-c", cpus, *cmd]
  return cmd


def measure_speedup(status: RowStatus, results_dir: pathlib.Path, *, cpus: str | None,
                    threads: int | None, log=print) -> int:
  """Times the finished row's own test-time setting at batch 1 against a plain LSTM of the same
  weights (`experiments.speedup`) and writes `speedup_batch1` into its published record, while
  its checkpoint is at hand. A failure is logged and written to <workdir>/SPEEDUP_FAILED; the
  row's result stands without a speed-up."""
  row, workdir = status.row, status.workdir
  (workdir / SPEEDUP_FAILED_NAME).unlink(missing_ok=True)
  env = dict(os.environ)
  if threads:
    env["XLA_FLAGS"] = (env.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false "
                        f"intra_op_parallelism_threads={threads}").strip()
  cmd = speedup_command(row, workdir, results_dir, cpus=cpus)
  log(f"[{_now()}] row {row.id}: batch-1 speed-up: {shlex.join(cmd[cmd.index('-m') - 1:])}")
  log_path = workdir / "speedup.log"
  with open(log_path, "ab") as log_file:
    rc = subprocess.run(cmd, cwd=str(REPO), env=env, stdout=log_file, stderr=subprocess.STDOUT,
                        preexec_fn=_die_with_parent, check=False).returncode
  if rc != 0:
    reason = _last_line(log_path)
    (workdir / SPEEDUP_FAILED_NAME).write_text(f"exit {rc} at {_now()}: {reason}\n")
    log(f"row {row.id}: speed-up measurement FAILED (exit {rc}): {reason}; the result stands "
        "without it")
  else:  # the log is appended to: an earlier attempt's error may stand above this one's result
    lines = [l for l in log_path.read_text(errors="replace").splitlines() if l.strip()]
    log(f"row {row.id}: {lines[-1].strip()[:300] if lines else 'measured'}")
  return rc


def regenerate_results(results_dir: pathlib.Path) -> None:
  from experiments import make_results  # pylint: disable=g-import-not-at-top
  # RESULTS.md beside the records (experiments/RESULTS.md for the default experiments/results),
  # never the checkout's own when the records live elsewhere (a user's queue, the tests).
  make_results.main(["--results_dir", str(results_dir),
                     "--out", str(results_dir.parent / "RESULTS.md")])


# ----------------------------------------------------------------------------------------------


def load_queue(path: str | None) -> tuple[queue_lib.Row, ...]:
  """`experiments.queue.ROWS`, or the ROWS of a Python file (a user's own queue, tests)."""
  if path is None:
    return queue_lib.ROWS
  import importlib.util  # pylint: disable=g-import-not-at-top
  file = pathlib.Path(path)
  if not file.is_file():
    cli.fatal(f"reproduce: --queue {path}: no such file")
  spec = importlib.util.spec_from_file_location("_reproduce_queue", file)
  module = importlib.util.module_from_spec(spec)
  try:
    spec.loader.exec_module(module)
  except Exception as e:  # pylint: disable=broad-except
    cli.fatal(f"reproduce: --queue {path} does not load: {type(e).__name__}: {e}")
  if not hasattr(module, "ROWS"):
    cli.fatal(f"reproduce: --queue {path} defines no ROWS")
  return tuple(module.ROWS)


def select_rows(all_rows: Sequence[queue_lib.Row],
                only: Sequence[str] | None) -> list[queue_lib.Row]:
  rows = list(all_rows)
  if not only:
    return rows
  chosen = [r for r in rows if any(r.id == p or r.id.startswith(p.rstrip("/") + "/")
                                   for p in only)]
  unknown = [p for p in only if not any(r.id == p or r.id.startswith(p.rstrip("/") + "/")
                                        for r in rows)]
  if unknown:
    tables = sorted({"/".join(r.id.split("/")[:2]) for r in rows})
    close = cli.closest(unknown[0], tables + [r.id for r in rows])
    hint = f"did you mean {close}? " if close else ""
    cli.fatal(f"reproduce: --only {unknown[0]!r} matches no row; {hint}tables: "
              f"{', '.join(tables)} (see --list)")
  return chosen


def main(argv: Sequence[str] | None = None) -> int:
  parser = cli.ArgumentParser(prog="python -m experiments.reproduce",
                              description=__doc__.split("\n")[0])
  parser.add_argument("--only", action="append", help="row id or table prefix (repeatable)")
  parser.add_argument("--queue", default=None,
                      help="a Python file defining ROWS (default: experiments.queue)")
  parser.add_argument("--list", action="store_true", help="print the rows and their state")
  parser.add_argument("--dry_run", action="store_true",
                      help="print the plan, its commands and estimated hours; run nothing")
  parser.add_argument("--root", default=str(HERE / "workdirs" / "reproduce"),
                      help="the rows' workdirs live under ROOT/<row id>")
  parser.add_argument("--results_dir", default=str(HERE / "results"),
                      help="where finished rows' records are published")
  parser.add_argument("--cpus", default=None,
                      help="taskset CPU list for the rows, not a count (e.g. 1: the second "
                      "core; 0-1: two cores); it must lie within this process's own CPUs")
  parser.add_argument("--threads", type=int, default=None,
                      help="XLA intra-op threads per row (default: XLA's, all cores)")
  parser.add_argument("--max_rows", type=int, default=None,
                      help="stop after training this many rows")
  parser.add_argument("--retry_failed", action="store_true", help="run failed rows again")
  parser.add_argument("--ignore_published", action="store_true",
                      help="train rows whose current record is already in --results_dir "
                      "(by default they count as done)")
  parser.add_argument("--stop_after", type=float, default=None,
                      help="stop cleanly after this many seconds: the running row checkpoints "
                      "and exits, no other row starts, exit 8; the same command continues")
  parser.add_argument("--platform", choices=sorted(PLATFORMS), default=None,
                      help="run the rows on this JAX platform, in <root>/<platform>/, publishing "
                      "<name>_<platform>.json (default: JAX's choice, no suffix)")
  parser.add_argument("--status_every", type=float, default=300.0,
                      help="seconds between status tables while a row runs")
  args = parser.parse_args(argv)
  if args.cpus is not None:
    try:
      check_cpus(args.cpus, os.sched_getaffinity(0))
    except ValueError as e:
      cli.fatal(f"reproduce: {e}")

  root = pathlib.Path(args.root).resolve()
  results_dir = pathlib.Path(args.results_dir).resolve()
  all_rows = load_queue(args.queue)
  try:
    queue_lib.check_rows(all_rows)
  except ValueError as e:
    cli.fatal(f"reproduce: {e}")
  if args.platform:
    root = root / args.platform
    all_rows = [dataclasses.replace(r, name=f"{r.name}_{args.platform}") for r in all_rows]
  rows = select_rows(all_rows, args.only)
  published_dir = None if args.ignore_published else results_dir

  def status_of(row):
    return row_status(row, root, published_dir)

  statuses = [status_of(r) for r in rows]
  rates = load_rates(root)
  if args.list or args.dry_run:
    print(status_table(statuses, rates))
    if args.dry_run:
      print("\ncommands (in order):")
      for s in statuses:
        if s.state == "done" or (s.state == "failed" and not args.retry_failed):
          continue
        cmd = row_command(s.row, s.workdir, cpus=args.cpus)
        print("  " + shlex.join(cmd[cmd.index("-m") - 1:]))
    return 0

  if args.stop_after is not None and not args.stop_after >= 0:
    cli.fatal(f"reproduce: --stop_after={args.stop_after}: must be >= 0 seconds")
  if args.platform:
    print(f"reproduce: --platform {args.platform}: {check_platform(args.platform)}", flush=True)
    os.environ["JAX_PLATFORMS"] = PLATFORMS[args.platform]  # every row's child inherits it
  deadline = None if args.stop_after is None else time.monotonic() + args.stop_after

  def on_sigterm(signum, frame):
    del signum, frame
    raise Terminated()

  previous = signal.signal(signal.SIGTERM, on_sigterm)
  try:
    return _run_queue(args, rows, statuses, status_of, root, results_dir, deadline)
  except (KeyboardInterrupt, Terminated) as e:
    what = "SIGTERM" if isinstance(e, Terminated) else "Ctrl-C"
    print(f"reproduce: stopped by {what}; the running row was told to checkpoint (its "
          "train.log says where it stopped); the same command continues", flush=True)
    return exit_codes.INTERRUPTED
  finally:
    signal.signal(signal.SIGTERM, previous)


def _run_queue(args, rows, statuses, status_of, root, results_dir, deadline) -> int:
  """main's loop over the rows."""
  commit = git_commit()
  print(f"reproduce at {commit}: {len(rows)} rows under {root}", flush=True)
  trained, failed, no_speedup, stopped = 0, [], [], False
  for i, status in enumerate(statuses):
    status = status_of(status.row)  # a row may have finished meanwhile
    statuses[i] = status
    if status.state == "done":
      if needs_publish(status, results_dir):  # e.g. a results_dir that lacks its records
        publish(status, results_dir, commit, log=lambda m: print(m, flush=True))
        regenerate_results(results_dir)
      if needs_speedup(status, results_dir, retry_failed=args.retry_failed):
        if measure_speedup(status, results_dir, cpus=args.cpus, threads=args.threads,
                           log=lambda m: print(m, flush=True)):
          no_speedup.append(status.row.id)
        regenerate_results(results_dir)
      continue
    if status.state == "failed" and not args.retry_failed:
      continue
    if args.max_rows is not None and trained >= args.max_rows:
      break
    left = None if deadline is None else deadline - time.monotonic()
    if left is not None and left <= 0:
      print(f"reproduce: --stop_after {args.stop_after:g} s spent; {status.row.id} and the rows "
            "after it not started", flush=True)
      stopped = True
      break
    print(status_table(statuses, load_rates(root), running=status.row.id), flush=True)
    rc = run_row(status, root, statuses, cpus=args.cpus, threads=args.threads,
                 status_every=args.status_every, stop_after=left,
                 log=lambda m: print(m, flush=True))
    trained += 1
    statuses[i] = status_of(status.row)
    if rc == exit_codes.INTERRUPTED:
      where = _last_line(status.workdir / "train.log")
      print(f"row {status.row.id} stopped before its end: {where}; the same command continues "
            "it", flush=True)
      stopped = True
      break
    if rc == 0 and statuses[i].state == "done":
      publish(statuses[i], results_dir, commit, log=lambda m: print(m, flush=True))
      if needs_speedup(statuses[i], results_dir, retry_failed=True):
        if measure_speedup(statuses[i], results_dir, cpus=args.cpus, threads=args.threads,
                           log=lambda m: print(m, flush=True)):
          no_speedup.append(status.row.id)
      regenerate_results(results_dir)
    else:
      reason = _last_line(status.workdir / "train.log")
      reason = f"{_EXIT_NAMES.get(rc, 'error')}: {reason}"
      (status.workdir / FAILED_NAME).write_text(
          f"exit {rc} at {_now()}: {reason}\ncommit {commit}\n")
      statuses[i] = status_of(status.row)
      failed.append(status.row.id)
      print(f"row {status.row.id} FAILED (exit {rc}): {reason}; going on", flush=True)
  print(status_table(statuses, load_rates(root)), flush=True)
  if failed:
    print(f"reproduce: {len(failed)} row(s) failed: {', '.join(failed)} (see their train.log; "
          "--retry_failed runs them again)", flush=True)
  if no_speedup:
    print(f"reproduce: the speed-up measurement failed for {', '.join(no_speedup)} (see their "
          "speedup.log; --retry_failed measures again)", flush=True)
  if failed or no_speedup:
    return 1
  return exit_codes.INTERRUPTED if stopped else 0


if __name__ == "__main__":
  sys.exit(main())
