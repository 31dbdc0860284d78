"""Whole training runs: a sweep of 8 settings (`sweep_loop.fit_sweep`) against 8 sequential
`loop.fit` runs of the same settings (issue 14 item 4).

Each timed call is a complete study from scratch in a fresh work directory: building and
compiling the train and eval steps, `num_steps` steps of a plain LSTM classifier (Adam, the 8
settings differ in learning rate), a dev evaluation every half and the test evaluation, with
checkpoints (orbax), metric logs and early-stopping bookkeeping, as `experiments.run` does; no
TensorBoard and no progress output. Cases:
- `runs_8` (baseline): 8 `loop.fit` runs one after the other (as 8 commands would run, minus
  process start-up and data loading, which favours the baseline);
- `sweep_8_looped`: one `fit_sweep`, the settings looped inside one program
  (`settings_per_call=1`, the CPU default);
- `sweep_8_vmapped`: one `fit_sweep`, the settings vmapped (`settings_per_call=None`, the
  accelerator default).
`time_ratio` < 1: the sweep finishes the study sooner. The three run alternately (interleaved
rounds), so load from other processes hits them alike.
"""

from __future__ import annotations

import tempfile

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import classifier
from skipjax.bench import harness
from skipjax.train import loop
from skipjax.train import optim
from skipjax.train import step as step_lib
from skipjax.train import sweep_loop

NUM_SETTINGS = 8


class _Batches:
  """Resumable random token batches (labels: whether token 0 is in the first half of the
  vocabulary, so the task is learnable)."""

  def __init__(self, batch_size: int, seq_len: int, vocab: int):
    self.batch_size, self.seq_len, self.vocab, self.pos = batch_size, seq_len, vocab, 0

  def __next__(self):
    rng = np.random.default_rng([self.batch_size, self.pos])
    self.pos += 1
    return _batch(rng, self.batch_size, self.seq_len, self.vocab)

  def get_state(self):
    return {"pos": self.pos}

  def set_state(self, state):
    self.pos = state["pos"]


def _batch(rng, batch_size, seq_len, vocab):
  inputs = rng.integers(0, vocab, (batch_size, seq_len)).astype(np.int32)
  return {"inputs": inputs, "lengths": np.full((batch_size,), seq_len, np.int32),
          "labels": (inputs[:, 0] < vocab // 2).astype(np.int32)}


def run(quick: bool = False) -> list[harness.Row]:
  if quick:
    seq_len, hidden, vocab, batches, num_steps, repeats, rounds = 6, 8, 16, (4,), 4, 1, 1
  else:
    seq_len, hidden, vocab, batches, num_steps, repeats, rounds = 50, 64, 1000, (8, 32), 100, 2, 2
  learning_rates = np.geomspace(1e-4, 1e-2, NUM_SETTINGS).astype(np.float32)
  optimizer = optim.make_optimizer("adam", 1e-3, clip_norm=1.0)
  params = classifier.init(jax.random.PRNGKey(0), vocab_size=vocab, embed_dim=hidden,
                           hidden_dim=hidden, num_classes=2)
  config = loop.LoopConfig(num_steps=num_steps, eval_every=max(num_steps // 2, 1),
                           log_every=max(num_steps // 4, 1), progress=False, tensorboard=False)
  keys = [jax.random.key(s) for s in range(NUM_SETTINGS)]

  def states():
    out = []
    for lr in learning_rates:
      # Own buffers: a jitted train step donates its input state.
      state = step_lib.init_train_state(jax.tree.map(jnp.copy, params), optimizer)
      out.append(state._replace(opt_state=optim.set_hyperparam(state.opt_state,
                                                               "learning_rate", lr)))
    return out

  rows = []
  for batch_size in batches:
    rng = np.random.default_rng(1000 + batch_size)
    dev = [_batch(rng, 64, seq_len, vocab) for _ in range(4)]
    test = [_batch(rng, 64, seq_len, vocab) for _ in range(4)]

    def runs_8():
      with tempfile.TemporaryDirectory() as tmp:
        out = []
        for s, state in enumerate(states()):
          # New step functions per run: each run compiles its own, as a separate command does.
          train_step = step_lib.jit_train_step(step_lib.make_train_step(classifier.loss_fn,
                                                                        optimizer))
          eval_step = jax.jit(step_lib.make_eval_step(classifier.loss_fn))
          out.append(loop.fit(config, workdir=f"{tmp}/{s}", train_step=train_step,
                              init_state=state, train_iter=_Batches(batch_size, seq_len, vocab),
                              key=keys[s], eval_step=eval_step, dev_batches=dev,
                              test_batches=test).state.params)
        return out

    def sweep_8(settings_per_call):
      def fn():
        with tempfile.TemporaryDirectory() as tmp:
          carry = sweep_loop.init_carry(sweep_loop.stack_states(states()))
          return sweep_loop.fit_sweep(
              config, workdir=tmp, train_step=step_lib.make_train_step(classifier.loss_fn,
                                                                       optimizer),
              init_carry=carry, train_iter=_Batches(batch_size, seq_len, vocab),
              keys=jnp.stack(keys), labels=[f"lr{s}" for s in range(NUM_SETTINGS)],
              eval_step=step_lib.make_eval_step(classifier.loss_fn), dev_batches=dev,
              test_batches=test, settings_per_call=settings_per_call).carry.state.params
      return fn

    timings = harness.time_interleaved(
        {"runs_8": (runs_8, ()), "sweep_8_looped": (sweep_8(1), ()),
         "sweep_8_vmapped": (sweep_8(None), ())}, warmup=1, repeats=repeats, rounds=rounds)
    extra = {"settings": NUM_SETTINGS, "seq_len": seq_len, "hidden_dim": hidden,
             "num_steps": num_steps, "what": "a whole study: compile, train, evaluate, test"}
    rows.append(harness.Row("runs_8", batch_size, timings["runs_8"], None, 1.0, extra=extra))
    for case in ("sweep_8_looped", "sweep_8_vmapped"):
      rows.append(harness.Row(case, batch_size, timings[case], "runs_8", 1.0, extra=extra))
  return rows
