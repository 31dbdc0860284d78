"""Benchmark harness: timing, result rows, ratios against a baseline, table and JSON output.

A benchmark is a module `skipjax/bench/<name>.py` with `run(quick: bool = False) -> list[Row]`.
Each `Row` times one case at one batch size and may name a `baseline` case (at the same batch, in
the same run); the harness turns that into `time_ratio = median / baseline median`, so speed claims
are always relative to a reference timed side by side under the same machine load.

    python -m skipjax.bench NAME [--json PATH [--overwrite]] [--quick]  # NAME: a module, or `all`

`--json PATH` refuses an existing PATH (checked before anything is timed) unless `--overwrite`:
committed benchmark files are replaced only on purpose.

JSON written by `--json` (one object per run; with `all`, rows carry an extra "bench" key):

    {"bench": NAME, "device": {...},
     "rows": [{"case", "batch", "median_ms", "iqr_ms": [q25, q75], "baseline", "time_ratio",
               "fraction_computed", "flops", ...extra}]}
"""

from __future__ import annotations

import dataclasses
import gc
import importlib
import json
import math
import os
import pkgutil
import re
import sys
import time
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import jax
import numpy as np

from skipjax import cli
from skipjax import validation

# Modules of skipjax.bench that are infrastructure, not benchmarks.
_NOT_BENCHMARKS = frozenset({"harness", "__main__"})
_ROW_KEYS = ("case", "batch", "median_ms", "iqr_ms", "baseline", "time_ratio",
             "fraction_computed", "flops")


class Timing(NamedTuple):
  """Wall-clock statistics of repeated calls, in milliseconds (compilation excluded)."""
  median_ms: float
  q25_ms: float
  q75_ms: float
  samples_ms: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class Row:
  """One timed case.

  Attributes:
    case: name of the case, unique per batch size within one benchmark.
    batch: batch size it was timed at.
    timing: `Timing` from `time_fn`.
    baseline: name of the case (same batch, same run) this one is compared to; None for a
      baseline itself.
    fraction_computed: fraction of recurrent steps actually computed (1.0 for a dense LSTM);
      None where it does not apply.
    flops: analytic FLOPs of one timed call (the whole batch); None if not counted.
    extra: further JSON-serialisable fields copied into the row (e.g. settings, accuracy).
  """
  case: str
  batch: int
  timing: Timing
  baseline: str | None = None
  fraction_computed: float | None = None
  flops: float | None = None
  extra: Mapping[str, Any] = dataclasses.field(default_factory=dict)


def _block(tree: Any) -> Any:
  return jax.block_until_ready(tree)


def time_fn(fn: Callable[..., Any], *args: Any, warmup: int = 2, repeats: int = 10) -> Timing:
  """Times `fn(*args)`: `warmup` untimed calls (the first compiles a jitted fn), then `repeats`
  timed calls, each waiting for every output array (`jax.block_until_ready`).

  Pass a jitted function; with warmup >= 1 compilation is never timed.
  Returns: Timing with the median and the 25th/75th percentiles of the per-call milliseconds.
  """
  validation.check_nonneg_int("warmup", warmup)
  validation.check_positive_int("repeats", repeats)
  for _ in range(warmup):
    _block(fn(*args))
  samples = []
  for _ in range(repeats):
    start = time.perf_counter()
    _block(fn(*args))
    samples.append((time.perf_counter() - start) * 1e3)
  return _timing(samples)


