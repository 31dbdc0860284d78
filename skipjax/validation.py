"""Input checks shared by the public entry points.

Every check raises a ValueError/TypeError that names the offending argument. Shapes and dtypes
are checked always (they are static under `jax.jit`). Value checks (lengths within [0, T], token
ids within the vocabulary, a temperature above 0, a threshold in [0, 1], ...) raise at once when
the value is concrete (Python numbers, numpy arrays, eager calls). Under a trace (`jax.jit`,
`vmap`, `grad`) a value is data, unknown until it runs: there the same check becomes a
`checkify.debug_check`, which costs nothing in a plain jitted call and reports the same message
under `jax.experimental.checkify.checkify`:

    err, out = checkify.checkify(jax.jit(skip_rnn.skip_rnn_infer))(params, xs, length)
    err.throw()   # ValueError-like JaxRuntimeError: "length must lie in [0, 10] ..."

Values that a config gives (hparams, thresholds) are checked before anything is traced: see
`check_hparams` and `experiments.registry.check_hparams`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify


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
  """False for a tracer (a value inside jit/vmap/grad), True for numbers and arrays."""
  return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(x))


def _check_values(x: Any, ok: Callable[[Any], Any], message: str) -> None:
  """Raises ValueError(f"{message}, got ...") unless `ok(x)` holds elementwise (concrete x), or
  adds a `checkify.debug_check` with `message` (traced x)."""
  if is_concrete(x):
    arr = np.asarray(x)
    if not bool(np.all(ok(arr))):
      raise ValueError(f"{message}, {_describe_values(arr)}")
  else:
    checkify.debug_check(jnp.all(ok(x)), message)


def _describe_values(arr: np.ndarray) -> str:
  if arr.ndim == 0:
    return f"got {arr.item()!r}"
  if arr.dtype.kind == "f" and np.isnan(arr).any():
    return "got NaN among them"
  return f"got values in [{arr.min()!s}, {arr.max()!s}]"


def require(ok: Any, message: str) -> None:
  """Raises ValueError(message) unless every element of the boolean `ok` is True (concrete);
  a `checkify.debug_check` with the message where `ok` is traced."""
  if is_concrete(ok):
    if not bool(np.all(np.asarray(ok))):
      raise ValueError(message)
  else:
    checkify.debug_check(jnp.all(ok), message)


@dataclasses.dataclass(frozen=True)
class Interval:
  """Finite numbers in [lo, hi] (an end is open where lo_open / hi_open). NaN and +-inf never
  lie in an Interval, whatever its ends."""
  lo: float = -math.inf
  hi: float = math.inf
  lo_open: bool = False
  hi_open: bool = False

  def __str__(self) -> str:
    end = lambda v: "inf" if v == math.inf else "-inf" if v == -math.inf else f"{v:g}"
    opening = "(" if self.lo_open or self.lo == -math.inf else "["
    closing = ")" if self.hi_open or self.hi == math.inf else "]"
    return f"{opening}{end(self.lo)}, {end(self.hi)}{closing}"

  def contains(self, x: Any) -> Any:
    """Elementwise bool: numpy for concrete x, jax.numpy for traced x."""
    xp = np if is_concrete(x) else jnp
    x = xp.asarray(x, np.float64 if xp is np else jnp.float32)
    above = x > self.lo if self.lo_open else x >= self.lo
    below = x < self.hi if self.hi_open else x <= self.hi
    return above & below & xp.isfinite(x)


NONNEG = Interval(0.0)                              # weights of loss terms
POSITIVE = Interval(0.0, lo_open=True)              # temperatures
UNIT = Interval(0.0, 1.0)                           # probabilities, thresholds, mixing weights
RATE = Interval(0.0, 1.0, hi_open=True)             # dropout rates


def check_in(name: str, x: Any, interval: Interval, what: str = "") -> None:
  """Every element of x (a number or an array) lies in `interval`; the error names `name`.

  Concrete: raises ValueError now. Traced: a `checkify.debug_check` (see the module docstring).
  `what` is added to the message (e.g. "(the Gumbel temperature)").
  """
  try:
    number = x is not None and jnp.issubdtype(jnp.result_type(x), jnp.number)  # bool is not
  except TypeError:
    number = False
  if not number:
    raise TypeError(f"{name} must be a number, got {x!r}")
  _check_values(x, interval.contains,
                f"{name} must lie in {interval}" + (f" {what}" if what else ""))


def check_hparams(hparams: Mapping[str, Any], spec: Mapping[str, Interval],
                  name: Callable[[str], str] = lambda k: f"hparams[{k!r}]") -> None:
  """Range checks of the loss hparams a model reads (`spec`: hparam name -> Interval).

  Names absent from `hparams` are skipped (their defaults apply) and names absent from `spec` are
  not looked at (the train step adds 'step'). Concrete values raise now; traced ones (inside the
  jitted train step) become `checkify.debug_check`s: configs are checked before the jit by
  `experiments.registry.check_hparams`.
  """
  for key, interval in spec.items():
    if hparams.get(key) is not None:
      check_in(name(key), hparams[key], interval)


def check_token_ids(name: str, ids: Any, vocab_size: int) -> None:
  """Integer ids, each in [0, vocab_size): an id past the table would read NaN (`jnp.take`
  fills out-of-bounds rows) and a negative one would wrap around to the end of the table."""
  if not jnp.issubdtype(jnp.result_type(ids), jnp.integer):
    raise TypeError(f"{name} must be integer token ids, got dtype {jnp.result_type(ids)}")
  if np.size(ids):
    _check_values(ids, lambda a: (a >= 0) & (a < vocab_size),
                  f"{name} must be token ids in [0, {vocab_size}) (the embedding's vocabulary)")


def check_lengths(lengths: Any, batch: int, max_len: int, name: str = "lengths") -> None:
  """lengths: integer [batch], each within [0, max_len] (concrete: raises now; traced: a
  `checkify.debug_check`, see the module docstring)."""
  if np.shape(lengths) != (batch,):
    raise ValueError(f"{name} must have shape ({batch},) (one length per example), "
                     f"got {np.shape(lengths)}")
  if not jnp.issubdtype(jnp.result_type(lengths), jnp.integer):
    raise TypeError(f"{name} must be integers, got dtype {jnp.result_type(lengths)}")
  if batch:
    _check_values(lengths, lambda a: (a >= 0) & (a <= max_len),
                  f"{name} must lie in [0, {max_len}] (the padded length)")


def check_finite(name: str, x: Any) -> None:
  if is_concrete(x) and not bool(jnp.all(jnp.isfinite(x))):
    raise ValueError(f"{name} contains NaN or Inf")
