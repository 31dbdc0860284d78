"""LSTM-Jump accuracy vs MEASURED batch-1 speed-up over test-time (R, N) (Yu et al. 2017, sec. 4).

The LSTM-Jump part of `python -m experiments.tradeoff` (which see for the command). One trained
model, no retraining: R (tokens read per chunk) and N (largest number of jumps) are call
arguments of the reader, K is architectural.

It restores the checkpoint the run's test metrics come from (`experiments.speedup.restore_run`),
and for every (R, N) of the grid (default: the run's test-time R and N and R in {R/2, R, 2R, 4R}
x N in {N, N + 3, 2N}, R clipped to [1, max_len]):

- evaluates the split with greedy jumps through the run's own evaluation loss
  (`lstm_jump.make_loss_fn(greedy=True)` + `make_eval_step`): accuracy, `fraction_computed` (mean
  fraction of each example's tokens read), the token-level read fraction, mean jumps;
- times `lstm_jump.infer` (the while_loop reader, greedy, compiled once per (R, N), each sequence
  padded to max_len with its length passed: nothing past its end is read) on M test sequences one
  at a time against a plain LSTM of the same weights (embedding, LSTM, head) reading every real
  token, interleaved; protocol and summary fields in `experiments/speedup.py`. The reader's chunk
  of R steps is fully unrolled (`--unroll`), its fastest form on CPU (skipjax/bench/lstm_jump.py).

It also evaluates the same weights reading every token (R = max_len, N = 0): the accuracy of the
timed plain-LSTM computation. Writes `<out>.json` (one row per (R, N)) and `<out>.png` (accuracy
vs measured speed-up, one point per (R, N), a line per N; the plain LSTM run of `--baseline` and
the same weights reading all at 1x; the paper's point where known). `--write_result` puts the
speed-up of the run's own (R, N) into `experiments/results/<run>.json` as `speedup_batch1`.
"""

from __future__ import annotations

import argparse
import functools
import pathlib
import sys
import time
from typing import Any, Sequence

from experiments import speedup as speedup_lib

# Yu et al. (2017), sec. 4.2 (PAPERS.md): (LSTM-Jump accuracy, speed-up), keyed by dataset.
PAPER = {"imdb": (0.894, 1.6), "rotten_tomatoes": (0.793, 1.6)}


def run_setting(net: Any) -> tuple[int, int]:
  """The (R, N) the run evaluates with: eval_read_size / eval_num_jumps, else the training ones."""
  read_size = net.get("eval_read_size")
  num_jumps = net.get("eval_num_jumps")
  return (int(net["read_size"] if read_size is None else read_size),
          int(net["num_jumps"] if num_jumps is None else num_jumps))


def default_grid(read_size: int, num_jumps: int, max_len: int) -> list[tuple[int, int]]:
  """R in {R/2, R, 2R, 4R} (clipped to [1, max_len]) x N in {N, N + 3, 2N}, sorted, distinct."""
  reads = {min(max(1, r), max_len) for r in (read_size // 2, read_size, 2 * read_size,
                                               4 * read_size)}
  jumps = {num_jumps, num_jumps + 3, 2 * num_jumps}
  return sorted((r, n) for r in reads for n in jumps)


