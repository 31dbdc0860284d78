r"""Time an experiment's training steps and dev evaluation with and without length bucketing.

    python -m experiments.bucketing_time --config experiments/configs/lstm_imdb.py \
        --boundaries 100,200,300,400 --steps 60 --json experiments/bench/<name>.json

Builds the config's data twice (plain batches padded to the dataset's length, and batches
grouped by length and cut to the smallest boundary >= their longest example,
`config.data.bucket_boundaries`), then times the same jitted train step on `--steps` batches of
each, alternating (so that load from other processes hits both alike), after compiling every
shape once; and one pass over the dev set each way, whose metrics must agree (up to float
summation order: evaluation is exact over the set whatever the grouping). Reports median /
quartile step times, the epoch time they imply (steps per epoch x median), the dev pass times and
the dev metrics of both. The train steps use the same initial state; training results differ in
batch composition, not in what is computed per example.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--config", required=True)
  parser.add_argument("--boundaries", required=True, help="e.g. 100,200,300,400")
  parser.add_argument("--steps", type=int, default=60)
  parser.add_argument("--json", default=None)
  args = parser.parse_args(argv)
  import jax  # pylint: disable=g-import-not-at-top
  from experiments import queue as queue_lib  # pylint: disable=g-import-not-at-top
  from experiments import registry  # pylint: disable=g-import-not-at-top
  from experiments import run_lib  # pylint: disable=g-import-not-at-top
  from skipjax.train import step as step_lib  # pylint: disable=g-import-not-at-top

  try:
    boundaries = tuple(int(b) for b in args.boundaries.split(","))
  except ValueError:
    parser.error(f"--boundaries {args.boundaries!r}: expected increasing integers, e.g. 100,200")
  config = queue_lib.Row("x/y/z", args.config).load_config()
  datas = {}
  for name, bounds in (("plain", None), ("bucketed", boundaries)):
    with config.unlocked():
      config.data.bucket_boundaries = bounds
    t0 = time.perf_counter()
    datas[name] = registry.DATASETS[config.dataset](config.data, config.seed)
    print(f"{name}: data in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
  init_key, key = jax.random.split(jax.random.key(config.seed))
  model, optimizer, state = run_lib.build_state(config, datas["plain"].spec, init_key)
  train_step = jax.jit(step_lib.make_train_step(model.loss_fn, optimizer))
  eval_step = jax.jit(step_lib.make_eval_step(model.eval_loss_fn))
  batches = {name: [next(d.train) for _ in range(args.steps)] for name, d in datas.items()}
  # Compile every shape first (the bucketed batches have one per boundary met).
  for name, items in batches.items():
    for shape in sorted({b["inputs"].shape for b in items}):
      batch = next(b for b in items if b["inputs"].shape == shape)
      jax.block_until_ready(train_step(state, batch, key))
  samples = {name: [] for name in batches}
  for i in range(args.steps):
    for name in batches:
      start = time.perf_counter()
      jax.block_until_ready(train_step(state, batches[name][i], jax.random.fold_in(key, i)))
      samples[name].append((time.perf_counter() - start) * 1e3)
  per_epoch = datas["plain"].train.batches_per_epoch
  out = {"config": args.config, "boundaries": list(boundaries), "steps_timed": args.steps,
         "batches_per_epoch": per_epoch, "hardware": run_lib.hardware(),
         "git_commit": run_lib.git_commit(), "cases": {}}
  for name, ms in samples.items():
    med = float(np.median(ms))
    out["cases"][name] = {"median_ms": med, "iqr_ms": [float(np.percentile(ms, 25)),
                                                       float(np.percentile(ms, 75))],
                          "epoch_minutes": per_epoch * med / 6e4,
                          "widths": sorted({int(b["inputs"].shape[1]) for b in batches[name]})}
  for name, data in datas.items():
    for shape in sorted({b["inputs"].shape for b in data.dev}):  # compile every shape first
      batch = next(b for b in data.dev if b["inputs"].shape == shape)
      jax.block_until_ready(eval_step(state, batch, key))
    start = time.perf_counter()
    metrics = step_lib.evaluate(eval_step, state, data.dev, key)
    out["cases"][name]["dev_pass_s"] = time.perf_counter() - start
    out["cases"][name]["dev_metrics"] = metrics
  plain, bucketed = out["cases"]["plain"], out["cases"]["bucketed"]
  out["step_time_ratio"] = bucketed["median_ms"] / plain["median_ms"]
  out["dev_pass_ratio"] = bucketed["dev_pass_s"] / plain["dev_pass_s"]
  text = json.dumps(out, indent=1, sort_keys=True)
  print(text)
  if args.json:
    path = pathlib.Path(args.json)
    if path.exists():
      parser.error(f"--json {path} exists: choose a new name")
    path.write_text(text + "\n")
  return 0


if __name__ == "__main__":
  sys.exit(main())
