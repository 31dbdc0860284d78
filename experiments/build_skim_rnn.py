"""Registry builders for Skim-RNN (Seo, Min, Farhadi, Hajishirzi, ICLR 2018).

`experiments.registry.MODELS` maps "skim_lstm" and "skim_gru" here (the name picks the core),
both built from `skipjax.skim_rnn.ClassifierConfig` (`model_init`).

`config.net`: `embed_dim` (token inputs; float inputs take the dataset's `input_dim`),
`hidden_dim` (d), `small_dim` (d'), `param_dtype`, and `eval_threshold` (the test-time threshold
on p_read, default 0.5; not a parameter). `config.hparams`: `skim_gamma` (the skim loss weight,
required). The Gumbel temperature follows the train step's 'step' (`tau = max(0.5,
exp(-1e-4 step))`, inside `skim_rnn.classifier_loss`).

Training uses the Gumbel-softmax mixture (`skim_rnn.classifier_loss`); evaluation (dev and test)
hard decisions at `eval_threshold` (`skim_rnn.make_eval_loss`, whose docstring lists the metrics;
`skim_rnn.split_summary` gives the split's token skim rate and FLOP reduction).
"""

from __future__ import annotations

import functools
from typing import Any

import jax

from experiments import model_api
from skipjax import skim_rnn

# The evaluation loss and its split summary are model code, in the library; re-exported here.
DEFAULT_EVAL_THRESHOLD = skim_rnn.DEFAULT_EVAL_THRESHOLD
make_eval_loss = skim_rnn.make_eval_loss
split_summary = skim_rnn.split_summary


def build_skim(key: jax.Array, net: Any, spec: Any, *, cell: str = "lstm") -> Any:
  """Skim-RNN classifier for a classification DataSpec.

  Args:
    key: PRNG key of the initial parameters.
    net: `config.net` (see the module docstring).
    spec: the dataset's `model_api.DataSpec` (task must be 'classification').
    cell: 'lstm' or 'gru' (the core of both cells; picked by the model name).
  Returns:
    `model_api.Model(params, {}, classifier_loss, hard-decision eval loss, step_flops)`;
    `step_flops` is the cost of a read step (the per-token part plus the big cell's step,
    `skim_rnn.step_flops`).
  """
  name = f"skim_{cell}"
  if spec.task != "classification":
    raise ValueError(f"config.model={name!r} needs a classification dataset, got task "
                     f"{spec.task!r}")
  kwargs = model_api.net_kwargs(net)
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
  arch = model_api.call_config(skim_rnn.ClassifierConfig, "config.net",
                               vocab_size=spec.vocab_size, num_classes=spec.num_classes,
                               cell=cell, **kwargs)
  params = jax.jit(skim_rnn.model_init, static_argnames="config")(key, config=arch)
  input_dim, hidden_dim, small_dim = skim_rnn.dims(params.rnn)
  flops = skim_rnn.step_flops(input_dim, hidden_dim, small_dim, cell)
  return model_api.Model(params, {}, skim_rnn.classifier_loss, make_eval_loss(float(threshold)),
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
