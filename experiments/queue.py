"""The rows of the papers' seed tables, as the queue `python -m experiments.reproduce` runs.

A row is one config (experiments/configs/<name>.py, or `<name>.py:<arg>` for a variant) plus
overrides, trained once by
`python -m experiments.run`. Its id is `<paper>/<table>/<row>`: `--only skip_rnn/table1` selects a
table, `--only skip_rnn` a paper. The order of `ROWS` is the order the queue trains them: the rows
that fit on a 2-core CPU in minutes first, the long ones (PTB, sequential MNIST: issue 13) last.

`sec_per_step` is an estimate of one training step's time on 2 CPU cores, used by `--dry_run`
and for the ETA until a run of the row has measured its own rate; `overhead_s` covers data
preparation, evaluations and the test pass.
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib
import re

REPO = pathlib.Path(__file__).resolve().parent.parent


@dataclasses.dataclass(frozen=True)
class Row:
  id: str                       # '<paper>/<table>/<row>'
  config: str                   # path relative to the repository root[:config argument]
  overrides: tuple[str, ...] = ()  # extra `--config.x=y` flags
  name: str | None = None       # result record name (default: the row's last id component)
  sec_per_step: float = 0.3
  overhead_s: float = 60.0
  # After training: measure the batch-1 speed-up of the run's own test-time setting (an LSTM-Jump
  # or Skim-RNN run: `experiments.tradeoff --own_only --write_result`) into the published
  # record, while the checkpoint is at hand.
  speedup: bool = False
  speedup_args: tuple[str, ...] = ()  # extra flags of the tool (e.g. --sequences, --rounds)
  # A study instead of one run: `--sweep` values ('FIELD=V1,V2,...', several form a grid), all
  # settings trained as one program (experiments/sweep.py); one record per setting, published
  # as `<name>.<label>.json`. `sec_per_step` is then the whole study's step.
  sweep: tuple[str, ...] = ()
  # A study whose settings are different rows of the paper's table: (setting, paper figure)
  # pairs, the setting named as its label names it ('skim_gamma-0.02'); a record whose label
  # holds that part gets that `paper_value` (the config's is the first row's).
  paper_values: tuple[tuple[str, float], ...] = ()

  def __post_init__(self):
    if self.id.count("/") != 2:
      raise ValueError(f"row id {self.id!r} must be '<paper>/<table>/<row>'")
    if self.name is None:
      object.__setattr__(self, "name", self.id.rsplit("/", 1)[1])
    if self.sweep and self.speedup:
      raise ValueError(f"row {self.id!r}: a sweep row has no speed-up tool (time its settings' "
                       "checkpoints with the tool directly)")
    if self.paper_values and not self.sweep:
      raise ValueError(f"row {self.id!r}: paper_values names settings of a sweep; a run's paper "
                       "figure is its config's paper_value")
    if not isinstance(self.speedup, bool):
      raise ValueError(f"row {self.id!r}: speedup is True (measure with experiments.tradeoff) or "
                       f"False, got {self.speedup!r}")

  def load_config(self):
    """The row's config with its overrides applied (as experiments.run would see it)."""
    from experiments import configs  # pylint: disable=g-import-not-at-top
    try:
      config = configs.load(self.config)
    except FileNotFoundError as e:
      raise FileNotFoundError(f"row {self.id}: {e}") from None
    for flag in self.overrides:
      match = re.fullmatch(r"--config\.([\w.]+)=(.*)", flag)
      if match is None:
        raise ValueError(f"row {self.id}: override {flag!r} is not --config.FIELD=VALUE")
      *parents, leaf = match.group(1).split(".")
      node = config
      for p in parents:
        node = node[p]
      text = match.group(2)
      try:
        value = ast.literal_eval(text)
      except (ValueError, SyntaxError):
        value = text
      node[leaf] = value
    return config

  def num_steps(self) -> int:
    return int(self.load_config().num_steps)

  def paper_value(self, label: str) -> float | None:
    """The paper figure of the setting `label` from `paper_values` (None: the config's)."""
    for part, value in self.paper_values:
      if f".{part}." in f".{label}.":
        return value
    return None

  def sweep_labels(self) -> list[str]:
    """The settings' names of a sweep row (as experiments.sweep names them); [] for a run."""
    if not self.sweep:
      return []
    from experiments import sweep as sweep_lib  # pylint: disable=g-import-not-at-top
    axes = sweep_lib.parse_sweep(list(self.sweep), self.load_config())
    return [sweep_lib.label(s) for s in sweep_lib.grid(axes)]


