"""Training metrics: TensorBoard event files, a JSON-lines log, and tqdm progress bars.

Named `metrics_log` so that it does not shadow the standard library's `logging`.

The JSON-lines log (`<workdir>/metrics.jsonl`) has one line per logged step holding every metric
logged at that step, keys prefixed by split: `{"step": 100, "time": ..., "train/loss": 0.69,
"dev/accuracy": 0.51}`. `skipjax.plots` draws training curves from it.
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import sys
import time
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

JSONL_NAME = "metrics.jsonl"
TENSORBOARD_DIR = "tensorboard"


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
    if tensorboard:
      summary_writer = _import_summary_writer()
      tb_dir = self.workdir / TENSORBOARD_DIR
      purge = None if resume_step is None or not tb_dir.exists() else resume_step + 1
      self._tb = summary_writer(logdir=str(self.workdir / TENSORBOARD_DIR), purge_step=purge)

  def write(self, step: int, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Logs `metrics` (name -> scalar; names like 'train/loss') at `step`; returns the record."""
    record: dict[str, Any] = {"step": int(step), "time": time.time()}
    for name, value in sorted(metrics.items()):
      value = _to_float(value)
      record[name] = value if math.isfinite(value) else str(value)  # JSON has no NaN/Inf
      if self._tb is not None:
        self._tb.add_scalar(name, value, global_step=int(step))
    self._jsonl.write(json.dumps(record) + "\n")
    self._jsonl.flush()
    return record

  def write_text(self, tag: str, text: str, step: int = 0) -> None:
    """Records free text (e.g. the config) in TensorBoard."""
    if self._tb is not None:
      self._tb.add_text(tag, text, global_step=step)

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


class Progress:
  """A tqdm bar over training steps showing examples/s, ETA and the latest metrics.

  Args:
    total: the last step; initial: the step training starts (or resumes) from.
    enabled: False gives a silent bar (tests).
  """

  def __init__(self, total: int, initial: int = 0, *, desc: str = "train", enabled: bool = True):
    from tqdm.auto import tqdm  # pylint: disable=g-import-not-at-top
    self._bar = tqdm(total=total, initial=initial, desc=desc, unit="step", disable=not enabled,
                     dynamic_ncols=True, file=sys.stderr, mininterval=1.0,
                     smoothing=0.1)
    self._examples = 0.0
    self._start = time.perf_counter()
    self._postfix: dict[str, str] = {}

  @property
  def examples_per_second(self) -> float:
    elapsed = time.perf_counter() - self._start
    return self._examples / elapsed if elapsed > 0 else 0.0

  def update(self, steps: int = 1, examples: float = 0.0) -> None:
    self._examples += examples
    self._postfix["ex/s"] = f"{self.examples_per_second:.0f}"
    self._bar.set_postfix(self._postfix, refresh=False)
    self._bar.update(steps)

  def set_metrics(self, metrics: Mapping[str, Any]) -> None:
    for name, value in metrics.items():
      self._postfix[name] = f"{_to_float(value):.4g}"

  def write(self, message: str) -> None:
    self._bar.write(message, file=sys.stderr)

  def close(self) -> None:
    self._bar.close()


def progress(iterable: Iterable[Any], *, desc: str, total: int | None = None,
             unit: str = "batch", enabled: bool = True) -> Iterator[Any]:
  """tqdm over any long loop (evaluation, data preparation); rate and ETA when total is known."""
  from tqdm.auto import tqdm  # pylint: disable=g-import-not-at-top
  if total is None and hasattr(iterable, "__len__"):
    total = len(iterable)  # type: ignore[arg-type]
  return iter(tqdm(iterable, desc=desc, total=total, unit=unit, leave=False, disable=not enabled,
                   dynamic_ncols=True, file=sys.stderr, mininterval=1.0))
