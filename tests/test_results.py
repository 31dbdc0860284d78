"""Result records and the RESULTS.md table (skipjax/results.py, experiments/make_results.py)."""

from __future__ import annotations

import json

import pytest

from experiments import make_results
from skipjax import results


def _record(**overrides):
  fields = dict(experiment="lstm_rt", model="lstm", dataset="rotten_tomatoes", split="test",
                metric="accuracy", value=0.8123, paper_value=0.825, fraction_computed=1.0,
                speedup_batch1=None, train_steps=1080, train_minutes=7.25, seed=0,
                command="python -m experiments.run --config a.py --workdir w",
                finished="2026-11-22T23:00:00+00:00", paper="Skim-RNN (Seo et al., 2018), Table 1")
  fields.update(overrides)
  return results.make_result(**fields)


def test_make_result_fills_missing_fields_with_null():
  r = results.make_result(experiment="e", model="lstm", dataset="adding", metric="mse", value=0.1)
  assert set(results.REQUIRED_FIELDS) <= set(r)
  assert r["paper_value"] is None and r["speedup_batch1"] is None and r["command"] is None


@pytest.mark.parametrize("bad,match", [
    ({"value": "high"}, "value must be a number"),
    ({"model": ""}, "model must be a non-empty string"),
    ({"train_minutes": True}, "train_minutes"),
])
def test_bad_records_rejected(bad, match):
  with pytest.raises(ValueError, match=match):
    _record(**bad)


def test_missing_field_named(tmp_path):
  (tmp_path / "x.json").write_text(json.dumps({"experiment": "e"}))
  with pytest.raises(ValueError, match=r"x.json lacks the fields \['model'"):
    results.load_results(tmp_path)


def test_write_and_load_round_trip(tmp_path):
  path = results.write_result(_record(), tmp_path, "lstm_rt-seed0")
  assert path == tmp_path / "lstm_rt-seed0.json"
  (loaded,) = results.load_results(tmp_path)
  assert loaded["value"] == 0.8123 and loaded["_file"] == "lstm_rt-seed0.json"
  with pytest.raises(ValueError, match="run_name"):
    results.write_result(_record(), tmp_path, "../escape")


def test_markdown_table_rows_and_groups():
  recs = [_record(),
          _record(experiment="skim", model="skim_lstm", value=0.8, fraction_computed=0.415,
                  speedup_batch1=1.38, command="run --a='x|y'"),
          _record(experiment="adding", model="lstm", dataset="adding", metric="mse",
                  value=0.00123, paper_value=None, train_minutes=150.0, finished=None,
                  paper="Skip RNN (Campos et al., 2018), Table 1")]
  text = results.render_markdown(recs)
  lines = text.splitlines()
  # Groups sorted by name, each with its header.
  assert lines.index("## Skim-RNN (Seo et al., 2018), Table 1") < lines.index(
      "## Skip RNN (Campos et al., 2018), Table 1")
  assert ("| lstm_rt | accuracy | 82.5% | 81.2% | -1.3 pts | 100.0% | — | 7.2 min | 1080 | lstm | "
          "rotten_tomatoes (test) | — |") in lines
  assert ("| skim | accuracy | 82.5% | 80.0% | -2.5 pts | 41.5% | 1.38x | 7.2 min | 1080 | "
          "skim_lstm | rotten_tomatoes (test) | — |") in lines
  assert ("| adding | mse | — | 0.00123 | — | 100.0% | — | 150.0 min | 1080 | lstm | "
          "adding (test) | — |") in lines
  # Commands, commits and seeds: in a foldable table after each group's comparison table.
  assert ("| lstm_rt | 0 | — | 2026-11-22T23:00:00+00:00 | "
          "`python -m experiments.run --config a.py --workdir w` |") in lines
  assert "| skim | 0 | — | 2026-11-22T23:00:00+00:00 | `run --a='x\\|y'` |" in lines
  assert "| adding | 0 | — | — | `python -m experiments.run --config a.py --workdir w` |" in lines
  skim_group = lines.index("## Skim-RNN (Seo et al., 2018), Table 1")
  details = lines.index("<details><summary>Commands, commits and seeds (2 runs)</summary>")
  assert skim_group < details < lines.index("## Skip RNN (Campos et al., 2018), Table 1")
  assert lines.index("| row | metric | paper | ours | vs paper | computed | speed-up (batch 1) | "
                     "train time | steps | model | dataset (split) | embedding |") < details


