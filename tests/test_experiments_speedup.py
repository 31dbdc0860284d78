"""Measured batch-1 speed-ups of trained runs: experiments/speedup.py and experiments.tradeoff
(its LSTM-Jump and Skim-RNN parts), end to end on tiny 2-step runs (number prediction, T=8)."""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments import jump_tradeoff
from experiments import run
from experiments import skim_tradeoff
from experiments import speedup
from experiments import tradeoff
from skipjax import results as results_lib

CONFIG_DIR = pathlib.Path(run.__file__).parent / "configs"
T = 8


def _config(name):
  spec = importlib.util.spec_from_file_location(name, CONFIG_DIR / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def _tiny(config):
  config.data.update(batch_size=4, eval_batch_size=8, train_examples=16, dev_examples=8,
                     test_examples=12, length=T)
  config.update(num_steps=2, eval_every=2, progress=False, tensorboard=False)
  return config


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
  """Two tiny trained runs (LSTM-Jump R=2 N=1 K=3, Skim-LSTM) and their results directory."""
  root = tmp_path_factory.mktemp("speedup")
  jump = _tiny(_config("lstm_jump_number_prediction"))
  jump.net.update(embed_dim=4, hidden_dim=8, max_jump=3, read_size=2, num_jumps=1, num_samples=1)
  skim = _tiny(_config("lstm_jump_number_prediction"))
  skim.experiment, skim.model = "skim_tiny", "skim_lstm"
  skim.net = ml_collections.ConfigDict({"embed_dim": 4, "hidden_dim": 8, "small_dim": 2,
                                        "eval_threshold": 0.5})
  skim.hparams = ml_collections.ConfigDict({"skim_gamma": 0.01})
  dirs = {}
  for name, config in (("jump_tiny", jump), ("skim_tiny", skim)):
    dirs[name] = root / "work" / name
    run.train_and_evaluate(config, dirs[name], command=f"pytest {name}", run_name=name,
                           publish_dir=root / "results", plot=False)
  return dirs, root / "results"


def _with_lengths(restored, seed):
  """The restored run with test lengths drawn from {4, T} (two compiled lengths: kept fast)."""
  rng = np.random.default_rng(seed)
  test = [dict(b, lengths=jnp.asarray(rng.choice([4, T], b["lengths"].shape), jnp.int32))
          for b in restored.data.test]
  return restored._replace(data=restored.data._replace(test=test))


def _finite_positive(x):
  return isinstance(x, float) and math.isfinite(x) and x > 0


def _check_timing(timing):
  for key in ("speedup", "speedup_min", "ms_per_sequence", "baseline_ms_per_sequence"):
    assert _finite_positive(timing[key]), (key, timing[key])
  assert all(_finite_positive(v) for v in timing["round_speedups"].values())
  assert timing["round_speedups"]["min"] <= timing["round_speedups"]["max"]
  lo, hi = timing["sequences_ci95"]
  assert 0 < lo <= hi


# ----------------------------------------------------------------------------------------------
# experiments/speedup.py
# ----------------------------------------------------------------------------------------------


def test_speedup_summary_is_a_ratio_of_summed_medians():
  base = np.array([[2.0, 4.0], [2.0, 4.0], [2.0, 40.0]])  # one slow outlier call
  case = np.array([[1.0, 2.0], [1.0, 2.0], [3.0, 2.0]])
  s = speedup.speedup_summary(base, case)
  assert s["speedup"] == pytest.approx(6.0 / 3.0)                # medians [2, 4] / [1, 2]
  assert s["speedup_min"] == pytest.approx(6.0 / 3.0)
  assert s["round_speedups"]["min"] == pytest.approx(2.0)      # rounds: 2, 2, 42 / 5
  assert s["round_speedups"]["max"] == pytest.approx(42.0 / 5.0)
  assert s["per_sequence"]["median"] == pytest.approx(2.0)
  assert s["ms_per_sequence"] == pytest.approx(1.5) and s["baseline_ms_per_sequence"] == 3.0
  with pytest.raises(ValueError, match="rounds, M"):
    speedup.speedup_summary(base, case[:, :1])


def test_summarise_takes_the_faster_plain_lstm():
  ones = np.ones((2, 3))
  samples = {"lstm_lean": 3 * ones, "lstm_layer": 2 * ones, "dispatch": 0.1 * ones,
             "reader": ones}
  base, baselines, summaries = speedup.summarise(samples, ["reader"])
  assert base == "lstm_layer" and baselines["lstm_lean"]["total_ms"] == pytest.approx(9.0)
  assert summaries["reader"]["speedup"] == pytest.approx(2.0)
  with pytest.raises(ValueError, match="no samples for"):
    speedup.summarise({"reader": ones}, ["reader"])


def test_pick_sequences_and_real_examples():
  lengths = np.array([3, 0, 5, 2, 7, 1])
  picked = speedup.pick_sequences(lengths, 3, seed=1)
  assert list(picked) == sorted(picked) and len(set(picked)) == 3 and 1 not in picked
  assert list(picked) == list(speedup.pick_sequences(lengths, 3, seed=1))
  assert list(speedup.pick_sequences(lengths, 10)) == [0, 2, 3, 4, 5]
  with pytest.raises(ValueError, match=">= 1"):
    speedup.pick_sequences(lengths, 0)
  batch = {"inputs": np.arange(8).reshape(4, 2), "lengths": np.array([2, 1, 2, 1]),
           "labels": np.array([0, 1, 2, 3]), "mask": np.array([1.0, 1.0, 0.0, 1.0])}
  ex = speedup.real_examples([batch])
  assert ex.labels.tolist() == [0, 1, 3] and ex.ids.shape == (3, 2)
  assert ex.lengths.tolist() == [2, 1, 1]
  with pytest.raises(ValueError, match="token-id inputs"):
    speedup.real_examples([{**batch, "inputs": np.zeros((4, 2, 3), np.float32)}])


def test_default_grid():
  assert jump_tradeoff.default_grid(3, 5, 50) == [(r, n) for r in (1, 3, 6, 12) for n in (5, 8, 10)]
  assert jump_tradeoff.default_grid(1, 1, 50) == [(r, n) for r in (1, 2, 4) for n in (1, 2, 4)]
  assert {r for r, _ in jump_tradeoff.default_grid(20, 5, 40)} == {10, 20, 40}


def test_write_speedup_refuses_a_record_of_another_setting(tmp_path):
  record = results_lib.make_result(experiment="e", model="lstm_jump", dataset="d", split="test",
                                   metric="accuracy", value=0.75)
  results_lib.write_result(record, tmp_path, "e")
  with pytest.raises(ValueError, match="value 0.75 but the timed setting reaches 0.7"):
    speedup.write_speedup(tmp_path, "e", speedup=1.5, accuracy=0.7, detail={})
  with pytest.raises(FileNotFoundError, match="no result record"):
    speedup.write_speedup(tmp_path, "missing", speedup=1.5, accuracy=0.75, detail={})
  speedup.write_speedup(tmp_path, "e", speedup=1.5, accuracy=0.75, detail={"sequences": 3})
  (loaded,) = results_lib.load_results(tmp_path)
  assert loaded["speedup_batch1"] == 1.5 and loaded["speedup_batch1_detail"] == {"sequences": 3}


def test_find_baseline_matches_the_dataset_field(tmp_path):
  def write(name, model, dataset):
    results_lib.write_result(results_lib.make_result(experiment=name, model=model,
                                                     dataset=dataset, metric="accuracy"),
                             tmp_path, name)
  write("lstm_number_prediction", "lstm", "number_prediction_jump")  # name says otherwise
  write("lstm_np_11", "lstm", "number_prediction")
  write("lstm_np_21", "lstm", "number_prediction")
  write("skim_lstm_rt", "skim_lstm", "rotten_tomatoes")
  find = lambda d: speedup.find_baseline(d, tmp_path)
  assert find("number_prediction_jump") == tmp_path / "lstm_number_prediction.json"
  assert find("number_prediction") is None and find("rotten_tomatoes") is None  # 2 / no lstm
  write("lstm_number_prediction_jump", "lstm", "number_prediction_jump")
  assert find("number_prediction_jump") == tmp_path / "lstm_number_prediction_jump.json"


# ----------------------------------------------------------------------------------------------
# The tools, end to end on the tiny runs
# ----------------------------------------------------------------------------------------------


def test_jump_tradeoff_end_to_end(runs, tmp_path):
  dirs, results_dir = runs
  out = tmp_path / "jump"
  assert tradeoff.main(["--workdir", str(dirs["jump_tiny"]), "--read_sizes", "1", "2",
                             "--num_jumps", "1", "--sequences", "3", "--rounds", "2",
                             "--out", str(out), "--write_result",
                             "--results_dir", str(results_dir)]) == 0
  record = json.loads(out.with_suffix(".json").read_text())
  assert out.with_suffix(".png").stat().st_size > 0
  summary = json.loads((dirs["jump_tiny"] / "summary.json").read_text())
  assert [(r["read_size"], r["num_jumps"]) for r in record["rows"]] == [(1, 1), (2, 1)]
  (own,) = [r for r in record["rows"] if r["run_setting"]]
  assert (own["read_size"], own["num_jumps"]) == (2, 1)
  assert own["accuracy"] == pytest.approx(summary["test"]["accuracy"], abs=1e-9)
  assert own["fraction_computed"] == pytest.approx(summary["test"]["fraction_computed"], abs=1e-6)
  assert record["timing"]["sequences"] == 3
  assert record["timing"]["baseline"] in speedup.BASELINES
  for row in record["rows"]:
    _check_timing(row["speedup_batch1"])
    assert row["speedup_batch1"]["infer_agrees_with_eval"] == 3
  written = json.loads((results_dir / "jump_tiny.json").read_text())
  assert written["speedup_batch1"] == own["speedup_batch1"]["speedup"]
  assert written["speedup_batch1_detail"]["setting"] == {"read_size": 2, "num_jumps": 1}
  assert f"{written['speedup_batch1']:.2f}x" in results_lib.render_markdown([written])


def test_jump_reader_timed_on_variable_lengths_agrees_with_the_eval(runs):
  """Sequences shorter than the padded length: the while_loop reader, given each length, predicts
  what the masked evaluation predicts."""
  dirs, _ = runs
  restored = speedup.restore_run(dirs["jump_tiny"])
  restored = _with_lengths(restored, seed=0)
  grid = [(3, 1)]  # chunks cut short by the end, jumps past it
  rows, predictions = jump_tradeoff.evaluate(restored, grid, "test")
  assert 0 < rows[0]["fraction_computed"] <= 1
  timing = jump_tradeoff.time_grid(restored, grid, "test", sequences=6, rounds=1, seed=0,
                                   unroll=None, predictions=predictions)
  assert timing["lengths"]["min"] < T
  assert timing["per_setting"][(3, 1)]["infer_agrees_with_eval"] == 6


def test_skim_tradeoff_times_the_eval_threshold(runs, tmp_path):
  dirs, results_dir = runs
  out = tmp_path / "skim"
  assert tradeoff.main(["--workdir", str(dirs["skim_tiny"]), "--thresholds", "0.0", "1.0",
                             "--sequences", "3", "--rounds", "2", "--out", str(out),
                             "--write_result", "--results_dir", str(results_dir)]) == 0
  record = json.loads(out.with_suffix(".json").read_text())
  for suffix in (".png", "_speedup.png"):
    assert pathlib.Path(f"{out}{suffix}").stat().st_size > 0
  summary = json.loads((dirs["skim_tiny"] / "summary.json").read_text())
  assert [r["threshold"] for r in record["rows"]] == [0.0, 0.5, 1.0]
  timed = [r for r in record["rows"] if r["speedup_batch1"] is not None]
  assert [r["threshold"] for r in timed] == [0.5] and record["eval_threshold"] == 0.5
  assert timed[0]["accuracy"] == pytest.approx(summary["test"]["accuracy"], abs=1e-9)
  _check_timing(timed[0]["speedup_batch1"])
  assert timed[0]["speedup_batch1"]["cond_agrees_with_masked"] == 3
  written = json.loads((results_dir / "skim_tiny.json").read_text())
  assert written["speedup_batch1"] == timed[0]["speedup_batch1"]["speedup"]


def test_skim_cond_timed_on_variable_lengths_agrees_with_masked(runs):
  dirs, _ = runs
  restored = speedup.restore_run(dirs["skim_tiny"])
  restored = _with_lengths(restored, seed=1)
  timing = skim_tradeoff.time_thresholds(restored, [0.0, 0.5], "test", sequences=6, rounds=1,
                                         seed=0)
  assert timing["lengths"]["min"] < T
  for threshold in (0.0, 0.5):
    assert timing["per_threshold"][threshold]["cond_agrees_with_masked"] == 6
  assert timing["per_threshold"][0.0]["timed_token_skim_rate"] == 0.0


def test_bad_arguments_are_named(runs, tmp_path, capsys):
  dirs, _ = runs
  jump, skim = str(dirs["jump_tiny"]), str(dirs["skim_tiny"])
  lstm = tmp_path / "lstm_run"
  lstm.mkdir()
  (lstm / "config.json").write_text(json.dumps({"model": "lstm"}))
  cases = [
      (["--workdir", str(lstm)], "holds a 'lstm' run, not an lstm_jump or a Skim-RNN one"),
      (["--workdir", str(tmp_path)], "not an experiments.run work directory (no config.json)"),
      (["--workdir", skim, "--read_sizes", "2"], "--read_sizes: only for lstm_jump runs"),
      (["--workdir", jump, "--thresholds", "0.5"], "--thresholds: only for Skim-RNN runs"),
      (["--workdir", jump, "--read_sizes", "0"], "--read_sizes must be >= 1, got [0]"),
      (["--workdir", jump, "--unroll", "0"], "--unroll must be >= 1"),
      (["--workdir", jump, "--own_only", "--num_jumps", "2"], "--own_only times the run's own"),
      (["--workdir", jump, "--write_result", "--step", "2"], "--write_result needs the test split"),
      (["--workdir", skim, "--thresholds", "0.5", "1.5"], "must lie in [0, 1]"),
      (["--workdir", skim, "--own_only", "--time_all_thresholds"], "--own_only times the run's"),
      (["--workdir", skim, "--write_result", "--sequences", "0"], "--write_result needs"),
  ]
  for argv, message in cases:
    with pytest.raises(SystemExit):
      tradeoff.main(argv)
    assert message in capsys.readouterr().err, argv


def test_real_examples_of_length_bucketed_batches_are_padded_to_the_widest():
  """Eval batches of different widths (bucketing) flatten into one [N, T_max] array: each
  example's ids, then id 0; lengths and labels as given (the timing of a bucketed run's
  checkpoint failed on this)."""
  short = {"inputs": np.array([[5, 6, 0], [7, 0, 0]], np.int32), "lengths": np.array([2, 1]),
           "labels": np.array([1, 0]), "mask": np.array([1.0, 1.0], np.float32)}
  long = {"inputs": np.array([[1, 2, 3, 4, 5], [9, 9, 9, 9, 9]], np.int32),
          "lengths": np.array([5, 5]), "labels": np.array([0, 1]),
          "mask": np.array([1.0, 0.0], np.float32)}
  ex = speedup.real_examples([short, long])
  np.testing.assert_array_equal(ex.ids, [[5, 6, 0, 0, 0], [7, 0, 0, 0, 0], [1, 2, 3, 4, 5]])
  np.testing.assert_array_equal(ex.lengths, [2, 1, 5])
  np.testing.assert_array_equal(ex.labels, [1, 0, 0])
