"""Skim-RNN accuracy vs FLOP reduction as the test-time threshold on p_read sweeps 0..1.

The Skim-RNN part of `python -m experiments.tradeoff` (which see for the command). Seo et al.
(2018), Figure 5 / Section 4.1: one trained model, no retraining; a step is read iff
`p_read >= threshold`, so threshold 0 reads every token (the big LSTM alone) and threshold 1
skims every token.

It restores the checkpoint the run's test metrics come from (`experiments.speedup.restore_run`:
summary.json's test_step, i.e. the best dev checkpoint; `--step` picks another), rebuilds the data
and the model from the run's `config.json`, evaluates every threshold on the split with hard
decisions (`build_skim_rnn.make_eval_loss`), and writes `<out>.json` (one row per threshold:
accuracy, token-level skim rate, mean per-sentence skim rate, FLOP reduction against a plain LSTM
of the same size, analytic) and `<out>.png` (`skipjax.plots.plot_tradeoff`), with the plain LSTM
run (`--baseline`, a result record; FLOP reduction 1) and the paper's points as references.

Measured speed-up (`--sequences M`, default 150; 0 skips it): at the run's eval threshold
(`config.net.eval_threshold`, default 0.5; `--time_thresholds` or `--time_all_thresholds` for
more), the batch-1 Skim-LSTM (`skim_rnn.cond_layer`, `lax.switch` between the big and the small
cell, final state only; embedding and head included) is timed on M test sequences one at a time
against a plain LSTM with the big cell's weights, the same embedding and head, reading every token
(protocol and fields in `experiments/speedup.py`; both run on each sequence cropped to its length).
Each timed row gets `speedup_batch1`, the json a `timing` section, and `<out>_speedup.png` plots
accuracy against the measured speed-up (with the paper's CPU speed-up). `--write_result` puts the
speed-up at the run's eval threshold into `experiments/results/<run>.json` as `speedup_batch1`
(time on a quiet machine, pinned to one core: `taskset -c 0 python -m ...`).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from typing import Any, Sequence

from experiments import speedup as speedup_lib

DEFAULT_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(21))
# Seo et al. (2018), Table 1 (d=100, d'=10, gamma=0.01): (LSTM accuracy, Skim-LSTM accuracy,
# FLOP reduction), keyed by dataset.
PAPER = {"rotten_tomatoes": (0.825, 0.825, 2.4), "sst2_glue": (0.864, 0.858, 2.5),
         "sst2_trees": (0.864, 0.858, 2.5)}
# Seo et al. (2018), Table 1 / PAPERS.md: (Skim-LSTM accuracy, CPU speed-up at batch 1, timed
# with single-thread NumPy).
PAPER_SPEEDUP = {"rotten_tomatoes": (0.825, 1.4), "sst2_glue": (0.858, 1.5),
                 "sst2_trees": (0.858, 1.5), "imdb": (0.912, 2.3), "ag_news": (0.935, 1.0)}


def eval_threshold(net: Any) -> float:
  """The threshold the run evaluates with (`config.net.eval_threshold`, default 0.5)."""
  from experiments import build_skim_rnn  # pylint: disable=g-import-not-at-top
  value = net.get("eval_threshold")
  return float(build_skim_rnn.DEFAULT_EVAL_THRESHOLD if value is None else value)


def sweep(workdir: str | pathlib.Path, thresholds: Sequence[float] = DEFAULT_THRESHOLDS, *,
          split: str = "test", step: int | None = None,
          restored: speedup_lib.Restored | None = None) -> dict[str, Any]:
  """Evaluates the run's checkpoint at every threshold; returns the JSON-ready record.
  `restored` (from `speedup_lib.restore_run(workdir, step)`) saves rebuilding the run."""
  # pylint: disable=g-import-not-at-top
  import jax
  from experiments import build_skim_rnn
  from skipjax.train import step as step_lib
  # pylint: enable=g-import-not-at-top

  workdir = pathlib.Path(workdir)
  if restored is None:
    model = json.loads((workdir / "config.json").read_text())["model"]
    if not model.startswith("skim_"):
      raise ValueError(f"{workdir} holds a {model!r} run, not a Skim-RNN one")
    restored = speedup_lib.restore_run(workdir, step)
  config, data, state, step = restored.config, restored.data, restored.state, restored.step
  if not config.model.startswith("skim_"):
    raise ValueError(f"{workdir} holds a {config.model!r} run, not a Skim-RNN one")

  key = jax.random.key(0)  # unused by the hard-decision loss

  @jax.jit
  def eval_step(state, batch, threshold):
    return step_lib.make_eval_step(build_skim_rnn.make_eval_loss(threshold))(state, batch, key)

  rows = []
  batches = speedup_lib.split_batches(data, split)
  for threshold in thresholds:
    t0 = time.perf_counter()
    total = None
    for batch in batches:
      total = step_lib.accumulate_metrics(total, eval_step(state, batch, float(threshold)))
    metrics = step_lib.finalize_metrics(total)
    row = {"threshold": float(threshold), **metrics, **build_skim_rnn.split_summary(metrics)}
    rows.append(row)
    print(f"threshold {threshold:.2f}: accuracy {row['accuracy']:.4f}, skim rate (tokens) "
          f"{row['token_skim_rate']:.3f}, FLOP reduction {row['flop_reduction']:.2f}x "
          f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
  return {"experiment": config.experiment, "model": config.model, "dataset": config.dataset,
          "split": split, "workdir": str(workdir), "checkpoint_step": int(step),
          "eval_threshold": eval_threshold(config.net),
          "net": config.net.to_dict(), "hparams": config.hparams.to_dict(),
          "flops": "analytic (skipjax.skim_rnn.skim_run_flops vs dense_run_flops; embedding "
                   "and head excluded)", "rows": rows}


def plot(record: dict[str, Any], out: str | pathlib.Path,
         baseline: dict[str, Any] | None = None) -> pathlib.Path:
  """Accuracy vs FLOP reduction: the sweep, the plain LSTM (x = 1) and the paper's points."""
  from skipjax import plots  # pylint: disable=g-import-not-at-top
  labelled = {0.0, 0.45, 0.5, 0.55, 0.6, 1.0}
  series = f"{record['model']} threshold sweep ({record['split']})"
  points = [plots.TradeoffPoint(series, f"{r['threshold']:g}" if r["threshold"] in labelled
                                else "", r["flop_reduction"], r["accuracy"])
            for r in record["rows"]]
  if baseline is not None:
    points.append(plots.TradeoffPoint("plain LSTM (ours)", "LSTM (ours)", 1.0,
                                      float(baseline["value"])))
  paper = PAPER.get(record["dataset"])
  if paper is not None:
    points.append(plots.TradeoffPoint("paper (Seo et al. 2018, Table 1)", "LSTM (paper)", 1.0,
                                      paper[0], connect=False))
    points.append(plots.TradeoffPoint("paper (Seo et al. 2018, Table 1)", "Skim-LSTM (paper)",
                                      paper[2], paper[1], connect=False))
  return plots.plot_tradeoff(points, out, xlabel="FLOP reduction vs LSTM (analytic)",
                             ylabel=f"{record['split']} accuracy",
                             title=f"{record['model']} on {record['dataset']}: p_read threshold")


