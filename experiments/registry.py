"""Registries: config.model -> a model builder, config.dataset -> a data loader.

`experiments/run.py` looks both up by name, so a new model needs no change to the runner.

Adding a model (skip_lstm, skim_lstm, lstm_jump, dynamic_skip, ...):

1. Write a builder `_build_<name>(key, net, spec) -> Model` below. `net` is `config.net` (a
   ConfigDict of architecture settings: pass them on as keyword arguments, so a misspelt or
   unknown setting fails at start), `spec` the DataSpec of the dataset. Return
   `Model(params, model_state, loss_fn, eval_loss_fn, step_flops)`: both losses follow the
   protocol of `skipjax.train.state`; `eval_loss_fn` is the one evaluation uses (hard decisions,
   greedy jumps) and may be the same function. Loss settings a sweep may vary (budget_lambda,
   skim_gamma, ...) go in `config.hparams`; they reach the loss as `hparams[name]`.
2. Add `"<name>": _build_<name>` to MODELS, and the hparams its losses read, with their ranges,
   to `hparam_spec` (configs are checked against it before anything is built or traced).
3. Add a config `experiments/configs/<experiment>.py` with `config.model = "<name>"`.

Adding a dataset: see experiments/loaders.py (DATASETS, re-exported here).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax

from experiments import build_dynamic_skip
from experiments import build_lstm_jump
from experiments import build_skim_rnn
from experiments import build_skip_rnn
from experiments import loaders
from experiments import model_api
from experiments import pretrained
from skipjax import bag_of_words
from skipjax import classifier
from skipjax import dynamic_skip
from skipjax import lstm_jump
from skipjax import skim_rnn
from skipjax import skip_rnn
from skipjax import validation


# The shared types (re-exported: `registry.DataSpec`, `registry.Model`, ...).
DataSpec = model_api.DataSpec
Data = model_api.Data
Model = model_api.Model
SPEC_NAME = model_api.SPEC_NAME
VOCAB_NAME = model_api.VOCAB_NAME
spec_to_json = model_api.spec_to_json
spec_from_json = model_api.spec_from_json


# ----------------------------------------------------------------------------- models


def _build_rnn(key: jax.Array, net: Any, spec: DataSpec, *, cell: str) -> Model:
  """The plain LSTM/GRU baseline (`skipjax.classifier`); for a language model, the plain LSTM
  stack of `skipjax.dynamic_skip` (state carried across batches, like the dynamic-skip LM)."""
  if spec.task == "language_model":
    if cell != "lstm":
      raise ValueError(f"model {cell!r}: language-model datasets support 'lstm' and the "
                       "dynamic_skip family only")
    return build_dynamic_skip.build(key, net, spec, cell="lstm")
  if spec.task == "sequence" and cell == "lstm":
    # A tagger (CoNLL): the plain LSTM stack of `skipjax.dynamic_skip` (bidirectional per
    # config.net, entity F1 at evaluation), the code path of the skip taggers it is compared with.
    return build_dynamic_skip.build(key, net, spec, cell="lstm")
  kwargs = model_api.net_kwargs(net)
  if spec.vocab_size is None:
    kwargs.pop("embed_dim", None)
  init = functools.partial(classifier.init, vocab_size=spec.vocab_size, input_dim=spec.input_dim,
                           num_classes=spec.num_classes, cell=cell, **kwargs)
  # One jitted program instead of dozens of eagerly compiled initialiser ops (seconds on CPU).
  params = model_api.call_config(jax.jit(init), "config.net", key=key)
  loss = {"classification": classifier.loss_fn, "regression": classifier.regression_loss_fn,
          "sequence": classifier.sequence_loss_fn}[spec.task]
  # Training: dropout (hparams['dropout']) on; evaluation: the default train=False, never dropped.
  return Model(params, {}, functools.partial(loss, train=True), loss,
               classifier.step_flops(params), _classifier_predict)


def _classifier_predict(params, model_state, batch, hparams):
  del model_state, hparams
  return {"outputs": classifier.apply(params, batch["inputs"], batch["lengths"])}


def _bag_of_words_predict(params, model_state, batch, hparams):
  del model_state, hparams
  from skipjax import bag_of_words  # pylint: disable=g-import-not-at-top
  return {"outputs": bag_of_words.apply(params, batch["inputs"], batch["lengths"])}


def _build_bag_of_words(key: jax.Array, net: Any, spec: DataSpec) -> Model:
  """The non-recurrent baseline (`skipjax.bag_of_words`): mean embedding, MLP."""
  from skipjax import bag_of_words  # pylint: disable=g-import-not-at-top
  if spec.task != "classification" or spec.vocab_size is None:
    raise ValueError("model 'bag_of_words' classifies token sequences; the dataset gives task "
                     f"{spec.task!r} with vocab_size {spec.vocab_size}")
  params = model_api.call_config(jax.jit(functools.partial(bag_of_words.init, vocab_size=spec.vocab_size,
                                           num_classes=spec.num_classes, **model_api.net_kwargs(net))),
                 "config.net", key=key)
  return Model(params, {}, bag_of_words.make_loss_fn(train=True),
               bag_of_words.make_loss_fn(train=False), None, _bag_of_words_predict)


# Every builder is wrapped by `pretrained.with_pretrained`: config.net.pretrained_embedding,
# pretrained_format and freeze_embedding initialise (and may freeze) the token embedding.
_BUILDERS: dict[str, Callable[[jax.Array, Any, DataSpec], Model]] = {
    "bag_of_words": _build_bag_of_words,
    "lstm": functools.partial(_build_rnn, cell="lstm"),
    "gru": functools.partial(_build_rnn, cell="gru"),
    "dynamic_skip": build_dynamic_skip.build_dynamic_skip,
    "fixed_skip_lstm": build_dynamic_skip.build_fixed_skip,
    "attention_skip_lstm": build_dynamic_skip.build_attention_skip,
    "lstm_jump": build_lstm_jump.build_lstm_jump,
    "skim_lstm": build_skim_rnn.build_skim_lstm,
    "skim_gru": build_skim_rnn.build_skim_gru,
    "skip_lstm": build_skip_rnn.build_skip_lstm,
    "skip_gru": build_skip_rnn.build_skip_gru,
    "random_skip_lstm": build_skip_rnn.build_random_skip_lstm,
    "random_skip_gru": build_skip_rnn.build_random_skip_gru,
}
MODELS: dict[str, Callable[[jax.Array, Any, DataSpec], Model]] = {
    name: pretrained.with_pretrained(builder, name) for name, builder in _BUILDERS.items()}


# ----------------------------------------------------------------------------- hparams

# Datasets on which "lstm" is the plain stack of `skipjax.dynamic_skip` (its loss reads that
# module's hparams), as `_build_rnn` dispatches on their DataSpec task.
_DYNAMIC_SKIP_LSTM_DATASETS = frozenset({"ptb", "conll2003"})


def hparam_spec(model: str, dataset: str) -> tuple[dict[str, validation.Interval], tuple[str, ...]]:
  """(the config.hparams the losses of `model` on `dataset` read -> allowed range, the required
  ones), from the library modules' HPARAMS tables."""
  if model in ("dynamic_skip", "fixed_skip_lstm", "attention_skip_lstm") or (
      model == "lstm" and dataset in _DYNAMIC_SKIP_LSTM_DATASETS):
    return dict(dynamic_skip.HPARAMS), ()
  if model in ("skim_lstm", "skim_gru"):
    return dict(skim_rnn.HPARAMS), tuple(skim_rnn.REQUIRED_HPARAMS)
  if model in ("skip_lstm", "skip_gru"):
    return dict(skip_rnn.HPARAMS), ()
  if model == "lstm_jump":
    return dict(lstm_jump.HPARAMS), ()
  if model == "bag_of_words":
    return dict(bag_of_words.HPARAMS), ()
  # lstm / gru classifiers and random skipping: only the dropout rate (training only)
  return {"dropout": validation.RATE}, ()


