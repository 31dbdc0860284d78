"""Experiment configs: `experiments/configs/<name>.py` each define `get_config()`.

Run one with `python -m experiments.run --config experiments/configs/<name>.py --workdir DIR`
(override any field: `--config.optimizer.learning_rate=1e-3`). `base_config()` holds the fields
every experiment has; a config fills in its model, dataset and paper figure. See
experiments/README.md for the fields and for adding a model to `experiments/registry.py`.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict


def base_config() -> ml_collections.ConfigDict:
  """The fields `experiments.run` reads. Optional numbers are typed placeholders (None until set),
  so that `--config.x=...` still parses them."""
  c = ml_collections.ConfigDict()
  c.experiment = ""             # name of the experiment (results/<run>.json "experiment")
  c.paper = ""                  # paper and table the number belongs to (groups RESULTS.md)
  c.paper_value = config_dict.placeholder(float)  # the paper's figure for this setting
  c.model = "lstm"              # a key of experiments.registry.MODELS
  c.net = ml_collections.ConfigDict()      # architecture kwargs of the model's builder
  c.hparams = ml_collections.ConfigDict()  # float loss settings a sweep may vary
  c.dataset = ""                # a key of experiments.registry.DATASETS
  c.data = ml_collections.ConfigDict()     # loader kwargs (batch_size, max_len, splits, ...)
  c.optimizer = ml_collections.ConfigDict(dict(
      name="adam", learning_rate=1e-3, clip_norm=config_dict.placeholder(float),
      schedule="constant", warmup_steps=0, weight_decay=0.0))
  c.num_steps = 1000
  c.eval_every = 100
  c.log_every = 20
  c.checkpoint_every = 0        # extra saves besides those at evaluations (0: none)
  c.keep_checkpoints = 2
  c.best_metric = "accuracy"    # dev metric ranking checkpoints / early stopping
  c.best_mode = "max"
  c.early_stopping_patience = 0
  c.early_stopping_min_delta = 0.0
  c.metric = "accuracy"         # test metric recorded in results/<run>.json "value"
  c.speedup_batch1 = config_dict.placeholder(float)  # from `python -m skipjax.bench`, if measured
  c.seed = 0
  c.progress = True
  c.tensorboard = True
  return c


def text_data(batch_size: int, max_len: int | None, **overrides) -> ml_collections.ConfigDict:
  """`config.data` for a real text dataset loaded by `skipjax.data.load` (local raw files)."""
  d = ml_collections.ConfigDict(dict(
      batch_size=batch_size, eval_batch_size=256, train_split="train", dev_split="validation",
      test_split="test", max_len=max_len if max_len is not None else config_dict.placeholder(int),
      min_freq=1, max_vocab_size=config_dict.placeholder(int), source="local",
      data_dir=config_dict.placeholder(str), cache_dir=config_dict.placeholder(str)))
  d.update(overrides)
  return d


def synthetic_data(batch_size: int, dev_examples: int, test_examples: int,
                   **task_kwargs) -> ml_collections.ConfigDict:
  """`config.data` for a synthetic task of `skipjax.data.synthetic` (task kwargs: length, ...)."""
  return ml_collections.ConfigDict(dict(batch_size=batch_size, eval_batch_size=batch_size,
                                        dev_examples=dev_examples, test_examples=test_examples,
                                        **task_kwargs))


IMDB_PROTOCOL = """IMDB protocol shared by the *_imdb configs (ours; the papers differ in details): reviews
cropped to their first 400 tokens (padded otherwise), a 30,000-word vocabulary from the training
reviews, embeddings trained from scratch (no word2vec/GloVe), 10% of the 25,000 training reviews
held out as dev by a fixed seeded permutation (`experiments.registry.split_off`; the prepared train
split is ordered by class, so no contiguous slice can be used), 22,500 for training, the 25,000
test reviews for test (best-dev checkpoint). Adam 1e-3, gradient clipping 1.0, batch 64."""


def imdb_config(experiment: str, model: str, paper: str, paper_value: float | None,
                epochs: int = 2) -> ml_collections.ConfigDict:
  """The shared IMDB setting (IMDB_PROTOCOL); the caller sets config.net and config.hparams."""
  c = base_config()
  c.experiment = experiment
  c.paper = paper
  c.paper_value = paper_value
  c.model = model
  c.dataset = "imdb"
  c.data = text_data(batch_size=64, max_len=400, dev_split=None, max_vocab_size=30000,
                     dev_from_train=0.1)
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  steps_per_epoch = 22500 // 64 + 1   # 352
  c.num_steps = epochs * steps_per_epoch
  c.eval_every = steps_per_epoch // 2
  c.log_every = 20
  return c