def cond_logits(params: Any, ids: Any, threshold: Any) -> Any:
  """The timed Skim-LSTM at batch 1: embedding, `skim_rnn.cond_layer` (final state only), head,
  on ids [1, L] (one sequence at its exact length). Logits [1, C]."""
  # pylint: disable=g-import-not-at-top
  from skipjax import cells
  from skipjax import layers
  from skipjax import skim_rnn
  # pylint: enable=g-import-not-at-top
  xs = layers.embed(params.embedding, ids[0])
  final = skim_rnn.cond_layer(params.rnn, xs, None, threshold, record=False).final
  h = final.h if isinstance(final, cells.LSTMState) else final
  return layers.dense(params.head, h[None])


def time_thresholds(restored: speedup_lib.Restored, thresholds: Sequence[float], split: str, *,
                    sequences: int, rounds: int, seed: int) -> dict[str, Any]:
  """Times the batch-1 Skim-LSTM at each threshold against the plain LSTM of the big cell's size
  (same embedding and head) on `sequences` sequences of the split (experiments/speedup.py)."""
  # pylint: disable=g-import-not-at-top
  import jax
  import jax.numpy as jnp
  import numpy as np
  from skipjax import cells
  from skipjax import skim_rnn
  # pylint: enable=g-import-not-at-top
  params = restored.state.params
  if params.embedding is None or not isinstance(params.rnn.big, cells.LSTMParams):
    raise ValueError("batch-1 timing needs a Skim-LSTM on token ids (the baseline is a plain "
                     f"LSTM with the big cell's weights); got {restored.config.model} with "
                     f"{'no ' if params.embedding is None else ''}embedding")
  examples = speedup_lib.real_examples(speedup_lib.split_batches(restored.data, split))
  idx = speedup_lib.pick_sequences(examples.lengths, sequences, seed)
  lengths = examples.lengths[idx]
  exact = [jnp.asarray(examples.ids[i][None, :examples.lengths[i]]) for i in idx]
  cases = speedup_lib.baseline_cases(params.embedding, params.rnn.big, params.head, exact)
  timed = jax.jit(cond_logits)
  names = {}
  for threshold in thresholds:
    names[threshold] = f"skim_t{threshold:g}"
    cases[names[threshold]] = (timed, [(params, x, jnp.float32(threshold)) for x in exact])
  log = lambda msg: print(f"timing: {msg}", file=sys.stderr)
  log(f"{len(idx)} sequences (lengths {speedup_lib.length_stats(lengths)}), {rounds} rounds, "
      f"{len(cases)} cases")
  env_before = speedup_lib.environment()
  from skipjax.bench import harness  # pylint: disable=g-import-not-at-top
  samples, outputs = harness.time_per_input(cases, rounds=rounds, progress=log)
  base, baselines, summaries = speedup_lib.summarise(samples, list(names.values()), seed=seed)

  # The masked batched path of the evaluation on the same sequences: predictions and skim rate.
  batch = {"inputs": jnp.asarray(examples.ids[idx]), "lengths": jnp.asarray(lengths)}
  masked = jax.jit(lambda p, b, t: skim_rnn.classifier_infer(p, b, t, path="masked"))
  labels = examples.labels[idx]
  per_threshold = {}
  for threshold, name in names.items():
    preds = np.array([int(np.argmax(o)) for o in outputs[name]])
    ref = masked(params, batch, jnp.float32(threshold))
    per_threshold[threshold] = dict(
        summaries[name], case=name,
        cond_agrees_with_masked=int(np.sum(preds == np.asarray(jnp.argmax(ref["logits"], -1)))),
        timed_accuracy=float(np.mean(preds == labels)),
        timed_token_skim_rate=float(np.asarray(ref["skim_mask"]).sum() / lengths.sum()))
  base_preds = np.array([int(np.argmax(o)) for o in outputs[base]])
  return {"sequences": int(len(idx)), "rounds": rounds, "seed": seed,
          "example_indices": [int(i) for i in idx], "lengths": speedup_lib.length_stats(lengths),
          "baseline": base, "baselines": baselines,
          "baseline_timed_accuracy": float(np.mean(base_preds == labels)),
          "environment": {"before": env_before, "after": speedup_lib.environment()},
          "protocol": "experiments/speedup.py: per-sequence medians over rounds, speedup = "
                      "baseline total / Skim-LSTM total over the sequences",
          "per_threshold": per_threshold}


