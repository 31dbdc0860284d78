"""Stopping a run cleanly: on a signal or at a time limit, checkpoint and stop, resumable.

`fit` and `fit_sweep` take `should_stop`, a callable polled once per step on the host. When it
returns True the loop saves a checkpoint at the current step (unless one was just saved) and
raises `Interrupted`; the same call again resumes from that checkpoint, bit for bit, as from any
other (`skipjax.train.loop`). `StopRequest` is such a callable:

    with interrupt.StopRequest(seconds=600) as stop:   # also stops on SIGTERM
      try:
        loop.fit(..., should_stop=stop)
      except interrupt.Interrupted as e:
        print(e)   # "stopped at step 1234 (time limit of 600 s reached); checkpoint ..."

A batch scheduler's SIGTERM before preemption, a session that must end by a given time, or a
short lease on an accelerator then cost no training, only the step in flight.
"""

from __future__ import annotations

import math
import pathlib
import signal
import threading
import time
from typing import Any, Callable, Sequence

import jax

from skipjax.train import multihost

ShouldStop = Callable[[], bool]


class Interrupted(Exception):
  """A run stopped on request (`should_stop`) with a checkpoint of its last step.

  Attributes: step (the last step trained and saved), checkpoint_dir, reason (e.g. 'SIGTERM').
  """

  def __init__(self, step: int, checkpoint_dir: pathlib.Path | None, reason: str):
    self.step, self.checkpoint_dir, self.reason = step, checkpoint_dir, reason
    super().__init__(f"stopped at step {step} ({reason}); checkpoint {checkpoint_dir}: run it "
                     "again to continue")


class StopRequest:
  """`should_stop` for `fit`: True once `seconds` have passed since it was made, or once one of
  `signals` arrived while it was entered (`with StopRequest(...)`).

  The first such signal only asks the loop to stop at the end of its step; its previous handler
  is then put back, so a second one acts as it did before (SIGINT: KeyboardInterrupt at once).
  Handlers can only be installed in the main thread; elsewhere only the time limit applies.

  Attributes: reason (None until a stop was asked, then e.g. 'SIGTERM' or 'time limit of 600 s
  reached').
  """

  def __init__(self, seconds: float | None = None,
               signals: Sequence[int] = (signal.SIGTERM,)):
    if seconds is not None and not (isinstance(seconds, (int, float)) and math.isfinite(seconds)
                                    and seconds >= 0):
      raise ValueError(f"seconds must be a finite number >= 0 or None, got {seconds!r}")
    self.seconds = seconds
    self.signals = tuple(signals)
    self.reason: str | None = None
    self._deadline = None if seconds is None else time.monotonic() + seconds
    self._previous: dict[int, Any] = {}

  def __enter__(self) -> "StopRequest":
    if threading.current_thread() is threading.main_thread():
      for sig in self.signals:
        self._previous[sig] = signal.signal(sig, self._on_signal)
    return self

  def __exit__(self, *exc) -> None:
    for sig, previous in self._previous.items():
      signal.signal(sig, previous)
    self._previous.clear()

  def _on_signal(self, signum: int, frame: Any) -> None:
    del frame
    if self.reason is None:
      self.reason = signal.Signals(signum).name
    previous = self._previous.pop(signum, None)
    if previous is not None:
      signal.signal(signum, previous)

  def __call__(self) -> bool:
    if self.reason is None and self._deadline is not None and time.monotonic() >= self._deadline:
      self.reason = f"time limit of {self.seconds:g} s reached"
    return self.reason is not None


def stop_now(should_stop: ShouldStop | None, step: int, log_every: int) -> bool:
  """Whether the loop stops after `step`: `should_stop()` with one process. With several,
  process 0 decides at log steps only (every process must stop at the same step)."""
  if should_stop is None:
    return False
  if jax.process_count() == 1:
    return bool(should_stop())
  if step % log_every:
    return False
  return bool(multihost.broadcast_int(int(bool(should_stop())) if multihost.is_primary() else 0))


def reason_of(should_stop: ShouldStop) -> str:
  """The stop's reason where `should_stop` gives one (`StopRequest.reason`), else 'stop asked'."""
  return getattr(should_stop, "reason", None) or "stop asked"
