"""Several processes, one run: who writes, and how the processes agree.

With `jax.distributed` (`parallel.initialize_distributed`) every process runs the same program
on its own devices: they train one model on a mesh over all of them. The run's files are written
once, by process 0 (the *primary*): the workdir lock, config, logs, TensorBoard, checkpoint
manifests, summary, result record and plots. Orbax's checkpoints are written by all processes
together (each saves the shards it holds; with a replicated state, process 0 writes them).

The processes must take the same decisions at the same points (resume or start, stop early,
fail). Decisions made from replicated values (metrics, the state) agree by construction; a
decision that only the primary can take (the workdir's lock and config checks) goes through
`primary_decides`, which runs it on process 0 and hands the outcome to every process, so that a
failure on process 0 stops all of them instead of leaving the others waiting in a collective.

With one process every helper here is a no-op or a plain call.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, TypeVar

import jax
import numpy as np

T = TypeVar("T")


class PrimaryFailedError(RuntimeError):
  """Raised on the other processes when process 0 failed at a step that `primary_decides` ran
  (process 0 raises the error itself, with its message)."""


def is_primary() -> bool:
  """True on process 0 (and always with one process): the process that writes the run's files."""
  return jax.process_index() == 0


def barrier(name: str) -> None:
  """Waits until every process has reached the barrier `name` (no-op with one process)."""
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
    multihost_utils.sync_global_devices(name)


def broadcast_int(value: int) -> int:
  """Process 0's `value` on every process (the value itself with one process)."""
  if jax.process_count() == 1:
    return int(value)
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  return int(multihost_utils.broadcast_one_to_all(np.int32(value)))


def primary_decides(fn: Callable[[], T], what: str) -> T | None:
  """Runs `fn` on process 0 only; returns its value there (None on the others).

  Every process returns only once process 0 has finished `fn`. If `fn` raised, process 0
  re-raises it and every other process raises PrimaryFailedError naming `what`, so all of them
  stop at the same point.
  """
  error: BaseException | None = None
  value = None
  if is_primary():
    try:
      value = fn()
    except BaseException as e:  # pylint: disable=broad-except
      error = e
  if broadcast_int(0 if error is None else 1):
    if error is not None:
      raise error
    raise PrimaryFailedError(f"process 0 failed while {what} (its log says why); process "
                             f"{jax.process_index()} stops too")
  return value


def primary_only(context: contextlib.AbstractContextManager[Any]
                 ) -> contextlib.AbstractContextManager[Any]:
  """`context` on process 0, a no-op context on the others (e.g. the workdir lock)."""
  return context if is_primary() else contextlib.nullcontext()


def describe() -> str:
  """'' with one process, else ', 2 processes' (for hardware lines)."""
  count = jax.process_count()
  return "" if count == 1 else f", {count} processes"
