"""Training metrics: TensorBoard event files, a JSON-lines log, and progress on stderr.

Named `metrics_log` so that it does not shadow the standard library's `logging`.

The JSON-lines log (`<workdir>/metrics.jsonl`) has one line per logged step holding every metric
logged at that step, keys prefixed by split: `{"step": 100, "time": ..., "train/loss": 0.69,
"dev/accuracy": 0.51}`. `skipjax.plots` draws training curves from it. TensorBoard gets the same
scalars except `*/count` (the number of examples an evaluation averaged over, not a curve), and,
once at the start of a run, the config as text and its scalar fields as hparams (`write_config`).

Progress goes to stderr: tqdm bars on a terminal; plain lines every PLAIN_INTERVAL_S seconds when
stderr is not a terminal (a log file, `nohup`), where bars would be lines of carriage returns.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import pathlib
import sys
import time
from typing import Any, Iterable, Iterator, Mapping, Sequence

import numpy as np

JSONL_NAME = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"
PLAIN_INTERVAL_S = 30.0  # seconds between progress lines when stderr is not a terminal


def stderr_is_terminal() -> bool:
  isatty = getattr(sys.stderr, "isatty", None)
  try:
    return bool(isatty and isatty())
  except ValueError:  # a closed stream
    return False


def flat_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
  """Nested config -> {'net.hidden_dim': 8, ...}: the leaves TensorBoard's hparams can show
  (numbers, strings, booleans; None left out; lists and others as their repr)."""
  flat: dict[str, Any] = {}
  for key, value in config.items():
    name = f"{prefix}{key}"
    if isinstance(value, Mapping):
      flat.update(flat_config(value, name + "."))
    elif value is None:
      continue
    elif isinstance(value, (bool, int, float, str)):
      flat[name] = value
    else:
      flat[name] = repr(value)
  return flat


def _to_float(value: Any) -> float:
  return float(np.asarray(value))


def read_jsonl(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
  """Reads a metrics JSON-lines file; a torn last line (a run killed mid-write) is ignored."""
  records = []
  with open(path, encoding="utf-8") as f:
    lines = f.read().split("\n")
  for i, line in enumerate(lines):
    if not line.strip():
      continue
    try:
      records.append(json.loads(line))
    except ValueError:
      if i < len(lines) - 2:  # only the last line may be torn
        raise ValueError(f"{path}: line {i + 1} is not valid JSON: {line[:80]!r}") from None
  return records


def truncate_jsonl(path: str | os.PathLike[str], max_step: int) -> None:
  """Drops records with step > max_step (a resumed run logs those steps again)."""
  path = pathlib.Path(path)
  if not path.exists():
    return
  kept = [r for r in read_jsonl(path) if r["step"] <= max_step]
  tmp = path.with_suffix(".tmp")
  tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
  os.replace(tmp, path)


def _import_summary_writer() -> Any:
  """Imports tensorboardX.SummaryWriter without letting it import torch.

  tensorboardX's writer module tries `import torch` at import time only to recognise torch
  tensors; with torch installed that costs ~15 s here. We log floats, so torch is hidden from that
  one import (an absent module reads as ImportError, which tensorboardX handles).
  """
  hide_torch = "torch" not in sys.modules
  if hide_torch:
    sys.modules["torch"] = None  # type: ignore[assignment]
  try:
    from tensorboardX import SummaryWriter  # pylint: disable=g-import-not-at-top
  finally:
    if hide_torch:
      del sys.modules["torch"]
  return SummaryWriter


class MetricsWriter:
  """Writes scalar metrics to TensorBoard (tensorboardX) and to `<workdir>/metrics.jsonl`.

  Args:
    workdir: run directory.
    resume_step: when resuming from a checkpoint at this step, records after it (written by the
      interrupted run) are dropped from the JSON log and purged from TensorBoard; 0 for a run
      starting from scratch in a directory that may hold the log of an earlier attempt. None:
      append to whatever is there.
    tensorboard: write TensorBoard event files under `<workdir>/tensorboard/`.
  """

  def __init__(self, workdir: str | os.PathLike[str], *, resume_step: int | None = None,
               tensorboard: bool = True):
    self.workdir = pathlib.Path(workdir)
    self.workdir.mkdir(parents=True, exist_ok=True)
    self.jsonl_path = self.workdir / JSONL_NAME
    if resume_step is not None:
      truncate_jsonl(self.jsonl_path, resume_step)
    self._jsonl = open(self.jsonl_path, "a", encoding="utf-8")
    self._tb = None
    self.new_tensorboard_run = False  # True: write_config belongs in these event files
    if tensorboard:
      summary_writer = _import_summary_writer()
      tb_dir = self.workdir / TENSORBOARD_DIR
      purge = None if resume_step is None or not tb_dir.exists() else resume_step + 1
      # A resumed run's event files have the config already (written at its start).
      self.new_tensorboard_run = not tb_dir.exists() or resume_step == 0
      # The event file is named after the second it was opened: a run resumed within the same
      # second would overwrite the file of the run before it, without the suffix.
      self._tb = summary_writer(logdir=str(self.workdir / TENSORBOARD_DIR), purge_step=purge,
                                filename_suffix=f".{time.time_ns()}")

  def write(self, step: int, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Logs `metrics` (name -> scalar; names like 'train/loss') at `step`; returns the record."""
    record: dict[str, Any] = {"step": int(step), "time": time.time()}
    for name, value in sorted(metrics.items()):
      value = _to_float(value)
      record[name] = value if math.isfinite(value) else str(value)  # JSON has no NaN/Inf
      if self._tb is not None and not name.endswith("/count"):
        self._tb.add_scalar(name, value, global_step=int(step))
    self._jsonl.write(json.dumps(record) + "\n")
    self._jsonl.flush()
    return record

  def write_text(self, tag: str, text: str, step: int = 0) -> None:
    """Records free text (e.g. the config) in TensorBoard."""
    if self._tb is not None:
      self._tb.add_text(tag, text, global_step=step)

  def write_config(self, config: Mapping[str, Any], metrics: Sequence[str] = ()) -> None:
    """Records the run's config in TensorBoard: as JSON text (the Text tab, tag 'config') and
    its leaves as hparams (the HParams tab, one session per run directory) with `metrics`
    (scalar tags such as 'dev/accuracy') as the hparams' metric columns. Call once, at step 0."""
    if self._tb is None:
      return
    from tensorboardX import summary as tb_summary  # pylint: disable=g-import-not-at-top
    text = json.dumps(config, indent=2, sort_keys=True, default=repr)
    # Markdown: four-space indentation keeps the JSON verbatim.
    self._tb.add_text("config", "\n".join("    " + line for line in text.splitlines()),
                      global_step=0)
    experiment, session_start, _ = tb_summary.hparams(flat_config(config),
                                                      {m: 0.0 for m in metrics})
    self._tb.file_writer.add_summary(experiment)
    self._tb.file_writer.add_summary(session_start)
    self._tb.flush()

  def flush(self) -> None:
    self._jsonl.flush()
    if self._tb is not None:
      self._tb.flush()

  def close(self) -> None:
    self._jsonl.close()
    if self._tb is not None:
      self._tb.close()

  def __enter__(self) -> "MetricsWriter":
    return self

  def __exit__(self, *exc: Any) -> None:
    self.close()


