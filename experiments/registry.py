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

Adding a dataset: write `_load_<name>(config, seed) -> Data` (train iterator with
get_state/set_state, dev/test batch lists, DataSpec) and add it to DATASETS. Real datasets go
through `skipjax.data.load` and are listed by `_real_loader`.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax

from experiments import build_dynamic_skip
from experiments import build_lstm_jump
from experiments import build_skim_rnn
from experiments import build_skip_rnn
from experiments import model_api
from experiments import pretrained
from skipjax import bag_of_words
from skipjax import classifier
from skipjax import dynamic_skip
from skipjax import lstm_jump
from skipjax import skim_rnn
from skipjax import skip_rnn
from skipjax import validation
from skipjax.data import finite
from skipjax.data import synthetic


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


def _synthetic_loader(task: str) -> Callable[[Any, int], Data]:
  """Synthetic tasks. config.data: batch_size, eval_batch_size (default batch_size),
  dev_examples, test_examples, the task's own kwargs (length, pointer_range, dt_ms), and

  - train_examples: None (default): an endless train stream, a fresh example every step, and
    fixed dev ('validation') and test sets drawn from their own streams. An integer (token tasks,
    `finite.FINITE_TASKS`): the papers' protocol, a fixed, finite training set of that many
    examples served in epochs (reshuffled every epoch from the run seed; resumable state
    {'seed', 'epoch', 'position', ...}), and dev and test sets in which no input sequence of
    train, or of each other, occurs (`finite.finite_splits`: collisions are rejected).
  - data_seed: the seed the examples are drawn from (default: the run seed). Fixing it keeps one
    data set across model seeds, as the papers' one generated file did; the order in which a
    finite training set is served still follows the run seed.
  """

  def load(data: Any, seed: int) -> Data:
    from skipjax import validation  # pylint: disable=g-import-not-at-top
    kwargs = model_api.net_kwargs(data)
    batch_size = kwargs.pop("batch_size")
    eval_batch_size = kwargs.pop("eval_batch_size", batch_size)
    dev_examples = kwargs.pop("dev_examples")
    test_examples = kwargs.pop("test_examples")
    train_examples = kwargs.pop("train_examples", None)
    data_seed = kwargs.pop("data_seed", None)
    if data_seed is None:
      data_seed = seed
    validation.check_nonneg_int("config.data.data_seed", data_seed)
    info = model_api.call_config(synthetic.task_info, "config.data", name=task, **kwargs)
    if train_examples is None:
      train = model_api.call_config(synthetic.SyntheticBatches, "config.data", name=task, seed=data_seed,
                    batch_size=batch_size, **kwargs)
      dev = synthetic.fixed_set(task, data_seed, dev_examples, eval_batch_size,
                                split="validation", **kwargs)
      test = synthetic.fixed_set(task, data_seed, test_examples, eval_batch_size, split="test",
                                 **kwargs)
    else:
      from skipjax.data import batching  # pylint: disable=g-import-not-at-top
      if task not in finite.FINITE_TASKS:
        raise ValueError(f"config.data.train_examples: a finite training set is built for the "
                         f"token tasks {list(finite.FINITE_TASKS)}, not {task!r} (leave it "
                         "None for an endless stream)")
      validation.check_positive_int("config.data.train_examples", train_examples)
      splits = model_api.call_config(finite.finite_splits, "config.data", name=task, seed=data_seed,
                     sizes={"train": train_examples, "validation": dev_examples,
                            "test": test_examples}, **kwargs).arrays
      train = batching.Batcher(splits["train"], batch_size, shuffle=True, seed=seed)
      dev, test = (list(batching.batches(splits[s], eval_batch_size, train=False))
                   for s in ("validation", "test"))
    regression = info["num_classes"] is None
    spec = DataSpec(task="regression" if regression else "classification",
                    num_classes=1 if regression else info["num_classes"],
                    vocab_size=info["vocab_size"], input_dim=info["input_dim"],
                    max_len=info["length"], num_train=train_examples)
    return Data(train, dev, test, spec)

  return load


# The seed of `split_off`'s permutation: fixed, so every run and seed holds out the same examples.
HOLD_OUT_SEED = 20260


