"""What the experiment registry and its model builders share: the dataset's `DataSpec`, the
`Data` a loader returns, the `Model` a builder returns, and the helpers that turn `config.net`
into keyword arguments with errors naming the config field.

`experiments.registry` maps names to builders (`experiments/build_*.py`) and loaders; the
builders import this module, never the registry, so no import cycle runs through them.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, NamedTuple


class DataSpec(NamedTuple):
  """What a model builder needs to know about a dataset. tag_names: for a 'sequence' dataset
  scored by conlleval (CoNLL-2003), the IOB tag of each label id: the eval loss then reports
  chunk counts, and evaluation entity-level precision, recall and 'f1' over the whole split.
  vocab and data_dir: for pretrained word vectors (`experiments.pretrained`)."""
  task: str                 # 'classification' | 'regression' | 'sequence' | 'language_model'
  num_classes: int | None   # outputs of the head (1 for scalar regression; vocabulary for LMs)
  vocab_size: int | None    # token inputs [B, T]
  input_dim: int | None     # float inputs [B, T, D]
  max_len: int | None
  num_train: int | None     # training examples (None for endless synthetic streams; LM: tokens)
  batch_size: int | None = None  # train batch, for state carried across batches (LMs)
  tag_names: tuple[str, ...] | None = None  # IOB tag of each label id (CoNLL): entity F1
  vocab: Any = None         # the word vocabulary (skipjax.data.Vocab) of token inputs, if any
  data_dir: str | None = None  # the raw-data directory the dataset was read from
  label_names: tuple[str, ...] | None = None  # the name of each class id (text classification)
  char_vocab_size: int | None = None  # batches also hold 'chars' [B, T, C] ids (CoNLL char_len)


SPEC_NAME = "data_spec.json"   # what a run's workdir keeps of its dataset (`save_spec`)
VOCAB_NAME = "vocab.json"      # and its word vocabulary (`skipjax.data.Vocab.save`)


def spec_to_json(spec: DataSpec) -> dict[str, Any]:
  """The JSON-serialisable fields of `spec` (all but `vocab`, saved as its own file)."""
  out = spec._asdict()
  del out["vocab"]
  return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}


def spec_from_json(fields: dict[str, Any], vocab: Any = None) -> DataSpec:
  """Inverse of `spec_to_json` (with the vocabulary loaded separately)."""
  unknown = sorted(set(fields) - set(DataSpec._fields))
  if unknown:
    raise ValueError(f"a saved data spec has unknown fields {unknown}")
  fields = {k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()}
  return DataSpec(**fields, vocab=vocab)


class Data(NamedTuple):
  train: Iterator[dict[str, Any]]        # endless, with get_state()/set_state()
  dev: list[dict[str, Any]] | None       # padded, masked batches
  test: list[dict[str, Any]] | None
  spec: DataSpec


class Model(NamedTuple):
  params: Any
  model_state: Any
  loss_fn: Callable[..., Any]
  eval_loss_fn: Callable[..., Any]
  step_flops: int | None    # analytic FLOPs of one full recurrent step (None if not counted)
  # predict_fn(params, model_state, batch, hparams) -> {'outputs': logits [B, C] (or values [B]),
  # optionally 'fraction_computed': [B]}: the evaluation-mode forward pass of one batch of
  # classification/regression inputs ('inputs', 'lengths'); None where a model has none.
  predict_fn: Callable[..., dict[str, Any]] | None = None


def net_kwargs(net: Any) -> dict[str, Any]:
  """`config.net` (a ConfigDict or a dict) as a plain dict of keyword arguments."""
  return dict(net.to_dict() if hasattr(net, "to_dict") else net)


def call_config(fn: Callable[..., Any], what: str, **kwargs: Any) -> Any:
  """Calls fn(**kwargs), turning an unexpected keyword into a message naming the config field."""
  try:
    return fn(**kwargs)
  except TypeError as e:
    if "unexpected keyword" in str(e) or "missing" in str(e):
      raise ValueError(f"{what}: {e}") from None
    raise