class NullMetricsWriter:
  """MetricsWriter's interface, writing nothing: the writer of every process but process 0 in a
  multi-process run (`skipjax.train.multihost`), whose records process 0 writes once."""

  new_tensorboard_run = False

  def write(self, step: int, metrics: Mapping[str, Any]) -> dict[str, Any]:
    return {"step": int(step), **{k: _to_float(v) for k, v in metrics.items()}}

  def write_text(self, tag: str, text: str, step: int = 0) -> None:
    del tag, text, step

  def write_config(self, config: Mapping[str, Any], metrics: Sequence[str] = ()) -> None:
    del config, metrics

  def flush(self) -> None:
    pass

  def close(self) -> None:
    pass


def _duration(seconds: float) -> str:
  seconds = int(round(seconds))
  if seconds < 60:
    return f"{seconds}s"
  if seconds < 3600:
    return f"{seconds // 60}m{seconds % 60:02d}s"
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
  """Progress over training steps (examples/s, ETA, the latest metrics) on stderr: a tqdm bar on
  a terminal, otherwise a plain line every `interval` seconds and one at the end.

  Args:
    total: the last step; initial: the step training starts (or resumes) from.
    enabled: False shows nothing (tests).
    plain: None: plain lines iff stderr is not a terminal; True/False forces it.
  """

  def __init__(self, total: int, initial: int = 0, *, desc: str = "train", enabled: bool = True,
               plain: bool | None = None, interval: float = PLAIN_INTERVAL_S):
    self._enabled = enabled
    self._plain = enabled and (not stderr_is_terminal() if plain is None else plain)
    self._bar = None
    if enabled and not self._plain:
      from tqdm.auto import tqdm  # pylint: disable=g-import-not-at-top
      self._bar = tqdm(total=total, initial=initial, desc=desc, unit="step", dynamic_ncols=True,
                       file=sys.stderr, mininterval=1.0, smoothing=0.1)
    self._desc, self._total, self._initial, self._step = desc, total, initial, initial
    self._interval = interval
    self._examples = 0.0
    self._start = time.perf_counter()
    self._last_line = self._start
    self._postfix: dict[str, str] = {}

  @property
  def examples_per_second(self) -> float:
    elapsed = time.perf_counter() - self._start
    return self._examples / elapsed if elapsed > 0 else 0.0

  def update(self, steps: int = 1, examples: float = 0.0) -> None:
    self._examples += examples
    self._step += steps
    self._postfix["ex/s"] = f"{self.examples_per_second:.0f}"
    if self._bar is not None:
      self._bar.set_postfix(self._postfix, refresh=False)
      self._bar.update(steps)
    elif self._plain and time.perf_counter() - self._last_line >= self._interval:
      self._print_line()

  def _print_line(self, end: bool = False) -> None:
    now = time.perf_counter()
    self._last_line = now
    elapsed = now - self._start
    done = self._step - self._initial
    rate = done / elapsed if elapsed > 0 else 0.0
    parts = [f"{self._desc}: step {self._step:,}/{self._total:,} "
             f"({100 * self._step / max(self._total, 1):.0f}%)", f"{rate:.2f} steps/s"]
    if end:
      parts.append(f"{_duration(elapsed)} elapsed")
    elif rate > 0:
      parts.append(f"ETA {_duration((self._total - self._step) / rate)}")
    parts += [f"{k}={v}" for k, v in self._postfix.items()]
    print(", ".join(parts), file=sys.stderr, flush=True)

  def set_metrics(self, metrics: Mapping[str, Any]) -> None:
    for name, value in metrics.items():
      self._postfix[name] = f"{_to_float(value):.4g}"

  def write(self, message: str) -> None:
    if self._bar is not None:
      self._bar.write(message, file=sys.stderr)
    elif self._enabled:
      print(message, file=sys.stderr, flush=True)

  def close(self) -> None:
    if self._bar is not None:
      self._bar.close()
    elif self._plain and self._step > self._initial:
      self._print_line(end=True)
    self._plain = False


