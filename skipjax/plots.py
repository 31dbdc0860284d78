"""Plots to PNG (matplotlib, Agg backend): training curves and accuracy-vs-speed trade-offs.

    python -m skipjax.plots curves RUN_DIR [RUN_DIR ...] --out curves.png [--metrics a b ...]
    python -m skipjax.plots tradeoff [--results experiments/results] [--bench bench.json ...]
                                     --out tradeoff.png [--x speedup|fraction_computed]

- Training curves come from each run's `metrics.jsonl` (`skipjax.train.metrics_log`): one panel
  per metric, one line per run.
- Trade-off curves plot accuracy against speed: from result records (`skipjax.results`), one
  point per run with x = its measured batch-1 speed-up (or the fraction of steps computed), one
  series per dataset; and from benchmark JSON (`python -m skipjax.bench NAME --json`), rows that
  carry an accuracy (e.g. a Skim-RNN threshold sweep), x = 1 / time_ratio against their baseline,
  one series per benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import sys
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

from skipjax.train import metrics_log

DEFAULT_CURVE_METRICS = ("train/loss", "dev/loss", "dev/accuracy")
# A model whose `loss` adds other terms (REINFORCE, budget, baseline) logs its task loss under one
# of these names; a `*/loss` panel comparing several runs draws that instead, so that every line
# on the axis is the same quantity.
TASK_LOSS_NAMES = ("cross_entropy", "nll", "task_loss")
# (y-axis label) by the last part of a metric's name.
Y_LABELS = {"loss": "loss (nats per example)", "cross_entropy": "cross-entropy (nats)",
            "nll": "cross-entropy (nats)", "task_loss": "task loss per example",
            "accuracy": "accuracy (fraction)", "f1": "entity F1 (fraction)",
            "fraction_computed": "fraction of steps computed", "perplexity": "perplexity",
            "mse": "mean squared error", "grad_norm": "gradient norm (L2)"}


def y_label(metric: str) -> str:
  """The y-axis label of a logged metric ('dev/accuracy' -> 'accuracy (fraction)')."""
  return Y_LABELS.get(metric.rsplit("/", 1)[-1], metric.rsplit("/", 1)[-1].replace("_", " "))


def comparable_metric(log: Sequence[Mapping[str, Any]], metric: str, task_loss: bool) -> str:
  """The metric to draw for one run in `metric`'s panel: with task_loss, a `split/loss` panel
  takes the run's `split/cross_entropy` (or nll, task_loss) where it logs one."""
  split, _, name = metric.rpartition("/")
  if not task_loss or name != "loss":
    return metric
  logged = {k for record in log for k in record}
  for candidate in TASK_LOSS_NAMES:
    if f"{split}/{candidate}" in logged:
      return f"{split}/{candidate}"
  return metric


def _pyplot():
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top
  return plt


def _run_label(path: pathlib.Path) -> str:
  return path.parent.name if path.name == metrics_log.JSONL_NAME else path.stem


def _jsonl_path(run: str | os.PathLike[str]) -> pathlib.Path:
  path = pathlib.Path(run)
  if path.is_dir():
    path = path / metrics_log.JSONL_NAME
  if not path.is_file():
    raise FileNotFoundError(f"no metrics log at {path} (expected a run directory holding "
                            f"{metrics_log.JSONL_NAME}, or the file itself)")
  return path


def curve_series(records: Iterable[Mapping[str, Any]], metric: str
                 ) -> tuple[list[int], list[float]]:
  """(steps, values) of `metric` over the records that have it (non-finite values dropped)."""
  steps, values = [], []
  for record in records:
    value = record.get(metric)
    if isinstance(value, (int, float)) and math.isfinite(value):
      steps.append(int(record["step"]))
      values.append(float(value))
  return steps, values


