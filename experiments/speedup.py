"""Measured batch-1 wall-clock speed-ups of TRAINED runs against a plain LSTM (issues #5, #6).

The glue of `experiments.tradeoff` (its LSTM-Jump part `experiments/jump_tradeoff.py` and its
Skim-RNN part `experiments/skim_tradeoff.py`): restore a run's checkpoint, draw M test sequences, time each model one sequence at a
time (batch 1) interleaved with a plain LSTM of the same size and weights, summarise, and record
the figure in the run's result record (`speedup_batch1`).

Protocol (what `skipjax.bench.harness.time_per_input` and `speedup_summary` implement):

- The timed sequences are a seeded uniform sample (without replacement) of the split's real
  examples with at least one token.
- The plain LSTM reads every real token of a sequence: embedding, LSTM, head on the final state,
  run on the sequence cropped to its exact length (compiled once per distinct length), so it does
  the real tokens' work and nothing else. Two forms are timed: `lstm_lean` (the input projection
  of all tokens hoisted into one matmul, then a scan that keeps only the state: the form of
  `skipjax/bench/lstm_jump.py`'s `_lstm_lean`) and `lstm_layer` (`recurrence.lstm_layer`). The
  speed-up is taken against the faster of the two (lower total time), measured in the same run.
- Every call is one sequence at batch 1, jitted, with all outputs waited for
  (`jax.block_until_ready`); compilation and one warm-up call per (case, sequence) are untimed.
  In each round every sequence is timed once by every case, the case order rotating from one
  sequence to the next, so a burst of load from other processes hits all cases alike. Python's
  garbage collector is paused while timing.
- Summary of a case against the baseline: per sequence, the median over rounds; total time = sum
  of those medians over the M sequences; `speedup = baseline total / case total`. Spread:
  `round_speedups` (the same ratio within each round alone: min, quartiles, max),
  `speedup_min` (sums of per-sequence minima, the least load-disturbed estimate),
  `per_sequence` quantiles of the per-sequence ratios, and `sequences_ci95` (bootstrap over the
  sequences, 1000 resamples: the uncertainty from which M sequences were drawn).
- `dispatch` times a jitted function that only reads the input: the per-call floor (dispatch and
  synchronisation) included in every case's time.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import platform
from typing import Any, Callable, Mapping, NamedTuple, Sequence

import numpy as np

BASELINES = ("lstm_lean", "lstm_layer")
DISPATCH = "dispatch"
DEFAULT_SEQUENCES = 150
DEFAULT_ROUNDS = 20


class Restored(NamedTuple):
  """A run rebuilt from its work directory: its config, data, model and checkpointed state."""
  config: Any
  data: Any
  model: Any
  state: Any
  step: int
  summary: dict[str, Any] | None


def default_step(summary: Mapping[str, Any]) -> int:
  """The checkpoint step the run's test metrics come from: `test_step`, else `best_step`, else
  the last step."""
  for key in ("test_step", "best_step", "steps"):
    if summary.get(key) is not None:
      return int(summary[key])
  raise ValueError("summary.json names no test_step, best_step or steps")


def restore_run(workdir: str | os.PathLike[str], step: int | None = None) -> Restored:
  """Rebuilds data and model from `<workdir>/config.json` as `experiments.run` does (same key
  split) and restores the checkpoint of `step` (default: `default_step` of summary.json)."""
  # pylint: disable=g-import-not-at-top
  import jax
  import ml_collections
  from experiments import registry
  from skipjax.train import checkpoint as checkpoint_lib
  from skipjax.train import optim
  from skipjax.train import step as step_lib
  # pylint: enable=g-import-not-at-top

  workdir = pathlib.Path(workdir)
  if not (workdir / "config.json").is_file():
    raise FileNotFoundError(f"{workdir} is not an experiments.run work directory (no config.json)")
  config = ml_collections.ConfigDict(json.loads((workdir / "config.json").read_text()))
  summary = None
  if (workdir / "summary.json").is_file():
    summary = json.loads((workdir / "summary.json").read_text())
  if step is None:
    if summary is None:
      raise FileNotFoundError(f"{workdir} has no summary.json (run unfinished?): pass --step")
    step = default_step(summary)

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
  return Restored(config, data, model, state, int(step), summary)


def split_batches(data: Any, split: str) -> list[dict[str, Any]]:
  """The padded, masked eval batches of 'dev' or 'test'."""
  if split not in ("dev", "test"):
    raise ValueError(f"split must be 'dev' or 'test', got {split!r}")
  batches = data.dev if split == "dev" else data.test
  if batches is None:
    raise ValueError(f"the run's dataset has no {split} split")
  return batches


class Examples(NamedTuple):
  """The real examples of a split, in order: ids [n, T] int32 (padded), lengths [n], labels [n]."""
  ids: np.ndarray
  lengths: np.ndarray
  labels: np.ndarray


def real_examples(batches: Sequence[Mapping[str, Any]]) -> Examples:
  """Flattens eval batches to their real examples (weight > 0), in split order. Batches of
  different widths (length-bucketed) are padded with id 0 to the widest: padding past an
  example's length never changes a result."""
  ids, lengths, labels = [], [], []
  for batch in batches:
    inputs = np.asarray(batch["inputs"])
    if inputs.ndim != 2 or not np.issubdtype(inputs.dtype, np.integer):
      raise ValueError(f"batch-1 timing needs token-id inputs [B, T], got {inputs.dtype} "
                       f"{inputs.shape}")
    keep = np.ones(inputs.shape[0], bool)
    for name in ("mask", "weights"):  # as skipjax.train.state.example_weights: they multiply
      if name in batch:
        keep &= np.asarray(batch[name]) > 0
    ids.append(inputs[keep])
    full = np.full(inputs.shape[0], inputs.shape[1])
    lengths.append(np.asarray(batch.get("lengths", full))[keep])
    labels.append(np.asarray(batch["labels"])[keep])
  width = max([x.shape[1] for x in ids], default=0)
  ids = [np.pad(x, ((0, 0), (0, width - x.shape[1]))) for x in ids]
  return Examples(np.concatenate(ids).astype(np.int32), np.concatenate(lengths).astype(np.int32),
                  np.concatenate(labels))