def check_hparams(model: str, dataset: str, hparams: Any) -> None:
  """Checks config.hparams before anything is traced: every name is one the model's losses read,
  the required ones are there, and every value lies in its range (inside the jitted train step
  the values are traced and could no longer be checked). Raises ValueError naming the field,
  e.g. 'config.hparams.lam must lie in [0, 1], got 1.5'."""
  spec, required = hparam_spec(model, dataset)
  hparams = model_api.net_kwargs(hparams)
  unknown = sorted(set(hparams) - set(spec))
  if unknown:
    reads = ", ".join(sorted(spec)) if spec else "none"
    raise ValueError(f"config.hparams.{unknown[0]}: model {model!r} on {dataset!r} does not read "
                     f"it (its hparams: {reads}); a misspelt or unused hparam would be ignored")
  for name in required:
    if hparams.get(name) is None:
      raise ValueError(f"config.hparams.{name} is required for model {model!r}")
  validation.check_hparams(hparams, spec, lambda k: f"config.hparams.{k}")


# ----------------------------------------------------------------------------- datasets
# config.dataset -> its loader: experiments/loaders.py (re-exported here).

DATASETS = loaders.DATASETS
SYNTHETIC = loaders.SYNTHETIC
split_off = loaders.split_off
HOLD_OUT_SEED = loaders.HOLD_OUT_SEED
