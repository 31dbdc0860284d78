"""Experiment configs: `experiments/configs/<name>.py` each define `get_config()`.

Run one with `python -m experiments.run --config experiments/configs/<name>.py --workdir DIR`
(override any field: `--config.optimizer.learning_rate=1e-3`). `base_config()` holds the fields
every experiment has; a config fills in its model, dataset and paper figure. See
experiments/README.md for the fields and for adding a model to `experiments/registry.py`.
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import pathlib

import ml_collections
from ml_collections import config_dict

CONFIG_DIR = pathlib.Path(__file__).resolve().parent
REPO = CONFIG_DIR.parent.parent


# Config files that became arguments of another (big_vision style): old name -> the spec now.
RENAMED = {
    "dynamic_skip_number_prediction_11": "gui_number_prediction:dynamic_skip,11",
    "dynamic_skip_number_prediction_21": "gui_number_prediction:dynamic_skip,21",
    "dynamic_skip_lam1_number_prediction_11": "gui_number_prediction:dynamic_skip,11,lam=1",
    "dynamic_skip_lam1_number_prediction_21": "gui_number_prediction:dynamic_skip,21,lam=1",
    "attention_skip_number_prediction_11": "gui_number_prediction:attention_skip_lstm,11",
    "attention_skip_number_prediction_21": "gui_number_prediction:attention_skip_lstm,21",
    "fixed_skip3_number_prediction_11": "gui_number_prediction:fixed_skip_lstm,11",
    "lstm_number_prediction_11": "gui_number_prediction:lstm,11",
    "lstm_number_prediction_21": "gui_number_prediction:lstm,21",
}


def renamed_hint(stem: str) -> str | None:
  """'this config is now X' for a config file of old (`RENAMED`), else None."""
  if stem in RENAMED:
    name, _, arg = RENAMED[stem].partition(":")
    return f"this config is now experiments/configs/{name}.py:{arg}"
  return None


def load(spec: str) -> ml_collections.ConfigDict:
  """The config `spec` names, as `experiments.run --config` reads it: 'NAME' or 'NAME:ARG'
  (experiments/configs/NAME.py, `get_config(ARG)`), or a file 'PATH.py[:ARG]' (relative paths from
  the repository root). Raises FileNotFoundError for a missing file and ValueError for an
  argument given to a config that takes none."""
  file, sep, arg = spec.partition(":")
  path = pathlib.Path(file)
  if path.suffix != ".py":
    path = CONFIG_DIR / f"{file}.py"
  elif not path.is_absolute():
    path = REPO / path
  if not path.is_file():
    hint = renamed_hint(path.stem)
    raise FileNotFoundError(f"config {spec!r}: no file {path}" + (f"; {hint}" if hint else ""))
  module_spec = importlib.util.spec_from_file_location(f"_skipjax_config_{path.stem}", path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  if not sep:
    return module.get_config()
  if not inspect.signature(module.get_config).parameters:
    raise ValueError(f"config {spec!r}: {path.name} takes no argument (drop ':{arg}')")
  return module.get_config(arg)


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
  c.progress = True             # a bar on a terminal, plain lines every 30 s in a log file
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
      data_dir=config_dict.placeholder(str), cache_dir=config_dict.placeholder(str),
      # Increasing lengths: batches of similar length, each cut to the smallest boundary >= its
      # longest example (`batching.Batcher`); None: every batch padded to max_len.
      bucket_boundaries=config_dict.placeholder(tuple)))
  d.update(overrides)
  return d


def synthetic_data(batch_size: int, dev_examples: int, test_examples: int,
                   **task_kwargs) -> ml_collections.ConfigDict:
  """`config.data` for a synthetic task of `skipjax.data.synthetic` (task kwargs: length, ...)."""
  return ml_collections.ConfigDict(dict(batch_size=batch_size, eval_batch_size=batch_size,
                                        dev_examples=dev_examples, test_examples=test_examples,
                                        **task_kwargs))


def budget_lambda_arg(arg: str | None, default: float, config: str) -> tuple[float, str]:
  """(lambda, its name tag) from a config's argument (`--config <file>.py:1e-4`): the tag is how
  the per-lambda experiments are named, lam0, lam1e5, lam1e4, lam2.5e4 (the exponent's minus
  dropped)."""
  if arg is None or arg == "":
    value = default
  else:
    try:
      value = float(arg)
    except ValueError:
      raise ValueError(f"{config}:{arg}: the argument is the budget lambda, a number >= 0 "
                       "(e.g. :1e-4)") from None
  if not math.isfinite(value) or value < 0:
    raise ValueError(f"{config}:{arg}: the budget lambda must be a finite number >= 0")
  if value == 0:
    return 0.0, "0"
  mantissa, exponent = f"{value:e}".split("e")
  mantissa = mantissa.rstrip("0").rstrip(".")
  return value, f"{mantissa}e{abs(int(exponent))}" if int(exponent) < 0 else f"{value:g}"


def patience_evals(steps: int, eval_every: int) -> int:
  """`early_stopping_patience` (counted in evaluations, `skipjax.train.early_stopping`) for a rule
  stated in steps: stop at the first evaluation `steps` or more steps after the best one."""
  return math.ceil(steps / eval_every)


# Skim-RNN (Seo et al., 2018): "early stop after 3,000 steps without a better dev score".
SKIM_RNN_PATIENCE_STEPS = 3000

IMDB_TRAIN_REVIEWS = 25000
# Skip RNN's IMDB split (Campos et al., 2018): 15% of the training reviews as validation. Skim-RNN
# held out 3,857 (15.4%, 21,143 / 3,857); its split is not published, so both use Skip RNN's.
IMDB_DEV_FRACTION = 0.15

IMDB_PROTOCOL = """IMDB protocol shared by the *_imdb configs (ours; the papers differ in details): reviews
cropped to their first 400 tokens (padded otherwise), a 30,000-word vocabulary from the training
reviews, embeddings initialised with our word2vec (IMDB train + unsup; not the papers'
vectors), 15% of the 25,000 training reviews held out as dev as in Skip RNN (Campos et al.; `config.data.dev_from_train`, the
`dev_fraction` of `imdb_config`) by a fixed seeded permutation (`experiments.registry.split_off`;
the prepared train split is ordered by class, so no contiguous slice can be used): 21,250 for
training, 3,750 for dev (Skim-RNN's 21,143 / 3,857 is not published, so it is not used), the
25,000 test reviews for test (best-dev checkpoint). Adam 1e-3, gradient clipping 1.0, batch 64,
up to 10 epochs, evaluated twice an epoch, early stopping on dev accuracy."""


def imdb_config(experiment: str, model: str, paper: str, paper_value: float | None,
                epochs: int = 10, dev_fraction: float = IMDB_DEV_FRACTION,
                patience_steps: int = 1000) -> ml_collections.ConfigDict:
  """The shared IMDB setting (IMDB_PROTOCOL); the caller sets config.net and config.hparams.

  epochs: the most epochs trained. dev_fraction: the part of the training reviews held out as dev
  (`config.data.dev_from_train`). patience_steps: stop at the first evaluation this many steps
  after the best dev accuracy (`patience_evals`; Skim-RNN's configs pass 3,000).
  """
  c = base_config()
  c.experiment = experiment
  c.paper = paper
  c.paper_value = paper_value
  c.model = model
  c.dataset = "imdb"
  c.data = text_data(batch_size=64, max_len=400, dev_split=None, max_vocab_size=30000,
                     dev_from_train=dev_fraction)
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  num_train = IMDB_TRAIN_REVIEWS - int(round(IMDB_TRAIN_REVIEWS * dev_fraction))  # split_off's
  steps_per_epoch = math.ceil(num_train / c.data.batch_size)   # 333 at 15%
  c.num_steps = epochs * steps_per_epoch
  c.eval_every = steps_per_epoch // 2
  c.early_stopping_patience = patience_evals(patience_steps, c.eval_every)
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


# Training sentences of the sentence-level datasets (skipjax.data): Rotten Tomatoes' fixed seeded
# split 8,636 / 960 / 1,066; SST-2 from the SST trees, neutral dropped, 6,920 / 872 / 1,821.
SENTENCE_TRAIN = {"rotten_tomatoes": 8636, "sst2_trees": 6920}
SENTENCE_MAX_LEN = {"rotten_tomatoes": 50, "sst2_trees": 64}


def sentence_config(experiment: str, model: str, dataset: str, paper_value: float,
                    paper: str = "Skim-RNN (Seo et al., 2018), Table 1"
                    ) -> ml_collections.ConfigDict:
  """The shared setting of the Rotten Tomatoes and SST-2 configs (Skim-RNN, Seo et al., 2018,
  Table 1, d=100; the LSTM-Jump Rotten Tomatoes run reuses it with its own `paper`): 100-d
  embeddings: our IMDB word2vec (no GloVe), 100 units, dropout 0.3 (`hparams.dropout`, on
  the embedded inputs and on the final state; training only), Adam 1e-3 (not the paper's 1e-4),
  gradient clipping 1.0, batch 32 (the paper's), up to 20 epochs evaluated twice an epoch,
  stopped by Skim-RNN's rule: 3,000 steps without a better dev accuracy (`patience_evals`). The
  caller adds its model's config.net and config.hparams entries.

  dataset "rotten_tomatoes": sentences cut at 50 tokens; the fixed seeded split of
  `skipjax.data.builders.rotten_tomatoes_split`, 8,636 / 960 / 1,066 (the paper's 8,530 / 1,066 /
  1,066 is not published). dataset "sst2_trees": sentence-level binary SST from the SST trees
  (neutral dropped), the paper's 6,920 / 872 / 1,821 train / dev / test sentences, cut at 64
  tokens (the longest has 56).
  """
  if dataset not in SENTENCE_TRAIN:
    raise ValueError(f"sentence_config: dataset must be 'rotten_tomatoes' or 'sst2_trees', "
                     f"got {dataset!r}")
  c = experiment_config(experiment, model, paper, paper_value)
  # Our 100-d skip-gram word2vec on IMDB train + unsup (python -m skipjax.data vectors), trained
  # further with the model; the papers' own vectors (word2vec / GloVe) are not available here.
  c.net.pretrained_embedding = "word2vec_imdb"
  c.net.embed_dim = 100
  c.net.hidden_dim = 100
  c.hparams.dropout = 0.3
  c.dataset = dataset
  c.data = text_data(batch_size=32, max_len=SENTENCE_MAX_LEN[dataset])
  steps_per_epoch = math.ceil(SENTENCE_TRAIN[dataset] / c.data.batch_size)  # RT 270, SST 217
  c.num_steps = 20 * steps_per_epoch
  c.eval_every = steps_per_epoch // 2
  c.early_stopping_patience = patience_evals(SKIM_RNN_PATIENCE_STEPS, c.eval_every)
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


GUI_NUMBER_PREDICTION = "Dynamic skip (Gui et al., 2019), number prediction (test accuracy)"

GUI_NUMBER_PREDICTION_PROTOCOL = """Number-prediction protocol of the *_number_prediction_11/_21
configs (Gui et al., AAAI 2019, sec. 4.1, as the authors' released code runs it;
`skipjax.data.synthetic` documents that code and its indexing bug).

Data (`number_prediction_pointer`, pointer_range=10): L-1 digits then a pointer b in 0..9 naming
the b-th of the LAST 10 digits (the range of the authors' `produce_data.py`, label a[b + 90]; for
L=11 any of the 10 digits, for L=21 digit 10 + b); a fixed training set of 100,000 sequences (the
authors' size) served in epochs, reshuffled every epoch; 10,000 dev and 10,000 test sequences
(ours: the authors have no dev split and score the first 1,000 of their test rows), none of them in
train or in the other split (collisions are rejected, `skipjax.data.finite.finite_splits`);
data_seed 0, so every row of the table trains and tests on the same sets.

Model: hidden 200, K=10, the digits and the pointer (vocabulary 10) as learned 10-d embeddings (the
authors one-hot encode: the same function class), the agent MLP 10 wide (the authors' fc1), Adam
1e-3, batch 100, no clipping. Schedule: dev accuracy after every epoch (1,000 steps), stop after 5
epochs without a better dev score, at most 200 epochs (200,000 steps); test at the best-dev
checkpoint.

Dynamic skip training: REINFORCE with reward +1/-1 and entropy_weight 1.0, the paper's J2 = E[R] +
H(pi(a_1:T)) at weight 1. The loss adds the per-step entropies H(pi_t(.|s_t)) summed over the
trajectory's steps (averaged over the batch, like the REINFORCE term). Given the states it reaches,
the policy is a product of per-step categoricals, so by the chain rule H(a_1:T) = sum_t
E[H(pi_t(.|s_t))]: the summed term is an unbiased estimate of the trajectory entropy, and weight 1
on it is the paper's objective. Deviations (named): its gradient is the analytic per-step one at
the visited states, not the paper's score-function estimate sum_t grad log pi(a_t|s_t) (R - sum_t
log pi(a_t|s_t) - 1), so it omits the credit earlier choices get for the entropy of the later
states they lead to; and a leave-one-out batch-mean reward baseline is subtracted (variance
reduction; the expected gradient is unchanged)."""


def number_prediction_config(experiment: str, model: str, length: int,
                             paper_value: float | None, lam: float | None = None
                             ) -> ml_collections.ConfigDict:
  """The shared setting of Gui et al.'s number-prediction rows (GUI_NUMBER_PREDICTION_PROTOCOL):
  model 'lstm', 'dynamic_skip', 'attention_skip_lstm' or 'fixed_skip_lstm' (the caller sets
  net.fixed_skip), length 11 or 21, lam for the skip models."""
  c = experiment_config(experiment, model, GUI_NUMBER_PREDICTION, paper_value)
  c.net.hidden_dim = 200
  c.net.embed_dim = 10
  if model != "lstm":
    c.net.num_skips = 10
    c.net.agent_dim = 10
    c.hparams.lam = lam
  if model == "dynamic_skip":
    c.hparams.entropy_weight = 1.0
    c.hparams.reinforce_weight = 1.0
  c.dataset = "number_prediction_pointer"
  c.data = synthetic_data(batch_size=100, dev_examples=10000, test_examples=10000,
                          length=length, pointer_range=10)
  c.data.eval_batch_size = 1000
  c.data.train_examples = 100000
  c.data.data_seed = 0
  c.optimizer.learning_rate = 1e-3
  steps_per_epoch = 100000 // 100
  c.num_steps = 200 * steps_per_epoch
  c.eval_every = steps_per_epoch
  c.early_stopping_patience = 5
  c.log_every = 100
  return c


# -----------------------------------------------------------------------------------------------
# The shared settings of the Skip RNN synthetic and MNIST tasks, CoNLL-2003, PTB and LSTM-Jump's
# number prediction (the configs of each task build on them, never on a sibling config).


SOLVED_MSE = 1.0 / 6.0 / 100.0  # the 'solved' threshold: 1/100 of the target variance


def adding_config(experiment: str, model: str, budget_lambda: float | None = None,
                  paper_value: float | None = SOLVED_MSE):
  """The shared setting of the adding configs (Skip RNN, Table 1, T=50): `skip_rnn_config` on
  50-step sequences (1,024 dev and 4,096 test), checkpoints ranked and the test reported by MSE.
  paper_value is the 'solved' threshold, not a reported MSE. The skip models (those with a
  budget_lambda) train on half the MSE, as the authors' code (`config.net.regression_loss`)."""
  c = skip_rnn_config(experiment, model, "Skip RNN (Campos et al., 2018), Table 1 (adding, T=50)",
                      paper_value, "adding",
                      synthetic_data(batch_size=256, dev_examples=1024, test_examples=4096,
                                     length=50),
                      budget_lambda=budget_lambda)
  c.best_metric = "mse"
  c.best_mode = "min"
  c.metric = "mse"
  if budget_lambda is not None:
    # The authors' code (src/01_adding_task.py) trains on tf.nn.l2_loss(error) / batch_size, half
    # the MSE, so the budget loss weighs twice as much against the task as under the plain MSE.
    # The models without a budget loss keep the MSE: for them the scale only moves the clipping.
    c.net.regression_loss = "half_mse"
  return c


# Frequency discrimination (Skip RNN, Table 4): 100 ms of signal sampled at 1 ms or 0.5 ms.
FREQUENCY_DISCRIMINATION_STEPS = {100: 1.0, 200: 0.5}   # steps T: sampling interval dt (ms)


def frequency_discrimination_config(experiment: str, model: str,
                                    budget_lambda: float | None = None, steps: int = 100):
  """The shared setting of the frequency-discrimination configs (Skip RNN, Table 4):
  `skip_rnn_config` on 100 ms sequences of `steps` samples (100 at dt = 1 ms, 200 at 0.5 ms;
  1,024 dev and 4,096 test); paper_value 0.99 (> 99%)."""
  if steps not in FREQUENCY_DISCRIMINATION_STEPS:
    raise ValueError(f"frequency discrimination: steps must be one of "
                     f"{sorted(FREQUENCY_DISCRIMINATION_STEPS)} (100 ms at 1 or 0.5 ms), got "
                     f"{steps!r}")
  data = synthetic_data(batch_size=256, dev_examples=1024, test_examples=4096, length=steps)
  if steps != 100:
    data.dt_ms = FREQUENCY_DISCRIMINATION_STEPS[steps]
  return skip_rnn_config(
      experiment, model,
      f"Skip RNN (Campos et al., 2018), Table 4 (frequency discrimination, T={steps})", 0.99,
      "frequency_discrimination", data, budget_lambda=budget_lambda)


def frequency_discrimination_arg(arg: str | None, default_lambda: float, config: str
                                 ) -> tuple[float, str, int]:
  """(lambda, the experiment's name suffix, steps) from a Skip RNN frequency-discrimination
  config's argument `LAMBDA[,steps=200]` (`budget_lambda_arg` reads LAMBDA): the suffix is
  `lam<tag>` at 100 steps and `t200_lam<tag>` at 200."""
  first, *rest = (arg or "").split(",")
  steps = 100
  for item in rest:
    key, sep, value = item.partition("=")
    if key.strip() != "steps" or not sep or not value.strip().isdigit():
      raise ValueError(f"{config}:{arg}: the argument is LAMBDA[,steps=100|200], got {item!r}")
    steps = int(value)
  if steps not in FREQUENCY_DISCRIMINATION_STEPS:
    raise ValueError(f"{config}:{arg}: steps must be 100 or 200 (100 ms at 1 or 0.5 ms)")
  budget_lambda, tag = budget_lambda_arg(first, default_lambda, config)
  return budget_lambda, (f"lam{tag}" if steps == 100 else f"t{steps}_lam{tag}"), steps


# CoNLL-2003 (Gui et al.): batches per epoch of eng.train, ceil(14,041 / 32), and the budget.
CONLL_STEPS_PER_EPOCH = 439
CONLL_NUM_STEPS = 9 * CONLL_STEPS_PER_EPOCH  # 3,951


def tagger_config(experiment: str, model: str, paper_value: float | None,
                  num_steps: int) -> ml_collections.ConfigDict:
  """The CoNLL-2003 tagger setting (dynamic_skip_conll2003.py's docstring): one bidirectional
  layer of 200 units, 100-d word embeddings initialised with our IMDB word2vec (the paper's
  pretrained vectors, GloVe, are not available here) and a character CNN (Ma & Hovy 2016: 30-d
  characters, 30 filters of width 3, max-pooled; words of up to 64 characters, the longest
  CoNLL-2003 word has 61), dropout 0.5, softmax output, Adam 1e-3, batch 32, clip 5, dev entity
  F1 picks the checkpoint. The caller sets the cell's own net/hparams fields.
  num_steps: the training budget (dev evaluated every half epoch)."""
  c = base_config()
  c.experiment = experiment
  c.paper = "Gui et al. (2019), CoNLL-2003 NER"
  c.paper_value = paper_value
  c.model = model
  c.dataset = "conll2003"
  c.data = text_data(batch_size=32, max_len=None, min_freq=2,
                     bucket_boundaries=(16, 32, 64, 128))
  c.data.char_len = 64  # batches hold 'chars' [B, T, 64]; the model gets its character CNN
  c.net.embed_dim = 100
  # Our 100-d skip-gram word2vec on IMDB train + unsup (python -m skipjax.data vectors), trained
  # further with the model, on the lower-cased words; words without a vector keep a random init.
  c.net.pretrained_embedding = "word2vec_imdb"
  c.net.char_embed_dim = 30
  c.net.char_filters = 30
  c.net.char_kernel = 3
  c.net.hidden_dim = 200
  c.net.num_layers = 1
  c.net.bidirectional = True
  c.hparams.dropout = 0.5
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 5.0
  c.num_steps = num_steps
  c.eval_every = CONLL_STEPS_PER_EPOCH // 2
  c.log_every = 50
  c.best_metric = "f1"
  c.best_mode = "max"
  c.metric = "f1"
  return c


PTB_PAPER = "Dynamic skip (Gui et al., 2019), Penn Treebank language model (test perplexity)"
# LMBatcher windows per pass over the 929,589 training tokens: ceil(ceil(929,588 / 20) / 35).
PTB_STEPS_PER_EPOCH = 1328
PTB_EPOCHS = 1


def ptb_config(experiment: str, model: str, paper_value: float) -> ml_collections.ConfigDict:
  """The shared PTB setting (Zaremba et al. 2014, medium; dynamic_skip_ptb.py's docstring):
  model 'lstm' or 'dynamic_skip' (its second layer dynamic, K=5, lam 1)."""
  c = base_config()
  c.experiment = experiment
  c.paper = PTB_PAPER
  c.paper_value = paper_value
  c.model = model
  c.net.hidden_dim = 650
  c.net.embed_dim = 650
  c.net.num_layers = 2
  c.net.init_scale = 0.05
  c.net.carry_state = True
  c.hparams.dropout = 0.5
  c.hparams.sum_over_time = 1.0  # Zaremba's loss scale: lr 1 and clip 5 are tuned for it
  if model == "dynamic_skip":
    c.net.skip_layers = (1,)
    c.net.num_skips = 5
    c.net.agent_dim = 64
    c.hparams.lam = 1.0
    c.hparams.entropy_weight = 0.01
    c.hparams.reinforce_weight = 1.0
  c.dataset = "ptb"
  c.data = ml_collections.ConfigDict(dict(
      batch_size=20, eval_batch_size=20, bptt=35, train_split="train", dev_split="validation",
      test_split="test", source="local", data_dir=config_dict.placeholder(str),
      cache_dir=config_dict.placeholder(str)))
  c.optimizer = ml_collections.ConfigDict(dict(
      name="sgd", learning_rate=1.0, clip_norm=5.0, schedule="exponential", decay_rate=0.8,
      transition_steps=PTB_STEPS_PER_EPOCH, transition_begin=5 * PTB_STEPS_PER_EPOCH, staircase=True,
      warmup_steps=0, weight_decay=0.0))
  c.num_steps = PTB_EPOCHS * PTB_STEPS_PER_EPOCH
  c.eval_every = PTB_STEPS_PER_EPOCH // 2
  c.log_every = 50
  c.best_metric = "perplexity"
  c.best_mode = "min"
  c.metric = "perplexity"
  return c


NUMBER_PREDICTION_JUMP_LENGTH = 50

NUMBER_PREDICTION_JUMP_PROTOCOL = """LSTM-Jump's number prediction (Yu, Lee, Le, ACL 2017, sec. 4.1;
PAPERS.md section 3 records only the rule): x_0 is a position, x_1..x_{T-1} are digits, the label
is x_{x_0} (`skipjax.data.synthetic.number_prediction_jump`). As we read the paper (sec. 4.1 and
its Table 1; not recorded in PAPERS.md, so check there before quoting): 1,000,000 training and
10,000 validation sequences of length T=100 with 1 <= x_0 < T, a vocabulary of 100 ids (the
positions 1..99, the digits sharing ids 0..9), training by a curriculum over lengths
10, 20, ..., 100 until validation accuracy passes 98%, 10,000 test sequences at each of T = 10,
100 and 1000; one LSTM layer of 512 units, embeddings of 32, batch 100, no dropout. Here: the same
rule at T=50 (vocabulary max(10, T) = 50 ids), without a curriculum (the runner has none; at T=50
LSTM-Jump learns without one), a fixed, finite training set of 1,000,000 sequences (the paper's
size) served in epochs and reshuffled each epoch, 10,000 dev and 10,000 test sequences, none of
them in train or in the other split (`skipjax.data.finite.finite_splits`; at T=50 a collision is
practically impossible, but it would be rejected), data_seed 0 (both configs see the same data).
The paper's accuracies are at T=10/100/1000, so paper_value is unset."""


def number_prediction_jump_config(experiment: str, model: str):
  """The shared setting of the T=50 number-prediction configs (NUMBER_PREDICTION_JUMP_PROTOCOL):
  embedding 64, LSTM 128 units, Adam 1e-3, gradient clipping 1.0, batch 64. The caller sets the
  schedule (num_steps, eval_every)."""
  c = experiment_config(experiment, model,
                        "LSTM-Jump (Yu et al., 2017), sec. 4.1 (number prediction; T=50 here)")
  c.net.embed_dim = 64
  c.net.hidden_dim = 128
  c.dataset = "number_prediction_jump"
  c.data = synthetic_data(batch_size=64, dev_examples=10000, test_examples=10000, length=NUMBER_PREDICTION_JUMP_LENGTH)
  c.data.eval_batch_size = 500
  c.data.train_examples = 1000000
  c.data.data_seed = 0
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  return c


def mnist_config(experiment: str, model: str, paper_value: float,
                 budget_lambda: float) -> ml_collections.ConfigDict:
  """The shared setting of the sequential MNIST configs (Skip RNN, sec. 4): `skip_rnn_config` on
  the 784 pixels read one at a time, 5,000 training images held out as dev (train[55000:], as the
  paper), the 10,000 test images for test; a checkpoint every 500 steps."""
  c = skip_rnn_config(experiment, model,
                      "Skip RNN (Campos et al., 2018), sequential MNIST", paper_value, "mnist",
                      text_data(batch_size=256, max_len=None, train_split="train[:55000]",
                                dev_split="train[55000:]", test_split="test"),
                      budget_lambda=budget_lambda)
  c.checkpoint_every = 500
  return c