def test_markdown_gap_and_commit_columns():
  recs = [_record(experiment="ppl", metric="perplexity", value=90.0, paper_value=82.7,
                  git_commit="0123456789abcdef-dirty"),
          _record(experiment="above", value=0.9, paper_value=0.885, git_commit="fedcba9876543210")]
  lines = results.render_markdown(recs).splitlines()
  ppl = [l for l in lines if l.startswith("| ppl ")]
  assert "| 1.09x |" in ppl[0] and "| 01234567-dirty |" in ppl[1]
  above = [l for l in lines if l.startswith("| above ")]
  assert "| +1.5 pts |" in above[0] and "| fedcba98 |" in above[1]


def test_markdown_embedding_column_names_the_vectors():
  net = lambda **kw: {"config": {"net": {"embed_dim": 100, **kw}}}
  assert results.embedding_source(_record(**net())) == "random init"
  assert results.embedding_source(_record(**net(pretrained_embedding="word2vec_imdb"))) == (
      "word2vec (ours: IMDB train+unsup)")
  assert results.embedding_source(_record(**net(pretrained_embedding="/v/glove.6B.100d.txt",
                                                freeze_embedding=True))) == (
      "glove.6B.100d.txt, frozen")
  assert results.embedding_source(_record(config={"net": {"hidden_dim": 110}})) == "—"
  assert results.embedding_source(_record(config={"net": {"embed_dim": 100}, "data": {
      "char_len": 64}})) == "random init + character CNN"
  assert results.embedding_source(_record(config={"net": {
      "embed_dim": 100, "pretrained_embedding": "word2vec_imdb"}, "data": {"char_len": None}})) == (
      "word2vec (ours: IMDB train+unsup)")
  assert results.embedding_source(_record()) == "—"
  text = results.render_markdown([_record(experiment="w2v", **net(
      pretrained_embedding="word2vec_imdb"))])
  assert "| lstm | rotten_tomatoes (test) | word2vec (ours: IMDB train+unsup) |" in text
  assert "differ from the" in text


def test_a_study_marks_the_setting_chosen_on_dev_never_on_test():
  def setting(index, label, dev, test, mode="max", metric="accuracy"):
    return _record(experiment="study", run_name=f"study.{label}", value=test,
                   best_dev={metric: dev}, config={"best_metric": metric, "best_mode": mode},
                   sweep={"name": "study", "index": index, "labels": ["a", "b", "c"]})
  # b is best on dev, c on test: b is chosen.
  recs = [setting(0, "a", 0.80, 0.70), setting(1, "b", 0.85, 0.71), setting(2, "c", 0.82, 0.90)]
  assert results.dev_selected(recs) == {"study.b"}
  text = results.render_markdown(recs)
  assert "| study.b (chosen on dev) |" in text
  assert "| study.c |" in text and "study.c (chosen" not in text
  # a metric to minimise picks the lowest dev value; a tie goes to the first setting.
  assert results.dev_selected([setting(0, "a", 3.0, 1.0, "min", "mse"),
                               setting(1, "b", 2.0, 9.0, "min", "mse"),
                               setting(2, "c", 2.0, 0.1, "min", "mse")]) == {"study.b"}
  # a single run and a record without a dev figure are never marked.
  assert results.dev_selected([_record(), setting(0, "a", 0.8, 0.7) | {"best_dev": None}]) == set()


def test_make_results_writes_and_checks(tmp_path):
  results.write_result(_record(), tmp_path / "results", "a")
  out = tmp_path / "RESULTS.md"
  args = ["--results_dir", str(tmp_path / "results"), "--out", str(out),
          "--notes", str(tmp_path / "no_notes.md")]
  assert make_results.main(args + ["--check"]) == 1
  assert make_results.main(args) == 0
  assert "81.2%" in out.read_text()
  assert make_results.main(args + ["--check"]) == 0
  results.write_result(_record(value=0.5), tmp_path / "results", "a")
  assert make_results.main(args + ["--check"]) == 1


def test_empty_results_dir(tmp_path):
  assert "No runs recorded yet." in results.render_markdown(results.load_results(tmp_path))


def test_make_results_appends_the_notes_after_the_tables(tmp_path):
  results.write_result(_record(), tmp_path / "results", "a")
  notes = tmp_path / "notes.md"
  notes.write_text("## Notes\n\nShort of the paper by 3 points: 2 epochs only.\n")
  out = tmp_path / "RESULTS.md"
  args = ["--results_dir", str(tmp_path / "results"), "--out", str(out), "--notes", str(notes)]
  assert make_results.main(args) == 0
  text = out.read_text()
  assert text.index("81.2%") < text.index("Short of the paper by 3 points")
  assert make_results.main(args + ["--check"]) == 0
  notes.write_text("## Notes\n\nchanged\n")
  assert make_results.main(args + ["--check"]) == 1


# ---------------------------------------------------------------- strict JSON, publishing


