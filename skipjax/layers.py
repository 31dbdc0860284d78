"""Small pure layers shared by the models: dense, embedding, and the task losses.

Parameters are explicit pytrees (NamedTuples); every function works on any leading batch axes.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

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


def embed(table: Array, ids: Array) -> Array:
  """Looks up integer ids [...] -> [..., dim]."""
  if not jnp.issubdtype(ids.dtype, jnp.integer):
    raise TypeError(f"ids must be integers, got dtype {ids.dtype}")
  return jnp.take(table, ids, axis=0)


def softmax_cross_entropy(logits: Array, labels: Array) -> Array:
  """Per-example cross-entropy: logits [..., C], integer labels [...] -> [...]."""
  logp = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  return -jnp.take_along_axis(logp, labels[..., None].astype(jnp.int32), axis=-1)[..., 0]


def accuracy(logits: Array, labels: Array) -> Array:
  """Per-example 0/1 correctness [...] as float32."""
  return (jnp.argmax(logits, axis=-1) == labels).astype(jnp.float32)