def pick_sequences(lengths: np.ndarray, num: int, seed: int = 0) -> np.ndarray:
  """Indices (sorted) of `num` examples drawn uniformly without replacement among those with
  length >= 1 (all of them if fewer)."""
  if num < 1:
    raise ValueError(f"the number of timed sequences must be >= 1, got {num}")
  candidates = np.flatnonzero(np.asarray(lengths) >= 1)
  if candidates.size == 0:
    raise ValueError("no example of the split has a token to read")
  if num >= candidates.size:
    return candidates
  rng = np.random.default_rng(seed)
  return np.sort(rng.choice(candidates, size=num, replace=False))


# ----------------------------------------------------------------------------------------------
# The plain LSTM baselines (batch 1, exact length)
# ----------------------------------------------------------------------------------------------


def lstm_lean_logits(embedding: Any, lstm: Any, head: Any, ids: Any) -> Any:
  """Plain LSTM classifier on ids [B, L]: embedding, hoisted input projection, a scan keeping only
  the state, dense head on the final h. Logits [B, C]."""
  # pylint: disable=g-import-not-at-top
  from skipjax import cells
  from skipjax import layers
  from skipjax import recurrence
  # pylint: enable=g-import-not-at-top
  x_proj = cells.lstm_input_projection(lstm, layers.embed(embedding, ids))
  return layers.dense(head, recurrence.lstm_final_state(lstm, x_proj=x_proj).h)


def lstm_layer_logits(embedding: Any, lstm: Any, head: Any, ids: Any) -> Any:
  """The same classifier through `recurrence.lstm_layer`. Logits [B, C]."""
  from skipjax import layers  # pylint: disable=g-import-not-at-top
  from skipjax import recurrence  # pylint: disable=g-import-not-at-top
  state, _ = recurrence.lstm_layer(lstm, layers.embed(embedding, ids))
  return layers.dense(head, state.h)