def plot_training_curves(runs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str], *,
                         metrics: Sequence[str] | None = None,
                         labels: Sequence[str] | None = None) -> pathlib.Path:
  """Draws one panel per metric (step on x), one line per run, and saves a PNG.

  Args:
    runs: run directories (or metrics.jsonl files).
    out: PNG path (parents created).
    metrics: metric names as logged ('train/loss', 'dev/accuracy', ...). Default: those of
      DEFAULT_CURVE_METRICS present in any run, else every metric logged. With several runs, a
      `*/loss` panel draws each run's task loss (`comparable_metric`) where the run logs one,
      so that a REINFORCE total loss never shares an axis with a plain cross-entropy.
    labels: legend label per run (default: the run directory's name).
  Returns: the PNG path.
  """
  paths = [_jsonl_path(r) for r in runs]
  if not paths:
    raise ValueError("runs must name at least one run directory")
  labels = list(labels) if labels is not None else [_run_label(p) for p in paths]
  if len(labels) != len(paths):
    raise ValueError(f"labels has {len(labels)} entries for {len(paths)} runs")
  logs = [metrics_log.read_jsonl(p) for p in paths]
  present = sorted({k for log in logs for r in log for k in r if k not in ("step", "time")})
  if metrics is None:
    metrics = [m for m in DEFAULT_CURVE_METRICS if m in present] or present
  missing = [m for m in metrics if m not in present]
  if missing:
    raise ValueError(f"metrics {missing} were never logged; logged: {present}")
  if not metrics:
    raise ValueError(f"no metrics logged in {[str(p) for p in paths]}")

  plt = _pyplot()
  fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.4), squeeze=False)
  for ax, metric in zip(axes[0], metrics):
    drawn = [comparable_metric(log, metric, task_loss=len(logs) > 1) for log in logs]
    for log, label, name in zip(logs, labels, drawn):
      steps, values = curve_series(log, name)
      if steps:
        ax.plot(steps, values, marker="o" if len(steps) <= 30 else None, markersize=3,
                label=label)
    if set(drawn) == {metric}:
      ax.set_title(metric)
      ax.set_ylabel(y_label(metric))
    else:  # several runs' task losses in place of their total losses
      split = metric.rpartition("/")[0]
      if any(name.endswith("/task_loss") for name in drawn):  # a regression's MSE, or a loss
        ax.set_title(f"{split}: task loss (no budget term)")  # without its budget term
        ax.set_ylabel("task loss per example")
      else:
        ax.set_title(f"{split}: task loss (cross-entropy)")
        ax.set_ylabel("cross-entropy (nats per example)")
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    if len(paths) > 1 or metric == metrics[0]:
      ax.legend(fontsize=8)
  fig.tight_layout()
  return _save(fig, out, plt)


class TradeoffPoint(NamedTuple):
  series: str     # one legend entry per series (dataset, or benchmark)
  label: str      # annotation beside the point (model, case)
  x: float        # speed-up (or fraction computed)
  y: float        # accuracy
  connect: bool = True  # draw a line through the series' points (False: different models)


def points_from_results(results: Iterable[Mapping[str, Any]], *, x: str = "speedup"
                        ) -> list[TradeoffPoint]:
  """One point per result record with a value and the chosen x ('speedup': speedup_batch1,
  'fraction_computed'); series = dataset, label = model."""
  key = {"speedup": "speedup_batch1", "fraction_computed": "fraction_computed"}[x]
  points = []
  for r in results:
    if r.get("value") is not None and r.get(key) is not None:
      points.append(TradeoffPoint(f"{r['dataset']} ({r['metric']})", r["model"], float(r[key]),
                                  float(r["value"]), connect=False))  # models, not a sweep
  return points


def points_from_bench(bench: Mapping[str, Any], *, y: str = "accuracy", x: str = "speedup"
                      ) -> list[TradeoffPoint]:
  """Points from a benchmark JSON object: rows that carry `y` (e.g. 'accuracy').

  x = 'speedup' (1 / time_ratio; a baseline row, time_ratio null, counts as 1) or
  'fraction_computed'. Series = the benchmark name and batch size; label = the case.
  """
  points = []
  for row in bench.get("rows", []):
    if row.get(y) is None:
      continue
    if x == "speedup":
      ratio = row.get("time_ratio")
      xv = 1.0 if ratio is None else 1.0 / float(ratio)
    else:
      if row.get("fraction_computed") is None:
        continue
      xv = float(row["fraction_computed"])
    series = f"{row.get('bench', bench.get('bench', 'bench'))} (batch {row.get('batch')})"
    points.append(TradeoffPoint(series, str(row.get("case")), xv, float(row[y])))
  return points


# (dx, dy, horizontal alignment) tried in turn for a label, in points from its point, until its
# box lies inside the axes and overlaps no label placed before.
_LABEL_OFFSETS = ((4, 4, "left"), (4, -11, "left"), (-4, 4, "right"), (-4, -11, "right"),
                  (4, 15, "left"), (-4, 15, "right"), (4, -22, "left"), (-4, -22, "right"))