def time_interleaved(calls: Mapping[str, tuple[Callable[..., Any], tuple[Any, ...]]], *,
                     warmup: int = 2, repeats: int = 10, rounds: int = 5) -> dict[str, Timing]:
  """Times several `name -> (fn, args)` calls in alternation, for fair ratios on a busy machine:
  `time_per_input` with one input per case and `repeats` rounds (`rounds` only paces the progress
  lines: one per `repeats // rounds` calls). `warmup` untimed calls per case first (the first
  compiles). Returns name -> Timing over all samples.
  """
  validation.check_positive_int("rounds", rounds)
  validation.check_positive_int("repeats", repeats)
  validation.check_nonneg_int("warmup", warmup)
  start = time.perf_counter()
  log(f"  compiling {len(calls)} cases ({', '.join(calls)})")
  for fn, args in calls.values():
    for _ in range(max(warmup - 1, 0)):  # time_per_input makes one more untimed call
      _block(fn(*args))
  every = max(1, repeats // rounds)
  shown = -(-repeats // every)

  def progress(message: str) -> None:
    done = re.match(r"round (\d+)/", message)
    elapsed = time.perf_counter() - start
    if done is None:
      log(f"  compiled in {elapsed:.1f} s; timing {shown} rounds of {every} call(s) per case")
    elif int(done.group(1)) % every == 0 or int(done.group(1)) == repeats:
      log(f"  round {-(-int(done.group(1)) // every)}/{shown} done ({elapsed:.1f} s)")

  samples, _ = time_per_input({name: (fn, [args]) for name, (fn, args) in calls.items()},
                              rounds=repeats, progress=progress)
  return {name: _timing(s[:, 0]) for name, s in samples.items()}


def time_per_input(cases: Mapping[str, tuple[Callable[..., Any], Sequence[tuple]]], *,
                   rounds: int = 5, progress: Callable[[str], None] | None = None
                   ) -> tuple[dict[str, np.ndarray], dict[str, list[Any]]]:
  """Times `fn(*args[i])` for every case and input i, every call interleaved: the one timer of
  skipjax's benchmarks (`time_interleaved` is its one-input form; the trained-model speed-ups of
  experiments/speedup.py time one sequence per input).

  One untimed call per (case, input) compiles and warms up. In each round every input is timed
  once by every case, the case order rotating from one input to the next, so a burst of load
  from other processes hits all cases alike; Python's garbage collector is paused meanwhile.

  Args:
    cases: name -> (fn, per-sequence argument tuples); every case has the same number M of
      inputs. Pass jitted functions: the untimed warm-up call compiles them.
    rounds: timed calls per (case, input).
    progress: called with a short message after warm-up and after each round.
  Returns:
    (samples, outputs): name -> [rounds, M] float64 milliseconds, and name -> the warm-up call's
    output per input.
  """
  if rounds < 1:
    raise ValueError(f"rounds must be >= 1, got {rounds}")
  names = list(cases)
  if not names:
    raise ValueError("no case to time")
  sizes = {name: len(args) for name, (_, args) in cases.items()}
  num = sizes[names[0]]
  if num == 0 or any(size != num for size in sizes.values()):
    raise ValueError(f"every case needs the same number (>= 1) of inputs, got {sizes}")
  t0 = time.perf_counter()
  outputs = {name: [jax.block_until_ready(fn(*a)) for a in args]
             for name, (fn, args) in cases.items()}
  if progress:
    progress(f"compiled and warmed up {len(names)} cases x {num} inputs in "
             f"{time.perf_counter() - t0:.1f} s")
  samples = {name: np.zeros((rounds, num)) for name in names}
  gc_was_enabled = gc.isenabled()
  gc.disable()
  try:
    for r in range(rounds):
      t0 = time.perf_counter()
      for i in range(num):
        shift = (r + i) % len(names)
        for name in names[shift:] + names[:shift]:
          fn, args = cases[name]
          start = time.perf_counter()
          jax.block_until_ready(fn(*args[i]))
          samples[name][r, i] = (time.perf_counter() - start) * 1e3
      if progress:
        progress(f"round {r + 1}/{rounds}: {time.perf_counter() - t0:.1f} s")
  finally:
    if gc_was_enabled:
      gc.enable()
  return samples, outputs


def log(message: str) -> None:
  """What a benchmark is doing, on stderr (the tables go to stdout)."""
  print(message, file=sys.stderr, flush=True)


def _timing(samples: Sequence[float]) -> Timing:
  q25, median, q75 = np.percentile(samples, [25, 50, 75])
  return Timing(median_ms=float(median), q25_ms=float(q25), q75_ms=float(q75),
                samples_ms=tuple(float(s) for s in samples))


def time_ratios(rows: Sequence[Row]) -> list[float | None]:
  """`median / median of the baseline row` for each row (None where `baseline` is None).

  The baseline row is the one whose `case` equals `row.baseline` at the same `batch`; a missing
  or ambiguous baseline is an error in the benchmark, not something to skip silently.
  """
  by_key: dict[tuple[str, int], Row] = {}
  for row in rows:
    key = (row.case, row.batch)
    if key in by_key:
      raise ValueError(f"duplicate row: case {row.case!r} at batch {row.batch}")
    by_key[key] = row
  ratios = []
  for row in rows:
    if row.baseline is None:
      ratios.append(None)
      continue
    base = by_key.get((row.baseline, row.batch))
    if base is None:
      raise ValueError(f"row {row.case!r} (batch {row.batch}) names baseline {row.baseline!r}, "
                       f"but no such case was timed at batch {row.batch}")
    ratios.append(row.timing.median_ms / base.timing.median_ms)
  return ratios


def device_info() -> dict[str, Any]:
  """Where the numbers were taken: platform, device kind, device and CPU count, jax version."""
  dev = jax.devices()[0]
  return {"platform": dev.platform, "device_kind": dev.device_kind,
          "num_devices": jax.device_count(), "cpu_count": os.cpu_count(),
          "jax_version": jax.__version__}


def _json_value(x: Any) -> Any:
  if isinstance(x, (np.generic, jax.Array)):
    x = np.asarray(x).item()
  if isinstance(x, float) and not math.isfinite(x):
    return None
  return x


def row_dicts(rows: Sequence[Row]) -> list[dict[str, Any]]:
  """Rows as JSON-ready dicts (schema in the module docstring), time_ratio filled in."""
  out = []
  for row, ratio in zip(rows, time_ratios(rows)):
    clash = set(row.extra) & set(_ROW_KEYS)
    if clash:
      raise ValueError(f"row {row.case!r}: extra keys {sorted(clash)} clash with the row schema")
    d = {"case": row.case, "batch": int(row.batch), "median_ms": row.timing.median_ms,
         "iqr_ms": [row.timing.q25_ms, row.timing.q75_ms], "baseline": row.baseline,
         "time_ratio": ratio, "fraction_computed": _json_value(row.fraction_computed),
         "flops": _json_value(row.flops)}
    d.update({k: _json_value(v) for k, v in row.extra.items()})
    out.append(d)
  return out


def to_json(name: str, rows: Sequence[Row], device: Mapping[str, Any] | None = None) -> dict:
  """The JSON document of one benchmark run."""
  return {"bench": name, "device": dict(device_info() if device is None else device),
          "rows": row_dicts(rows)}


def _fmt(x: float | None, spec: str) -> str:
  return "-" if x is None else format(x, spec)


def format_table(rows: Sequence[Row]) -> str:
  """A plain-text table: case, batch, median ms, IQR, time_ratio, fraction_computed, flops."""
  header = ("case", "batch", "median_ms", "iqr_ms", "time_ratio", "fraction", "flops")
  lines = [[row.case, str(row.batch), f"{row.timing.median_ms:.3f}",
            f"{row.timing.q25_ms:.3f}-{row.timing.q75_ms:.3f}", _fmt(ratio, ".3f"),
            _fmt(row.fraction_computed, ".3f"), _fmt(row.flops, ".3g")]
           for row, ratio in zip(rows, time_ratios(rows))]
  if any("vs_torch" in row.extra for row in rows):  # e.g. the lstm bench with PyTorch rows
    header += ("vs_torch",)
    for line, row in zip(lines, rows):
      line.append(_fmt(row.extra.get("vs_torch"), ".3f"))
  widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
            for i, h in enumerate(header)]
  fmt = lambda cols: "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(cols, widths)))
  return "\n".join([fmt(header)] + [fmt(line) for line in lines])


def available() -> list[str]:
  """Names of the benchmark modules in skipjax/bench/ (every module except the harness)."""
  import skipjax.bench as package  # pylint: disable=import-outside-toplevel
  return sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                if m.name not in _NOT_BENCHMARKS and not m.name.startswith("_"))


