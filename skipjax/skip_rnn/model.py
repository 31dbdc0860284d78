"""Skip RNN models for the paper's tasks: input (dense or embedded tokens) -> Skip RNN -> head,
with losses that follow the loss protocol of `skipjax.train.state`.

    loss_fn(params, model_state, batch, key, hparams) -> (loss, (model_state, metrics))

batch: 'inputs' [B, T, D] float or [B, T] int ids, 'lengths' [B] int, 'labels' [B] (int classes,
or float targets for regression), optional 'mask' and 'weights' [B] (they multiply:
`layers.example_weights`).
hparams: 'budget_lambda' (the lambda of the budget loss `lambda * sum_t u_t`, default 0) and
optionally 'dropout' (a rate, sweepable; instead of the static `LossConfig.dropout`).

The head reads the top layer's hidden state after each example's last real step (for a skipped
final step, the state of the last update), as in the paper. `config.skip` picks the learned gate
("learned", the paper's model), the random-skipping baseline ("random", fixed update probability)
or the plain LSTM/GRU ("none").
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from skipjax import layers
from skipjax import validation
from skipjax.skip_rnn import baselines
from skipjax.skip_rnn import core
from skipjax.skip_rnn import inference

Array = jax.Array
LossFn = Callable[..., tuple[Array, tuple[Any, dict[str, Array]]]]

# The loss hparams `make_loss_fn` reads (with config.skip == "learned"; the other gates read
# none) and their ranges; `experiments.registry.check_hparams` checks configs against them.
HPARAMS = {"budget_lambda": validation.NONNEG, "dropout": validation.RATE}


@dataclasses.dataclass(frozen=True)
class SkipRNNConfig:
  """Static model configuration (hashable, so it can close over jitted functions).

  cell: "lstm" or "gru". hidden_dim, num_layers: the stack (one gate from the top layer).
  input_dim: D for dense inputs [B, T, D]; or vocab_size (+ embed_dim) for token ids [B, T].
  num_outputs: classes (classification) or 1 (regression). task: "classification" | "regression".
  skip: "learned" | "random" | "none". random_update_prob: update probability of the random
  baseline. init: the cores' initialisation, "default" or "torch" (see `cells.lstm_init`).
  The training settings (the gate's binarisation, dropout) are `LossConfig`'s.
  """
  cell: str = "lstm"
  hidden_dim: int = 110
  num_layers: int = 1
  input_dim: int | None = None
  vocab_size: int | None = None
  embed_dim: int = 300
  num_outputs: int = 10
  task: str = "classification"
  skip: str = "learned"
  random_update_prob: float = 0.5
  init: str = "default"

  def __post_init__(self):
    for name, allowed in (("cell", ("lstm", "gru")), ("task", ("classification", "regression")),
                          ("skip", ("learned", "random", "none")), ("init", ("default", "torch"))):
      if getattr(self, name) not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {getattr(self, name)!r}")
    validation.check_positive_int("hidden_dim", self.hidden_dim)
    validation.check_positive_int("num_layers", self.num_layers)
    validation.check_positive_int("num_outputs", self.num_outputs)
    if (self.input_dim is None) == (self.vocab_size is None):
      raise ValueError("give exactly one of input_dim (dense inputs) and vocab_size (token ids)")
    if self.input_dim is not None:
      validation.check_positive_int("input_dim", self.input_dim)
    else:
      validation.check_positive_int("vocab_size", self.vocab_size)
      validation.check_positive_int("embed_dim", self.embed_dim)
    if not 0.0 < self.random_update_prob <= 1.0:
      raise ValueError(f"random_update_prob must lie in (0, 1], got {self.random_update_prob}")


# Task-loss weight of the mean squared error for each LossConfig.regression_loss.
REGRESSION_LOSSES = {"mse": 1.0, "half_mse": 0.5}


@dataclasses.dataclass(frozen=True)
class LossConfig:
  """The training settings of `make_loss_fn` (hashable, static), apart from the architecture.

  binarize: "round" (straight-through round) or "bernoulli" (straight-through Bernoulli sample
  while training; rounding at evaluation). dropout: rate on the inputs and on the final hidden
  state while training (the paper's IMDB model: 0.2); `hparams['dropout']` may give it instead,
  as a float a sweep can vary. regression_loss: the task loss of a regression model, "mse" (mean
  squared error) or "half_mse" (half of it: the authors' code trains the adding task on
  `tf.nn.l2_loss(error) / batch_size`, which weighs the budget loss twice as much against the
  task as "mse" does); the reported 'mse' metric is the mean squared error either way.
  """
  binarize: str = "round"
  dropout: float = 0.0
  regression_loss: str = "mse"

  def __post_init__(self):
    if self.binarize not in ("round", "bernoulli"):
      raise ValueError(f"binarize must be one of ('round', 'bernoulli'), got {self.binarize!r}")
    if self.regression_loss not in REGRESSION_LOSSES:
      raise ValueError(f"regression_loss must be one of {tuple(REGRESSION_LOSSES)}, got "
                       f"{self.regression_loss!r}")
    if not 0.0 <= self.dropout < 1.0:
      raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")


class SkipModelParams(NamedTuple):
  embedding: Array | None  # [V, E] for token inputs, None for dense inputs
  rnn: core.SkipParams
  head: layers.DenseParams  # [H, num_outputs]


def model_init(key: Array, config: SkipRNNConfig) -> SkipModelParams:
  """Initial parameters of the model described by `config`."""
  k_emb, k_rnn, k_head = jax.random.split(key, 3)
  embedding = None
  input_dim = config.input_dim
  if config.vocab_size is not None:
    embedding = layers.embedding_init(k_emb, config.vocab_size, config.embed_dim)
    input_dim = config.embed_dim
  rnn = core.skip_init(k_rnn, input_dim, config.hidden_dim, num_layers=config.num_layers,
                       cell=config.cell, init=config.init)
  head = layers.dense_init(k_head, config.hidden_dim, config.num_outputs)
  return SkipModelParams(embedding=embedding, rnn=rnn, head=head)


def _features(params: SkipModelParams, inputs: Array) -> Array:
  """Embedded token ids or the dense inputs, after checking the parameters' shapes agree."""
  input_dim, hidden = core.check_params(params.rnn)
  layers.check_dense("params.head", params.head, hidden, source="the top layer's h")
  if params.embedding is not None:
    validation.check_last_dim("params.embedding", params.embedding, input_dim,
                              "the Skip RNN's input_dim")
    return layers.embed(params.embedding, inputs, "inputs")
  return inputs


def _head(params: SkipModelParams, h: Array, config: SkipRNNConfig) -> Array:
  out = layers.dense(params.head, h)
  return out[..., 0] if config.task == "regression" else out


def model_apply(params: SkipModelParams, inputs: Array, lengths: Array, config: SkipRNNConfig,
                *, key: Array | None = None, train: bool = False,
                dropout: float | Array | None = None,
                binarize: str = "round") -> tuple[Array, core.SkipOutput]:
  """Masked (training-path) forward pass.

  Args:
    params: SkipModelParams. inputs: [B, T, D] float or [B, T] int. lengths: [B] int.
    config: SkipRNNConfig. key: PRNG key (needed when training with dropout, Bernoulli
      binarisation, or for the random baseline). train: enables dropout and Bernoulli sampling.
    dropout: the dropout rate while training (a float or traced scalar); None: none.
    binarize: the gate's binarisation while training (`LossConfig.binarize`).
  Returns:
    (outputs: logits [B, C] or regression values [B], SkipOutput).
  """
  use_dropout = train and dropout is not None
  needs_key = config.skip == "random" or use_dropout or (train and binarize == "bernoulli")
  if needs_key and key is None:
    raise ValueError("key is required for this configuration (dropout, Bernoulli gate or "
                     "random skipping)")
  k_in, k_gate, k_out = jax.random.split(key, 3) if key is not None else (None,) * 3
  xs = _features(params, inputs)
  if use_dropout:
    xs = layers.dropout(k_in, xs, dropout)
  if config.skip == "learned":
    gate_key = k_gate if (train and binarize == "bernoulli") else None
    out = core.skip_rnn(params.rnn, xs, lengths, key=gate_key)
  elif config.skip == "random":
    out = baselines.random_skip_rnn(params.rnn, xs, lengths, k_gate, config.random_update_prob)
  else:
    out = baselines.plain_rnn(params.rnn, xs, lengths)
  h = core.core_hidden(out.final.state[-1])
  if use_dropout:
    h = layers.dropout(k_out, h, dropout)
  return _head(params, h, config), out


def predict_jump(params: SkipModelParams, inputs: Array, lengths: Array,
                 config: SkipRNNConfig) -> tuple[Array, Array]:
  """Evaluation through the jumping inference loop (learned gate only): computes only the
  updated steps. Returns (outputs [B, C] or [B], num_updates [B] int32)."""
  if config.skip != "learned":
    raise ValueError(f"predict_jump needs config.skip == 'learned', got {config.skip!r}")
  xs = _features(params, inputs)
  res = inference.skip_rnn_infer_batch(params.rnn, xs, lengths)
  return _head(params, core.core_hidden(res.state[-1]), config), res.num_updates


def _weighted_mean(x, weights):
  if weights is None:
    return jnp.mean(x)
  weights = jnp.asarray(weights, jnp.float32)
  return jnp.sum(x * weights) / jnp.maximum(jnp.sum(weights), 1.0)


def task_metrics(outputs: Array, labels: Array, config: SkipRNNConfig,
                 weights: Array | None = None, regression_loss: str = "mse"
                 ) -> tuple[Array, dict[str, Array]]:
  """Task loss and metrics: cross-entropy + accuracy, or squared error (metric 'mse'; the loss
  is `REGRESSION_LOSSES[regression_loss]` times it)."""
  if config.task == "classification":
    task_loss = _weighted_mean(layers.softmax_cross_entropy(outputs, labels), weights)
    return task_loss, {"accuracy": _weighted_mean(layers.accuracy(outputs, labels), weights)}
  mse = _weighted_mean(jnp.square(outputs - labels.astype(jnp.float32)), weights)
  return REGRESSION_LOSSES[regression_loss] * mse, {"mse": mse}


def make_loss_fn(config: SkipRNNConfig, loss_config: LossConfig = LossConfig(), *,
                 train: bool = True) -> LossFn:
  """The model's loss under the protocol of `skipjax.train.state`.

  loss = task loss (cross-entropy, or `loss_config.regression_loss` for regression) + budget loss
  `hparams['budget_lambda'] * sum_t u_t` (per sequence, averaged over the batch; only real steps
  count). With `train=False` dropout is off and the gate rounds (evaluation). The dropout rate is
  `hparams['dropout']` when given (then `loss_config.dropout` must be 0), else
  `loss_config.dropout`; the gate binarises by `loss_config.binarize` while training.

  Metrics: 'loss', 'task_loss', 'budget_loss', 'accuracy' or 'mse', 'updates' (mean number of
  updated steps), 'fraction_computed' (mean of updates / length).
  """
  def loss_fn(params, model_state, batch, key, hparams):
    validation.check_hparams(hparams, HPARAMS)
    lengths = jnp.asarray(batch["lengths"], jnp.int32)
    weights = layers.example_weights(batch, lengths.shape[0])  # mask x weights
    rate = hparams.get("dropout")
    if rate is not None and loss_config.dropout > 0:
      raise ValueError(f"the dropout rate is given twice: LossConfig.dropout="
                       f"{loss_config.dropout} and hparams['dropout']; set one")
    if rate is None and loss_config.dropout > 0:
      rate = loss_config.dropout
    outputs, out = model_apply(params, batch["inputs"], lengths, config, key=key, train=train,
                               dropout=rate, binarize=loss_config.binarize)
    task_loss, metrics = task_metrics(outputs, batch["labels"], config, weights,
                                      loss_config.regression_loss)
    budget_lambda = jnp.asarray(hparams.get("budget_lambda", 0.0), jnp.float32)
    if config.skip == "learned":
      budget = core.budget_loss(out.update_mask, budget_lambda, weights)
    else:
      budget = jnp.float32(0.0)
    updates = jnp.sum(jax.lax.stop_gradient(out.update_mask), axis=1)
    fraction = updates / jnp.maximum(lengths, 1).astype(jnp.float32)
    loss = task_loss + budget
    metrics.update(loss=loss, task_loss=task_loss, budget_loss=budget,
                   updates=_weighted_mean(updates, weights),
                   fraction_computed=_weighted_mean(fraction, weights))
    return loss, (model_state, metrics)

  return loss_fn


def model_flops(config: SkipRNNConfig, params: SkipModelParams, num_updates: Array) -> Array:
  """Analytic FLOPs of a sequence that computed `num_updates` steps (the head excluded)."""
  return num_updates * core.step_flops(params.rnn)
