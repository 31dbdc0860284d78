"""Stopping on request (`should_stop`, `interrupt.StopRequest`): a checkpoint of the last step,
`Interrupted`, and a resumed run equal to one never stopped."""

from __future__ import annotations

import os
import signal
import time

import chex
import jax
import jax.numpy as jnp
import pytest

from skipjax.train import interrupt
from skipjax.train import loop
from skipjax.train import sweep_loop

from test_checkpoint import (ToyIterator, toy_data, toy_eval_step, toy_fit,  # pylint: disable=g-bad-import-order
                             toy_init_state, toy_train_step)
from test_loop import ckpt_steps  # pylint: disable=g-bad-import-order
from test_sweep_loop import (EVAL_STEP, SETTINGS, TRAIN_STEP, batches, config,  # pylint: disable=g-bad-import-order
                             single_state)


class StopAfter:
  """should_stop that says yes once `n` calls (steps) have been made."""

  def __init__(self, n):
    self.n, self.calls, self.reason = n, 0, "test stop"

  def __call__(self):
    self.calls += 1
    return self.calls >= self.n


@pytest.mark.parametrize("stop_after", [5, 4])  # between checkpoints; at an evaluation's
def test_stopped_run_saves_its_step_and_resumes_exactly(tmp_path, stop_after):
  whole, _ = toy_fit(tmp_path / "whole", 12)
  x, y = toy_data()
  stop = StopAfter(stop_after)
  with pytest.raises(interrupt.Interrupted, match=rf"stopped at step {stop_after} \(test stop\); "
                                                  "checkpoint .*: run it again") as e:
    loop.fit(dict(num_steps=12, eval_every=4, log_every=2, progress=False),
             workdir=tmp_path / "stopped", train_step=toy_train_step, init_state=toy_init_state(),
             train_iter=ToyIterator(x, y), key=jax.random.key(1), eval_step=toy_eval_step,
             dev_batches=[{"inputs": x, "labels": y}], should_stop=stop)
  assert e.value.step == stop_after
  assert e.value.checkpoint_dir == tmp_path / "stopped" / "checkpoints" / str(stop_after)
  assert stop_after in ckpt_steps(tmp_path / "stopped")
  assert not (tmp_path / "stopped" / loop.SUMMARY_NAME).exists()
  resumed, _ = toy_fit(tmp_path / "stopped", 12)
  assert resumed.summary["resumed_from"] == stop_after
  chex.assert_trees_all_equal(jax.device_get(resumed.state), jax.device_get(whole.state))
  assert resumed.summary["best_step"] == whole.summary["best_step"]
  assert resumed.summary["best_dev"] == whole.summary["best_dev"]


def test_a_stop_asked_at_the_last_step_finishes_the_run(tmp_path):
  x, y = toy_data()
  result = loop.fit(dict(num_steps=3, log_every=1, progress=False), workdir=tmp_path,
                    train_step=toy_train_step, init_state=toy_init_state(),
                    train_iter=ToyIterator(x, y), key=jax.random.key(1),
                    should_stop=StopAfter(3))
  assert result.summary["steps"] == 3 and (tmp_path / loop.SUMMARY_NAME).exists()


def test_stopped_sweep_resumes_exactly(tmp_path):
  x, y = toy_data()

  def run(workdir, should_stop=None):
    carry = sweep_loop.init_carry(sweep_loop.stack_states([single_state(**s) for s in SETTINGS]))
    keys = jnp.stack([jax.random.key(s["seed"]) for s in SETTINGS])
    return sweep_loop.fit_sweep(config(early_stopping_patience=0), workdir=workdir,
                                train_step=TRAIN_STEP, init_carry=carry,
                                train_iter=ToyIterator(x, y), keys=keys,
                                labels=["s0", "s1", "s2"], eval_step=EVAL_STEP,
                                dev_batches=batches(), test_batches=batches(),
                                should_stop=should_stop)

  whole = run(tmp_path / "whole")
  with pytest.raises(interrupt.Interrupted, match="stopped at step 5"):
    run(tmp_path / "stopped", StopAfter(5))
  assert 5 in ckpt_steps(tmp_path / "stopped")
  resumed = run(tmp_path / "stopped")
  assert resumed.summary["resumed_from"] == 5
  chex.assert_trees_all_equal(jax.device_get(resumed.carry), jax.device_get(whole.carry))
  for a, b in zip(resumed.summaries, whole.summaries):
    assert a["test"] == b["test"] and a["best_step"] == b["best_step"]


def test_stop_request_time_limit():
  assert interrupt.StopRequest(seconds=0)() is True
  stop = interrupt.StopRequest(seconds=0)
  stop()
  assert stop.reason == "time limit of 0 s reached"
  later = interrupt.StopRequest(seconds=3600)
  assert later() is False and later.reason is None
  assert interrupt.StopRequest()() is False  # no limit, no signal
  for bad in (-1, float("nan"), float("inf"), "10"):
    with pytest.raises(ValueError, match="seconds must be a finite number >= 0"):
      interrupt.StopRequest(seconds=bad)


def test_stop_request_on_sigterm_then_the_old_handler():
  seen = []
  original = signal.signal(signal.SIGTERM, lambda signum, frame: seen.append(signum))
  try:
    with interrupt.StopRequest() as stop:
      assert stop() is False
      os.kill(os.getpid(), signal.SIGTERM)
      time.sleep(0.05)
      assert stop() is True and stop.reason == "SIGTERM" and not seen
      os.kill(os.getpid(), signal.SIGTERM)  # a second one goes to the handler before it
      time.sleep(0.05)
      assert seen == [signal.SIGTERM]
    os.kill(os.getpid(), signal.SIGTERM)  # and after the block, too
    time.sleep(0.05)
    assert seen == [signal.SIGTERM] * 2
  finally:
    signal.signal(signal.SIGTERM, original)


def test_stop_request_restores_handlers_when_no_signal_came():
  handler = signal.getsignal(signal.SIGINT)
  with interrupt.StopRequest(signals=(signal.SIGINT,)):
    assert signal.getsignal(signal.SIGINT) is not handler
  assert signal.getsignal(signal.SIGINT) is handler
