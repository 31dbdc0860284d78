r"""Time the training step of each model family against the plain LSTM's, at one size.

    python -m experiments.train_step_time [--configs lstm_imdb,skip_lstm_imdb:1e-4,...] \
        [--hidden_dim 128] [--repeats 20] [--rounds 5] --json experiments/bench/<name>.json

Builds each config's model (`experiments.run.build_state`, as a run does) for the first config's
dataset and batch shape (IMDB: B=64, T=400, E=100) with one hidden size for all (`--hidden_dim`,
the plain LSTM's), and times the same jitted train step a run uses (loss, gradient, clipping,
Adam; no donation, so one state serves every call) on real batches of that dataset, all models
interleaved (`skipjax.bench.harness.time_interleaved`) so that load from other processes hits
them alike. Pretrained vectors are left out (they change no step's cost). Reports each step's
median and quartiles and its ratio to the first config's (the plain LSTM) median in the same run.
Issue 17's target: every skipping model's step <= 1.25x the LSTM's.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

DEFAULT_CONFIGS = ("lstm_imdb", "skip_lstm_imdb:1e-4", "skim_lstm_imdb", "dynamic_skip_imdb",
                   "lstm_jump_imdb")
TARGET_RATIO = 1.25


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--configs", default=",".join(DEFAULT_CONFIGS),
                      help="configs under experiments/configs (NAME or NAME:ARG); the first is the "
                           "baseline; each is reported under its experiment name")
  parser.add_argument("--hidden_dim", type=int, default=None,
                      help="hidden size of every model (default: the first config's)")
  parser.add_argument("--repeats", type=int, default=20)
  parser.add_argument("--rounds", type=int, default=5)
  parser.add_argument("--json", default=None)
  args = parser.parse_args(argv)
  if args.json and pathlib.Path(args.json).exists():
    parser.error(f"--json {args.json} exists: pick a new file")
  names = [n.strip() for n in args.configs.split(",") if n.strip()]
  if len(names) < 2:
    parser.error("--configs: give the baseline and at least one other config")
  import jax  # pylint: disable=g-import-not-at-top
  from experiments import registry  # pylint: disable=g-import-not-at-top
  from experiments import run_lib  # pylint: disable=g-import-not-at-top
  from skipjax.bench import harness  # pylint: disable=g-import-not-at-top
  from skipjax.train import step as step_lib  # pylint: disable=g-import-not-at-top

  from experiments import configs as configs_lib  # pylint: disable=g-import-not-at-top
  configs = []
  for name in names:
    try:
      configs.append(configs_lib.load(name))
    except (FileNotFoundError, ValueError) as e:
      parser.error(f"--configs: {e}")
  names = [str(config.experiment) for config in configs]
  base = configs[0]
  hidden = args.hidden_dim or int(base.net.hidden_dim)
  for config in configs:
    with config.unlocked():
      config.data = base.data
      config.dataset = base.dataset
      config.net.hidden_dim = hidden
      if "pretrained_embedding" in config.net:
        config.net.pretrained_embedding = None
  data = registry.DATASETS[base.dataset](base.data, base.seed)
  batch = next(data.train)
  key = jax.random.key(0)
  calls = {}
  for name, config in zip(names, configs):
    model, optimizer, state = run_lib.build_state(config, data.spec, jax.random.key(config.seed))
    step = jax.jit(step_lib.make_train_step(model.loss_fn, optimizer))
    calls[name] = (step, (state, batch, key))
  timings = harness.time_interleaved(calls, repeats=args.repeats, rounds=args.rounds)
  base_ms = timings[names[0]].median_ms
  shape = {k: list(v.shape) for k, v in batch.items() if hasattr(v, "shape")}
  out = {"baseline": names[0], "hidden_dim": hidden, "dataset": base.dataset,
         "batch_shapes": shape, "repeats": args.repeats, "rounds": args.rounds,
         "target_ratio": TARGET_RATIO, "hardware": run_lib.hardware(),
         "xla_flags": __import__("os").environ.get("XLA_FLAGS", ""),
         "git_commit": run_lib.git_commit(), "cases": {}}
  print(f"{'config':28s} {'model':14s} {'median_ms':>10s} {'iqr_ms':>17s} {'vs ' + names[0]:>14s}")
  for name, config in zip(names, configs):
    t = timings[name]
    ratio = t.median_ms / base_ms
    out["cases"][name] = {"model": config.model, "median_ms": t.median_ms,
                          "iqr_ms": [t.q25_ms, t.q75_ms], "vs_baseline": ratio,
                          "samples_ms": list(t.samples_ms)}
    print(f"{name:28s} {config.model:14s} {t.median_ms:10.1f} "
          f"{t.q25_ms:8.1f}-{t.q75_ms:<8.1f} {ratio:14.2f}")
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {args.json}", file=sys.stderr)
  return 0


if __name__ == "__main__":
  sys.exit(main())
