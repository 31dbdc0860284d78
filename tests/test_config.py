"""Experiment configs, their validation, the model/dataset registry and the CLI runner."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest
from absl import flags
from ml_collections import config_flags

from experiments import configs as configs_lib
from experiments import queue as queue_lib
from experiments import registry
from experiments import run
from experiments import run_lib
from skipjax import cells
from skipjax import classifier
from skipjax.data import files
from skipjax.train import metrics_log

CONFIG_DIR = pathlib.Path(run.__file__).parent / "configs"
REPO = CONFIG_DIR.parent.parent
CONFIG_FILES = sorted(p for p in CONFIG_DIR.glob("*.py") if p.name != "__init__.py")


def _load(path: pathlib.Path):
  spec = importlib.util.spec_from_file_location(path.stem, path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _fake_data_dir(tmp_path, dataset):
  """Empty stand-ins for the raw files (validation only checks they are present)."""
  group = run_lib.RAW_FILE_GROUP[dataset]
  for alternatives in files.RAW_FILES[group].values():
    path = tmp_path / alternatives[0].path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
  return str(tmp_path)


def tiny_adding_config():
  config = _load(CONFIG_DIR / "lstm_adding.py").get_config()
  config.net.hidden_dim = 8
  config.data.update(batch_size=8, eval_batch_size=16, dev_examples=20, test_examples=20,
                     length=6)
  config.update(num_steps=6, eval_every=3, log_every=3, progress=False)
  return config


def test_configs_exist_and_document_their_command():
  assert len(CONFIG_FILES) >= 3
  for path in CONFIG_FILES:
    module = _load(path)
    doc = module.__doc__ or ""
    assert f"--config experiments/configs/{path.name}" in doc, path
    assert "Hardware:" in doc and "Time:" in doc, path


# Every config file at its default, and every config argument the reproduction queue uses.
CONFIG_SPECS = sorted({p.stem for p in CONFIG_FILES} | {
    row.config.rsplit("/", 1)[1].replace(".py:", ":")
    for row in queue_lib.ROWS if ":" in row.config})


@pytest.mark.parametrize("spec", CONFIG_SPECS)
def test_every_config_validates(spec, tmp_path):
  config = configs_lib.load(spec)
  if config.dataset in run_lib.RAW_FILE_GROUP:
    config.data.data_dir = _fake_data_dir(tmp_path, config.dataset)
  run.validate_config(config)
  assert config.model in registry.MODELS and config.dataset in registry.DATASETS


@pytest.mark.parametrize("change,match", [
    (lambda c: c.data.update(batch_size=-4), r"config.data.batch_size must be a positive integer, "
                                             r"got -4"),
    (lambda c: c.net.update(hidden_dim=0), r"config.net.hidden_dim must be a positive integer"),
    (lambda c: c.update(num_steps=-1), r"config.num_steps must be a positive integer"),
    (lambda c: c.update(model="skip_lsmt"), r"config.model='skip_lsmt' is not a registered model; "
                                            r"known: \[.*'skip_lstm'.*\]"),
    (lambda c: c.update(dataset="imbd"), r"config.dataset='imbd' is not a registered dataset"),
    (lambda c: c.update(eval_every=-3), r"eval_every must be a non-negative integer"),
    (lambda c: c.update(best_mode="maximise"), r"best_mode must be 'max' or 'min'"),
    (lambda c: c.optimizer.update(learning_rate=-0.1), r"learning_rate must be positive"),
    (lambda c: c.update(paper_value=82.5, metric="accuracy"), r"write 82.5% as 0.825"),
    (lambda c: c.hparams.update(dropout=1.0), r"config.hparams.dropout must lie in \[0, 1\)"),
])
def test_bad_values_fail_with_the_field_named(change, match):
  config = tiny_adding_config()
  change(config)
  with pytest.raises(run.ConfigError, match=match):
    run.validate_config(config)


def test_unknown_key_fails():
  config = tiny_adding_config()
  config.unlock()
  config.learning_rate = 0.1  # belongs under config.optimizer
  with pytest.raises(run.ConfigError, match=r"unknown config keys \['learning_rate'\]"):
    run.validate_config(config)


def _parse_command_line(*overrides):
  argv = ["prog", f"--config={CONFIG_DIR / 'lstm_adding.py'}", *overrides]
  flag_values = flags.FlagValues()
  config_flags.DEFINE_config_file("config", None, "", flag_values=flag_values, lock_config=True,
                                  sys_argv=argv)
  flag_values(argv)
  return flag_values.config


def test_command_line_overrides_and_unknown_keys():
  config = _parse_command_line("--config.optimizer.learning_rate=0.01")
  assert config.optimizer.learning_rate == 0.01
  assert _parse_command_line("--config.data.length=20").data.length == 20
  override = "--config.optimizer.learing_rate=0.01"
  with pytest.raises((flags.Error, KeyError, AttributeError), match="learing_rate") as error:
    _parse_command_line(override)
  # What the CLI prints instead of the traceback.
  assert run._unknown_override_message(["prog", override], error.value) == (
      "--config.optimizer.learing_rate: the config has no field 'learing_rate'; did you mean "
      "'learning_rate'? (see experiments/README.md for the fields)")


def test_missing_data_file_named(tmp_path):
  config = _load(CONFIG_DIR / "lstm_rotten_tomatoes.py").get_config()
  config.data.data_dir = str(tmp_path)
  with pytest.raises(run.ConfigError, match=f"data file {tmp_path}/rotten_tomatoes/rt-polarity"):
    run.validate_config(config)


def _build_shapes(name, net, spec):
  """Builds a model under jax.eval_shape: the right structure and shapes, nothing compiled."""
  built = []

  def build(key):
    built.append(registry.MODELS[name](key, net, spec))
    return built[-1].params

  shapes = jax.eval_shape(build, jax.random.key(0))
  return built[0]._replace(params=shapes)


def test_registry_builds_rnn_for_each_task():
  model = _build_shapes("lstm", {"hidden_dim": 4}, registry.DataSpec("regression", 1, None, 2,
                                                                      6, None))
  assert model.loss_fn.func is classifier.regression_loss_fn and model.loss_fn.keywords == {
      "train": True}
  assert model.eval_loss_fn is classifier.regression_loss_fn
  assert model.params.head.w.shape == (4, 1) and model.params.embedding is None
  assert model.step_flops == cells.lstm_step_flops(2, 4)
  spec = registry.DataSpec("classification", 3, 50, None, 6, 100)
  model = _build_shapes("gru", {"hidden_dim": 4, "embed_dim": 5}, spec)
  assert model.loss_fn.func is classifier.loss_fn and model.params.embedding.shape == (50, 5)
  assert model.eval_loss_fn is classifier.loss_fn
  with pytest.raises(ValueError, match="config.net: .*hiden_dim"):
    _build_shapes("lstm", {"hiden_dim": 4}, spec)


def test_run_end_to_end_writes_everything(tmp_path):
  """Resumption itself is tested through fit() in test_checkpoint.py."""
  config = tiny_adding_config()
  workdir = tmp_path / "work" / "tiny"
  result = run.train_and_evaluate(config, workdir, command="python -m experiments.run ...",
                                  plot=True)
  record = json.loads((workdir / "result.json").read_text())
  assert record["experiment"] == "lstm_adding" and record["dataset"] == "adding"
  assert record["metric"] == "mse" and record["value"] == result["value"] > 0
  assert record["train_steps"] == 6 and record["fraction_computed"] == 1.0
  assert record["paper_value"] is None and record["finished"]
  assert record["best_step"] in (3, 6) and record["command"] == "python -m experiments.run ..."
  assert (workdir / "curves.png").stat().st_size > 0
  assert list((workdir / metrics_log.TENSORBOARD_DIR).glob("events.out.tfevents.*"))
  assert sorted(p.name for p in (workdir / "checkpoints").iterdir()) == ["3", "6"]
  assert json.loads((workdir / "config.json").read_text())["num_steps"] == 6



def test_split_off_holds_out_a_fixed_seeded_disjoint_part():
  labels = np.repeat(np.array([1, 0]), 50)        # ordered by class, like prepared IMDB train
  arrays = {"labels": labels, "inputs": np.arange(100)[:, None] * np.ones((1, 3), int)}
  rest, dev = registry.split_off(arrays, 0.1)
  assert len(dev["labels"]) == 10 and len(rest["labels"]) == 90
  assert sorted(np.concatenate([rest["inputs"][:, 0], dev["inputs"][:, 0]])) == list(range(100))
  np.testing.assert_array_equal(dev["labels"], labels[dev["inputs"][:, 0]])
  assert 0 < dev["labels"].mean() < 1                # both classes, unlike a contiguous slice
  again, _ = registry.split_off(arrays, 0.1)
  np.testing.assert_array_equal(again["inputs"], rest["inputs"])
  for bad in (0.0, 1.0, 2, True):
    with pytest.raises(ValueError, match="dev_from_train"):
      registry.split_off(arrays, bad)


def _flat(tree, prefix=""):
  flat = {}
  for key, value in tree.items():
    if isinstance(value, dict):
      flat.update(_flat(value, f"{prefix}{key}."))
    else:
      flat[f"{prefix}{key}"] = value
  return flat


# Sibling configs built by one shared setting function, and the fields (besides experiment, model
# and paper_value) where they may differ. Entries only some siblings have must be model-specific
# (config.net or config.hparams).
SIBLINGS = {
    "adding": (("lstm_adding", "gru_adding", "skip_lstm_adding:0", "skip_lstm_adding:1e-5",
                "random_skip_lstm_adding", "skip_gru_adding:1e-5"), ()),
    "frequency_discrimination": (("lstm_frequency_discrimination",
                                  "skip_lstm_frequency_discrimination:0",
                                  "skip_lstm_frequency_discrimination:1e-4",
                                  "skip_lstm_frequency_discrimination:1e-5",
                                  "skip_gru_frequency_discrimination:1e-4"), ()),
    "mnist": (("skip_lstm_mnist:1e-4", "skip_gru_mnist:1e-4"), ()),
    "rotten_tomatoes": (("lstm_rotten_tomatoes", "skim_lstm_rotten_tomatoes",
                         "lstm_jump_rotten_tomatoes"), ("paper",)),
    "sst2": (("lstm_sst2", "skim_lstm_sst2"), ()),
    "number_prediction_jump": (("lstm_number_prediction", "lstm_jump_number_prediction"),
                               ("num_steps", "eval_every")),
    "number_prediction_pointer": (tuple(configs_lib.RENAMED.values()), ("data.length",)),
}


@pytest.mark.parametrize("family", sorted(SIBLINGS))
def test_sibling_configs_share_their_setting(family):
  names, own_fields = SIBLINGS[family]
  configs = {name: _flat(configs_lib.load(name).to_dict()) for name in names}
  # A config's experiment is its file's name, or that name and the argument's tag, or (a
  # config of a whole table, RENAMED) the row's old name; never two alike.
  renamed = {spec: old for old, spec in configs_lib.RENAMED.items()}
  assert all(config["experiment"] in (name, renamed.get(name)) or (
      ":" in name and config["experiment"].startswith(name.split(":")[0] + "_"))
             for name, config in configs.items())
  assert len({config["experiment"] for config in configs.values()}) == len(configs)
  free = {"experiment", "model", "paper_value", *own_fields}
  for key in set().union(*configs.values()) - free:
    values = {name: config[key] for name, config in configs.items() if key in config}
    if len(values) < len(names):
      assert key.startswith(("net.", "hparams.")), (family, key, sorted(values))
    else:
      assert len(set(map(repr, values.values()))) == 1, (family, key, values)


def test_sentence_config_names_an_unknown_dataset():
  from experiments import configs
  with pytest.raises(ValueError, match="dataset must be 'rotten_tomatoes' or 'sst2_trees', got "
                                       "'imdb'"):
    configs.sentence_config("lstm_imdb", "lstm", "imdb", 0.9)


# The text-classification rows of the papers' tables and their regularisation (issue 12, item 3).
PAPER_PROTOCOL = {
    "lstm_imdb": 0.3, "skip_lstm_imdb:1e-4": 0.2, "skim_lstm_imdb": 0.3, "lstm_jump_imdb": 0.3,
    "dynamic_skip_imdb": 0.3, "lstm_rotten_tomatoes": 0.3, "skim_lstm_rotten_tomatoes": 0.3,
    "lstm_jump_rotten_tomatoes": 0.3, "lstm_sst2": 0.3, "skim_lstm_sst2": 0.3}


@pytest.mark.parametrize("name", sorted(PAPER_PROTOCOL))
def test_paper_protocol_configs(name):
  from experiments import configs
  c = configs_lib.load(name)
  assert c.hparams.dropout == PAPER_PROTOCOL[name]
  assert "dropout" not in c.net            # one place for the rate: the sweepable hparam
  assert c.early_stopping_patience > 0 and c.best_metric == "accuracy" and c.best_mode == "max"
  patience_steps = c.early_stopping_patience * c.eval_every
  if c.dataset == "imdb":
    assert c.data.dev_from_train == 0.15 and c.data.dev_split is None   # Skip RNN's split
    assert c.num_steps == 10 * 333 and c.eval_every == 166              # 21,250 / 64 a batch
  else:
    assert c.data.dev_split == "validation" and c.data.test_split == "test"
    assert c.num_steps == 20 * {"rotten_tomatoes": 270, "sst2_trees": 217}[c.dataset]
  if name.startswith("skim_") or c.dataset != "imdb":
    # Skim-RNN's rule: stop at the first evaluation 3,000 or more steps after the best.
    assert patience_steps >= 3000 > patience_steps - c.eval_every
  else:
    assert patience_steps >= 1000 > patience_steps - c.eval_every
  if name.endswith("sst2"):
    assert c.dataset == "sst2_trees"  # 6,920 / 872 / 1,821 (tests/test_data_real_text.py)
  assert configs.patience_evals(3000, 150) == 20 and configs.patience_evals(3000, 166) == 19


def _tiny(name, **hparams):
  """A config shrunk to a few steps of a tiny net, with hparams updated."""
  config = configs_lib.load(name)
  config.net.update(hidden_dim=4)
  config.data.update(batch_size=4, eval_batch_size=4, dev_examples=4, test_examples=4)
  config.update(num_steps=2, eval_every=0, log_every=1, progress=False)
  config.hparams.unlock()
  for key, value in hparams.items():
    setattr(config.hparams, key, value)
  return config


def test_out_of_range_hparam_fails_before_training(tmp_path):
  """Issue 11 item 5: `--config.hparams.lam=1.5` trained to exit 0 (inside the jitted step lam is
  traced, so the eager range check of the layer never ran). Now the config is refused first."""
  config = _tiny("gui_number_prediction:dynamic_skip,11", lam=1.5)
  config.net.update(num_skips=3, agent_dim=4, embed_dim=4)
  config.data.update(length=6)
  workdir = tmp_path / "work"
  with pytest.raises(run.ConfigError, match=r"config\.hparams\.lam must lie in \[0, 1\], got 1\.5"):
    run.train_and_evaluate(config, workdir, command="test", publish_dir=None,
                           plot=False)
  assert not workdir.exists()


@pytest.mark.parametrize("name,hparams,match", [
    ("gui_number_prediction:dynamic_skip,11", {"lam": -0.1}, r"config\.hparams\.lam must lie in "
                                                         r"\[0, 1\], got -0\.1"),
    ("dynamic_skip_conll2003", {"dropout": 1.0}, r"config\.hparams\.dropout must lie in \[0, 1\)"),
    ("dynamic_skip_ptb", {"sum_over_time": 2.0}, r"config\.hparams\.sum_over_time must lie in "
                                                 r"\[0, 1\]"),
    ("dynamic_skip_imdb", {"entropy_weight": float("nan")}, r"config\.hparams\.entropy_weight "
                                                            r"must lie in \[0, inf\), got nan"),
    ("dynamic_skip_imdb", {"discount": 1.5}, r"config\.hparams\.discount must lie in \[0, 1\]"),
    ("dynamic_skip_imdb", {"reinforce_weight": -1.0}, r"reinforce_weight must lie in \[0, inf\)"),
    ("skip_lstm_adding:0", {"budget_lambda": -1e-4}, r"config\.hparams\.budget_lambda must "
                                                        r"lie in \[0, inf\)"),
    ("skip_lstm_adding:0", {"budget_lambda": float("inf")}, r"budget_lambda must lie in"),
    ("skim_lstm_imdb", {"skim_gamma": -0.01}, r"config\.hparams\.skim_gamma must lie in "
                                              r"\[0, inf\)"),
    ("skim_lstm_imdb:st", {"gumbel_hard": 2.0}, r"config\.hparams\.gumbel_hard must lie in "
                                                r"\[0, 1\]"),
    ("lstm_jump_imdb", {"entropy_beta": -0.01}, r"config\.hparams\.entropy_beta must lie in"),
    ("bag_of_words_imdb", {"dropout": 1.5}, r"config\.hparams\.dropout must lie in \[0, 1\)"),
    ("lstm_ptb", {"dropout": -0.5}, r"config\.hparams\.dropout must lie in \[0, 1\)"),
    # A name the model's losses never read is a misspelling or a setting that does nothing.
    ("dynamic_skip_imdb", {"lamda": 0.5}, r"config\.hparams\.lamda: model 'dynamic_skip' on "
                                          r"'imdb' does not read it \(its hparams: discount, "
                                          r"dropout, entropy_weight, lam, "),
    ("lstm_adding", {"budget_lambda": 0.5}, r"config\.hparams\.budget_lambda: model 'lstm' on "
                                            r"'adding' does not read it \(its hparams: dropout\)"),
    ("random_skip_lstm_adding", {"budget_lambda": 1e-4}, r"budget_lambda: model "
                                                         r"'random_skip_lstm' .* does not read"),
    ("skip_lstm_adding:0", {"budget_lamda": 1e-4}, r"its hparams: budget_lambda, dropout\)"),
])
def test_hparams_are_checked_per_model(tmp_path, name, hparams, match):
  config = configs_lib.load(name)
  if config.dataset in run_lib.RAW_FILE_GROUP:
    config.data.data_dir = _fake_data_dir(tmp_path, config.dataset)
  run.validate_config(config)  # the config as shipped passes
  config.hparams.unlock()
  for key, value in hparams.items():
    setattr(config.hparams, key, value)
  with pytest.raises(run.ConfigError, match=match):
    run.validate_config(config)


def test_required_hparam_is_named():
  config = _load(CONFIG_DIR / "skim_lstm_rotten_tomatoes.py").get_config()
  config.hparams.unlock()
  del config.hparams["skim_gamma"]
  with pytest.raises(ValueError, match=r"config\.hparams\.skim_gamma is required for model "
                                       r"'skim_lstm'"):
    registry.check_hparams(config.model, config.dataset, config.hparams)


# Configs whose argument is the budget lambda: (file, its default, {argument: name tag}).
LAMBDA_CONFIGS = [
    ("skip_lstm_frequency_discrimination", "1e-4", {"0": "lam0", "1e-5": "lam1e5",
                                                    "1e-4": "lam1e4"}),
    ("skip_lstm_adding", "1e-5", {"0": "lam0", "1e-5": "lam1e5", "2.5e-4": "lam2.5e4"}),
    ("skip_gru_adding", "1e-5", {"1e-5": "lam1e5"}),
    ("skip_gru_frequency_discrimination", "1e-4", {"0": "lam0", "1e-5": "lam1e5",
                                                   "1e-4": "lam1e4"}),
    ("skip_lstm_mnist", "1e-4", {"1e-4": "lam1e4"}),
    ("skip_gru_mnist", "1e-4", {"1e-4": "lam1e4"}),
    ("skip_lstm_imdb", "1e-4", {"1e-5": "lam1e5", "1e-4": "lam1e4", "1e-3": "lam1e3"}),
]


@pytest.mark.parametrize("family, default, variants", LAMBDA_CONFIGS, ids=lambda x: str(x))
def test_lambda_is_the_config_argument(family, default, variants):
  """`<family>.py:LAMBDA` (big_vision style): the experiment is named by the lambda, which is the
  only field that changes; a bad lambda is refused naming the argument."""
  module = _load(CONFIG_DIR / f"{family}.py")
  base = module.get_config().to_dict()
  assert base == module.get_config(default).to_dict() == configs_lib.load(family).to_dict()
  for arg, tag in variants.items():
    got = configs_lib.load(f"{family}:{arg}").to_dict()
    assert got["experiment"] == f"{family}_{tag}"
    assert got["hparams"]["budget_lambda"] == float(arg)
    rest = lambda d: {k: v for k, v in d.items() if k not in ("experiment", "hparams",
                                                               "paper_value")}
    assert rest(got) == rest(base)
    assert not (CONFIG_DIR / f"{family}_{tag}.py").exists()   # one file, not one per lambda
    assert f"{family}.py:{arg}" in run.config_path_error(
        str(CONFIG_DIR / f"{family}_{tag}.py"))    # the old per-lambda name points to the arg
  for bad in ("x", "-1", "nan"):
    with pytest.raises(ValueError, match="budget lambda"):
      module.get_config(bad)


@pytest.mark.parametrize("family", ["skip_lstm_frequency_discrimination",
                                    "skip_gru_frequency_discrimination"])
def test_frequency_discrimination_takes_the_papers_two_lengths(family):
  """Table 4's two settings: 100 ms at 1 ms (100 steps) or at 0.5 ms (200 steps)."""
  short = configs_lib.load(f"{family}:1e-5")
  long = configs_lib.load(f"{family}:1e-5,steps=200")
  assert long.experiment == f"{family}_t200_lam1e5" and long.hparams.budget_lambda == 1e-5
  assert (short.data.length, short.data.get("dt_ms", 1.0)) == (100, 1.0)
  assert (long.data.length, long.data.dt_ms) == (200, 0.5)
  data = registry.DATASETS[long.dataset](long.data, 0)
  assert next(data.train)["inputs"].shape == (256, 200, 1)
  for bad, match in (("1e-5,steps=150", "steps must be 100 or 200"),
                     ("1e-5,length=200", r"LAMBDA\[,steps=100\|200\]"),
                     ("x,steps=200", "budget lambda")):
    with pytest.raises(ValueError, match=match):
      configs_lib.load(f"{family}:{bad}")


