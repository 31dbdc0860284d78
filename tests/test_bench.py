"""Tests of the benchmark harness (skipjax.bench.harness) and a --quick run of the lstm bench."""

import json
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax.bench import harness


def _timing(ms):
  return harness.Timing(median_ms=ms, q25_ms=ms - 1, q75_ms=ms + 1, samples_ms=(ms,))


FAKE_ROWS = [
    harness.Row("lstm", 1, _timing(10.0)),
    harness.Row("skip", 1, _timing(4.0), baseline="lstm", fraction_computed=0.3, flops=1e6,
                extra={"accuracy": 0.9}),
    harness.Row("lstm", 32, _timing(50.0)),
    harness.Row("skip", 32, _timing(75.0), baseline="lstm", fraction_computed=0.5),
]


def test_time_ratios_from_fake_rows():
  assert harness.time_ratios(FAKE_ROWS) == [None, 0.4, None, 1.5]


def test_time_ratios_reject_missing_or_duplicate_baseline():
  with pytest.raises(ValueError, match="no such case was timed at batch 32"):
    harness.time_ratios(FAKE_ROWS[:2] + [harness.Row("skip", 32, _timing(1.0), "lstm")])
  with pytest.raises(ValueError, match="duplicate row"):
    harness.time_ratios(FAKE_ROWS + FAKE_ROWS[:1])


def test_json_schema():
  device = {"platform": "cpu", "device_kind": "cpu", "cpu_count": 2, "jax_version": "x"}
  doc = json.loads(json.dumps(harness.to_json("fake", FAKE_ROWS, device)))
  assert doc["bench"] == "fake" and doc["device"] == device
  assert doc["rows"][1] == {"case": "skip", "batch": 1, "median_ms": 4.0, "iqr_ms": [3.0, 5.0],
                            "baseline": "lstm", "time_ratio": 0.4, "fraction_computed": 0.3,
                            "flops": 1e6, "accuracy": 0.9}
  assert doc["rows"][0]["time_ratio"] is None and doc["rows"][0]["baseline"] is None
  with pytest.raises(ValueError, match="clash"):
    harness.row_dicts([harness.Row("a", 1, _timing(1.0), extra={"batch": 3})])
  info = harness.device_info()
  assert {"platform", "device_kind", "cpu_count", "jax_version"} <= set(info)


def test_format_table_lists_every_row():
  table = harness.format_table(FAKE_ROWS).splitlines()
  assert table[0].split() == ["case", "batch", "median_ms", "iqr_ms", "time_ratio", "fraction",
                              "flops"]
  assert table[2].split()[:5] == ["skip", "1", "4.000", "3.000-5.000", "0.400"]
  assert table[1].split()[4] == "-"


def test_time_fn_excludes_warmup_and_blocks():
  calls = []

  def fn(x):
    calls.append(None)
    if len(calls) == 1:  # the first (compiling) call is slow and must not be timed
      time.sleep(0.2)
    return jnp.sin(x)

  timing = harness.time_fn(fn, jnp.ones(3), warmup=1, repeats=5)
  assert len(calls) == 6 and len(timing.samples_ms) == 5
  assert timing.q25_ms <= timing.median_ms <= timing.q75_ms < 150
  assert timing.median_ms == float(np.median(timing.samples_ms))
  with pytest.raises(ValueError, match="repeats"):
    harness.time_fn(fn, 1.0, repeats=0)
  timings = harness.time_interleaved({"a": (jax.jit(jnp.cos), (jnp.ones(2),)),
                                      "b": (fn, (jnp.ones(2),))}, repeats=4, rounds=2)
  assert sorted(timings) == ["a", "b"] and len(timings["a"].samples_ms) == 4


def test_available_lists_modules_and_unknown_name_errors(capsys):
  names = harness.available()
  assert "lstm" in names and "harness" not in names and "__main__" not in names
  with pytest.raises(SystemExit):
    harness.main(["no_such_bench"])
  assert "available: " in capsys.readouterr().err
  with pytest.raises(ValueError, match="unknown benchmark 'nope'; available: .*lstm"):
    harness.run_benchmark("nope")