def _cfg(name: str, arg: str | None = None) -> str:
  """The config spec of experiments/configs/<name>.py, at `arg` if given (`<name>.py:<arg>`)."""
  return f"experiments/configs/{name}.py" + (f":{arg}" if arg is not None else "")


def _variant(row_id: str, config: str, *overrides: str, **kwargs) -> Row:
  """A row that is `config` with overrides, recorded under the row's own experiment name."""
  name = row_id.rsplit("/", 1)[1]
  return Row(row_id, _cfg(config), (f"--config.experiment={name}", *overrides), **kwargs)


ROWS: tuple[Row, ...] = (
    # Skip RNN (Campos et al., 2018). Table 4: frequency discrimination, 100 steps.
    Row("skip_rnn/table4/skip_lstm_frequency_discrimination_lam1e4",
        _cfg("skip_lstm_frequency_discrimination", "1e-4"), sec_per_step=0.45),
    # Table 1: the adding task, T=50.
    Row("skip_rnn/table1/lstm_adding", _cfg("lstm_adding"), sec_per_step=0.13),
    Row("skip_rnn/table1/skip_lstm_adding_lam1e5", _cfg("skip_lstm_adding", "1e-5"),
        sec_per_step=0.2),
    Row("skip_rnn/table1/skip_gru_adding_lam1e5", _cfg("skip_gru_adding", "1e-5"),
        sec_per_step=0.2),
    # Table 5: IMDB, length 400.
    Row("skip_rnn/table5/lstm_imdb", _cfg("lstm_imdb"), sec_per_step=0.3),
    Row("skip_rnn/table5/skip_lstm_imdb_lam1e4", _cfg("skip_lstm_imdb", "1e-4"),
        sec_per_step=0.45),
    # The same for up to 20 epochs with batches bucketed by length (100/200/300/400 tokens; 0.62x
    # the step time, experiments/bench/cpu-core0-bucketing-lstm_imdb.json): the 10-epoch run's
    # best dev accuracy came at its last evaluation, with its update fraction still falling.
    Row("skip_rnn/table5/skip_lstm_imdb_lam1e4_e20", _cfg("skip_lstm_imdb", "1e-4"),
        ("--config.experiment=skip_lstm_imdb_lam1e4_e20", "--config.num_steps=6660",
         "--config.data.bucket_boundaries=(100,200,300,400)"), sec_per_step=0.3),
    # The plain LSTM of that protocol (the row above's baseline).
    Row("skip_rnn/table5/lstm_imdb_e20", _cfg("lstm_imdb"),
        ("--config.experiment=lstm_imdb_e20", "--config.num_steps=6660",
         "--config.data.bucket_boundaries=(100,200,300,400)"), sec_per_step=0.25),
    # Skim-RNN (Seo et al., 2018), Table 2.
    Row("skim_rnn/table2/lstm_rotten_tomatoes", _cfg("lstm_rotten_tomatoes"), sec_per_step=0.1),
    Row("skim_rnn/table2/skim_lstm_rotten_tomatoes", _cfg("skim_lstm_rotten_tomatoes"),
        sec_per_step=0.15, speedup=True),
    Row("skim_rnn/table2/lstm_sst2", _cfg("lstm_sst2"), sec_per_step=0.08),
    Row("skim_rnn/table2/skim_lstm_sst2", _cfg("skim_lstm_sst2"), sec_per_step=0.2,
        speedup=True),
    Row("skim_rnn/table2/skim_lstm_imdb", _cfg("skim_lstm_imdb"), sec_per_step=0.8,
        speedup=True),
    Row("skim_rnn/table2/skim_lstm_imdb_e20", _cfg("skim_lstm_imdb"),
        ("--config.experiment=skim_lstm_imdb_e20", "--config.num_steps=6660",
         "--config.data.bucket_boundaries=(100,200,300,400)"), sec_per_step=0.5, speedup=True),
    # LSTM-Jump (Yu et al., 2017).
    Row("lstm_jump/number_prediction/lstm_jump_number_prediction",
        _cfg("lstm_jump_number_prediction"), sec_per_step=0.05),
    Row("lstm_jump/number_prediction/lstm_number_prediction", _cfg("lstm_number_prediction"),
        sec_per_step=0.13),
    Row("lstm_jump/rotten_tomatoes/lstm_jump_rotten_tomatoes", _cfg("lstm_jump_rotten_tomatoes"),
        sec_per_step=0.15, speedup=True),
    Row("lstm_jump/imdb/lstm_jump_imdb", _cfg("lstm_jump_imdb"), sec_per_step=0.6,
        speedup=True),
    Row("lstm_jump/imdb/lstm_jump_imdb_e20", _cfg("lstm_jump_imdb"),
        ("--config.experiment=lstm_jump_imdb_e20", "--config.num_steps=6660",
         "--config.data.bucket_boundaries=(100,200,300,400)"), sec_per_step=0.4, speedup=True),
    # Dynamic skip connections (Gui et al., 2019).
    Row("dynamic_skip/number_prediction/lstm_number_prediction_11", _cfg("gui_number_prediction", "lstm,11"), sec_per_step=0.03),
    Row("dynamic_skip/number_prediction/dynamic_skip_number_prediction_11", _cfg("gui_number_prediction", "dynamic_skip,11"), sec_per_step=0.08),
    Row("dynamic_skip/number_prediction/attention_skip_number_prediction_11", _cfg("gui_number_prediction", "attention_skip_lstm,11"), sec_per_step=0.06),
    Row("dynamic_skip/number_prediction/dynamic_skip_lam1_number_prediction_11", _cfg("gui_number_prediction", "dynamic_skip,11,lam=1"), sec_per_step=0.08),
    Row("dynamic_skip/number_prediction/lstm_number_prediction_21", _cfg("gui_number_prediction", "lstm,21"), sec_per_step=0.05),
    Row("dynamic_skip/number_prediction/dynamic_skip_number_prediction_21", _cfg("gui_number_prediction", "dynamic_skip,21"), sec_per_step=0.12),
    Row("dynamic_skip/number_prediction/attention_skip_number_prediction_21", _cfg("gui_number_prediction", "attention_skip_lstm,21"), sec_per_step=0.1),
    Row("dynamic_skip/number_prediction/dynamic_skip_lam1_number_prediction_21", _cfg("gui_number_prediction", "dynamic_skip,21,lam=1"), sec_per_step=0.12),
    Row("dynamic_skip/number_prediction/fixed_skip3_number_prediction_11", _cfg("gui_number_prediction", "fixed_skip_lstm,11"), sec_per_step=0.03),
    Row("dynamic_skip/imdb/dynamic_skip_imdb", _cfg("dynamic_skip_imdb"), sec_per_step=0.6),
    Row("dynamic_skip/imdb/dynamic_skip_imdb_e20", _cfg("dynamic_skip_imdb"),
        ("--config.experiment=dynamic_skip_imdb_e20", "--config.num_steps=6660",
         "--config.data.bucket_boundaries=(100,200,300,400)"), sec_per_step=0.45),
    # CoNLL-2003 with the character CNN (config.data.char_len): ~0.25 s a step for the bi-LSTM.
    Row("dynamic_skip/conll2003/lstm_conll2003", _cfg("lstm_conll2003"), sec_per_step=0.25),
    Row("dynamic_skip/conll2003/dynamic_skip_conll2003", _cfg("dynamic_skip_conll2003"),
        sec_per_step=0.35),
    Row("dynamic_skip/conll2003/fixed_skip3_conll2003", _cfg("fixed_skip3_conll2003"),
        sec_per_step=0.3),
    Row("dynamic_skip/conll2003/attention_skip_conll2003", _cfg("attention_skip_conll2003"),
        sec_per_step=0.4),
    # The same for 20 epochs (8,780 steps): each 9-epoch row's best dev F1 came in its last 450
    # steps, so the budget may be part of the gap to the paper.
    Row("dynamic_skip/conll2003/dynamic_skip_conll2003_e20", _cfg("dynamic_skip_conll2003"),
        ("--config.experiment=dynamic_skip_conll2003_e20", "--config.num_steps=8780"),
        sec_per_step=0.3),
    Row("dynamic_skip/conll2003/lstm_conll2003_e20", _cfg("lstm_conll2003"),
        ("--config.experiment=lstm_conll2003_e20", "--config.num_steps=8780"),
        sec_per_step=0.3),
    # Studies (experiments/sweep.py: all settings in one program, one record per setting): the
    # remaining lambda rows of Skip RNN's Table 4 and Skim-RNN's gamma rows of Table 2 with two
    # seeds (d' changes the shapes, so each d' is a row of its own).
    # SST-2 at the paper's d'=10, gamma=0.01: three seeds, the study's figure chosen on dev.
    Row("skip_rnn/table4/skip_lstm_frequency_discrimination_lambdas",
        _cfg("skip_lstm_frequency_discrimination", "1e-4"),
        ("--config.experiment=skip_lstm_frequency_discrimination",),
        sweep=("hparams.budget_lambda=0,1e-5",), sec_per_step=0.9),
    Row("skim_rnn/table2/skim_lstm_rotten_tomatoes_d10_study", _cfg("skim_lstm_rotten_tomatoes"),
        ("--config.experiment=skim_lstm_rotten_tomatoes_d10",),
        sweep=("hparams.skim_gamma=0.01,0.02", "seed=0,1"), sec_per_step=0.6,
        paper_values=(("skim_gamma-0.01", 0.825), ("skim_gamma-0.02", 0.825))),
    Row("skim_rnn/table2/skim_lstm_rotten_tomatoes_d5_study", _cfg("skim_lstm_rotten_tomatoes"),
        ("--config.experiment=skim_lstm_rotten_tomatoes_d5", "--config.net.small_dim=5"),
        sweep=("hparams.skim_gamma=0.01,0.02", "seed=0,1"), sec_per_step=0.6,
        paper_values=(("skim_gamma-0.01", 0.842), ("skim_gamma-0.02", 0.818))),
    Row("skim_rnn/table2/skim_lstm_sst2_seeds", _cfg("skim_lstm_sst2"),
        ("--config.experiment=skim_lstm_sst2_seeds",), sweep=("seed=0,1,2",), sec_per_step=0.5),
    # Two more seeds of the 20-epoch IMDB LSTM (seed 0 is skip_rnn/table5/lstm_imdb_e20), each a
    # run of its own: its seed sets the batch order too (a --sweep=seed=... study keeps the
    # config's batches), and each row publishes as soon as it finishes.
    *(Row(f"skip_rnn/table5/lstm_imdb_e20_seed{seed}", _cfg("lstm_imdb"),
          (f"--config.experiment=lstm_imdb_e20_seed{seed}", f"--config.seed={seed}",
           "--config.num_steps=6660", "--config.data.bucket_boundaries=(100,200,300,400)"),
          sec_per_step=0.32) for seed in (1, 2)),
    # The long rows (issue 13): hours on a CPU, days of this queue's 2 cores. Table 4 at 200
    # steps (0.5 ms), and its Skip GRU rows at 100 steps as a study of the three lambdas.
    Row("skip_rnn/table4/skip_lstm_frequency_discrimination_t200_lam1e4",
        _cfg("skip_lstm_frequency_discrimination", "1e-4,steps=200"), sec_per_step=0.9),
    Row("skip_rnn/table4/skip_gru_frequency_discrimination_lambdas",
        _cfg("skip_gru_frequency_discrimination", "1e-4"),
        ("--config.experiment=skip_gru_frequency_discrimination",),
        sweep=("hparams.budget_lambda=0,1e-5,1e-4",), sec_per_step=1.2),
    Row("dynamic_skip/ptb/lstm_ptb", _cfg("lstm_ptb"), sec_per_step=0.8),
    Row("dynamic_skip/ptb/dynamic_skip_ptb", _cfg("dynamic_skip_ptb"), sec_per_step=1.5),
    Row("skip_rnn/table2/skip_lstm_mnist_lam1e4", _cfg("skip_lstm_mnist", "1e-4"),
        sec_per_step=3.0),
    Row("skip_rnn/table2/skip_gru_mnist_lam1e4", _cfg("skip_gru_mnist", "1e-4"),
        sec_per_step=3.0),
)


def check_rows(rows=ROWS) -> None:
  """Raises ValueError on duplicate ids or record names, or a missing config."""
  ids, names = set(), set()
  for row in rows:
    if row.id in ids:
      raise ValueError(f"duplicate row id {row.id!r}")
    if row.name in names:
      raise ValueError(f"rows {row.id!r} and another publish the same record {row.name!r}")
    ids.add(row.id)
    names.add(row.name)
    if not (REPO / row.config.partition(":")[0]).is_file():
      raise ValueError(f"row {row.id}: config {row.config} does not exist")
    if row.sweep:
      try:
        row.sweep_labels()
      except ValueError as e:  # experiments.run.ConfigError: a bad --sweep value
        raise ValueError(f"row {row.id}: {e}") from None
