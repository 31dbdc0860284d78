"""`make demo` path, run tiny: a few training steps, a small test set, few timing repeats."""

import re

import pytest

from skipjax import demo


def test_demo_runs_and_reports(capsys):
  assert demo.main(["--steps", "2", "--eval_examples", "32", "--timing_repeats", "1"]) == 0
  out = capsys.readouterr().out
  assert "Trained 2 steps" in out
  accuracy = float(re.search(r"test accuracy\s+([\d.]+)%", out).group(1))
  assert 0.0 <= accuracy <= 100.0
  computed = float(re.search(r"steps computed\s+([\d.]+) of 100", out).group(1))
  assert 1.0 <= computed <= 100.0  # the first step always updates
  assert "agree: yes" in out  # jumping loop and masked training path make the same decisions
  assert re.search(r"plain LSTM [\d.]+ ms, Skip LSTM \(jumping\) [\d.]+ ms", out)


def test_demo_rejects_bad_flags():
  with pytest.raises(SystemExit):
    demo.main(["--steps", "0"])