def split_off(arrays: dict[str, Any], fraction: float) -> tuple[dict[str, Any], dict[str, Any]]:
  """Splits example arrays (equal first dims) into (rest, held_out) by a fixed seeded permutation.

  For datasets without a dev split whose prepared train split is ordered (IMDB: all positive
  reviews, then all negative), where a contiguous slice like 'train[90%:]' is one class only.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  if isinstance(fraction, bool) or not isinstance(fraction, float) or not 0.0 < fraction < 1.0:
    raise ValueError(f"config.data.dev_from_train must be a fraction in (0, 1), got {fraction!r}")
  n = len(next(iter(arrays.values())))
  held = int(round(n * fraction))
  if not 0 < held < n:
    raise ValueError(f"config.data.dev_from_train={fraction} of {n} examples leaves an empty "
                     "split")
  order = np.random.default_rng(HOLD_OUT_SEED).permutation(n)
  rest, dev = np.sort(order[held:]), np.sort(order[:held])
  return ({k: v[rest] for k, v in arrays.items()}, {k: v[dev] for k, v in arrays.items()})


def _real_loader(name: str) -> Callable[[Any, int], Data]:
  """Datasets from `skipjax.data.load` (tfds-prepared from the raw files in shared/data)."""

  def load(data: Any, seed: int) -> Data:
    from skipjax.data import batching  # pylint: disable=g-import-not-at-top
    from skipjax.data import datasets  # pylint: disable=g-import-not-at-top
    from skipjax.data import files  # pylint: disable=g-import-not-at-top
    kwargs = model_api.net_kwargs(data)
    batch_size = kwargs.pop("batch_size")
    eval_batch_size = kwargs.pop("eval_batch_size", batch_size)
    splits = {role: kwargs.pop(f"{role}_split") for role in ("train", "dev", "test")}
    bucket_boundaries = kwargs.pop("bucket_boundaries", None)
    dev_from_train = kwargs.pop("dev_from_train", None)
    train_arrays, info = model_api.call_config(datasets.load, "config.data", name=name, split=splits["train"],
                               **kwargs)
    held_out = None
    if dev_from_train is not None:
      if splits["dev"] is not None:
        raise ValueError(f"config.data: dev_from_train={dev_from_train} holds out a dev set from "
                         f"the train split; set dev_split=None (got {splits['dev']!r})")
      train_arrays, held_out = split_off(train_arrays, dev_from_train)
    kwargs["vocab"] = info.vocab
    kwargs.pop("min_freq", None)
    kwargs.pop("max_vocab_size", None)
    train = batching.batches(train_arrays, batch_size, train=True, seed=seed,
                             bucket_boundaries=bucket_boundaries)
    evals = {}
    for role in ("dev", "test"):
      if role == "dev" and held_out is not None:
        evals[role] = list(batching.batches(held_out, eval_batch_size, train=False,
                                            bucket_boundaries=bucket_boundaries))
        continue
      if splits[role] is None:
        evals[role] = None
        continue
      arrays, _ = datasets.load(name, splits[role], **kwargs)
      evals[role] = list(batching.batches(arrays, eval_batch_size, train=False,
                                          bucket_boundaries=bucket_boundaries))
    task = "sequence" if name == "conll2003" else "classification"
    spec = DataSpec(task=task, num_classes=info.num_classes, vocab_size=info.vocab_size,
                    input_dim=1 if name in ("mnist", "pmnist") else None, max_len=info.max_len,
                    num_train=len(next(iter(train_arrays.values()))),
                    tag_names=tuple(info.label_names) if name == "conll2003" else None,
                    vocab=info.vocab,
                    data_dir=str(files.resolve_data_dir(kwargs.get("data_dir"))),
                    label_names=(tuple(info.label_names) if info.label_names
                                 and name != "conll2003" else None))
    return Data(train, evals["dev"], evals["test"], spec)

  return load


def _load_ptb(data: Any, seed: int) -> Data:
  """Penn Treebank word-level language modelling (Mikolov's 10k vocabulary, <eos> per line).

  config.data: batch_size, bptt, eval_batch_size (default batch_size), train/dev/test_split
  ('train', 'validation', 'test' or tfds slices such as 'train[:1%]'), source, data_dir,
  cache_dir. Train: endless consecutive BPTT windows (`LMBatcher`, never shuffled, so `seed` is
  unused). Dev/test: a list holding ONE stream batch per split (`language_model.stream_batch`),
  evaluated in order with the carried state.
  """
  del seed
  from skipjax import language_model  # pylint: disable=g-import-not-at-top
  from skipjax.data import batching  # pylint: disable=g-import-not-at-top
  from skipjax.data import datasets  # pylint: disable=g-import-not-at-top
  from skipjax.data import files  # pylint: disable=g-import-not-at-top
  kwargs = model_api.net_kwargs(data)
  batch_size = kwargs.pop("batch_size")
  eval_batch_size = kwargs.pop("eval_batch_size", None) or batch_size
  bptt = kwargs.pop("bptt", None)
  if bptt is None:
    raise ValueError("config.data.bptt (the BPTT window length) is required for ptb")
  splits = {role: kwargs.pop(f"{role}_split", None) for role in ("train", "dev", "test")}
  if splits["train"] is None:
    raise ValueError("config.data.train_split is required for ptb")
  streams = {}
  for role, split in splits.items():
    if split is not None:
      arrays, info = model_api.call_config(datasets.load, "config.data", name="ptb", split=split, **kwargs)
      streams[role] = arrays["tokens"]
  train = batching.batches({"tokens": streams["train"]}, batch_size, train=True, bptt=bptt)
  evals = {role: [language_model.stream_batch(streams[role], eval_batch_size, bptt)]
           if role in streams else None for role in ("dev", "test")}
  spec = DataSpec(task="language_model", num_classes=info.vocab_size,
                  vocab_size=info.vocab_size, input_dim=None, max_len=bptt,
                  num_train=int(streams["train"].shape[0]), batch_size=batch_size,
                  vocab=info.vocab,
                  data_dir=str(files.resolve_data_dir(kwargs.get("data_dir"))))
  return Data(train, evals["dev"], evals["test"], spec)


DATASETS: dict[str, Callable[[Any, int], Data]] = {
    "ptb": _load_ptb,
    **{task: _synthetic_loader(task) for task in synthetic.TASKS},
    **{name: _real_loader(name) for name in ("imdb", "rotten_tomatoes", "sst2_glue",
                                             "sst2_trees", "sst5", "ag_news", "mnist", "pmnist",
                                             "conll2003")},
}
SYNTHETIC = frozenset(synthetic.TASKS)