def baseline_cases(embedding: Any, lstm: Any, head: Any,
                   exact_ids: Sequence[Any]) -> dict[str, tuple[Callable[..., Any], list]]:
  """`time_per_sequence` cases of the two plain-LSTM forms and the dispatch floor, each called
  on the exact-length ids [1, L] of every timed sequence."""
  import jax  # pylint: disable=g-import-not-at-top
  weights = (embedding, lstm, head)
  lean = jax.jit(lstm_lean_logits)
  layer = jax.jit(lstm_layer_logits)
  floor = jax.jit(lambda ids: ids[0, 0])
  return {"lstm_lean": (lean, [(*weights, x) for x in exact_ids]),
          "lstm_layer": (layer, [(*weights, x) for x in exact_ids]),
          DISPATCH: (floor, [(x,) for x in exact_ids])}


# ----------------------------------------------------------------------------------------------
# Timing and its summary
# ----------------------------------------------------------------------------------------------


def speedup_summary(base: np.ndarray, case: np.ndarray, *, seed: int = 0) -> dict[str, Any]:
  """Speed-up of `case` against `base`, both [rounds, M] ms of the same sequences (docstring)."""
  base, case = np.asarray(base, np.float64), np.asarray(case, np.float64)
  if base.shape != case.shape or base.ndim != 2:
    raise ValueError(f"samples must both be [rounds, M], got {base.shape} and {case.shape}")
  base_med, case_med = np.median(base, axis=0), np.median(case, axis=0)
  rounds = base.sum(axis=1) / case.sum(axis=1)
  per_seq = base_med / case_med
  rng = np.random.default_rng(seed)
  draws = rng.integers(0, base.shape[1], (1000, base.shape[1]))
  boot = base_med[draws].sum(axis=1) / case_med[draws].sum(axis=1)
  q = lambda x, ps: [float(v) for v in np.percentile(x, ps)]
  return {"speedup": float(base_med.sum() / case_med.sum()),
          "speedup_min": float(base.min(axis=0).sum() / case.min(axis=0).sum()),
          "round_speedups": dict(zip(("min", "q25", "median", "q75", "max"),
                                     q(rounds, [0, 25, 50, 75, 100]))),
          "per_sequence": dict(zip(("q10", "median", "q90"), q(per_seq, [10, 50, 90]))),
          "sequences_ci95": q(boot, [2.5, 97.5]),
          "ms_per_sequence": float(case_med.mean()),
          "baseline_ms_per_sequence": float(base_med.mean())}


def summarise(samples: Mapping[str, np.ndarray], cases: Sequence[str], *, seed: int = 0
              ) -> tuple[str, dict[str, Any], dict[str, dict[str, Any]]]:
  """Picks the faster plain-LSTM form and summarises every case against it.

  Returns (baseline name, baselines {name: {total_ms, ms_per_sequence}} with the dispatch floor,
  {case: speedup_summary}).
  """
  missing = [n for n in (*BASELINES, DISPATCH, *cases) if n not in samples]
  if missing:
    raise ValueError(f"no samples for {missing}")
  totals = {n: float(np.median(samples[n], axis=0).sum()) for n in (*BASELINES, DISPATCH)}
  base = min(BASELINES, key=totals.get)
  num = samples[base].shape[1]
  baselines = {n: {"total_ms": totals[n], "ms_per_sequence": totals[n] / num} for n in totals}
  return base, baselines, {c: speedup_summary(samples[base], samples[c], seed=seed)
                           for c in cases}


