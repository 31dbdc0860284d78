"""Accuracy against cost at test time, for one trained skipping run: LSTM-Jump or Skim-RNN.

One trained model, no retraining: the tool evaluates the run's checkpoint over the settings that
trade accuracy for work at test time, and times them at batch 1 against a plain LSTM of the same
weights (protocol in `experiments/speedup.py`). From a finished `experiments.run` work directory:

    python -m experiments.tradeoff --workdir experiments/workdirs/lstm_jump_rotten_tomatoes \
        [--read_sizes 1 3 6 12] [--num_jumps 5 8 10] [--unroll U]           # LSTM-Jump runs
    python -m experiments.tradeoff --workdir experiments/workdirs/skim_lstm_rotten_tomatoes \
        [--thresholds 0 0.5 1] [--time_thresholds 0.5 | --time_all_thresholds]  # Skim-RNN runs

    common: [--baseline experiments/results/lstm_<dataset>.json] [--split test] [--step S]
            [--out PATH] [--sequences 150] [--rounds 20] [--seed 0] [--own_only]
            [--write_result] [--results_dir experiments/results] [--noplot]

The run's `config.json` says which family it is:

- LSTM-Jump (`experiments/jump_tradeoff.py`): R (tokens read per chunk) and N (largest number of
  jumps) over a grid (default: the run's R in {R/2, R, 2R, 4R} x N in {N, N + 3, 2N}); greedy
  jumps through the run's own evaluation loss; the while_loop reader timed per (R, N); the same
  weights reading every token as a reference. Writes `<out>.json` and `<out>.png` (accuracy vs
  measured speed-up), `<out>` defaulting to `experiments/plots/<run>_jump_tradeoff`.
- Skim-RNN (`experiments/skim_tradeoff.py`): the p_read threshold over 0, 0.05, ..., 1 (Seo et
  al. 2018, Figure 5) with hard decisions: accuracy, skim rate and analytic FLOP reduction; the
  batch-1 `skim_rnn.cond_layer` timed at the run's eval threshold (or more). Writes `<out>.json`,
  `<out>.png` (accuracy vs FLOP reduction) and, when timed, `<out>_speedup.png`, `<out>`
  defaulting to `experiments/plots/<run>_tradeoff`.

`--write_result` puts the speed-up of the run's own test-time setting into
`experiments/results/<run>.json` as `speedup_batch1` (time it on a quiet machine, pinned to one
core: `taskset -c 0 python -m experiments.tradeoff ...`); `--own_only` evaluates and times that
setting alone (what `experiments.reproduce` runs after a row with a speed-up trains).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import pathlib
import shlex
import sys
from typing import Any, Callable, Sequence

from experiments import jump_tradeoff
from experiments import skim_tradeoff
from experiments import speedup as speedup_lib


@dataclasses.dataclass(frozen=True)
class Family:
  """A model family's part of the tool: which runs it takes, its flags, its measurement."""
  name: str  # in messages: "an lstm_jump run"
  model_ok: Callable[[str], bool]  # config.json's model -> whether it is this family's
  plot_name: str  # the default <out>'s suffix
  flags: tuple[str, ...]  # the argparse dests of its own flags (None unless given)
  add_flags: Callable[[argparse.ArgumentParser], None]
  check_flags: Callable[[argparse.ArgumentParser, argparse.Namespace, dict[str, Any]], None]
  # (restored run, args) -> (record, the row of the run's own setting, that setting)
  measure: Callable[[speedup_lib.Restored, argparse.Namespace],
                    tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]
  make_plots: Callable[[dict[str, Any], pathlib.Path, dict[str, Any] | None],
                       list[pathlib.Path]]
  baseline_extra: tuple[tuple[str, Any], ...] = ()  # more fields of record["baseline"]


FAMILIES = (
    Family("an lstm_jump run", lambda model: model == "lstm_jump", "jump_tradeoff",
           jump_tradeoff.FLAGS, jump_tradeoff.add_flags, jump_tradeoff.check_flags,
           jump_tradeoff.measure, jump_tradeoff.make_plots),
    Family("a Skim-RNN run", lambda model: model.startswith("skim_"), "tradeoff",
           skim_tradeoff.FLAGS, skim_tradeoff.add_flags, skim_tradeoff.check_flags,
           skim_tradeoff.measure, skim_tradeoff.make_plots, (("flop_reduction", 1.0),)),
)


def family_of(model: str) -> Family | None:
  """The family whose runs include `model` (config.json's "model"), else None."""
  return next((f for f in FAMILIES if f.model_ok(model)), None)


def build_parser() -> argparse.ArgumentParser:
  parser = argparse.ArgumentParser(prog="python -m experiments.tradeoff",
                                   description=__doc__.split("\n", 1)[0])
  speedup_lib.add_common_flags(parser)
  for family in FAMILIES:
    family.add_flags(parser)
  return parser


def main(argv: Sequence[str] | None = None) -> int:
  parser = build_parser()
  args = parser.parse_args(argv)
  config = speedup_lib.check_common_flags(
      parser, args, model_ok=lambda model: family_of(model) is not None,
      family=" or ".join(f.name.rsplit(" ", 1)[0] for f in FAMILIES))
  family = family_of(config["model"])
  for other in FAMILIES:
    given = [f"--{flag}" for flag in other.flags if getattr(args, flag) is not None]
    if other is not family and given:
      parser.error(f"{' '.join(given)}: only for {other.name.split(' ', 1)[1]}s; "
                   f"{args.workdir} holds a {config['model']!r} run")
  family.check_flags(parser, args, config)

  restored = speedup_lib.restore_run(args.workdir, args.step)
  record, own_row, setting = family.measure(restored, args)
  record["command"] = "python -m experiments.tradeoff " + " ".join(
      shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
  if restored.summary and args.split == "test" and args.step is None:
    record["run_reported"] = restored.summary.get("test")  # the run's own eval, for comparison
  baseline_path = args.baseline or speedup_lib.find_baseline(record["dataset"], args.results_dir)
  baseline = None
  if baseline_path is not None:
    baseline = json.loads(pathlib.Path(baseline_path).read_text())
    record["baseline"] = {"result": str(baseline_path), "model": baseline["model"],
                          "accuracy": baseline["value"], **dict(family.baseline_extra)}
  out = pathlib.Path(args.out or
                     f"experiments/plots/{pathlib.Path(args.workdir).name}_{family.plot_name}")
  out.parent.mkdir(parents=True, exist_ok=True)
  json_path = pathlib.Path(f"{out}.json")
  json_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
  print(json_path)
  if not args.noplot:
    for path in family.make_plots(record, out, baseline):
      print(path)
  if args.write_result:
    speedup_lib.write_run_speedup(args, record, json_path, restored, own_row["speedup_batch1"],
                                  own_row["accuracy"], setting)
  return 0


if __name__ == "__main__":
  sys.exit(main())