def test_lstm_quick_run_writes_json(tmp_path, capsys):
  path = tmp_path / "out" / "lstm.json"
  assert harness.main(["lstm", "--quick", "--json", str(path)]) == 0
  doc = json.loads(path.read_text())
  assert doc["bench"] == "lstm" and doc["device"]["platform"] == jax.default_backend()
  cases = {(r["case"], r["batch"]) for r in doc["rows"]}
  for case in ("flax_lstm", "skipjax_lstm", "skipjax_lstm_hoisted", "flax_lstm_adam",
               "skipjax_lstm_adam", "skipjax_lstm_hoisted_adam", "skipjax_lstm_fused",
               "skipjax_lstm_fused_adam"):
    assert (case, 2) in cases
  for row in doc["rows"]:
    assert row["median_ms"] > 0 and row["flops"] > 0 and row["fraction_computed"] == 1.0
    if row["baseline"] is None:
      assert row["time_ratio"] is None
    else:
      base = next(r for r in doc["rows"]
                  if r["case"] == row["baseline"] and r["batch"] == row["batch"])
      assert row["time_ratio"] == pytest.approx(row["median_ms"] / base["median_ms"])
  assert "skipjax_lstm" in capsys.readouterr().out
  try:
    import torch  # pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    return
  # PyTorch rows beside skipjax's (issue 17), and each skipjax row's ratio to the torch row.
  by_case = {(r["case"], r["batch"]): r for r in doc["rows"]}
  for case in ("torch_lstm", "torch_lstm_adam"):
    assert by_case[(case, 2)]["torch_threads"] >= 1
  for case in ("skipjax_lstm", "skipjax_lstm_adam"):
    row = by_case[(case, 2)]
    reference = by_case[("torch_lstm_adam" if case.endswith("adam") else "torch_lstm", 2)]
    assert row["vs_torch"] == pytest.approx(row["median_ms"] / reference["median_ms"])


def test_command_line_entry_point():
  out = subprocess.run([sys.executable, "-m", "skipjax.bench", "not_a_bench"],
                       capture_output=True, text=True, timeout=120, check=False)
  assert out.returncode == 2
  assert "unknown benchmark 'not_a_bench'" in out.stderr and "lstm" in out.stderr


def test_json_refuses_an_existing_file_unless_overwrite(tmp_path, monkeypatch, capsys):
  committed = tmp_path / "cpu.json"
  committed.write_text('{"bench": "committed"}')
  ran = []
  monkeypatch.setattr(harness, "run_benchmark", lambda name, quick=False: ran.append(name) or
                      list(FAKE_ROWS))
  with pytest.raises(SystemExit) as error:
    harness.main(["lstm", "--json", str(committed)])
  assert error.value.code == 2 and not ran  # refused before anything is timed
  assert "--overwrite" in capsys.readouterr().err
  assert committed.read_text() == '{"bench": "committed"}'
  with pytest.raises(SystemExit):
    harness.main(["lstm", "--overwrite"])  # --overwrite without --json
  assert harness.main(["lstm", "--json", str(committed), "--overwrite"]) == 0
  assert json.loads(committed.read_text())["bench"] == "lstm" and ran == ["lstm"]


def test_interleaved_timing_says_what_it_is_doing(capsys):
  fn = jax.jit(lambda x: x + 1)
  harness.time_interleaved({"a": (fn, (jnp.ones(3),)), "b": (fn, (jnp.ones(4),))}, repeats=2,
                           rounds=2)
  captured = capsys.readouterr()
  assert captured.out == ""  # stdout keeps the tables only
  lines = captured.err.splitlines()
  assert lines[0] == "  compiling 2 cases (a, b)"
  assert lines[1].startswith("  compiled in ") and "timing 2 rounds of 1 call(s)" in lines[1]
  assert [line.split(" (")[0] for line in lines[2:]] == ["  round 1/2 done", "  round 2/2 done"]


def test_time_per_input_times_every_case_on_every_input():
  calls = []
  cases = {name: (lambda x, name=name: calls.append((name, x)) or x, [(i,) for i in range(3)])
           for name in ("a", "b")}
  samples, outputs = harness.time_per_input(cases, rounds=2)
  assert samples["a"].shape == (2, 3) and np.all(samples["b"] >= 0)
  assert outputs["a"] == [0, 1, 2]
  assert sorted(calls) == sorted([(n, i) for n in "ab" for i in range(3)] * 3)  # warm-up + 2
  assert calls[6:8] == [("a", 0), ("b", 0)] and calls[8:10] == [("b", 1), ("a", 1)]  # rotated
  with pytest.raises(ValueError, match="same number"):
    harness.time_per_input({"a": cases["a"], "b": (cases["b"][0], [(0,)])})


def test_interleaved_timing_alternates_cases_call_by_call():
  calls = []
  fns = {name: (lambda name=name: calls.append(name), ()) for name in ("a", "b")}
  timings = harness.time_interleaved(fns, warmup=2, repeats=4, rounds=2)
  assert [len(t.samples_ms) for t in timings.values()] == [4, 4]
  assert calls[:4] == ["a", "b", "a", "b"]  # warm-up: 2 untimed calls each
  timed = calls[4:]
  assert len(timed) == 8 and all(timed[i] != timed[i + 1] for i in range(0, 8, 2))