def run_benchmark(name: str, quick: bool = False) -> list[Row]:
  """Imports `skipjax.bench.<name>` and returns its `run(quick)` rows."""
  names = available()
  if name not in names:
    raise ValueError(f"unknown benchmark {name!r}; available: {', '.join(names + ['all'])}")
  module = importlib.import_module(f"skipjax.bench.{name}")
  rows = list(module.run(quick=quick))
  time_ratios(rows)  # fail early on a bad baseline
  return rows


def main(argv: Sequence[str] | None = None) -> int:
  """Command line: `python -m skipjax.bench NAME [--json PATH [--overwrite]] [--quick]`."""
  names = available()
  parser = cli.ArgumentParser(
      prog="python -m skipjax.bench",
      description="Run a skipjax benchmark; prints a table, optionally writes JSON.")
  parser.add_argument("name", help=f"one of: {', '.join(names + ['all'])}")
  parser.add_argument("--json", metavar="PATH",
                      help="write the results as JSON to PATH (which must not exist yet)")
  parser.add_argument("--overwrite", action="store_true",
                      help="with --json: replace PATH if it exists")
  parser.add_argument("--quick", action="store_true",
                      help="tiny sizes and few repeats (a smoke test, not a measurement)")
  args = parser.parse_args(argv)
  if args.name != "all" and args.name not in names:
    parser.error(f"unknown benchmark {args.name!r}; available: {', '.join(names + ['all'])}")
  if args.overwrite and not args.json:
    parser.error("--overwrite needs --json PATH")
  if args.json and os.path.exists(args.json) and not args.overwrite:
    parser.error(f"--json {args.json} exists (a committed benchmark?); pass --overwrite to "
                 "replace it, or write to a new file")

  device = device_info()
  print(f"device: {device}")
  todo = names if args.name == "all" else [args.name]
  dict_rows = []
  for i, name in enumerate(todo, start=1):
    log(f"[{i}/{len(todo)}] {name}: building and timing its cases{' (quick)' * args.quick}")
    rows = run_benchmark(name, quick=args.quick)
    print(f"\n== {name}{' (quick)' if args.quick else ''}")
    print(format_table(rows))
    for d in row_dicts(rows):
      dict_rows.append({**d, "bench": name} if args.name == "all" else d)
    sys.stdout.flush()
  if args.json:
    doc = {"bench": args.name, "device": device, "rows": dict_rows}
    directory = os.path.dirname(os.path.abspath(args.json))
    os.makedirs(directory, exist_ok=True)
    path = args.json
    try:  # 'x': a file that appeared while the benchmarks ran is not replaced either
      f = open(path, "w" if args.overwrite else "x")
    except FileExistsError:
      stem, ext = os.path.splitext(path)
      path = f"{stem}-{time.strftime('%Y%m%dT%H%M%S')}{ext or '.json'}"
      print(f"{args.json} appeared while the benchmarks ran; not replacing it", file=sys.stderr)
      f = open(path, "x")
    with f:
      json.dump(doc, f, indent=1)
    print(f"\nwrote {path}")
    return 0 if path == args.json else 1
  return 0
