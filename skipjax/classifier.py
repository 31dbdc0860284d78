"""The plain LSTM/GRU sequence model: the baseline of every paper table.

An (optional) embedding, `num_layers` stacked LSTM or GRU layers run over each example's true
length, and a dense head. Three heads share one network:

- classification (`loss_fn`): logits from the top layer's hidden state after each example's last
  real step, softmax cross-entropy (IMDB, SST, AG News, sequential MNIST, number prediction);
- regression (`regression_loss_fn`): the same head read as real values, mean squared error (the
  adding task of Campos et al. 2018);
- per-step outputs (`sequence_loss_fn`): logits at every step [B, T, C], token cross-entropy
  (language modelling, sequence labelling).

Every loss follows the protocol of `skipjax.train.state`:
`loss_fn(params, model_state, batch, key, hparams) -> (loss, (model_state, metrics))`, with
`batch['mask']`/`batch['weights']` [B] weighing examples (padded entries count for nothing) and
`metrics['count']` the total weight behind the means (used for exact evaluation and data-parallel
averaging). A plain RNN reads every step, so `fraction_computed` is 1.

Dropout (`hparams['dropout']`, a float rate; absent: none) applies only with `train=True`, the
training loss: on the inputs of the first recurrent layer (the embeddings, for token inputs) and
on the features the head reads (the final state, or every step's state for `sequence_loss_fn`),
as Skip RNN's IMDB model (`skipjax.skip_rnn.model`). The default `train=False` is the evaluation
loss: no dropout whatever the hparams, so `key` does not matter.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skipjax import cells
from skipjax import layers
from skipjax import recurrence
from skipjax import validation

Array = jax.Array
Batch = dict[str, Any]


class ClassifierParams(NamedTuple):
  """embedding: [V, E] for integer-token inputs, None for float inputs [B, T, D];
  rnn: tuple of LSTMParams or GRUParams, bottom layer first; head: DenseParams [H, C]."""
  embedding: Array | None
  rnn: tuple[Any, ...]
  head: layers.DenseParams


def init(key: Array, *, vocab_size: int | None = None, input_dim: int | None = None,
         embed_dim: int | None = None, hidden_dim: int, num_classes: int, cell: str = "lstm",
         num_layers: int = 1, forget_bias: float = 1.0, cell_init: str = "default",
         param_dtype: Any = jnp.float32) -> ClassifierParams:
  """Initial parameters.

  Args:
    key: PRNG key.
    vocab_size: for integer-token inputs [B, T]: size of the embedding table (needs embed_dim).
    input_dim: for float inputs [B, T, D]: D. Give exactly one of vocab_size and input_dim.
    embed_dim: embedding size E (token inputs only).
    hidden_dim: H, units per recurrent layer.
    num_classes: C, outputs of the head (1 for scalar regression).
    cell: 'lstm' or 'gru'.
    num_layers: stacked recurrent layers.
    forget_bias: LSTM forget-gate bias (see `cells.lstm_init`).
    cell_init: 'default' or 'torch' (see `cells.lstm_init`).
    param_dtype: storage dtype of the parameters.
  """
  if (vocab_size is None) == (input_dim is None):
    raise ValueError("give exactly one of vocab_size (token inputs) and input_dim (float "
                     f"inputs), got vocab_size={vocab_size!r}, input_dim={input_dim!r}")
  if cell not in ("lstm", "gru"):
    raise ValueError(f"cell must be 'lstm' or 'gru', got {cell!r}")
  validation.check_positive_int("hidden_dim", hidden_dim)
  validation.check_positive_int("num_classes", num_classes)
  validation.check_positive_int("num_layers", num_layers)
  k_embed, k_head, *k_layers = jax.random.split(key, 2 + num_layers)
  if vocab_size is not None:
    if embed_dim is None:
      raise ValueError("embed_dim is required with vocab_size")
    embedding = layers.embedding_init(k_embed, vocab_size, embed_dim, param_dtype=param_dtype)
    layer_input = embed_dim
  else:
    validation.check_positive_int("input_dim", input_dim)
    embedding, layer_input = None, input_dim
  rnn = []
  for k in k_layers:
    if cell == "lstm":
      rnn.append(cells.lstm_init(k, layer_input, hidden_dim, forget_bias=forget_bias,
                                 init=cell_init, param_dtype=param_dtype))
    else:
      rnn.append(cells.gru_init(k, layer_input, hidden_dim, init=cell_init,
                                param_dtype=param_dtype))
    layer_input = hidden_dim
  head = layers.dense_init(k_head, hidden_dim, num_classes, param_dtype=param_dtype)
  return ClassifierParams(embedding=embedding, rnn=tuple(rnn), head=head)


def encode(params: ClassifierParams, inputs: Array, lengths: Array | None = None, *,
           dropout: float | Array | None = None,
           dropout_key: Array | None = None) -> tuple[Array, Array]:
  """Runs the recurrent stack.

  Args:
    params: ClassifierParams.
    inputs: [B, T] integer token ids (with an embedding) or [B, T, D] floats (without).
    lengths: [B] int in [0, T]; None means all T steps are real.
    dropout: rate of dropout on the first layer's inputs (`layers.dropout`), applied when
      `dropout_key` is given; None: none.
    dropout_key: PRNG key of the dropout mask (training only).
  Returns:
    (final [B, H]: the top layer's hidden state after each example's last real step (zeros for
    length 0), hs [B, T, H]: the top layer's hidden states, zero at padded steps), float32.
  """
  if params.embedding is not None:
    validation.check_rank("inputs", inputs, 2)
    xs = layers.embed(params.embedding, inputs, "inputs")
  else:
    validation.check_rank("inputs", inputs, 3)
    validation.check_floating("inputs", inputs)
    xs = inputs
  if dropout_key is not None:
    xs = layers.dropout(dropout_key, xs, dropout)
  final = None
  for layer in params.rnn:
    if isinstance(layer, cells.LSTMParams):
      carry, xs = recurrence.lstm_layer(layer, xs, lengths)
      final = carry.h
    else:
      final, xs = recurrence.gru_layer(layer, xs, lengths)
  return final, xs


def apply(params: ClassifierParams, inputs: Array, lengths: Array | None = None, *,
          per_step: bool = False, dropout: float | Array | None = None,
          dropout_key: Array | None = None) -> Array:
  """Logits (or regression outputs), float32: [B, C] from the final state, or [B, T, C] at every
  step with `per_step=True` (zero-state logits `b` at padded steps; mask them in the loss).

  With `dropout_key` (training), dropout at rate `dropout` on the first layer's inputs and on the
  states the head reads (independent masks: `fold_in(dropout_key, 0)` and `1`)."""
  k_in = k_out = None
  if dropout_key is not None:
    k_in, k_out = jax.random.fold_in(dropout_key, 0), jax.random.fold_in(dropout_key, 1)
  final, hs = encode(params, inputs, lengths, dropout=dropout, dropout_key=k_in)
  features = hs if per_step else final
  if k_out is not None:
    features = layers.dropout(k_out, features, dropout)
  return layers.dense(params.head, features)


def predict(params: ClassifierParams, inputs: Array, lengths: Array | None = None, *,
            per_step: bool = False) -> Array:
  """Predicted class ids: [B] int32 ([B, T] with `per_step=True`)."""
  return jnp.argmax(apply(params, inputs, lengths, per_step=per_step), axis=-1).astype(jnp.int32)


def _lengths(batch: Batch) -> Array | None:
  return batch.get("lengths")


def _apply_batch(params: ClassifierParams, batch: Batch, key: Array | None,
                 hparams: dict[str, Array], train: bool, per_step: bool = False) -> Array:
  """`apply` on a batch, with `hparams['dropout']` when training."""
  rate = hparams.get("dropout") if train else None
  if rate is not None and key is None:
    raise ValueError("training with hparams['dropout'] needs a PRNG key")
  return apply(params, batch["inputs"], _lengths(batch), per_step=per_step, dropout=rate,
               dropout_key=key if rate is not None else None)


def _check_labels(labels: Any, shape: tuple[int, ...], integer: bool) -> None:
  if jnp.shape(labels) != shape:
    raise ValueError(f"batch['labels'] must have shape {shape}, got {jnp.shape(labels)}")
  is_int = jnp.issubdtype(jnp.result_type(labels), jnp.integer)
  if integer and not is_int:
    raise TypeError(f"batch['labels'] must be integer class ids, got {jnp.result_type(labels)}")


def _metrics(loss: Array, count: Array, **extra: Array) -> dict[str, Array]:
  metrics = {"loss": loss, "fraction_computed": jnp.ones((), jnp.float32), "count": count}
  metrics.update(extra)
  return metrics


def loss_fn(params: ClassifierParams, model_state: Any, batch: Batch, key: Array,
            hparams: dict[str, Array], *,
            train: bool = False) -> tuple[Array, tuple[Any, dict[str, Array]]]:
  """Classification: mean softmax cross-entropy of the final-state logits.

  batch: 'inputs' [B, T] ids or [B, T, D] floats, 'lengths' [B] (optional), 'labels' [B] int,
  optional 'mask'/'weights' [B]. hparams: optional 'dropout' (rate), used with `train=True` only,
  where `key` draws the masks; otherwise key and hparams are unused (evaluation). Metrics: 'loss',
  'accuracy', 'fraction_computed' (= 1), 'count' (sum of weights).
  """
  logits = _apply_batch(params, batch, key, hparams, train)
  batch_size = logits.shape[0]
  _check_labels(batch["labels"], (batch_size,), integer=True)
  w = layers.example_weights(batch, batch_size)
  loss = layers.weighted_mean(layers.softmax_cross_entropy(logits, batch["labels"]), w)
  acc = layers.weighted_mean(layers.accuracy(logits, batch["labels"]), w)
  return loss, (model_state, _metrics(loss, jnp.sum(w), accuracy=acc))


def regression_loss_fn(params: ClassifierParams, model_state: Any, batch: Batch, key: Array,
                       hparams: dict[str, Array], *,
                       train: bool = False) -> tuple[Array, tuple[Any, dict[str, Array]]]:
  """Regression: mean squared error of the final-state outputs (the adding task).

  batch['labels']: [B] float targets (with num_classes=1) or [B, C]. The loss is the per-example
  squared error summed over C, averaged over weighted examples. Dropout as `loss_fn`. Metrics:
  'loss', 'mse' (same value), 'fraction_computed', 'count'.
  """
  preds = _apply_batch(params, batch, key, hparams, train)
  batch_size, num_out = preds.shape
  labels = batch["labels"]
  if jnp.ndim(labels) == 1 and num_out == 1:
    preds = preds[:, 0]
  _check_labels(labels, preds.shape, integer=False)
  err = (preds - jnp.asarray(labels, jnp.float32)) ** 2
  per_example = err if err.ndim == 1 else jnp.sum(err, axis=-1)
  w = layers.example_weights(batch, batch_size)
  loss = layers.weighted_mean(per_example, w)
  return loss, (model_state, _metrics(loss, jnp.sum(w), mse=loss))


def sequence_loss_fn(params: ClassifierParams, model_state: Any, batch: Batch, key: Array,
                     hparams: dict[str, Array], *,
                     train: bool = False) -> tuple[Array, tuple[Any, dict[str, Array]]]:
  """Per-step outputs: token cross-entropy of logits [B, T, C] against labels [B, T] int.

  Steps t >= lengths[b] and masked examples carry no weight; the loss is the mean over real tokens
  (perplexity = exp(loss)). Dropout as `loss_fn` (on every step's state before the head).
  Metrics: 'loss', 'accuracy' (per token), 'fraction_computed', 'count' (number of weighted
  tokens).
  """
  lengths = _lengths(batch)
  logits = _apply_batch(params, batch, key, hparams, train, per_step=True)
  batch_size, max_len = logits.shape[:2]
  _check_labels(batch["labels"], (batch_size, max_len), integer=True)
  w = layers.example_weights(batch, batch_size)[:, None]
  if lengths is not None:
    w = w * recurrence.sequence_mask(lengths, max_len).astype(jnp.float32)
  w = jnp.broadcast_to(w, (batch_size, max_len))
  loss = layers.weighted_mean(layers.softmax_cross_entropy(logits, batch["labels"]), w)
  acc = layers.weighted_mean(layers.accuracy(logits, batch["labels"]), w)
  return loss, (model_state, _metrics(loss, jnp.sum(w), accuracy=acc))


def step_flops(params: ClassifierParams) -> int:
  """Analytic FLOPs (a multiply-add counts 2) of one step of the recurrent stack, head excluded."""
  total = 0
  for layer in params.rnn:
    d, h = layer.w_i.shape[0], layer.w_h.shape[0]
    if isinstance(layer, cells.LSTMParams):
      total += cells.lstm_step_flops(d, h)
    else:
      total += cells.gru_step_flops(d, h)
  return total
