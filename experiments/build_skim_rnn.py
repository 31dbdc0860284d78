"""Registry builders for Skim-RNN (Seo, Min, Farhadi, Hajishirzi, ICLR 2018).

`experiments.registry.MODELS` maps "skim_lstm" and "skim_gru" here (the name picks the core),
both built from `skipjax.skim_rnn.classifier_init`.

`config.net`: `embed_dim` (token inputs; float inputs take the dataset's `input_dim`),
`hidden_dim` (d), `small_dim` (d'), `param_dtype`, and `eval_threshold` (the test-time threshold
on p_read, default 0.5; not a parameter). `config.hparams`: `skim_gamma` (the skim loss weight,
required). The Gumbel temperature follows the train step's 'step' (`tau = max(0.5,
exp(-1e-4 step))`, inside `skim_rnn.classifier_loss`).

Training uses the Gumbel-softmax mixture (`skim_rnn.classifier_loss`). Evaluation (dev and test)
uses hard decisions, read iff `p_read >= eval_threshold` (`skim_rnn.classifier_infer`, masked
path), and reports per sentence, averaged over sentences:

- `loss` (cross-entropy of the hard-decision model), `accuracy`;
- `skim_rate` (fraction of the sentence's tokens skimmed) and `fraction_computed` = 1 - skim_rate
  (the fraction read by the big cell; the result record's `fraction_computed`);
- `tokens`, `skimmed_tokens`: real and skimmed tokens, so that `skimmed_tokens / tokens` is the
  token-level skim rate of the whole split (the paper's "skim rate");
- `flops`, `dense_flops`: analytic FLOPs of the conditional (batch-1) Skim-RNN run of these
  decisions and of a plain LSTM/GRU of size d over the same tokens (`skim_rnn.skim_run_flops`,
  `dense_run_flops`: embedding and head excluded), so that `dense_flops / flops` is the FLOP
  reduction of the split.

Means over sentences add exactly across batches (`skipjax.train.step.make_eval_step`), so the two
ratios from the finalised means are exact; `split_summary` computes them.

`experiments.registry` imports this module, so this module imports the registry only inside its
functions (either module may be imported first).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping

import jax
import jax.numpy as jnp

from skipjax import layers
from skipjax import skim_rnn
from skipjax.train import state as state_lib

DEFAULT_EVAL_THRESHOLD = 0.5


def make_eval_loss(threshold: float | jax.Array = DEFAULT_EVAL_THRESHOLD) -> Callable[..., Any]:
  """Hard-decision evaluation loss (loss protocol) at a fixed threshold on p_read.

  Args:
    threshold: read iff p_read >= threshold in [0, 1] (0 reads every token, 1 skims every token).
  Returns:
    `loss_fn(params, model_state, batch, key, hparams) -> (loss, (model_state, metrics))` with the
    metrics of the module docstring (float32 means over the batch's real sentences). `key` and
    `hparams` are unused.
  """

  def eval_loss(params: skim_rnn.ClassifierParams, model_state: Any,
                batch: dict[str, jax.Array], key: jax.Array, hparams: Mapping[str, Any]):
    del key, hparams
    out = skim_rnn.classifier_infer(params, batch, threshold, path="masked")
    labels = batch["labels"]
    weights = state_lib.example_weights(batch, labels.shape[0])
    total = jnp.maximum(jnp.sum(weights), 1e-9)
    mean = lambda x: jnp.sum(jnp.asarray(x, jnp.float32) * weights) / total
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


def build_skim(key: jax.Array, net: Any, spec: Any, *, cell: str = "lstm") -> Any:
  """Skim-RNN classifier for a classification DataSpec.

  Args:
    key: PRNG key of the initial parameters.
    net: `config.net` (see the module docstring).
    spec: the dataset's `registry.DataSpec` (task must be 'classification').
    cell: 'lstm' or 'gru' (the core of both cells; picked by the model name).
  Returns:
    `registry.Model(params, {}, classifier_loss, hard-decision eval loss, step_flops)`;
    `step_flops` is the cost of a read step (the per-token part plus the big cell's step,
    `skim_rnn.step_flops`).
  """
  from experiments import registry  # pylint: disable=g-import-not-at-top  (registry imports us)
  name = f"skim_{cell}"
  if spec.task != "classification":
    raise ValueError(f"config.model={name!r} needs a classification dataset, got task "
                     f"{spec.task!r}")
  kwargs = registry._kwargs(net)  # pylint: disable=protected-access
  if "cell" in kwargs:
    raise ValueError(f"config.net.cell: the model name picks the cell ({name}); do not set it")
  threshold = kwargs.pop("eval_threshold", None)
  threshold = DEFAULT_EVAL_THRESHOLD if threshold is None else threshold
  if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not (
      0.0 <= threshold <= 1.0):
    raise ValueError(f"config.net.eval_threshold must be a number in [0, 1], got {threshold!r}")
  if spec.vocab_size is None:
    embed_dim = kwargs.pop("embed_dim", None)
    if embed_dim is not None and embed_dim != spec.input_dim:
      raise ValueError(f"config.net.embed_dim={embed_dim} differs from the dataset's input_dim "
                       f"{spec.input_dim} (float inputs have no embedding; leave it unset)")
    kwargs["embed_dim"] = spec.input_dim
  init = functools.partial(skim_rnn.classifier_init, vocab_size=spec.vocab_size,
                           num_classes=spec.num_classes, cell=cell, **kwargs)
  params = registry._call(jax.jit(init), "config.net", key=key)  # pylint: disable=protected-access
  input_dim, hidden_dim, small_dim = skim_rnn.dims(params.rnn)
  flops = skim_rnn.step_flops(input_dim, hidden_dim, small_dim, cell)
  return registry.Model(params, {}, skim_rnn.classifier_loss, make_eval_loss(float(threshold)),
                        int(flops["token"] + flops["read"]),
                        functools.partial(_predict, threshold=float(threshold)))


def _predict(params, model_state, batch, hparams, *, threshold):
  """Hard decisions at the evaluation threshold: logits and the fraction of tokens read by the
  big cell."""
  del model_state, hparams
  out = skim_rnn.classifier_infer(params, batch, threshold, path="masked")
  return {"outputs": out["logits"], "fraction_computed": 1.0 - out["skim_rate"]}


build_skim_lstm = functools.partial(build_skim, cell="lstm")
build_skim_gru = functools.partial(build_skim, cell="gru")