def environment() -> dict[str, Any]:
  """Where and when the timing ran: machine, jax, CPU affinity, load averages."""
  import jax  # pylint: disable=g-import-not-at-top
  device = jax.devices()[0]
  env = {"machine": f"{platform.machine()} {platform.system()}", "cpu_count": os.cpu_count(),
         "jax": jax.__version__, "device": f"{device.platform} ({device.device_kind})",
         "loadavg": [round(x, 2) for x in os.getloadavg()],
         "measured": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
  if hasattr(os, "sched_getaffinity"):
    env["cpu_affinity"] = sorted(os.sched_getaffinity(0))
  return env


def length_stats(lengths: np.ndarray) -> dict[str, float]:
  lengths = np.asarray(lengths)
  return {"min": int(lengths.min()), "mean": float(lengths.mean()), "max": int(lengths.max()),
          "distinct": int(np.unique(lengths).size)}


# ----------------------------------------------------------------------------------------------
# The result record
# ----------------------------------------------------------------------------------------------


def find_baseline(dataset: str, results_dir: str | os.PathLike[str] = "experiments/results"
                  ) -> pathlib.Path | None:
  """The plain LSTM's result record on `dataset` (model 'lstm', same dataset field):
  `lstm_<dataset>.json` if it is one, else the only such record; None if none (or several)."""
  found = []
  for candidate in sorted(pathlib.Path(results_dir).glob("*.json")):
    try:
      record = json.loads(candidate.read_text())
    except ValueError:
      continue
    if record.get("model") == "lstm" and record.get("dataset") == dataset:
      found.append(candidate)
  preferred = [p for p in found if p.name == f"lstm_{dataset}.json"]
  return (preferred or found)[0] if len(preferred or found) == 1 else None



def write_speedup(results_dir: str | os.PathLike[str], run_name: str, *, speedup: float,
                  accuracy: float, detail: Mapping[str, Any],
                  test_split: str = "test") -> pathlib.Path:
  """Sets `speedup_batch1` (and `speedup_batch1_detail`) in `<results_dir>/<run_name>.json`.

  Refuses if the record is not the run's test-role record (its split must be `test_split`, the
  run's `config.data.test_split`: 'validation' for GLUE SST-2, whose test labels are hidden) or
  if its `value` is not the accuracy the timed setting reaches (`accuracy`): the speed-up must
  belong to the number beside it.
  """
  from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
  path = pathlib.Path(results_dir) / f"{run_name}.json"
  if not path.is_file():
    raise FileNotFoundError(f"no result record {path} to write speedup_batch1 into")
  record = json.loads(path.read_text())
  results_lib.check_result(record, where=str(path))
  if record["split"] != test_split:
    raise ValueError(f"{path} records the {record['split']!r} split; the speed-up is measured "
                     f"on the run's test split {test_split!r}")
  if record["value"] is None or abs(float(record["value"]) - float(accuracy)) > 1e-6:
    raise ValueError(f"{path} records value {record['value']} but the timed setting reaches "
                     f"{accuracy} on the test split: the record and the checkpoint/setting "
                     "disagree; not writing speedup_batch1")
  if not np.isfinite(speedup) or speedup <= 0:
    raise ValueError(f"speed-up must be a positive finite number, got {speedup}")
  record["speedup_batch1"] = float(speedup)
  record["speedup_batch1_detail"] = dict(detail)
  return results_lib.write_result(record, results_dir, run_name)


def write_run_speedup(args: Any, record: Mapping[str, Any], json_path: pathlib.Path,
                      restored: Restored, timing: Mapping[str, Any], accuracy: float,
                      setting: Mapping[str, Any]) -> pathlib.Path:
  """`--write_result` of the trade-off tools: the speed-up `timing` of the run's own test-time
  `setting` (with its spread and environment, from the tool's `record`) into the run's record."""
  detail = {"tool": record["command"], "json": str(json_path), "setting": dict(setting),
            "baseline": record["timing"]["baseline"], "sequences": record["timing"]["sequences"],
            "rounds": args.rounds,
            **{k: timing[k] for k in ("speedup_min", "round_speedups", "sequences_ci95",
                                      "ms_per_sequence", "baseline_ms_per_sequence")},
            "environment": record["timing"]["environment"]["before"]}
  path = write_speedup(args.results_dir, pathlib.Path(args.workdir).resolve().name,
                       speedup=timing["speedup"], accuracy=accuracy, detail=detail,
                       test_split=restored.config.data.get("test_split", "test"))
  print(f"{path}: speedup_batch1 = {timing['speedup']:.3f} (regenerate RESULTS.md: python -m "
        "experiments.make_results)")
  return path


# ---------------------------------------------------------------------------------------------
# What experiments.tradeoff's model families share: the common flags, the checks of a trained
# run's work directory, and the reference points of the speed-up plot.
# ---------------------------------------------------------------------------------------------


def add_common_flags(parser: Any) -> None:
  """The flags of `experiments.tradeoff` that every model family takes."""
  parser.add_argument("--workdir", required=True, help="experiments.run work directory")
  parser.add_argument("--baseline", default=None,
                      help="result record of the plain LSTM (default: speedup.find_baseline: "
                           "<results_dir>/lstm_<dataset>.json, else the one lstm record on the "
                           "dataset)")
  parser.add_argument("--split", choices=("dev", "test"), default="test")
  parser.add_argument("--step", type=int, default=None,
                      help="checkpoint step (default: the one the run's test metrics come from)")
  parser.add_argument("--out", default=None, help="path without suffix (default: "
                      "experiments/plots/<run>_jump_tradeoff for LSTM-Jump, "
                      "experiments/plots/<run>_tradeoff for Skim-RNN)")
  parser.add_argument("--sequences", type=int, default=DEFAULT_SEQUENCES,
                      help="M, test sequences timed one at a time (0: no timing)")
  parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                      help="timed calls per (case, sequence)")
  parser.add_argument("--seed", type=int, default=0, help="seed of the timed-sequence sample")
  parser.add_argument("--write_result", action="store_true",
                      help="write the speed-up at the run's own test-time setting into "
                           "<results_dir>/<run>.json")
  parser.add_argument("--results_dir", default="experiments/results")
  parser.add_argument("--own_only", action="store_true",
                      help="evaluate and time only the run's own test-time setting (the "
                           "reproduce queue's measurement of a finished row)")
  parser.add_argument("--noplot", action="store_true", help="write the json only")


