"""Skim-RNN text classifier: embedding -> Skim-RNN -> linear head on the final state, with the
training loss (Gumbel-softmax mixture plus the skim loss) and the hard-decision evaluation loss
under the skipjax loss protocol `loss_fn(params, model_state, batch, key, hparams)`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp

from skipjax import estimators
from skipjax import layers
from skipjax import recurrence
from skipjax import validation
from skipjax.skim_rnn.core import (READ, SKIM, SkimParams, check_params, dense_run_flops, dims,
                                   hidden_state, is_lstm, skim_init)
from skipjax.skim_rnn.inference import infer
from skipjax.skim_rnn.steps import gumbel_layer

Array = jax.Array

# The loss hparams `classifier_loss` reads and their ranges ('skim_gamma' is required);
# `experiments.registry.check_hparams` checks configs against them.
HPARAMS = {"skim_gamma": validation.NONNEG, "gumbel_hard": validation.UNIT,
           "dropout": validation.RATE}
REQUIRED_HPARAMS = ("skim_gamma",)
DEFAULT_EVAL_THRESHOLD = 0.5


class ClassifierParams(NamedTuple):
  """embedding: [V, E] table (None when batches carry float features); rnn: SkimParams;
  head: DenseParams [d, C] on the final hidden state."""
  embedding: Array | None
  rnn: SkimParams
  head: layers.DenseParams


@dataclasses.dataclass(frozen=True)
class ClassifierConfig:
  """The architecture of the Skim-RNN text classifier (hashable, static): `model_init`.

  num_classes: C. vocab_size: V for token-id inputs [B, T]; None for float features
  [B, T, embed_dim]. embed_dim: E. hidden_dim: d, the big cell. small_dim: d' in [0, d], the
  small cell (0: a skim copies the state). cell: "lstm" or "gru". The training settings are
  `classifier_loss`'s hparams (skim_gamma, gumbel_hard, dropout); evaluation's read threshold is
  `make_eval_loss(threshold)`'s.
  """
  num_classes: int
  vocab_size: int | None = None
  embed_dim: int = 100
  hidden_dim: int = 100
  small_dim: int = 10
  cell: str = "lstm"

  def __post_init__(self):
    validation.check_positive_int("num_classes", self.num_classes)
    if self.vocab_size is not None:
      validation.check_positive_int("vocab_size", self.vocab_size)
    validation.check_positive_int("embed_dim", self.embed_dim)
    validation.check_positive_int("hidden_dim", self.hidden_dim)
    validation.check_nonneg_int("small_dim", self.small_dim)
    if self.small_dim > self.hidden_dim:
      raise ValueError(f"small_dim must be at most hidden_dim={self.hidden_dim}, got "
                       f"{self.small_dim}")
    if self.cell not in ("lstm", "gru"):
      raise ValueError(f"cell must be 'lstm' or 'gru', got {self.cell!r}")


def model_init(key: Array, config: ClassifierConfig, *,
               param_dtype: Any = jnp.float32) -> ClassifierParams:
  """Initial parameters of the classifier described by `config` (`classifier_init`)."""
  return classifier_init(key, config.vocab_size, config.num_classes, embed_dim=config.embed_dim,
                         hidden_dim=config.hidden_dim, small_dim=config.small_dim,
                         cell=config.cell, param_dtype=param_dtype)


def classifier_init(key: Array, vocab_size: int | None, num_classes: int, *,
                    embed_dim: int = 100, hidden_dim: int = 100, small_dim: int = 10,
                    cell: str = "lstm", param_dtype: Any = jnp.float32) -> ClassifierParams:
  """Skim-RNN text classifier (Seo et al. 2018). `vocab_size=None`: no embedding,
  the batches' 'inputs' are [B, T, embed_dim] float features."""
  validation.check_positive_int("num_classes", num_classes)
  k_emb, k_rnn, k_head = jax.random.split(key, 3)
  embedding = None
  if vocab_size is not None:
    embedding = layers.embedding_init(k_emb, vocab_size, embed_dim, param_dtype=param_dtype)
  rnn = skim_init(k_rnn, embed_dim, hidden_dim, small_dim, cell=cell, param_dtype=param_dtype)
  head = layers.dense_init(k_head, hidden_dim, num_classes, param_dtype=param_dtype)
  return ClassifierParams(embedding=embedding, rnn=rnn, head=head)


