"""The 'arrays' source: splits exported as .npz load without TensorFlow, equal to the tfds path,
and a damaged, missing or unexported file is a DataFileError naming it."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from skipjax.data import arrays
from skipjax.data import datasets
from skipjax.data import files
from skipjax.data import tfds_source

from test_data_real_text import _cache  # pylint: disable=g-bad-import-order

REPO = pathlib.Path(__file__).resolve().parents[1]
needs_data = pytest.mark.skipif(not files.DEFAULT_DATA_DIR.is_dir(),
                                reason=f"shared data dir {files.DEFAULT_DATA_DIR} is absent")


def _export_toy(out):
  splits = {"train": {"text": ["a b c", "d e"], "label": np.array([0, 1], np.int32)},
            "test": {"text": ["f"], "label": np.array([1], np.int32)}}
  return arrays.export("toy", splits, {"train": 2, "test": 1}, {"raw": "digest"}, out)


def test_round_trip_gives_lists_of_str_and_arrays(tmp_path):
  folder = _export_toy(tmp_path)
  assert folder == tmp_path / "arrays" / "toy"
  examples, sizes = arrays.load_split("toy", "train", tmp_path)
  assert examples["text"] == ["a b c", "d e"] and isinstance(examples["text"][0], str)
  np.testing.assert_array_equal(examples["label"], [0, 1])
  assert examples["label"].dtype == np.int32 and sizes == {"train": 2, "test": 1}
  # tfds's absolute slices, as the MNIST configs use (train[:55000] / train[55000:]).
  first, _ = arrays.load_split("toy", "train[:1]", tmp_path)
  rest, _ = arrays.load_split("toy", "train[1:]", tmp_path)
  assert first["text"] == ["a b c"] and rest["text"] == ["d e"]
  np.testing.assert_array_equal(rest["label"], [1])
  assert arrays.load_split("toy", "train[-1:]", tmp_path)[0]["text"] == ["d e"]
  manifest = json.loads((folder / "manifest.json").read_text())
  assert manifest["raw_files"] == {"raw": "digest"} and set(manifest["splits"]) == {"train", "test"}


def test_damaged_missing_or_unknown_files_are_named(tmp_path):
  folder = _export_toy(tmp_path)
  data = bytearray((folder / "test.npz").read_bytes())
  data[-5] ^= 0xFF
  (folder / "test.npz").write_bytes(bytes(data))
  with pytest.raises(files.DataFileError, match=r"test\.npz has sha256 .* the manifest says"):
    arrays.load_split("toy", "test", tmp_path)
  with pytest.raises(files.DataFileError, match="has no split 'validation'; exported: test, train"):
    arrays.load_split("toy", "validation", tmp_path)
  (folder / "train.npz").unlink()
  with pytest.raises(files.DataFileError, match=r"train\.npz is missing"):
    arrays.load_split("toy", "train", tmp_path)
  with pytest.raises(ValueError, match="an absolute slice such as 'train\\[:55000\\]'"):
    arrays.load_split("toy", "train[:10%]", tmp_path)
  with pytest.raises(files.DataFileError, match="no exported arrays of 'other'"):
    arrays.load_split("other", "train", tmp_path)
  (folder / "manifest.json").write_text("{not json")
  with pytest.raises(files.DataFileError, match="not a readable manifest"):
    arrays.load_split("toy", "train", tmp_path)


def test_nested_fields_are_refused(tmp_path):
  with pytest.raises(ValueError, match="field 'tokens' is neither an array nor one string"):
    arrays.export("toy", {"train": {"tokens": [["a", "b"], ["c"]]}}, {"train": 2}, None, tmp_path)


def test_auto_takes_arrays_only_without_raw_files(tmp_path):
  _export_toy(tmp_path)
  (tmp_path / "arrays" / "rotten_tomatoes").mkdir()
  (tmp_path / "arrays" / "rotten_tomatoes" / "manifest.json").write_text("{}")
  empty = tmp_path / "no_raw"
  empty.mkdir()
  assert tfds_source.choose_source("rotten_tomatoes", "auto", empty, tmp_path) == "arrays"
  assert tfds_source.choose_source("sst2_trees", "auto", empty, tmp_path) == "local"  # none
  with pytest.raises(ValueError, match="source must be one of 'auto', 'local', 'catalog', "
                                       "'arrays'"):
    tfds_source.choose_source("rotten_tomatoes", "npz", empty, tmp_path)


@needs_data
def test_exported_dataset_loads_without_tensorflow_as_the_tfds_path_does(tmp_path):
  out = tmp_path / "cache"
  env = dict(os.environ, PYTHONPATH=str(REPO))
  proc = subprocess.run([sys.executable, "-m", "skipjax.data", "export", "rotten_tomatoes",
                         "--out", str(out), "--cache_dir", str(_cache())], cwd=REPO, env=env,
                        capture_output=True, text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "rotten_tomatoes" in proc.stdout and str(out / "arrays" / "rotten_tomatoes") in proc.stdout
  # In a process where TensorFlow cannot be imported at all.
  code = f"""
import sys, json
import numpy as np
class Block:
  def find_spec(self, name, path=None, target=None):
    if name.split('.')[0] in ('tensorflow', 'tensorflow_datasets'):
      raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
from skipjax.data import datasets
out = {{}}
for split in ('train', 'validation', 'test'):
  a, info = datasets.load('rotten_tomatoes', split, cache_dir={str(out)!r},
                          data_dir={str(tmp_path / 'no_raw')!r})
  out[split] = [info.source, info.num_examples, int(a['inputs'].sum()), int(a['labels'].sum())]
print(json.dumps(out))
"""
  (tmp_path / "no_raw").mkdir()
  proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                        text=True, timeout=600)
  assert proc.returncode == 0, proc.stderr[-3000:]
  got = json.loads(proc.stdout.splitlines()[-1])
  for split in ("train", "validation", "test"):
    a, info = datasets.load("rotten_tomatoes", split, cache_dir=_cache())
    assert got[split] == ["arrays", info.num_examples, int(a["inputs"].sum()),
                          int(a["labels"].sum())]
