"""`make demo`: train a Skip LSTM on a synthetic task and show what skipping buys.

    python -m skipjax.demo [--steps N] [--seconds S] [--eval_examples N] [--timing_repeats N]

Task: frequency discrimination (Campos et al. 2018, sec. 4.2; `skipjax.data.synthetic`): 100
samples of a sine; class 1 if its period lies in (5, 6) ms. A Skip LSTM (64 units, budget loss
lambda = 1e-3, Adam 1e-3, clip 1) trains for at most `--steps` steps or `--seconds` seconds
(default 3000 steps / 120 s; about 3 minutes in all on 2 CPU cores), then the demo prints:
- test accuracy on held-out sequences;
- the fraction of steps the model computed (state updates);
- the measured batch-1 wall-clock of the jumping inference loop (`lax.while_loop`, skipped steps
  cost nothing) against a plain LSTM of the same size, in the same run (median of repeats).

The budget weight is larger than the paper's 1e-4 so that skipping emerges within the short run.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import recurrence
from skipjax.bench import harness
from skipjax.data import synthetic
from skipjax.skip_rnn import core
from skipjax.skip_rnn import inference
from skipjax.skip_rnn import model
from skipjax.train import optim
from skipjax.train import step as step_lib

SEQ_LEN = 100
HIDDEN = 64
BATCH = 64
BUDGET_LAMBDA = 1e-3
LEARNING_RATE = 1e-3
TIMED_SEQUENCES = 16


def _parse(argv):
  parser = argparse.ArgumentParser(prog="python -m skipjax.demo", description=__doc__.split("\n")[0])
  parser.add_argument("--steps", type=int, default=3000, help="most training steps")
  parser.add_argument("--seconds", type=float, default=120.0, help="most training seconds")
  parser.add_argument("--eval_examples", type=int, default=2048, help="held-out test sequences")
  parser.add_argument("--timing_repeats", type=int, default=30, help="timed calls per case")
  parser.add_argument("--seed", type=int, default=0)
  args = parser.parse_args(argv)
  for name in ("steps", "eval_examples", "timing_repeats"):
    if getattr(args, name) <= 0:
      parser.error(f"--{name} must be positive")
  if args.seconds <= 0:
    parser.error("--seconds must be positive")
  return args


def train(args, config):
  """A short Adam run with skipjax.train's jitted train step; returns (params, steps, seconds)."""
  loss_fn = model.make_loss_fn(config)
  optimizer = optim.make_optimizer("adam", LEARNING_RATE, clip_norm=1.0)
  key = jax.random.key(args.seed)
  params = model.model_init(key, config)
  state = step_lib.init_train_state(params, optimizer, hparams={"budget_lambda": BUDGET_LAMBDA})
  train_step = step_lib.jit_train_step(step_lib.make_train_step(loss_fn, optimizer))
  batches = synthetic.synthetic_batches("frequency_discrimination", args.seed, BATCH,
                                        length=SEQ_LEN)
  start, steps, metrics = time.perf_counter(), 0, None
  while steps < args.steps and time.perf_counter() - start < args.seconds:
    state, metrics = train_step(state, next(batches), jax.random.fold_in(key, steps))
    steps += 1
    if steps % 250 == 0:
      print(f"  step {steps:5d}  loss {float(metrics['loss']):.3f}  "
            f"accuracy {float(metrics['accuracy']):.3f}  "
            f"updates {float(metrics['updates']):.1f}/{SEQ_LEN}", flush=True)
  return state.params, steps, time.perf_counter() - start


def evaluate(args, config, params):
  """Accuracy and update counts on held-out sequences, through the jumping inference loop (and
  a check that the masked training path makes the same decisions)."""
  predict = jax.jit(model.predict_jump, static_argnums=3)
  masked = jax.jit(model.model_apply, static_argnums=3)
  correct = updates = count = 0.0
  agree = True
  for batch in synthetic.fixed_set("frequency_discrimination", args.seed, args.eval_examples,
                                   256, length=SEQ_LEN):
    logits, num_updates = predict(params, batch["inputs"], batch["lengths"], config)
    _, out = masked(params, batch["inputs"], batch["lengths"], config)
    agree &= bool(np.array_equal(np.asarray(out.update_mask).sum(1), np.asarray(num_updates)))
    weights = batch["mask"]
    correct += float(np.sum((np.argmax(np.asarray(logits), -1) == batch["labels"]) * weights))
    updates += float(np.sum(np.asarray(num_updates) * weights))
    count += float(np.sum(weights))
  return correct / count, updates / count, agree


def time_batch1(args, params):
  """Batch-1 wall-clock over TIMED_SEQUENCES test sequences, one after another (`lax.map`):
  jumping Skip LSTM vs a plain LSTM with the same weights. Returns (skip ms, plain ms, updates)."""
  xs = jnp.asarray(synthetic.frequency_discrimination(args.seed + 1, 0, TIMED_SEQUENCES, SEQ_LEN,
                                                      split="test")["inputs"])
  rnn = params.rnn
  skip = jax.jit(lambda p, x: jax.lax.map(lambda s: inference.skip_rnn_infer(p, s).state, x))
  plain = jax.jit(lambda p, x: jax.lax.map(
      lambda s: recurrence.lstm_layer(p, s[None], hoist_input=True)[0], x))
  timings = harness.time_interleaved({"skip": (skip, (rnn, xs)),
                                      "plain": (plain, (rnn.cores[0], xs))},
                                     repeats=args.timing_repeats, rounds=5)
  counts = jax.jit(jax.vmap(lambda s: inference.skip_rnn_infer(rnn, s).num_updates))(xs)
  return timings["skip"].median_ms, timings["plain"].median_ms, float(np.mean(counts))


def main(argv: Sequence[str] | None = None) -> int:
  args = _parse(argv)
  config = model.SkipRNNConfig(cell="lstm", hidden_dim=HIDDEN, input_dim=1, num_outputs=2)
  print(f"Skip LSTM ({HIDDEN} units) on frequency discrimination ({SEQ_LEN} steps), budget "
        f"lambda {BUDGET_LAMBDA:g}; training for at most {args.steps} steps / {args.seconds:.0f} s"
        f" on {jax.devices()[0].platform.upper()}", flush=True)
  params, steps, seconds = train(args, config)
  accuracy, updates, agree = evaluate(args, config, params)
  skip_ms, plain_ms, timed_updates = time_batch1(args, params)
  per_seq = lambda ms: ms / TIMED_SEQUENCES
  print(f"\nTrained {steps} steps in {seconds:.0f} s.")
  print(f"  test accuracy     {100 * accuracy:.1f}%  ({args.eval_examples} held-out sequences)")
  print(f"  steps computed    {updates:.1f} of {SEQ_LEN} per sequence "
        f"({100 * updates / SEQ_LEN:.1f}%; jumping loop and masked training path agree: "
        f"{'yes' if agree else 'NO'})")
  print(f"  batch-1 inference plain LSTM {per_seq(plain_ms):.3f} ms, Skip LSTM (jumping) "
        f"{per_seq(skip_ms):.3f} ms per sequence -> {plain_ms / skip_ms:.2f}x speed-up "
        f"(time ratio {skip_ms / plain_ms:.2f} at {timed_updates / SEQ_LEN:.2f} of the steps; "
        f"median of {args.timing_repeats}, this machine, this run)")
  return 0


if __name__ == "__main__":
  sys.exit(main())