def _features(params: ClassifierParams, inputs: Array) -> Array:
  input_dim, hidden, _ = check_params(params.rnn)
  layers.check_dense("params.head", params.head, hidden, source="the state h")
  if jnp.issubdtype(inputs.dtype, jnp.integer):
    if params.embedding is None:
      raise ValueError("batch['inputs'] holds token ids but the classifier has no embedding "
                       "(built with vocab_size=None)")
    validation.check_rank("batch['inputs']", inputs, 2)
    validation.check_last_dim("params.embedding", params.embedding, input_dim,
                              "the Skim-RNN's input_dim")
    return layers.embed(params.embedding, inputs, "batch['inputs']")
  validation.check_rank("batch['inputs']", inputs, 3)
  return inputs


def classifier_loss(params: ClassifierParams, model_state: Any, batch: dict[str, Array],
                    key: Array, hparams: dict[str, Array]) -> tuple[Array, tuple[Any, dict]]:
  """Training loss in the skipjax loss protocol (Seo et al. 2018, classification loss plus the
  skim loss):

      L = CE(head(h_T), y) + gamma * mean_t(-log p_skim_t)   (mean over each example's real steps)

  with the Gumbel-softmax mixture at temperature `tau = max(0.5, exp(-1e-4 step))`. This is the
  training loss only: evaluation uses hard decisions (`classifier_infer`), never dropout.

  Args:
    params: ClassifierParams.
    model_state: unused, returned unchanged ({}).
    batch: 'inputs' [B, T] int ids (or [B, T, D] floats), 'lengths' [B], 'labels' [B];
      optional 'mask' and/or 'weights' [B] (0 for padded batch entries; they multiply,
      `layers.example_weights`).
    key: PRNG key for the Gumbel noise (and, through `fold_in(key, 1)` / `2`, the dropout masks,
      so the noise does not depend on whether dropout is on).
    hparams: 'skim_gamma' (float32 scalar) and optionally 'step' (temperature schedule),
      'gumbel_hard' (1: straight-through Gumbel-softmax, hard decisions in the forward pass as
      at test time; default 0, the paper's soft mixture; see `gumbel_layer`) and 'dropout' (rate
      on the embedded inputs and on the final state before the head; absent: none).
  Returns:
    (loss, (model_state, metrics)): metrics 'loss', 'cross_entropy', 'skim_loss', 'accuracy',
    'skim_rate' (fraction of real steps whose sampled decision is skim), 'fraction_computed'
    (1 - skim_rate: fraction of big-cell reads), 'tau'.
  """
  if "skim_gamma" not in hparams:
    raise KeyError("hparams must contain 'skim_gamma' (weight of the skim loss)")
  validation.check_hparams(hparams, HPARAMS)
  rate = hparams.get("dropout")
  xs = _features(params, batch["inputs"])
  if rate is not None:
    xs = layers.dropout(jax.random.fold_in(key, 1), xs, rate)
  lengths, labels = batch["lengths"], batch["labels"]
  weights = layers.example_weights(batch, xs.shape[0])
  tau = estimators.exponential_temperature(hparams.get("step", 0.0))
  final, _, log_p, r = gumbel_layer(params.rnn, xs, key, tau, lengths,
                                    hard=hparams.get("gumbel_hard", 0.0))
  h_final = hidden_state(final)
  if rate is not None:
    h_final = layers.dropout(jax.random.fold_in(key, 2), h_final, rate)
  logits = layers.dense(params.head, h_final)
  ce = layers.softmax_cross_entropy(logits, labels)
  valid = recurrence.sequence_mask(lengths, xs.shape[1]).astype(jnp.float32)
  num_steps = jnp.maximum(valid.sum(-1), 1.0)
  skim_nll = -(log_p[..., SKIM] * valid).sum(-1) / num_steps
  skim_rate = ((r[..., SKIM] > r[..., READ]) * valid).sum(-1) / num_steps
  gamma = jnp.asarray(hparams["skim_gamma"], jnp.float32)
  loss = layers.weighted_mean(ce + gamma * skim_nll, weights)
  metrics = {
      "loss": loss,
      "cross_entropy": layers.weighted_mean(ce, weights),
      "skim_loss": layers.weighted_mean(skim_nll, weights),
      "accuracy": layers.weighted_mean(layers.accuracy(logits, labels), weights),
      "skim_rate": layers.weighted_mean(skim_rate, weights),
      "fraction_computed": layers.weighted_mean(1.0 - skim_rate, weights),
      "tau": tau,
  }
  return loss, (model_state, metrics)