def plot_speedup(record: dict[str, Any], out: str | pathlib.Path,
                 baseline: dict[str, Any] | None = None) -> pathlib.Path:
  """Accuracy vs MEASURED batch-1 speed-up at the timed thresholds, the plain LSTM at 1x and the
  paper's CPU speed-up."""
  from skipjax import plots  # pylint: disable=g-import-not-at-top
  series = f"{record['model']} (cond, batch 1), by threshold"
  labelled = {0.0, 0.45, 0.5, 0.55, 0.6, 1.0, record.get("eval_threshold")}
  points = [plots.TradeoffPoint(
      series, (f"{r['threshold']:g}" + (" (run)" if r["threshold"] == record.get(
          "eval_threshold") else "")) if r["threshold"] in labelled else "",
      r["speedup_batch1"]["speedup"], r["accuracy"])
            for r in record["rows"] if r.get("speedup_batch1")]
  points += speedup_lib.reference_points(baseline, PAPER_SPEEDUP.get(record["dataset"]),
                                         "paper (Seo et al. 2018, NumPy CPU)",
                                         "Skim-LSTM (paper)")
  return plots.plot_tradeoff(
      points, out, xlabel="measured speed-up vs plain LSTM (CPU, batch 1)",
      ylabel=f"{record['split']} accuracy",
      title=f"{record['model']} on {record['dataset']}: measured speed-up")


