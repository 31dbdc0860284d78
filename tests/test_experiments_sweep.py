"""experiments.run --sweep: a study through the runner, each setting's record equal to its single
run's, one failing setting alone, resume / finished / mismatch, and every bad flag (issue 14)."""

from __future__ import annotations

import json
import subprocess

import pytest

from experiments import exit_codes
from experiments import run
from experiments import sweep

from test_experiments_run import REPO, TINY, _env, _flags, fatal_lines, tiny_config  # pylint: disable=g-bad-import-order

SKIP_ADDING = REPO / "experiments" / "configs" / "skip_lstm_adding.py"


def skip_config(**changes):
  """skip_lstm_adding.py:1e-5 with the tiny settings (as a subprocess given `_flags(TINY)`)."""
  return tiny_config(**{"model": "skip_lstm", "experiment": "skip_lstm_adding_lam1e5",
                        "hparams.budget_lambda": 1e-5, **changes})


@pytest.fixture(scope="module")
def study(tmp_path_factory):
  """A finished study of 2 lambdas x 2 seeds, published."""
  root = tmp_path_factory.mktemp("study")
  records = sweep.train_and_evaluate_sweep(
      skip_config(), root / "lambdas", ["hparams.budget_lambda=0,0.3", "seed=0,1"],
      command="pytest", publish_dir=root / "published", plot=True)
  return root, records


def test_each_record_is_its_single_runs(study, tmp_path):
  root, records = study
  assert [r["run_name"] for r in records] == [
      f"lambdas.budget_lambda-{lam}.seed-{seed}" for lam in ("0", "0.3") for seed in (0, 1)]
  assert sorted(p.name for p in (root / "published").iterdir()) == sorted(
      f"{r['run_name']}.json" for r in records)
  for record in records:
    setting = record["sweep"]["setting"]
    assert record["config"]["hparams"]["budget_lambda"] == setting["hparams.budget_lambda"]
    assert record["seed"] == setting["seed"] and record["data_seed"] == 0
    assert record["sweep"]["name"] == "lambdas" and record["sweep"]["size"] == 4
  # Seed 0 settings see the data of seed 0, as the single runs do: the same numbers.
  for index in (0, 2):
    lam = records[index]["sweep"]["setting"]["hparams.budget_lambda"]
    single = run.train_and_evaluate(skip_config(**{"hparams.budget_lambda": lam}),
                                    tmp_path / f"single{index}", command="pytest", plot=False)
    assert single["value"] == pytest.approx(records[index]["value"], rel=1e-5)
    assert single["fraction_computed"] == pytest.approx(records[index]["fraction_computed"],
                                                        rel=1e-5)
    assert single["best_step"] == records[index]["best_step"]
  assert records[0]["value"] != records[2]["value"]  # the lambda changed what was learned
  for png in ("curves.png", "tradeoff.png"):
    assert (root / "lambdas" / png).stat().st_size > 10_000
  for label in records[0]["sweep"]["labels"]:
    folder = root / "lambdas" / "settings" / label
    assert (folder / "metrics.jsonl").is_file() and (folder / "result.json").is_file()


def test_rerun_is_finished_and_another_study_is_refused(study, capsys):
  root, records = study
  again = sweep.train_and_evaluate_sweep(
      skip_config(), root / "lambdas", ["hparams.budget_lambda=0,0.3", "seed=0,1"],
      command="pytest", plot=False)
  assert again == records
  assert "already finished" in capsys.readouterr().err
  from skipjax.train import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  with pytest.raises(workdir_lib.ConfigMismatchError, match="--sweep"):
    sweep.train_and_evaluate_sweep(skip_config(), root / "lambdas",
                                   ["hparams.budget_lambda=0,0.1"], command="pytest", plot=False)


def test_a_diverging_setting_stops_alone_through_the_cli(tmp_path):
  proc = subprocess.run(
      [run.sys.executable, "-m", "experiments.run", f"--config={SKIP_ADDING}", *_flags(TINY),
       f"--workdir={tmp_path / 'lr'}", "--noplot", "--sweep=optimizer.learning_rate=1e-3,1e38"],
      cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr
  assert "setting learning_rate-1e38: non-finite train/loss" in proc.stderr
  assert (tmp_path / "lr" / "settings" / "learning_rate-0.001" / "result.json").is_file()
  assert not (tmp_path / "lr" / "settings" / "learning_rate-1e38" / "result.json").exists()
  summary = json.loads((tmp_path / "lr" / "summary.json").read_text())
  assert list(summary["failed"]) == ["learning_rate-1e38"]


@pytest.mark.parametrize("flag, message", [
    ("net.hidden_dim=4,8", "net.hidden_dim changes the model's shapes or structure"),
    ("hparams.budget_lamda=1", "not a field of the config; did you mean 'hparams.budget_lambda'"),
    ("hparams.budget_lambda", "expected FIELD=V1,V2"),
    ("hparams.budget_lambda=", "empty"),
    ("hparams.budget_lambda=1,,2", "empty entry"),
    ("hparams.budget_lambda=1,x", "'x' is not a number"),
    ("hparams.budget_lambda=1,1.0", "given twice"),
    ("seed=0,1.5", "a seed is an integer >= 0"),
    ("hparams.budget_lambda=0,-1",  # the model's own range check, per setting
     r"setting budget_lambda--1: config.hparams.budget_lambda must lie in \[0"),
])
def test_bad_sweep_flags(flag, message, tmp_path):
  with pytest.raises(run.ConfigError, match=message):
    sweep.train_and_evaluate_sweep(skip_config(), tmp_path / "w", [flag], command="pytest")
  assert not (tmp_path / "w").exists()


def test_bad_sweep_flag_is_one_fatal_line(tmp_path):
  proc = subprocess.run(
      [run.sys.executable, "-m", "experiments.run", f"--config={SKIP_ADDING}", *_flags(TINY),
       f"--workdir={tmp_path / 'w'}", "--sweep=data.length=5,6", "--sweep=seed=0,1"],
      cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120)
  assert proc.returncode == exit_codes.BAD_CONFIG
  assert fatal_lines(proc) == [proc.stderr.strip()]
  assert "--sweep data.length=5,6: data.length changes" in proc.stderr
  assert "sweepable fields: seed, optimizer.learning_rate" in proc.stderr


@pytest.mark.parametrize("value", ["0", "-1", "many", "1.5"])
def test_bad_settings_per_call(value, tmp_path):
  with pytest.raises(run.ConfigError, match="--sweep_settings_per_call"):
    sweep.train_and_evaluate_sweep(skip_config(), tmp_path / "w", ["seed=0,1"], command="pytest",
                                   settings_per_call=value)
  assert not (tmp_path / "w").exists()
