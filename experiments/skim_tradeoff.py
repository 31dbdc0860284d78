"""Skim-RNN accuracy vs FLOP reduction as the test-time threshold on p_read sweeps 0..1.

Seo et al. (2018), Figure 5 / Section 4.1: one trained model, no retraining; a step is read iff
`p_read >= threshold`, so threshold 0 reads every token (the big LSTM alone) and threshold 1
skims every token. From a finished (or stopped) `experiments.run` work directory:

    python -m experiments.skim_tradeoff --workdir experiments/workdirs/skim_lstm_rotten_tomatoes \
        [--baseline experiments/results/lstm_rotten_tomatoes.json] [--split test] [--step N] \
        [--out experiments/plots/skim_lstm_rotten_tomatoes_tradeoff]

It restores the best dev checkpoint (`summary.json`'s best_step; `--step` picks another), rebuilds
the data and the model from the run's `config.json`, evaluates every threshold on the split with
hard decisions (`build_skim_rnn.make_eval_loss`), and writes `<out>.json` (one row per threshold:
accuracy, token-level skim rate, mean per-sentence skim rate, FLOP reduction against a plain LSTM
of the same size, analytic) and `<out>.png` (`skipjax.plots.plot_tradeoff`), with the plain LSTM
run (`--baseline`, a result record; FLOP reduction 1) and the paper's points as references.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from typing import Any, Sequence

DEFAULT_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(21))
# Seo et al. (2018), Table 1 (d=100, d'=10, gamma=0.01): (LSTM accuracy, Skim-LSTM accuracy,
# FLOP reduction), keyed by dataset.
PAPER = {"rotten_tomatoes": (0.825, 0.825, 2.4), "sst2_glue": (0.864, 0.858, 2.5),
         "sst2_trees": (0.864, 0.858, 2.5)}


def _batches(data: Any, split: str) -> list[dict[str, Any]]:
  batches = {"dev": data.dev, "test": data.test}[split]
  if batches is None:
    raise ValueError(f"the run's dataset has no {split} split")
  return batches


def sweep(workdir: str | pathlib.Path, thresholds: Sequence[float] = DEFAULT_THRESHOLDS, *,
          split: str = "test", step: int | None = None) -> dict[str, Any]:
  """Evaluates the run's checkpoint at every threshold; returns the JSON-ready record."""
  # pylint: disable=g-import-not-at-top
  import jax
  import ml_collections
  from experiments import build_skim_rnn
  from experiments import registry
  from skipjax.train import checkpoint as checkpoint_lib
  from skipjax.train import optim
  from skipjax.train import step as step_lib
  # pylint: enable=g-import-not-at-top

  workdir = pathlib.Path(workdir)
  config = ml_collections.ConfigDict(json.loads((workdir / "config.json").read_text()))
  if not config.model.startswith("skim_"):
    raise ValueError(f"{workdir} holds a {config.model!r} run, not a Skim-RNN one")
  if step is None:
    summary = json.loads((workdir / "summary.json").read_text())
    step = summary["best_step"] if summary["best_step"] is not None else summary["steps"]

  # As experiments.run builds them: the same key split, data and optimiser state template.
  init_key, _ = jax.random.split(jax.random.key(config.seed))
  data = registry.DATASETS[config.dataset](config.data, config.seed)
  model = registry.MODELS[config.model](init_key, config.net, data.spec)
  opt_kwargs = config.optimizer.to_dict()
  if opt_kwargs.get("schedule", "constant") != "constant":
    opt_kwargs.setdefault("total_steps", config.num_steps)
  template = step_lib.init_train_state(model.params, optim.make_optimizer(**opt_kwargs),
                                       model.model_state, hparams=config.hparams.to_dict())
  manager = checkpoint_lib.CheckpointManager(
      workdir / "checkpoints", keep=config.keep_checkpoints, best_metric=config.best_metric,
      best_mode=config.best_mode)
  try:
    state = manager.restore_step(step, template).state
  finally:
    manager.close()

  key = jax.random.key(0)  # unused by the hard-decision loss

  @jax.jit
  def eval_step(state, batch, threshold):
    return step_lib.make_eval_step(build_skim_rnn.make_eval_loss(threshold))(state, batch, key)

  rows = []
  batches = _batches(data, split)
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
    points.append(plots.TradeoffPoint("plain LSTM (ours)", baseline["model"], 1.0,
                                      float(baseline["value"])))
  paper = PAPER.get(record["dataset"])
  if paper is not None:
    points.append(plots.TradeoffPoint("paper (Seo et al. 2018, Table 1)", "LSTM", 1.0, paper[0]))
    points.append(plots.TradeoffPoint("paper (Seo et al. 2018, Table 1)", "Skim-LSTM", paper[2],
                                      paper[1]))
  return plots.plot_tradeoff(points, out, xlabel="FLOP reduction vs LSTM (analytic)",
                             ylabel=f"{record['split']} accuracy",
                             title=f"{record['model']} on {record['dataset']}: p_read threshold")


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m experiments.skim_tradeoff",
                                   description=__doc__.split("\n")[0])
  parser.add_argument("--workdir", required=True, help="experiments.run work directory")
  parser.add_argument("--baseline", default=None,
                      help="result record of the plain LSTM (default: experiments/results/"
                           "lstm_<dataset>.json if present)")
  parser.add_argument("--split", choices=("dev", "test"), default="test")
  parser.add_argument("--step", type=int, default=None, help="checkpoint step (default: best)")
  parser.add_argument("--thresholds", type=float, nargs="+", default=list(DEFAULT_THRESHOLDS))
  parser.add_argument("--out", default=None, help="path without suffix (default: "
                      "experiments/plots/<run>_tradeoff)")
  args = parser.parse_args(argv)
  if any(not 0.0 <= t <= 1.0 for t in args.thresholds):
    parser.error(f"--thresholds must lie in [0, 1], got {args.thresholds}")

  record = sweep(args.workdir, args.thresholds, split=args.split, step=args.step)
  baseline_path = args.baseline or f"experiments/results/lstm_{record['dataset']}.json"
  baseline = None
  if pathlib.Path(baseline_path).is_file():
    baseline = json.loads(pathlib.Path(baseline_path).read_text())
    record["baseline"] = {"result": baseline_path, "model": baseline["model"],
                          "accuracy": baseline["value"], "flop_reduction": 1.0}
  elif args.baseline:
    parser.error(f"--baseline {args.baseline} does not exist")
  out = pathlib.Path(args.out or f"experiments/plots/{pathlib.Path(args.workdir).name}_tradeoff")
  out.parent.mkdir(parents=True, exist_ok=True)
  out.with_suffix(".json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
  png = plot(record, out.with_suffix(".png"), baseline)
  print(f"{out.with_suffix('.json')}\n{png}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
