"""Small pure layers shared by the models: dense, embedding, dropout, and the task losses.

Parameters are explicit pytrees (NamedTuples); every function works on any leading batch axes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import validation

Array = jax.Array


class DenseParams(NamedTuple):
  w: Array  # [D_in, D_out]
  b: Array  # [D_out]


def dense_init(key: Array, input_dim: int, output_dim: int, *, bias: float = 0.0,
               param_dtype: Any = jnp.float32) -> DenseParams:
  """Glorot-uniform weights, constant bias."""
  validation.check_positive_int("input_dim", input_dim)
  validation.check_positive_int("output_dim", output_dim)
  w = jax.nn.initializers.glorot_uniform()(key, (input_dim, output_dim), jnp.float32)
  return DenseParams(w=w.astype(param_dtype), b=jnp.full((output_dim,), bias, param_dtype))


def check_dense(name: str, params: DenseParams, input_dim: int | None = None,
                output_dim: int | None = None, source: str = "its input") -> tuple[int, int]:
  """Checks a DenseParams' shapes (w [D_in, D_out], b [D_out], and the given sizes); returns
  (D_in, D_out). A mismatch raises ValueError naming `name` (and `source`, what feeds it), not a
  `dot_general` error."""
  w, b = np.shape(params.w), np.shape(params.b)
  if len(w) != 2 or b != (w[-1],):
    raise ValueError(f"{name} must have w [D_in, D_out] and b [D_out], got w {w} and b {b}")
  if input_dim is not None and w[0] != input_dim:
    raise ValueError(f"{name}.w has shape {w}: it reads {w[0]} features, but {source} has "
                     f"{input_dim}")
  if output_dim is not None and w[1] != output_dim:
    raise ValueError(f"{name}.w has shape {w}: it gives {w[1]} outputs, expected {output_dim}")
  return w[0], w[1]


def dense(params: DenseParams, x: Array) -> Array:
  """x @ w + b, accumulated in float32: [..., D_in] -> [..., D_out]."""
  y = jnp.matmul(x.astype(params.w.dtype), params.w, preferred_element_type=jnp.float32)
  return y + params.b.astype(jnp.float32)


def embedding_init(key: Array, vocab_size: int, dim: int, *, scale: float = 0.1,
                   param_dtype: Any = jnp.float32) -> Array:
  """[vocab_size, dim] table, N(0, scale^2)."""
  validation.check_positive_int("vocab_size", vocab_size)
  validation.check_positive_int("dim", dim)
  return (scale * jax.random.normal(key, (vocab_size, dim), jnp.float32)).astype(param_dtype)


def embed(table: Array, ids: Array, name: str = "ids") -> Array:
  """Looks up integer ids [...] in [0, V) -> [..., dim] (table [V, dim]).

  Ids outside [0, V) raise ValueError naming `name` when concrete, or are reported by
  `checkify.checkify` when traced (`validation.check_token_ids`): unchecked, `jnp.take` would
  give NaN rows past the table and wrap negative ids around.
  """
  validation.check_rank("embedding table", table, 2)
  validation.check_token_ids(name, ids, np.shape(table)[0])
  return jnp.take(table, ids, axis=0)


def dropout(key: Array | None, x: Array, rate: float | Array | None, *,
            train: bool = True) -> Array:
  """Inverted dropout: each entry of x is zeroed with probability `rate`, the others are scaled
  by 1 / (1 - rate), so the expectation is x (Srivastava et al. 2014).

  Args:
    key: PRNG key of the Bernoulli mask (one draw per entry of x); unused when no dropout applies.
    x: any shape, floating.
    rate: drop probability in [0, 1) (a float or a traced float32 scalar, so that a sweep may vary
      it); None means no dropout.
    train: False (evaluation) returns x unchanged whatever the rate.
  Returns:
    x when `rate` is None or `train` is False (no ops are added at all); otherwise the dropped-out
    x, same shape and dtype. Rate 0 returns x exactly (every entry kept, divided by 1).
  """
  if not train or rate is None:
    return x
  if key is None:
    raise ValueError("dropout needs a PRNG key when training with a rate")
  if jnp.ndim(rate) != 0:
    raise ValueError(f"dropout rate must be a scalar, got shape {jnp.shape(rate)}")
  if validation.is_concrete(rate) and not 0.0 <= float(rate) < 1.0:
    raise ValueError(f"dropout rate must lie in [0, 1), got {float(rate)}")
  keep = 1.0 - jnp.asarray(rate, jnp.float32)
  mask = jax.random.bernoulli(key, keep, jnp.shape(x))
  return jnp.where(mask, x / keep.astype(x.dtype), jnp.zeros((), x.dtype)).astype(x.dtype)


def softmax_cross_entropy(logits: Array, labels: Array) -> Array:
  """Per-example cross-entropy: logits [..., C], integer labels [...] -> [...]."""
  logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  return -jnp.take_along_axis(logp, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]


def accuracy(logits: Array, labels: Array) -> Array:
  """Per-example 0/1 correctness [...] as float32."""
  return (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)


def example_weights(batch: dict[str, Any], batch_size: int) -> Array:
  """Per-example loss weights [B] float32 from a protocol batch: the one weighting rule.

  `batch['mask']` [B] (bool or 0/1: 0 marks a padded batch entry) and `batch['weights']` [B]
  (float) multiply; with neither, every example weighs 1. Every model weighs its losses and
  metrics with these so that padded entries of a fixed-shape batch change nothing.
  """
  w = jnp.ones((batch_size,), jnp.float32)
  for name in ("mask", "weights"):
    if name in batch:
      value = jnp.asarray(batch[name])
      if value.shape != (batch_size,):
        raise ValueError(f"batch['{name}'] must have shape ({batch_size},) (one value per "
                         f"example), got {value.shape}")
      w = w * value.astype(jnp.float32)
  return w


def weighted_mean(values: Array, weights: Array) -> Array:
  """`sum(w * x) / sum(w)` over all axes, 0 when every weight is 0 (an all-padding batch)."""
  weights = jnp.broadcast_to(jnp.asarray(weights).astype(jnp.float32), jnp.shape(values))
  total = jnp.sum(weights)
  return jnp.sum(weights * jnp.asarray(values).astype(jnp.float32)) / jnp.maximum(total, 1e-12)