def _plain_progress(iterable: Iterable[Any], desc: str, total: int | None, unit: str,
                    interval: float) -> Iterator[Any]:
  """A line every `interval` seconds (none for a loop that ends sooner)."""
  units = unit + ("es" if unit.endswith(("ch", "sh", "s", "x")) else "s")
  of = f"/{total:,}" if total else ""
  start = last = time.perf_counter()
  for i, item in enumerate(iterable, start=1):
    yield item
    now = time.perf_counter()
    if now - last >= interval:
      last = now
      print(f"{desc}: {i:,}{of} {units} in {_duration(now - start)}", file=sys.stderr,
            flush=True)


def progress(iterable: Iterable[Any], *, desc: str, total: int | None = None,
             unit: str = "batch", enabled: bool = True, plain: bool | None = None,
             interval: float = PLAIN_INTERVAL_S) -> Iterator[Any]:
  """Progress over any long loop (evaluation, data preparation): a tqdm bar (rate and ETA when
  the total is known) on a terminal, else plain lines (as `Progress`)."""
  if total is None and hasattr(iterable, "__len__"):
    total = len(iterable)  # type: ignore[arg-type]
  if not enabled:
    return iter(iterable)
  if not stderr_is_terminal() if plain is None else plain:
    return _plain_progress(iterable, desc, total, unit, interval)
  from tqdm.auto import tqdm  # pylint: disable=g-import-not-at-top
  return iter(tqdm(iterable, desc=desc, total=total, unit=unit, leave=False, dynamic_ncols=True,
                   file=sys.stderr, mininterval=1.0))


def config_dict(config: Any) -> dict[str, Any]:
  """A run's config (a dataclass such as `loop.LoopConfig`, an ml_collections ConfigDict or a
  mapping) as plain JSON-able data, for TensorBoard's text and hparams."""
  if dataclasses.is_dataclass(config) and not isinstance(config, type):
    return dataclasses.asdict(config)
  if hasattr(config, "to_json_best_effort"):  # ml_collections.ConfigDict
    return json.loads(config.to_json_best_effort(sort_keys=True))
  return json.loads(json.dumps(dict(config), default=repr))