def add_flags(parser: argparse.ArgumentParser) -> None:
  """The flags of a Skim-RNN run (all default None: `check_flags` fills them in)."""
  group = parser.add_argument_group("Skim-RNN runs (test-time p_read threshold)")
  group.add_argument("--thresholds", type=float, nargs="+", default=None,
                     help="thresholds to evaluate (default: 0, 0.05, ..., 1)")
  group.add_argument("--time_thresholds", type=float, nargs="+", default=None,
                     help="thresholds to time (default: the run's eval threshold)")
  group.add_argument("--time_all_thresholds", action="store_true", default=None,
                     help="time every threshold of --thresholds (and the eval threshold)")


FLAGS = ("thresholds", "time_thresholds", "time_all_thresholds")


def check_flags(parser: argparse.ArgumentParser, args: argparse.Namespace,
                config: dict[str, Any]) -> None:
  """`parser.error` for thresholds outside [0, 1] or timing flags beside --own_only; fills in
  the default thresholds. `config` is the run's config.json."""
  del config
  if args.thresholds is None:
    args.thresholds = list(DEFAULT_THRESHOLDS)
  if any(not 0.0 <= t <= 1.0 for t in args.thresholds + (args.time_thresholds or [])):
    parser.error(f"--thresholds and --time_thresholds must lie in [0, 1], got "
                 f"{args.thresholds}, {args.time_thresholds}")
  if args.own_only and (args.time_all_thresholds or args.time_thresholds):
    parser.error("--own_only times the run's eval threshold only: drop --time_*thresholds")


def measure(restored: speedup_lib.Restored, args: argparse.Namespace
            ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, Any]]:
  """Sweeps (and with --sequences times) the thresholds. Returns (record, the row of the run's
  eval threshold, that setting) for `experiments.tradeoff`."""
  own = eval_threshold(restored.config.net)
  timed = set(args.thresholds if args.time_all_thresholds else (args.time_thresholds or []))
  timed = sorted(timed | {own}) if args.sequences else []
  thresholds = [own] if args.own_only else sorted(set(args.thresholds) | set(timed))
  record = sweep(args.workdir, thresholds, split=args.split, restored=restored)
  if timed:
    timing = time_thresholds(restored, timed, args.split, sequences=args.sequences,
                             rounds=args.rounds, seed=args.seed)
    per_threshold = timing.pop("per_threshold")
    for row in record["rows"]:
      row["speedup_batch1"] = per_threshold.get(row["threshold"])
      if row["speedup_batch1"] is not None:
        print(f"threshold {row['threshold']:g}: accuracy {row['accuracy']:.4f}, token skim rate "
              f"{row['token_skim_rate']:.3f}, FLOP reduction {row['flop_reduction']:.2f}x, "
              "measured " + speedup_lib.describe(row["speedup_batch1"], timing["baseline"]),
              file=sys.stderr)
    record["timing"] = timing
  row = next(r for r in record["rows"] if r["threshold"] == own)
  return record, row, {"threshold": own}


def make_plots(record: dict[str, Any], out: pathlib.Path, baseline: dict[str, Any] | None
               ) -> list[pathlib.Path]:
  """`<out>.png` (accuracy vs FLOP reduction) and, when timed, `<out>_speedup.png`."""
  paths = [plot(record, f"{out}.png", baseline)]
  if record.get("timing"):
    paths.append(plot_speedup(record, f"{out}_speedup.png", baseline))
  return paths
