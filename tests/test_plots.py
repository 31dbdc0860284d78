"""Training-curve and trade-off plots (skipjax/plots.py)."""

from __future__ import annotations

import json

import matplotlib.image
import numpy as np
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
                                                                 1.4, 0.8, connect=False)]


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


def test_curves_label_axes_and_compare_task_losses(tmp_path, monkeypatch):
  """y axes say what and in which unit; a REINFORCE run's total loss is not drawn beside a plain
  cross-entropy: its logged cross-entropy is (issue 16 item 11)."""
  jump = [{"step": s, "time": 0, "train/loss": 2.0 + s / 100, "train/cross_entropy": 0.6 - s / 100,
           "dev/loss": 4.0, "dev/cross_entropy": 0.5, "dev/accuracy": 0.7} for s in (10, 20)]
  _write_run(tmp_path / "jump", jump)
  _write_run(tmp_path / "lstm", RECORDS)
  figures = []
  real_save = plots._save  # pylint: disable=protected-access
  monkeypatch.setattr(plots, "_save", lambda fig, out, plt: (figures.append(fig),
                                                              real_save(fig, out, plt))[1])
  plots.plot_training_curves([tmp_path / "jump", tmp_path / "lstm"], tmp_path / "c.png")
  train, dev, accuracy = figures[0].axes
  assert train.get_title() == "train: task loss (cross-entropy)"
  assert train.get_ylabel() == "cross-entropy (nats per example)"
  jump_line = next(l for l in train.get_lines() if l.get_label() == "jump")
  np.testing.assert_allclose(jump_line.get_ydata(), [0.5, 0.4])  # not the total loss 2.1, 2.2
  assert dev.get_title() == "dev: task loss (cross-entropy)"
  assert accuracy.get_title() == "dev/accuracy" and accuracy.get_ylabel() == "accuracy (fraction)"
  # One run alone: its own total loss, labelled as such.
  plots.plot_training_curves([tmp_path / "jump"], tmp_path / "d.png")
  train = figures[1].axes[0]
  assert train.get_title() == "train/loss" and train.get_ylabel() == "loss (nats per example)"
  np.testing.assert_allclose(train.get_lines()[0].get_ydata(), [2.1, 2.2])


def test_tradeoff_labels_stay_apart_inside_the_axes(tmp_path, monkeypatch):
  """Crowded points get labels that neither overlap nor leave the axes; the same text at the same
  spot is written once; points of different models are not joined by a line (issue 16 item 11)."""
  figures = []
  monkeypatch.setattr(plots, "_save", lambda fig, out, plt: figures.append(fig) or out)
  sweep = [plots.TradeoffPoint("N=5", f"R={r}", 1.0 + 0.01 * i, 0.80 + 0.001 * i)
           for i, r in enumerate((80, 40, 20, 10))]
  duplicate = plots.TradeoffPoint("N=8", "R=80", 1.0, 0.80)
  models = [plots.TradeoffPoint("imdb (accuracy)", "lstm", 1.0, 0.9, connect=False),
            plots.TradeoffPoint("imdb (accuracy)", "skim_lstm", 2.0, 0.85, connect=False),
            plots.TradeoffPoint("paper", "Skim-LSTM (paper)", 2.3, 0.91)]  # top right corner
  plots.plot_tradeoff(sweep + [duplicate] + models, tmp_path / "t.png")
  (ax,) = figures[0].axes
  renderer = figures[0].canvas.get_renderer()
  notes = [t for t in ax.texts]
  assert sorted(t.get_text() for t in notes) == sorted(
      ["R=80", "R=40", "R=20", "R=10", "lstm", "skim_lstm", "Skim-LSTM (paper)"])
  boxes = [t.get_window_extent(renderer) for t in notes]
  frame = ax.get_window_extent(renderer)
  for i, box in enumerate(boxes):
    assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 <= box.y1 <= frame.y1
    assert not any(box.overlaps(other) for other in boxes[i + 1:]), notes[i].get_text()
  lines = {l.get_label(): l for l in ax.get_lines()}
  assert lines["imdb (accuracy)"].get_linestyle() == "None"
  assert lines["N=5"].get_linestyle() == "-"