def test_skip_lstm_imdb_paper_value_follows_the_lambda():
  values = {arg: configs_lib.load(f"skip_lstm_imdb:{arg}").paper_value
            for arg in ("1e-5", "1e-4", "1e-3", "3e-4")}
  assert values == {"1e-5": 0.865, "1e-4": 0.862, "1e-3": 0.836, "3e-4": None}  # Table 5, T=400


def test_config_load_names_its_problems():
  assert configs_lib.load("skim_lstm_imdb:st").hparams.gumbel_hard == 1.0
  assert "gumbel_hard" not in configs_lib.load("skim_lstm_imdb").hparams
  with pytest.raises(ValueError, match="the argument is the estimator"):
    configs_lib.load("skim_lstm_imdb:gumbel")
  with pytest.raises(ValueError, match=r"lstm_imdb\.py takes no argument \(drop ':x'\)"):
    configs_lib.load("lstm_imdb:x")
  with pytest.raises(FileNotFoundError, match="no file .*no_such_config.py"):
    configs_lib.load("no_such_config")
  path_form = configs_lib.load("experiments/configs/skip_lstm_adding.py:0")
  assert path_form.to_dict() == configs_lib.load("skip_lstm_adding:0").to_dict()


def test_a_config_argument_reaches_the_runner(tmp_path):
  """`--config FILE.py:ARG` through experiments.run (ml_collections' config_flags)."""
  proc = subprocess.run(
      [sys.executable, "-m", "experiments.run",
       f"--config={CONFIG_DIR / 'skip_lstm_adding.py'}:2e-5", "--workdir", str(tmp_path / "w"),
       "--config.num_steps=2", "--config.eval_every=2", "--config.net.hidden_dim=4",
       "--config.data.batch_size=4", "--config.data.eval_batch_size=8",
       "--config.data.dev_examples=8", "--config.data.test_examples=8", "--config.data.length=5",
       "--config.progress=False", "--config.tensorboard=False", "--noplot"],
      cwd=REPO, capture_output=True, text=True, timeout=300,
      env=dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=str(REPO)))
  assert proc.returncode == 0, proc.stderr[-2000:]
  record = json.loads((tmp_path / "w" / "result.json").read_text())
  assert record["experiment"] == "skip_lstm_adding_lam2e5"
  assert record["config"]["hparams"]["budget_lambda"] == 2e-5
