"""A vmapped sweep of 8 settings against 8 sequential runs of the same train step.

Cases (plain LSTM classifier, Adam, the 8 settings differ in learning rate; one timed call = one
training step of all 8 settings on the same batch):
- `sequential_8` (baseline): the jitted single-setting train step called 8 times, once per
  setting's TrainState (one compiled program; the rate lives in each opt_state).
- `vmapped_8`: `sweep.make_sweep_step` jitted: the 8 settings in one call of one program.
- `looped_8`: `make_sweep_step(..., settings_per_call=1)`: one program that loops over the 8
  settings (`lax.map`): no batching, but one dispatch per step.

`time_ratio` < 1 means the vmapped sweep is faster. On an accelerator the 8 small programs become
one batched program (8x the matmul rows); on a CPU with 2 cores both saturate the cores, so the
ratio may be near 1 (the sweep still saves 7 dispatches and Python round trips per step). FLOPs
are analytic: 3x the forward recurrence (backward about 2x forward), for all 8 settings.
"""

from __future__ import annotations

import jax
import numpy as np

from skipjax import classifier
from skipjax.bench import harness
from skipjax.train import optim
from skipjax.train import step as step_lib
from skipjax.train import sweep as sweep_lib

NUM_SETTINGS = 8


def run(quick: bool = False) -> list[harness.Row]:
  """Times both cases, interleaved, at each batch size."""
  if quick:
    seq_len, hidden, vocab, batches, repeats, rounds = 6, 8, 16, (4,), 2, 1
  else:
    seq_len, hidden, vocab, batches, repeats, rounds = 100, 64, 1000, (8, 32), 20, 5
  embed = hidden
  learning_rates = np.geomspace(1e-4, 1e-2, NUM_SETTINGS).astype(np.float32)
  params = classifier.init(jax.random.PRNGKey(0), vocab_size=vocab, embed_dim=embed,
                           hidden_dim=hidden, num_classes=2)
  optimizer = optim.make_optimizer("adam", 1e-3, clip_norm=1.0)
  # No donation: the timer calls each function repeatedly on the same state.
  single_step = jax.jit(step_lib.make_train_step(classifier.loss_fn, optimizer))
  train_step = step_lib.make_train_step(classifier.loss_fn, optimizer)
  sweep_step = jax.jit(sweep_lib.make_sweep_step(train_step))
  looped_step = jax.jit(sweep_lib.make_sweep_step(train_step, settings_per_call=1))
  stacked = sweep_lib.init_sweep_state(params, optimizer, {"learning_rate": learning_rates})
  singles = [sweep_lib.select(stacked, s) for s in range(NUM_SETTINGS)]

  def sequential(states, batch, key):
    return [single_step(state, batch, key) for state in states]

  rows = []
  key = jax.random.PRNGKey(1)
  for batch_size in batches:
    rng = np.random.default_rng(batch_size)
    batch = {"inputs": rng.integers(0, vocab, (batch_size, seq_len)).astype(np.int32),
             "lengths": np.full((batch_size,), seq_len, np.int32),
             "labels": rng.integers(0, 2, (batch_size,)).astype(np.int32)}
    batch = jax.device_put(batch)
    timings = harness.time_interleaved(
        {"sequential_8": (sequential, (singles, batch, key)),
         "vmapped_8": (sweep_step, (stacked, batch, key)),
         "looped_8": (looped_step, (stacked, batch, key))}, repeats=repeats, rounds=rounds)
    flops = 3 * NUM_SETTINGS * batch_size * seq_len * classifier.step_flops(params)
    extra = {"settings": NUM_SETTINGS, "seq_len": seq_len, "hidden_dim": hidden,
             "embed_dim": embed}
    rows.append(harness.Row("sequential_8", batch_size, timings["sequential_8"], None, 1.0,
                            flops, extra=extra))
    for case in ("vmapped_8", "looped_8"):
      rows.append(harness.Row(case, batch_size, timings[case], "sequential_8", 1.0, flops,
                              extra=extra))
  return rows
