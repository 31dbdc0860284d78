"""Tests for skipjax.data.datasets / tfds_source logic that needs no prepared data: source choice, split names,
cache dir, and the conversion of tfds catalog features (the online route) to the local form."""

import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from skipjax import data
from skipjax.data import datasets
from skipjax.data import files
from skipjax.data import tfds_source


def test_split_aliases():
  assert tfds_source.normalise_split("dev") == "validation"
  assert tfds_source.normalise_split("valid[:50%]") == "validation[:50%]"
  assert tfds_source.normalise_split("train[55000:]") == "train[55000:]"
  with pytest.raises(ValueError, match="split"):
    tfds_source.normalise_split("")


def test_source_choice(tmp_path):
  if files.DEFAULT_DATA_DIR.is_dir():
    assert tfds_source.choose_source("imdb", "auto", files.DEFAULT_DATA_DIR) == "local"
    assert tfds_source.choose_source("ag_news", "auto", files.DEFAULT_DATA_DIR) == "local"
  # Raw files absent: tfds's standard dataset where tfds has one, else local (-> missing-file
  # error naming the file).
  assert tfds_source.choose_source("imdb", "auto", tmp_path) == "catalog"
  assert tfds_source.choose_source("mnist", "auto", tmp_path) == "catalog"
  assert tfds_source.choose_source("ptb", "auto", tmp_path) == "local"
  with pytest.raises(ValueError, match="no standard dataset"):
    tfds_source.choose_source("rotten_tomatoes", "catalog", tmp_path)
  with pytest.raises(ValueError, match="source"):
    tfds_source.choose_source("imdb", "web", tmp_path)
  with pytest.raises(files.DataFileError, match=r"ptb\.train\.txt\.xz"):
    data.load("ptb", "train", data_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_unknown_names_and_ag_news_train(tmp_path):
  with pytest.raises(ValueError, match="unknown dataset 'cbt'"):
    data.load("cbt", "train")
  (tmp_path / "ag_news").mkdir()
  (tmp_path / "ag_news" / "test.csv.xz").write_bytes(b"")
  with pytest.raises(data.DataFileError, match=r"train\.csv is missing.*md5 b1a00f826fdfbd24"):
    data.load("ag_news", "train", data_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_cache_dir_resolution(monkeypatch, tmp_path):
  monkeypatch.setenv(datasets.ENV_TFDS_DIR, str(tmp_path / "a"))
  monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "b"))
  assert datasets.resolve_cache_dir() == tmp_path / "a"
  monkeypatch.delenv(datasets.ENV_TFDS_DIR)
  assert datasets.resolve_cache_dir() == tmp_path / "b"
  assert datasets.resolve_cache_dir(tmp_path / "c") == tmp_path / "c"


def test_catalog_features_convert_to_the_local_form(monkeypatch):
  fake = {
      "ag_news": {"title": np.array([b"Oil \\$50", b"Win"], object),
                  "description": np.array([b"up #36;2\\again", b"big"], object),
                  "label": np.array([2, 1])},
      "sst2_glue": {"sentence": np.array([b"a fine film ", b"dull "], object),
                    "label": np.array([1, 0]), "idx": np.array([0, 1])},
      "imdb": {"text": np.array([b"Great<br />movie"], object), "label": np.array([1])},
  }
  monkeypatch.setattr(tfds_source, "_as_numpy", lambda builder, split: fake[builder])
  ag = tfds_source.catalog_examples("ag_news", "ag_news", "test")
  assert ag["text"] == ["Oil $50 up $2 again", "Win big"]
  np.testing.assert_array_equal(ag["label"], [2, 1])
  glue = tfds_source.catalog_examples("sst2_glue", "sst2_glue", "train")
  assert glue["text"] == ["a fine film", "dull"] and glue["label"].dtype == np.int32
  imdb = tfds_source.catalog_examples("imdb", "imdb", "train")
  assert imdb["text"] == ["Great<br />movie"]


def test_one_cache_default_inside_the_checkout(monkeypatch):
  """Prepared datasets and word vectors default to <repo>/.cache (issue 16 item 3)."""
  from skipjax.data import vectors  # pylint: disable=g-import-not-at-top
  repo = pathlib.Path(__file__).resolve().parent.parent
  for name in ("SKIPJAX_TFDS_DIR", "TFDS_DATA_DIR"):
    monkeypatch.delenv(name, raising=False)
  assert files.cache_root() == repo / ".cache"
  assert datasets.resolve_cache_dir() == repo / ".cache" / "tfds"
  assert vectors.DEFAULT_CACHE_DIR == repo / ".cache" / "vectors"
  monkeypatch.setenv("TFDS_DATA_DIR", "/elsewhere/tfds")
  assert datasets.resolve_cache_dir() == pathlib.Path("/elsewhere/tfds")


REPO = pathlib.Path(__file__).resolve().parents[1]


def _data_cli(*args):
  return subprocess.run([sys.executable, "-m", "skipjax.data", *args], cwd=REPO,
                        env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True,
                        text=True, timeout=180)


@pytest.mark.parametrize("args,want", [
    (["imdbb"], "FATAL python -m skipjax.data: unknown dataset(s) ['imdbb']; did you mean imdb?"),
    (["--data_dir", "{tmp}/nope"], "FATAL python -m skipjax.data: no data directory {tmp}/nope"),
    (["--data_dir", "{tmp}"], "FATAL python -m skipjax.data: no dataset's raw files are in {tmp}"),
    (["ptb", "--data_dir", "{tmp}", "--cache_dir", "{tmp}/cache"],
     "FATAL python -m skipjax.data: missing data file {tmp}/ptb/ptb.train.txt.xz"),
    (["--source", "web"], "FATAL python -m skipjax.data: argument --source: invalid choice"),
    (["vectors", "--dim", "x"], "FATAL python -m skipjax.data vectors: argument --dim: invalid"),
])
def test_command_line_errors_are_one_fatal_line(tmp_path, args, want):
  proc = _data_cli(*[a.format(tmp=tmp_path) for a in args])
  assert proc.returncode == 2, proc.stderr[-3000:]
  (line,) = proc.stderr.splitlines()
  assert line.startswith(want.format(tmp=tmp_path)), line


def test_help_exits_0():
  proc = _data_cli("--help")
  assert proc.returncode == 0 and "--data_dir" in proc.stdout, proc.stderr
