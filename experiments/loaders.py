"""Data loaders: config.dataset -> `loader(config.data, seed, *, process_index, process_count)
-> Data` (a resumable train iterator, dev and test batch lists, the DataSpec).

The train iterator of a process gives that process's rows of every global batch
(`process_index` of `process_count`, `jax.process_index()` / `jax.process_count()` in a
multi-process run): each process reads only its own examples (`batching.Batcher`,
`LMBatcher`, `synthetic.SyntheticBatches` shard the global batch), and the steps see the same
global batches as a single-process run. Dev and test sets are small fixed lists, built whole by
every process; each feeds its own rows of them (`parallel.sharded_batches`).

Adding a dataset: write `_load_<name>(config.data, seed, *, process_index, process_count) ->
Data` and add it to DATASETS. Real datasets go through `skipjax.data.load` and are listed by
`_real_loader`.
"""

from __future__ import annotations

from typing import Any, Callable

from experiments import model_api
from skipjax.data import finite
from skipjax.data import synthetic

DataSpec = model_api.DataSpec
Data = model_api.Data



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

  def load(data: Any, seed: int, *, process_index: int = 0, process_count: int = 1) -> Data:
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
      train = model_api.call_config(synthetic.SyntheticBatches, "config.data", name=task,
                                    seed=data_seed, batch_size=batch_size,
                                    process_index=process_index, process_count=process_count,
                                    **kwargs)
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
      train = batching.Batcher(splits["train"], batch_size, shuffle=True, seed=seed,
                               process_index=process_index, process_count=process_count)
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

  def load(data: Any, seed: int, *, process_index: int = 0, process_count: int = 1) -> Data:
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
                             bucket_boundaries=bucket_boundaries, process_index=process_index,
                             process_count=process_count)
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
                                 and name != "conll2003" else None),
                    char_vocab_size=info.extras.get("char_vocab_size"))
    return Data(train, evals["dev"], evals["test"], spec)

  return load


def _load_ptb(data: Any, seed: int, *, process_index: int = 0,
              process_count: int = 1) -> Data:
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
  train = batching.batches({"tokens": streams["train"]}, batch_size, train=True, bptt=bptt,
                           process_index=process_index, process_count=process_count)
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