def test_non_finite_value_is_refused_and_a_nan_record_is_not_listed(tmp_path, capsys):
  with pytest.raises(ValueError, match="value is nan"):
    _record(value=float("nan"))
  # A record written before this check (`"value": NaN`, not strict JSON): make_results names it
  # (one FATAL line, exit 2) instead of printing a nan row.
  text = results.record_json(_record()).replace('"value": 0.8123', '"value": NaN')
  (tmp_path / "diverged.json").write_text(text)
  with pytest.raises(SystemExit) as error:
    make_results.main(["--results_dir", str(tmp_path), "--out", str(tmp_path / "R.md")])
  assert error.value.code == 2
  assert "diverged.json holds NaN" in capsys.readouterr().err
  assert not (tmp_path / "R.md").exists()


def test_records_are_strict_json(tmp_path):
  path = results.write_record(_record(metrics={"accuracy": 0.8, "perplexity": float("inf")}),
                              tmp_path / "r.json")
  loaded = results.read_record(path)  # parse_constant refuses NaN/Infinity
  assert loaded["metrics"] == {"accuracy": 0.8, "perplexity": "inf"}


def test_publish_writes_keeps_the_same_result_and_refuses_another(tmp_path):
  record = _record()
  first = results.publish_result(record, tmp_path, "lstm_rt")
  assert first.action == "written" and first.path == tmp_path / "lstm_rt.json"
  # The same result run again elsewhere (other time, workdir, command): kept as it is.
  rerun = _record(finished="2026-12-01T00:00:00+00:00", train_minutes=9.0, command="other",
                  workdir="/scratch/w")
  same = results.publish_result(rerun, tmp_path, "lstm_rt")
  assert same.action == "unchanged"
  assert results.read_record(first.path)["finished"] == record["finished"]
  # Another result: refused, naming both files and what differs; the file is unchanged.
  trial = _record(value=0.5, train_steps=10)
  with pytest.raises(results.PublishConflictError) as error:
    results.publish_result(trial, tmp_path, "lstm_rt", source="/scratch/w/result.json")
  message = str(error.value)
  assert str(first.path) in message and "/scratch/w/result.json" in message
  assert "value: 0.8123 -> 0.5" in message and "train_steps: 1080 -> 10" in message
  assert "\n" not in message
  assert results.read_record(first.path)["value"] == 0.8123
  replaced = results.publish_result(trial, tmp_path, "lstm_rt", replace=True)
  assert replaced.action == "replaced" and "value: 0.8123 -> 0.5" in replaced.message
  assert results.read_record(first.path)["value"] == 0.5


def test_record_differences_compare_configs_field_by_field():
  config = {"net": {"hidden_dim": 32}, "progress": True, "log_every": 20, "seed": 0}
  old = _record(config=config)
  new = _record(config={"net": {"hidden_dim": 32}, "progress": False, "log_every": 5, "seed": 0})
  assert results.record_differences(old, new) == []  # progress bars and log intervals only
  new = _record(config={"net": {"hidden_dim": 64}, "progress": True, "log_every": 20, "seed": 0})
  assert results.record_differences(old, new) == ["config.net.hidden_dim: 32 -> 64"]


@pytest.mark.parametrize("args,want", [
    (["--results_dir", "{tmp}/nope"], "FATAL make_results: --results_dir {tmp}/nope: no such "
     "directory"),
    (["--out", "{tmp}/nope/RESULTS.md"], "FATAL make_results: --out {tmp}/nope/RESULTS.md: no "
     "such directory {tmp}/nope"),
    (["--bogus"], "FATAL python -m experiments.make_results: unrecognized arguments: --bogus"),
])
def test_make_results_command_line_errors_are_one_fatal_line(tmp_path, capsys, args, want):
  (tmp_path / "results").mkdir()
  args = [a.format(tmp=tmp_path) for a in args]
  with pytest.raises(SystemExit) as error:
    make_results.main(["--results_dir", str(tmp_path / "results"), *args])
  assert error.value.code == 2
  err = capsys.readouterr().err
  assert err.startswith(want.format(tmp=tmp_path)) and err.count("\n") == 1, err
  assert not (tmp_path / "nope").exists()


def test_make_results_names_an_unreadable_record(tmp_path, capsys):
  (tmp_path / "results").mkdir()
  (tmp_path / "results" / "a.json").write_text("{not json")
  with pytest.raises(SystemExit) as error:
    make_results.main(["--results_dir", str(tmp_path / "results"), "--out",
                       str(tmp_path / "R.md")])
  assert error.value.code == 2
  err = capsys.readouterr().err
  assert err.startswith("FATAL make_results: a record in ") and "a.json" in err, err
  assert not (tmp_path / "R.md").exists()
