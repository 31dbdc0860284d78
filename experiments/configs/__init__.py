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
  c.net.update(pretrained_net())
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


def pretrained_net() -> dict:
  """The config.net fields of pretrained word vectors (`experiments.pretrained`), in every config:
  pretrained_embedding None (random init), "word2vec_imdb" (IMDB train + unsup word2vec of
  dimension embed_dim, cached) or a GloVe / word2vec file; pretrained_format "auto", "glove",
  "word2vec_text" or "word2vec_binary"; freeze_embedding (keep the initialised table fixed)."""
  return dict(pretrained_embedding=config_dict.placeholder(str), pretrained_format="auto",
              freeze_embedding=False)


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


def experiment_config(experiment: str, model: str, paper: str,
                      paper_value: float | None = None) -> ml_collections.ConfigDict:
  """`base_config()` naming the experiment, its model and the paper figure it is compared with
  (the start of every shared setting function below)."""
  c = base_config()
  c.experiment = experiment
  c.paper = paper
  c.paper_value = paper_value
  c.model = model
  return c


def skip_rnn_config(experiment: str, model: str, paper: str, paper_value: float | None,
                    dataset: str, data: ml_collections.ConfigDict,
                    budget_lambda: float | None = None) -> ml_collections.ConfigDict:
  """The shared setting of the Skip RNN (Campos et al., 2018) configs (adding, frequency
  discrimination, sequential MNIST): the paper's 110 units, Adam 1e-4 and gradient clipping 1.0
  (its batch of 256 is set in the caller's `data`), and 20,000 steps evaluated every 500 (a budget
  of ours). `budget_lambda` is the weight of the budget loss (config.hparams.budget_lambda) of the
  skip models; None, for the models without one, leaves config.hparams empty."""
  c = experiment_config(experiment, model, paper, paper_value)
  c.net.hidden_dim = 110
  if budget_lambda is not None:
    c.hparams.budget_lambda = budget_lambda
  c.dataset = dataset
  c.data = data
  c.optimizer.learning_rate = 1e-4
  c.optimizer.clip_norm = 1.0
  c.num_steps = 20000
  c.eval_every = 500
  return c


def sentence_config(experiment: str, model: str, dataset: str, paper_value: float,
                    paper: str = "Skim-RNN (Seo et al., 2018), Table 1"
                    ) -> ml_collections.ConfigDict:
  """The shared setting of the Rotten Tomatoes and SST-2 configs (Skim-RNN, Seo et al., 2018,
  Table 1, d=100; the LSTM-Jump Rotten Tomatoes run reuses it with its own `paper`): 100-d
  embeddings trained from scratch (no GloVe), 100 units, no dropout, Adam 1e-3 (not the paper's
  1e-4, so that a short CPU run converges), gradient clipping 1.0, batch 32. The caller adds its
  model's config.net and config.hparams entries.

  dataset "rotten_tomatoes": sentences cut at 50 tokens, 1,080 steps (4 epochs of the 8,636
  training sentences) evaluated twice an epoch, early_stopping_patience 6. dataset "sst2_glue": cut
  at 64 tokens; the GLUE test labels are hidden, so it trains on the training phrases and tests on
  the labelled validation set, with no dev split; 3,000 steps (1.4 epochs of 67,349 phrases), a
  checkpoint every 500.
  """
  c = experiment_config(experiment, model, paper, paper_value)
  c.net.embed_dim = 100
  c.net.hidden_dim = 100
  c.dataset = dataset
  if dataset == "rotten_tomatoes":
    c.data = text_data(batch_size=32, max_len=50)
    c.num_steps = 1080
    c.eval_every = 135
    c.early_stopping_patience = 6
  elif dataset == "sst2_glue":
    c.data = text_data(batch_size=32, max_len=64, dev_split=None, test_split="validation")
    c.num_steps = 3000
    c.checkpoint_every = 500
  else:
    raise ValueError(f"sentence_config: dataset must be 'rotten_tomatoes' or 'sst2_glue', "
                     f"got {dataset!r}")
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  return c


def lstm_jump_net(max_jump: int, read_size: int, num_jumps: int) -> dict:
  """The config.net entries of LSTM-Jump (Yu et al., 2017) after embed_dim and hidden_dim: the
  largest jump K (`max_jump`), the tokens read between jumps R (`read_size`) and the jumps allowed
  N (`num_jumps`) in training; eval_read_size / eval_num_jumps are None (evaluate with the R and N
  of training) until set on the command line; 4 sampled trajectories per example and reward
  normalisation over the batch against the variance of REINFORCE. Its configs pair it with an
  entropy bonus, config.hparams.entropy_beta."""
  return dict(max_jump=max_jump, read_size=read_size, num_jumps=num_jumps,
              eval_read_size=config_dict.placeholder(int),
              eval_num_jumps=config_dict.placeholder(int),
              num_samples=4, normalize_rewards=True)
