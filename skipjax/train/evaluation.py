"""Exact evaluation over a whole set, and the batch helpers both training loops share
(`skipjax.train.loop.fit`, `skipjax.train.sweep_loop.fit_sweep`)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import jax
import numpy as np

from skipjax.train import metrics_log
from skipjax.train import step as step_lib
from skipjax.train.state import TrainState

Batch = Mapping[str, Any]
Metrics = Mapping[str, Any]
EvalStep = Callable[[TrainState, Batch, jax.Array], Metrics]
Batches = Iterable[Batch] | Callable[[], Iterable[Batch]]


def _local_rows(x: Any) -> np.ndarray:
  """`x` on the host; for a global array spanning other processes' devices, the rows this
  process holds (each distinct shard once)."""
  if not isinstance(x, jax.Array) or x.is_fully_addressable:
    return np.asarray(x)
  shards = {}
  for shard in x.addressable_shards:
    shards.setdefault(tuple((s.start, s.stop) for s in shard.index), shard)
  return np.concatenate([np.asarray(shards[k].data) for k in sorted(shards, key=str)])


def batch_weight(batch: Batch) -> float:
  """Number of real examples in a (possibly padded) batch, for the examples/s counter. With
  several processes each counts its own rows and scales by the process count (exact when the
  processes' rows weigh the same, as in unpadded training batches; no cross-process sync)."""
  leaves = jax.tree.leaves(batch.get("labels", batch))
  local = [_local_rows(batch[name]) for name in ("mask", "weights") if name in batch]
  batch_size = (_local_rows(leaves[0]) if not local else local[0]).shape[0]
  weight = np.ones(batch_size)
  for value in local:
    weight = weight * np.asarray(value, dtype=np.float64)
  scale = 1 if all(not isinstance(x, jax.Array) or x.is_fully_addressable
                   for x in leaves[:1]) else jax.process_count()
  return float(weight.sum()) * scale


def fresh_iterable(batches: Batches, name: str) -> Iterable[Batch]:
  """One pass of re-iterable `batches` (a list, or a function returning a fresh iterator); a
  one-shot iterator raises TypeError naming `name` (it could not be read at every evaluation)."""
  iterable = batches() if callable(batches) else batches
  if iter(iterable) is iterable and not callable(batches):  # pylint: disable=comparison-with-itself
    raise TypeError(f"{name} batches must be re-iterable (a list, or a function returning a fresh "
                    "iterator per pass), not a one-shot iterator: they are read at every "
                    "evaluation")
  return iterable


def evaluate(eval_step: EvalStep, state: TrainState, batches: Batches, key: jax.Array, *,
             desc: str = "eval", show_progress: bool = True) -> dict[str, float]:
  """Exact metrics over a whole evaluation set (padded last batch included), with a progress bar.

  `eval_step` is `skipjax.train.step.make_eval_step(loss_fn)` (jitted or not): per batch it
  returns metric sums and 'count' (the weight of the batch's real examples), so the result is
  the mean over the real examples whatever the batch sizes. `batches`: a re-iterable, or a
  function returning a fresh iterable. Returns {metric: mean} plus 'count', as Python floats.
  """
  iterable = metrics_log.progress(fresh_iterable(batches, desc), desc=desc,
                                  enabled=show_progress)
  try:
    return step_lib.evaluate(eval_step, state, iterable, key)
  except ValueError as e:
    if "empty" in str(e):
      raise ValueError(f"evaluation set {desc!r} has no batches") from e
    raise


def prefixed(prefix: str, metrics: Mapping[str, Any]) -> dict[str, float]:
  """`{prefix/name: float(value)}`: a split's metrics as the logs and records name them."""
  return {f"{prefix}/{k}": float(v) for k, v in metrics.items()}
