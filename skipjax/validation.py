"""Input checks shared by the public entry points.

Every check raises a ValueError/TypeError that names the offending argument. Value checks (lengths
within [0, T]) run when the values are concrete (eager calls, numpy inputs); under `jax.jit` only
shapes and dtypes can be checked, so entry points that are usually jitted are also checked
eagerly by the data pipeline and the train loop.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


def check_positive_int(name: str, value: Any) -> None:
  if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
    raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_nonneg_int(name: str, value: Any) -> None:
  if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
    raise ValueError(f"{name} must be a non-negative integer, got {value!r}")


def check_rank(name: str, x: Any, rank: int | tuple[int, ...]) -> None:
  ranks = (rank,) if isinstance(rank, int) else tuple(rank)
  ndim = np.ndim(x)
  if ndim not in ranks:
    want = " or ".join(str(r) for r in ranks)
    raise ValueError(f"{name} must have rank {want}, got shape {np.shape(x)}")


def check_floating(name: str, x: Any) -> None:
  if not jnp.issubdtype(jnp.result_type(x), jnp.floating):
    raise TypeError(f"{name} must have a floating dtype, got {jnp.result_type(x)}")


def check_last_dim(name: str, x: Any, size: int, what: str) -> None:
  if np.shape(x)[-1] != size:
    raise ValueError(f"{name} has last dimension {np.shape(x)[-1]}, but {what} is {size}")


def is_concrete(x: Any) -> bool:
  return not isinstance(x, jax.core.Tracer)


def check_lengths(lengths: Any, batch: int, max_len: int, name: str = "lengths") -> None:
  """lengths: integer [batch], each within [0, max_len] (checked when concrete)."""
  if np.shape(lengths) != (batch,):
    raise ValueError(f"{name} must have shape ({batch},) (one length per example), "
                     f"got {np.shape(lengths)}")
  if not jnp.issubdtype(jnp.result_type(lengths), jnp.integer):
    raise TypeError(f"{name} must be integers, got dtype {jnp.result_type(lengths)}")
  if is_concrete(lengths):
    arr = np.asarray(lengths)
    if arr.size and (arr.min() < 0 or arr.max() > max_len):
      raise ValueError(f"{name} must lie in [0, {max_len}] (the padded length), got values in "
                       f"[{arr.min()}, {arr.max()}]")


def check_finite(name: str, x: Any) -> None:
  if is_concrete(x) and not bool(jnp.all(jnp.isfinite(x))):
    raise ValueError(f"{name} contains NaN or Inf")
