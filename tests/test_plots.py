"""Training-curve and trade-off plots (skipjax/plots.py)."""

from __future__ import annotations

import json

import matplotlib.image
import pytest

from skipjax import plots
from skipjax import results
from skipjax.train import metrics_log


def _write_run(run_dir, records):
  run_dir.mkdir(parents=True)
  with open(run_dir / metrics_log.JSONL_NAME, "w") as f:
    for r in records:
      f.write(json.dumps(r) + "\n")


RECORDS = [{"step": 10, "time": 0, "train/loss": 0.9},
           {"step": 20, "time": 1, "train/loss": 0.7, "dev/accuracy": 0.6, "dev/loss": 0.8},
           {"step": 30, "time": 2, "train/loss": "nan"},
           {"step": 40, "time": 3, "train/loss": 0.5, "dev/accuracy": 0.7, "dev/loss": 0.6}]


def test_curve_series_drops_missing_and_non_finite():
  assert plots.curve_series(RECORDS, "train/loss") == ([10, 20, 40], [0.9, 0.7, 0.5])
  assert plots.curve_series(RECORDS, "dev/accuracy") == ([20, 40], [0.6, 0.7])


def _assert_png(path, min_width):
  assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
  image = matplotlib.image.imread(path)
  assert image.shape[1] >= min_width and image.shape[0] >= 200


def test_training_curves_png(tmp_path):
  _write_run(tmp_path / "a", RECORDS)
  _write_run(tmp_path / "b", RECORDS[:2])
  out = plots.plot_training_curves([tmp_path / "a", tmp_path / "b"], tmp_path / "p" / "c.png")
  _assert_png(out, min_width=3 * 400)  # three default panels side by side
  with pytest.raises(ValueError, match=r"\['dev/f1'\] were never logged"):
    plots.plot_training_curves([tmp_path / "a"], tmp_path / "x.png", metrics=["dev/f1"])
  with pytest.raises(FileNotFoundError, match="no metrics log"):
    plots.plot_training_curves([tmp_path / "missing"], tmp_path / "x.png")


def test_points_from_bench_and_results():
  bench = {"bench": "skim_rnn", "rows": [
      {"case": "lstm", "batch": 1, "time_ratio": None, "accuracy": 0.82, "fraction_computed": 1.0},
      {"case": "skim t=0.5", "batch": 1, "time_ratio": 0.5, "accuracy": 0.81,
       "fraction_computed": 0.4},
      {"case": "no accuracy", "batch": 1, "time_ratio": 0.25}]}
  points = plots.points_from_bench(bench)
  assert [(p.label, p.x, p.y) for p in points] == [("lstm", 1.0, 0.82), ("skim t=0.5", 2.0, 0.81)]
  assert points[0].series == "skim_rnn (batch 1)"
  by_fraction = plots.points_from_bench(bench, x="fraction_computed")
  assert [p.x for p in by_fraction] == [1.0, 0.4]
  recs = [results.make_result(experiment="e", model="skim_lstm", dataset="rt", metric="accuracy",
                              value=0.8, speedup_batch1=1.4, fraction_computed=0.41),
          results.make_result(experiment="f", model="lstm", dataset="rt", metric="accuracy",
                              value=0.82)]
  assert plots.points_from_results(recs) == [plots.TradeoffPoint("rt (accuracy)", "skim_lstm",
                                                                 1.4, 0.8)]


def test_tradeoff_cli(tmp_path):
  results.write_result(results.make_result(experiment="e", model="skim_lstm", dataset="rt",
                                           metric="accuracy", value=0.8, speedup_batch1=1.4),
                       tmp_path / "results", "e")
  bench = tmp_path / "bench.json"
  bench.write_text(json.dumps({"bench": "skim", "rows": [
      {"case": "a", "batch": 1, "time_ratio": 0.8, "accuracy": 0.79}]}))
  out = tmp_path / "t.png"
  assert plots.main(["tradeoff", "--results", str(tmp_path / "results"), "--bench", str(bench),
                     "--out", str(out)]) == 0
  _assert_png(out, min_width=600)
  with pytest.raises(ValueError, match="no points"):
    plots.plot_tradeoff([], tmp_path / "empty.png")


def test_curves_cli(tmp_path):
  _write_run(tmp_path / "run", RECORDS)
  out = tmp_path / "c.png"
  assert plots.main(["curves", str(tmp_path / "run"), "--out", str(out), "--metrics",
                     "dev/accuracy"]) == 0
  _assert_png(out, min_width=400)
