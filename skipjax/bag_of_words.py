"""A non-recurrent baseline: the mean of the word embeddings of each text, then an MLP.

PAPERS.md ("Measuring speed honestly") asks for a cheap non-recurrent baseline in the tables, to
keep the skipping models' accuracy and speed claims honest: a skip/skim/jump reader that saves
half the recurrent steps is not useful if averaging embeddings is as accurate and ten times
cheaper. Unigram features only, no n-grams (the fastText recipe without its bigrams).

    features = mean_{t < length} E[x_t]            [B, E]
    logits   = W2 relu(W1 features + b1) + b2      (hidden_dim 0: logits = W features + b)

Follows the loss protocol of `skipjax.train.state`, like `skipjax.classifier.loss_fn`; hparams
'dropout' (rate on the pooled features, training only; absent: none).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skipjax import layers
from skipjax import recurrence
from skipjax import validation

Array = jax.Array
Batch = dict[str, Any]

# The loss hparams `make_loss_fn` reads and their ranges; `experiments.registry.check_hparams`
# checks configs against them.
HPARAMS = {"dropout": validation.RATE}


class BagOfWordsParams(NamedTuple):
  """embedding [V, E]; hidden: DenseParams [E, H] or None (linear model); head: [H or E, C]."""
  embedding: Array
  hidden: layers.DenseParams | None
  head: layers.DenseParams


def init(key: Array, *, vocab_size: int, embed_dim: int, num_classes: int,
         hidden_dim: int = 0) -> BagOfWordsParams:
  """Initial parameters; hidden_dim 0 gives a linear model on the mean embedding."""
  validation.check_nonneg_int("hidden_dim", hidden_dim)
  k_e, k_h, k_o = jax.random.split(key, 3)
  hidden = layers.dense_init(k_h, embed_dim, hidden_dim) if hidden_dim else None
  return BagOfWordsParams(embedding=layers.embedding_init(k_e, vocab_size, embed_dim),
                          hidden=hidden,
                          head=layers.dense_init(k_o, hidden_dim or embed_dim, num_classes))


def features(params: BagOfWordsParams, ids: Array, lengths: Array | None = None) -> Array:
  """Mean embedding of the first lengths[b] tokens of each row of ids [B, T] -> [B, E].

  An empty text (length 0) gives zeros.
  """
  validation.check_rank("ids", ids, 2)
  batch, max_len = ids.shape
  if lengths is None:
    lengths = jnp.full((batch,), max_len, jnp.int32)
  else:
    validation.check_lengths(lengths, batch, max_len, "lengths")
  mask = recurrence.sequence_mask(lengths, max_len).astype(jnp.float32)
  embedded = layers.embed(params.embedding, ids).astype(jnp.float32)
  total = jnp.einsum("bt,bte->be", mask, embedded)
  return total / jnp.maximum(jnp.sum(mask, axis=1), 1.0)[:, None]


def apply(params: BagOfWordsParams, ids: Array, lengths: Array | None = None, *,
          dropout_key: Array | None = None, dropout: float | Array | None = None) -> Array:
  """Logits [B, C]; dropout on the pooled features when both dropout_key and dropout are set."""
  x = features(params, ids, lengths)
  if params.hidden is not None:
    layers.check_dense("params.hidden", params.hidden, x.shape[-1])
  layers.check_dense("params.head", params.head,
                     x.shape[-1] if params.hidden is None else params.hidden.w.shape[-1])
  if dropout_key is not None:
    x = layers.dropout(dropout_key, x, dropout)
  if params.hidden is not None:
    x = jax.nn.relu(layers.dense(params.hidden, x))
  return layers.dense(params.head, x)


def make_loss_fn(*, train: bool):
  """Classification loss (protocol of `skipjax.train.state`); `train=False`: no dropout.

  Metrics: 'loss', 'accuracy', 'fraction_computed' (1: every token is embedded), 'count'.
  """

  def loss_fn(params: BagOfWordsParams, model_state: Any, batch: Batch, key: Array,
              hparams: dict[str, Any]) -> tuple[Array, tuple[Any, dict[str, Array]]]:
    validation.check_hparams(hparams, HPARAMS)
    rate = hparams.get("dropout") if train else None
    logits = apply(params, batch["inputs"], batch.get("lengths"),
                   dropout_key=key if rate is not None else None, dropout=rate)
    batch_size = logits.shape[0]
    labels = batch["labels"]
    if jnp.shape(labels) != (batch_size,):
      raise ValueError(f"batch['labels'] must have shape {(batch_size,)}, got "
                       f"{jnp.shape(labels)}")
    w = layers.example_weights(batch, batch_size)
    loss = layers.weighted_mean(layers.softmax_cross_entropy(logits, labels), w)
    acc = layers.weighted_mean(layers.accuracy(logits, labels), w)
    return loss, (model_state, {"loss": loss, "accuracy": acc, "count": jnp.sum(w),
                                "fraction_computed": jnp.ones((), jnp.float32)})

  return loss_fn


def flops_per_token(params: BagOfWordsParams) -> int:
  """Analytic FLOPs per token (the embedding sum: E adds); the MLP runs once per text."""
  return int(params.embedding.shape[1])