def describe(timing: Mapping[str, Any], baseline: str) -> str:
  """One setting's measured speed-up, its min-based figure and its spread over rounds."""
  return (f"speed-up {timing['speedup']:.2f}x (min-based {timing['speedup_min']:.2f}x, rounds "
          f"{timing['round_speedups']['min']:.2f}-{timing['round_speedups']['max']:.2f}) vs "
          f"{baseline}")


def check_common_flags(parser: Any, args: Any, *, model_ok: Callable[[str], bool],
                       family: str) -> dict[str, Any]:
  """Checks the common flags and the work directory (`parser.error` naming the problem);
  returns the run's config.json. `model_ok(config.model)`: whether it is a `family` run."""
  if args.sequences < 0 or args.rounds < 1:
    parser.error(f"--sequences must be >= 0 and --rounds >= 1, got {args.sequences}, "
                 f"{args.rounds}")
  if args.write_result and (args.split != "test" or args.step is not None or not args.sequences):
    parser.error("--write_result needs the test split, the run's own checkpoint (no --step) and "
                 "timing (--sequences > 0)")
  config_path = pathlib.Path(args.workdir) / "config.json"
  if not config_path.is_file():
    parser.error(f"{args.workdir} is not an experiments.run work directory (no config.json)")
  config = json.loads(config_path.read_text())
  if not model_ok(config["model"]):
    parser.error(f"{args.workdir} holds a {config['model']!r} run, not {family} one")
  if args.baseline and not pathlib.Path(args.baseline).is_file():
    parser.error(f"--baseline {args.baseline} does not exist")
  return config


def reference_points(baseline: Mapping[str, Any] | None, paper: tuple[float, float] | None,
                     paper_series: str, paper_label: str) -> list[Any]:
  """The plot's references: our trained plain LSTM at 1x, and the paper's (accuracy, speed-up)."""
  from skipjax import plots  # pylint: disable=g-import-not-at-top
  points = []
  if baseline is not None:
    points.append(plots.TradeoffPoint("plain LSTM (ours, trained)", "LSTM (ours)", 1.0,
                                      float(baseline["value"])))
  if paper is not None:
    points.append(plots.TradeoffPoint(paper_series, paper_label, paper[1], paper[0]))
  return points