def evaluate(restored: speedup_lib.Restored, grid: Sequence[tuple[int, int]], split: str
             ) -> tuple[list[dict[str, Any]], dict[tuple[int, int], Any]]:
  """Greedy evaluation of every (R, N) on the split. Returns (rows, predictions): predictions[(R,
  N)] is the predicted class of every real example of the split, in split order."""
  # pylint: disable=g-import-not-at-top
  import jax
  import jax.numpy as jnp
  import numpy as np
  from skipjax import lstm_jump
  from skipjax.train import state as state_lib
  from skipjax.train import step as step_lib
  # pylint: enable=g-import-not-at-top
  key = jax.random.key(0)  # greedy: unused

  @functools.partial(jax.jit, static_argnames=("read_size", "num_jumps"))
  def eval_batch(state, batch, read_size, num_jumps):
    loss = lstm_jump.make_loss_fn(read_size=read_size, num_jumps=num_jumps, greedy=True)
    sums = step_lib.make_eval_step(loss)(state, batch, key)
    inputs = batch["inputs"]
    lengths = batch.get("lengths")
    if lengths is None:
      lengths = jnp.full(inputs.shape[:1], inputs.shape[1], jnp.int32)
    out = lstm_jump.apply(state.params, inputs, lengths, read_size=read_size,
                          num_jumps=num_jumps)
    w = state_lib.example_weights(batch, inputs.shape[0])
    read = jnp.sum(jnp.sum(out.read_mask, axis=-1) * w)
    return sums, read, jnp.sum(lengths * w), jnp.argmax(out.logits, axis=-1), w > 0

  batches = speedup_lib.split_batches(restored.data, split)
  rows, predictions = [], {}
  for read_size, num_jumps in grid:
    t0 = time.perf_counter()
    total, read, tokens, preds = None, 0.0, 0.0, []
    for batch in batches:
      sums, r, n, p, real = eval_batch(restored.state, batch, read_size, num_jumps)
      total = step_lib.accumulate_metrics(total, sums)
      read, tokens = read + float(r), tokens + float(n)
      preds.append(np.asarray(p)[np.asarray(real)])
    m = step_lib.finalize_metrics(total)
    predictions[(read_size, num_jumps)] = np.concatenate(preds)
    rows.append({"read_size": read_size, "num_jumps": num_jumps, "accuracy": m["accuracy"],
                 "fraction_computed": m["fraction_computed"],
                 "token_read_fraction": read / max(tokens, 1.0), "mean_jumps": m["num_jumps"],
                 "cross_entropy": m["cross_entropy"], "count": m["count"]})
    print(f"R={read_size} N={num_jumps}: accuracy {m['accuracy']:.4f}, read "
          f"{m['fraction_computed']:.3f} (tokens {read / max(tokens, 1.0):.3f}), jumps "
          f"{m['num_jumps']:.2f} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
  return rows, predictions


def infer_logits(params: Any, ids: Any, lengths: Any, *, read_size: int, num_jumps: int,
                 unroll: int) -> Any:
  """The timed reader: greedy `lstm_jump.infer` on ids [1, T] with lengths [1]; logits [1, C]."""
  from skipjax import lstm_jump  # pylint: disable=g-import-not-at-top
  return lstm_jump.infer(params, ids, lengths, read_size=read_size, num_jumps=num_jumps,
                         unroll=unroll).logits


def time_grid(restored: speedup_lib.Restored, grid: Sequence[tuple[int, int]], split: str, *,
              sequences: int, rounds: int, seed: int, unroll: int | None,
              predictions: dict[tuple[int, int], Any]) -> dict[str, Any]:
  """Times every (R, N) against the plain LSTM on `sequences` sequences of the split."""
  # pylint: disable=g-import-not-at-top
  import jax
  import jax.numpy as jnp
  import numpy as np
  # pylint: enable=g-import-not-at-top
  examples = speedup_lib.real_examples(speedup_lib.split_batches(restored.data, split))
  idx = speedup_lib.pick_sequences(examples.lengths, sequences, seed)
  lengths = examples.lengths[idx]
  padded = [jnp.asarray(examples.ids[i][None]) for i in idx]
  exact = [jnp.asarray(examples.ids[i][None, :examples.lengths[i]]) for i in idx]
  length_args = [jnp.asarray([n], jnp.int32) for n in lengths]
  params = restored.state.params
  cases = speedup_lib.baseline_cases(params.embedding, params.lstm, params.classifier, exact)
  names = {}
  for read_size, num_jumps in grid:
    name = f"jump_R{read_size}_N{num_jumps}"
    names[(read_size, num_jumps)] = name
    fn = jax.jit(functools.partial(infer_logits, read_size=read_size, num_jumps=num_jumps,
                                   unroll=read_size if unroll is None else unroll))
    cases[name] = (fn, [(params, x, n) for x, n in zip(padded, length_args)])
  log = lambda msg: print(f"timing: {msg}", file=sys.stderr)
  log(f"{len(idx)} sequences (lengths {speedup_lib.length_stats(lengths)}), {rounds} rounds, "
      f"{len(cases)} cases")
  env_before = speedup_lib.environment()
  from skipjax.bench import harness  # pylint: disable=g-import-not-at-top
  samples, outputs = harness.time_per_input(cases, rounds=rounds, progress=log)
  base, baselines, summaries = speedup_lib.summarise(samples, list(names.values()), seed=seed)
  base_preds = np.array([int(np.argmax(o)) for o in outputs[base]])
  per_setting = {}
  for setting, name in names.items():
    preds = np.array([int(np.argmax(o)) for o in outputs[name]])
    per_setting[setting] = dict(
        summaries[name], case=name,
        infer_agrees_with_eval=int(np.sum(preds == predictions[setting][idx])),
        timed_accuracy=float(np.mean(preds == examples.labels[idx])))
  return {"sequences": int(len(idx)), "rounds": rounds, "seed": seed,
          "example_indices": [int(i) for i in idx], "lengths": speedup_lib.length_stats(lengths),
          "baseline": base, "baselines": baselines,
          "baseline_timed_accuracy": float(np.mean(base_preds == examples.labels[idx])),
          "chunk_unroll": "R" if unroll is None else unroll,
          "environment": {"before": env_before, "after": speedup_lib.environment()},
          "protocol": "experiments/speedup.py: per-sequence medians over rounds, speedup = "
                      "baseline total / reader total over the sequences",
          "per_setting": per_setting}


def plot(record: dict[str, Any], out: str | pathlib.Path,
         baseline: dict[str, Any] | None = None) -> pathlib.Path:
  """Accuracy vs measured batch-1 speed-up: a point per (R, N) (a line per N), references at 1x."""
  from skipjax import plots  # pylint: disable=g-import-not-at-top
  run_r, run_n = record["run_setting"]["read_size"], record["run_setting"]["num_jumps"]
  points = []
  for row in record["rows"]:
    timing = row.get("speedup_batch1")
    if timing is None:
      continue
    own = " (run)" if (row["read_size"], row["num_jumps"]) == (run_r, run_n) else ""
    points.append(plots.TradeoffPoint(f"LSTM-Jump, N={row['num_jumps']}",
                                      f"R={row['read_size']}{own}", timing["speedup"],
                                      row["accuracy"]))
  read_all = record.get("same_weights_read_all")
  if read_all is not None:
    points.append(plots.TradeoffPoint("plain LSTM, same weights (timed baseline)",
                                      "same weights, reads all", 1.0, read_all["accuracy"]))
  points += speedup_lib.reference_points(baseline, PAPER.get(record["dataset"]),
                                         "paper (Yu et al. 2017, GPU timing)",
                                         "LSTM-Jump (paper)")
  return plots.plot_tradeoff(
      points, out, xlabel="measured speed-up vs plain LSTM (CPU, batch 1)",
      ylabel=f"{record['split']} accuracy",
      title=f"LSTM-Jump on {record['dataset']}: test-time R, N (K={record['max_jump']})")


def add_flags(parser: argparse.ArgumentParser) -> None:
  """The flags of an lstm_jump run (all default None: `check_flags` fills them in)."""
  group = parser.add_argument_group("LSTM-Jump runs (test-time R, N)")
  group.add_argument("--read_sizes", type=int, nargs="+", default=None,
                     help="test-time R values (default: the run's R/2, R, 2R, 4R)")
  group.add_argument("--num_jumps", type=int, nargs="+", default=None,
                     help="test-time N values (default: the run's N, N + 3, 2N)")
  group.add_argument("--unroll", type=int, default=None,
                     help="unroll of the reader's chunk scan (default: R, fully unrolled)")


FLAGS = ("read_sizes", "num_jumps", "unroll")


def check_flags(parser: argparse.ArgumentParser, args: argparse.Namespace,
                config: dict[str, Any]) -> None:
  """`parser.error` for a bad (R, N) grid or unroll; `config` is the run's config.json."""
  del config
  if args.own_only and (args.read_sizes is not None or args.num_jumps is not None):
    parser.error("--own_only times the run's own (R, N): drop --read_sizes/--num_jumps")
  for name in ("read_sizes", "num_jumps"):
    values = getattr(args, name)
    low = 1 if name == "read_sizes" else 0
    if values is not None and any(v < low for v in values):
      parser.error(f"--{name} must be >= {low}, got {values}")
  if args.unroll is not None and args.unroll < 1:
    parser.error(f"--unroll must be >= 1, got {args.unroll}")


def parse_grid(args: argparse.Namespace, run: tuple[int, int], max_len: int
               ) -> list[tuple[int, int]]:
  """The (R, N) settings the flags ask for, always with the run's own."""
  if args.own_only:
    return [run]
  if args.read_sizes is None and args.num_jumps is None:
    grid = set(default_grid(*run, max_len))
  else:
    reads = args.read_sizes or [run[0]]
    jumps = args.num_jumps if args.num_jumps is not None else [run[1]]
    grid = {(r, n) for r in reads for n in jumps}
  grid.add(run)
  return sorted(grid)


def measure(restored: speedup_lib.Restored, args: argparse.Namespace
            ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
  """Evaluates (and with --sequences times) the grid. Returns (record, the run's own row, its
  setting) for `experiments.tradeoff`."""
  from skipjax import lstm_jump  # pylint: disable=g-import-not-at-top
  max_len = restored.data.spec.max_len
  run = run_setting(restored.config.net)
  grid = parse_grid(args, run, max_len)
  rows, predictions = evaluate(restored, grid, args.split)
  read_all = evaluate(restored, [(max_len, 0)], args.split)[0][0]
  record = {"experiment": restored.config.experiment, "model": restored.config.model,
            "dataset": restored.config.dataset, "split": args.split,
            "workdir": str(args.workdir), "checkpoint_step": restored.step,
            "net": restored.config.net.to_dict(), "max_len": max_len,
            "max_jump": lstm_jump.max_jump(restored.state.params),
            "run_setting": {"read_size": run[0], "num_jumps": run[1]},
            "same_weights_read_all": {"accuracy": read_all["accuracy"], "read_size": max_len,
                                      "num_jumps": 0},
            "rows": rows}
  for row in rows:
    row["run_setting"] = (row["read_size"], row["num_jumps"]) == run
  if args.sequences:
    timing = time_grid(restored, grid, args.split, sequences=args.sequences, rounds=args.rounds,
                       seed=args.seed, unroll=args.unroll, predictions=predictions)
    per_setting = timing.pop("per_setting")
    for row in rows:
      row["speedup_batch1"] = per_setting[(row["read_size"], row["num_jumps"])]
      print(f"R={row['read_size']} N={row['num_jumps']}: accuracy {row['accuracy']:.4f} read "
            f"{row['fraction_computed']:.3f} " + speedup_lib.describe(row["speedup_batch1"],
                                                                     timing["baseline"]),
            file=sys.stderr)
    record["timing"] = timing
  own = next(row for row in rows if row["run_setting"])
  return record, own, record["run_setting"]


def make_plots(record: dict[str, Any], out: pathlib.Path, baseline: dict[str, Any] | None
               ) -> list[pathlib.Path]:
  """`<out>.png` (accuracy vs measured speed-up) when the grid was timed."""
  return [plot(record, f"{out}.png", baseline)] if record.get("timing") else []