def _annotate_apart(ax: Any, labels: Sequence[tuple[str, float, float, Any]]) -> list[Any]:
  """Annotates each (text, x, y, colour) beside its point in its series' colour, moving a label
  to the next offset of `_LABEL_OFFSETS` while its box would leave the axes or overlap one
  already placed; a text already shown at the same spot is not written twice."""
  fig = ax.figure
  fig.canvas.draw()  # final limits and layout, so that data -> pixel positions hold
  renderer = fig.canvas.get_renderer()
  frame = ax.get_window_extent(renderer)
  placed, boxes, seen = [], [], set()
  for text, x, y, colour in sorted(labels, key=lambda t: (-t[2], t[1])):
    if not text:
      continue
    px, py = ax.transData.transform((x, y))
    if (text, round(px), round(py)) in seen:
      continue
    seen.add((text, round(px), round(py)))
    for attempt, (dx, dy, align) in enumerate(_LABEL_OFFSETS + (_LABEL_OFFSETS[0],)):
      note = ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=7,
                         ha=align, color=colour)
      box = note.get_window_extent(renderer)
      inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0
                and box.y1 <= frame.y1)
      if attempt == len(_LABEL_OFFSETS) or (
          inside and not any(box.overlaps(other) for other in boxes)):
        break  # the last attempt (every offset failed) keeps the first offset
      note.remove()
    placed.append(note)
    boxes.append(box.expanded(1.05, 1.15))
  return placed


def plot_tradeoff(points: Sequence[TradeoffPoint], out: str | os.PathLike[str], *,
                  xlabel: str = "speed-up vs LSTM (batch 1)", ylabel: str = "accuracy",
                  title: str = "accuracy vs speed") -> pathlib.Path:
  """Scatter + line per series (sorted by x), each point annotated with its label; saves a PNG."""
  if not points:
    raise ValueError("no points to plot: no result/bench entry has both an accuracy and a speed "
                     "measurement")
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(8.6, 4.2))
  colours = {}
  for series in sorted({p.series for p in points}):
    pts = sorted((p for p in points if p.series == series), key=lambda p: p.x)
    connect = all(p.connect for p in pts)
    (line,) = ax.plot([p.x for p in pts], [p.y for p in pts], marker="o", label=series,
                      ls="-" if connect else "none")
    colours[series] = line.get_color()
  if "speed" in xlabel:
    ax.axvline(1.0, color="grey", lw=0.8, ls="--")
  ax.margins(x=0.15)  # room for the labels of the outermost points
  ax.autoscale_view()
  ax.set_xlabel(xlabel)
  ax.set_ylabel(ylabel)
  ax.set_title(title)
  ax.grid(alpha=0.3)
  # Beside the axes, so that it never covers a point or a label.
  ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
  fig.tight_layout()
  _annotate_apart(ax, [(p.label, p.x, p.y, colours[p.series]) for p in points])  # final layout
  return _save(fig, out, plt)


def _save(fig: Any, out: str | os.PathLike[str], plt: Any) -> pathlib.Path:
  out = pathlib.Path(out)
  out.parent.mkdir(parents=True, exist_ok=True)
  fig.savefig(out, dpi=120)
  plt.close(fig)
  return out


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m skipjax.plots", description=__doc__.split(
      "\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
  sub = parser.add_subparsers(dest="command", required=True)
  curves = sub.add_parser("curves", help="training curves from run directories' metrics.jsonl")
  curves.add_argument("runs", nargs="+", help="run directories (or metrics.jsonl files)")
  curves.add_argument("--out", required=True, help="PNG path")
  curves.add_argument("--metrics", nargs="+", default=None, help="e.g. train/loss dev/accuracy")
  curves.add_argument("--labels", nargs="+", default=None)
  trade = sub.add_parser("tradeoff", help="accuracy vs speed from results and/or bench JSON")
  trade.add_argument("--results", default=None, help="directory of result JSON records")
  trade.add_argument("--bench", nargs="*", default=[], help="benchmark JSON files")
  trade.add_argument("--out", required=True, help="PNG path")
  trade.add_argument("--x", choices=("speedup", "fraction_computed"), default="speedup")
  trade.add_argument("--y", default="accuracy", help="bench row field to plot (default accuracy)")
  args = parser.parse_args(argv)

  if args.command == "curves":
    path = plot_training_curves(args.runs, args.out, metrics=args.metrics, labels=args.labels)
  else:
    from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
    points: list[TradeoffPoint] = []
    if args.results:
      points += points_from_results(results_lib.load_results(args.results), x=args.x)
    for bench_path in args.bench:
      points += points_from_bench(json.loads(pathlib.Path(bench_path).read_text()), y=args.y,
                                  x=args.x)
    xlabel = ("speed-up vs LSTM (batch 1)" if args.x == "speedup"
              else "fraction of steps computed")
    path = plot_tradeoff(points, args.out, xlabel=xlabel, ylabel=args.y)
  print(path)
  return 0


if __name__ == "__main__":
  sys.exit(main())