def classifier_infer(params: ClassifierParams, batch: dict[str, Array],
                     threshold: Array | float = 0.5, *, path: str = "masked") -> dict[str, Array]:
  """Hard-decision evaluation at a test-time `threshold` on p_read (no retraining).

  Returns per-example arrays: 'logits' [B, C], 'skim_mask' [B, T], 'skim_rate' [B], 'flops' [B]
  (the Skim-RNN's analytic FLOPs, `skim_run_flops`) and 'dense_flops' [B] (a plain RNN of size d
  over the same tokens), so that `sum(dense_flops) / sum(flops)` is the FLOP reduction. The
  embedding lookup and the head are the same for both models and are not counted.
  """
  xs = _features(params, batch["inputs"])
  lengths = batch["lengths"]
  out = infer(params.rnn, xs, lengths, threshold, path=path, return_sequences=False)
  logits = layers.dense(params.head, hidden_state(out.final))
  input_dim, d, _ = dims(params.rnn)
  cell = "lstm" if is_lstm(params.rnn) else "gru"
  n = jnp.asarray(lengths, jnp.float32)
  return {"logits": logits, "skim_mask": out.skim_mask,
          "skim_rate": out.skim_mask.sum(-1) / jnp.maximum(n, 1.0), "flops": out.flops,
          "dense_flops": dense_run_flops(input_dim, d, lengths, cell)}


def make_eval_loss(threshold: float | Array = DEFAULT_EVAL_THRESHOLD) -> Callable[..., Any]:
  """Hard-decision evaluation loss (loss protocol) at a fixed threshold on p_read.

  Evaluation (dev and test) reads iff `p_read >= threshold` (`classifier_infer`, masked path) and
  reports per sentence, averaged over sentences: `loss` (cross-entropy of the hard-decision
  model), `accuracy`; `skim_rate` (fraction of the sentence's tokens skimmed) and
  `fraction_computed` = 1 - skim_rate; `tokens`, `skimmed_tokens` (so that their ratio is the
  token-level skim rate of a split, the paper's "skim rate"); `flops`, `dense_flops` (analytic
  FLOPs of the conditional batch-1 run of these decisions and of a plain RNN of size d over the
  same tokens; embedding and head excluded). Means over sentences add exactly across batches, so
  `split_summary` of the finalised means is exact.

  Args:
    threshold: read iff p_read >= threshold in [0, 1] (0 reads every token, 1 skims every token).
  Returns:
    `loss_fn(params, model_state, batch, key, hparams) -> (loss, (model_state, metrics))`;
    `key` and `hparams` are unused.
  """

  def eval_loss(params: ClassifierParams, model_state: Any, batch: dict[str, Array],
                key: Array, hparams: Mapping[str, Any]):
    del key, hparams
    out = classifier_infer(params, batch, threshold, path="masked")
    labels = batch["labels"]
    weights = layers.example_weights(batch, labels.shape[0])
    mean = lambda x: layers.weighted_mean(x, weights)
    tokens = jnp.asarray(batch["lengths"], jnp.float32)
    skimmed = jnp.sum(out["skim_mask"], axis=-1).astype(jnp.float32)
    loss = mean(layers.softmax_cross_entropy(out["logits"], labels))
    metrics = {
        "loss": loss,
        "accuracy": mean(layers.accuracy(out["logits"], labels)),
        "skim_rate": mean(out["skim_rate"]),
        "fraction_computed": mean(1.0 - out["skim_rate"]),
        "tokens": mean(tokens),
        "skimmed_tokens": mean(skimmed),
        "flops": mean(out["flops"]),
        "dense_flops": mean(out["dense_flops"]),
    }
    return loss, (model_state, metrics)

  return eval_loss


def split_summary(metrics: Mapping[str, float]) -> dict[str, float | None]:
  """Split-level ratios from finalised eval metrics (means over sentences).

  Returns 'token_skim_rate' (skimmed / real tokens of the split) and 'flop_reduction' (plain RNN
  FLOPs / Skim-RNN FLOPs over the split); None where the metrics lack the inputs.
  """
  out: dict[str, float | None] = {"token_skim_rate": None, "flop_reduction": None}
  if metrics.get("tokens"):
    out["token_skim_rate"] = float(metrics["skimmed_tokens"]) / float(metrics["tokens"])
  if metrics.get("flops"):
    out["flop_reduction"] = float(metrics["dense_flops"]) / float(metrics["flops"])
  return out
