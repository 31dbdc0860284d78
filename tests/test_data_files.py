"""Tests for skipjax.data.files: data dir resolution, missing and corrupt files."""

import lzma
import shutil

import numpy as np
import pytest

from skipjax import data
from skipjax.data import files

SHARED = files.DEFAULT_DATA_DIR.resolve()  # as resolve_data_dir returns it (symlinks followed)
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent")


def test_data_dir_resolution(monkeypatch, tmp_path):
  monkeypatch.delenv(files.ENV_DATA_DIR, raising=False)
  assert files.resolve_data_dir() == SHARED
  assert files.DEFAULT_DATA_DIR.parts[-2:] == ("shared", "data")
  monkeypatch.setenv(files.ENV_DATA_DIR, str(tmp_path))
  assert files.resolve_data_dir() == tmp_path.resolve()
  assert files.resolve_data_dir(tmp_path / "x") == (tmp_path / "x").resolve()


def test_missing_file_error_names_file_and_digest(tmp_path):
  with pytest.raises(files.DataFileError) as err:
    files.find_file("ptb", "train", tmp_path)
  message = str(err.value)
  assert str(tmp_path / "ptb" / "ptb.train.txt.xz") in message
  assert "aa7c7ac769e4614f02494a5c0426d7fc5226ba2c96cec8f897d7af9ff5d6945b" in message
  assert "SKIPJAX_DATA_DIR" in message


@needs_shared
def test_corrupt_file_error_names_file_and_digest(tmp_path):
  src = SHARED / "rotten_tomatoes" / "rt-polarity.neg.xz"
  dst = tmp_path / "rotten_tomatoes" / "rt-polarity.neg.xz"
  dst.parent.mkdir()
  blob = bytearray(src.read_bytes())
  blob[1000] ^= 0xFF
  dst.write_bytes(bytes(blob))
  with pytest.raises(files.DataFileError, match=r"rt-polarity\.neg\.xz is corrupt: its sha256 "
                     r"is [0-9a-f]{64}, expected sha256 6f0ac18fa4044fe9"):
    files.find_file("rotten_tomatoes", "neg", tmp_path)
  # The intact file passes.
  assert files.find_file("rotten_tomatoes", "neg", SHARED) == SHARED / src.relative_to(SHARED)


@needs_shared
def test_wrong_size_mnist_file_is_refused_before_tfds(tmp_path):
  (tmp_path / "mnist").mkdir()
  for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
               "t10k-images-idx3-ubyte.gz"):
    shutil.copy(SHARED / "mnist" / name, tmp_path / "mnist" / name)
  (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").write_bytes(b"not mnist")
  with pytest.raises(files.DataFileError, match=r"t10k-labels-idx1-ubyte\.gz is corrupt: 9 "
                     r"bytes, expected 4542 bytes with sha256 f7ae60f9"):
    data.load("mnist", "test", data_dir=tmp_path, cache_dir=tmp_path / "cache", source="local")


@needs_shared
def test_load_through_tfds_refuses_a_corrupt_file(tmp_path):
  """The skipjax tfds builder checks the digest before reading: a text edited to still be valid
  xz is refused, and nothing is prepared."""
  (tmp_path / "rotten_tomatoes").mkdir()
  shutil.copy(SHARED / "rotten_tomatoes" / "rt-polarity.neg.xz", tmp_path / "rotten_tomatoes")
  with lzma.open(SHARED / "rotten_tomatoes" / "rt-polarity.pos.xz") as f:
    text = f.read()
  (tmp_path / "rotten_tomatoes" / "rt-polarity.pos.xz").write_bytes(
      lzma.compress(text.replace(b"good", b"bad", 1)))
  with pytest.raises(files.DataFileError, match="rt-polarity.pos.xz is corrupt.*expected "
                     "sha256 36f99670b9ac5e10"):
    data.load("rotten_tomatoes", "train", data_dir=tmp_path, cache_dir=tmp_path / "cache")
  prepared = list((tmp_path / "cache").rglob("*.tfrecord*"))
  assert not prepared


def _copy_rotten_tomatoes(data_dir):
  (data_dir / "rotten_tomatoes").mkdir(parents=True)
  for name in ("rt-polarity.pos.xz", "rt-polarity.neg.xz"):
    shutil.copy(SHARED / "rotten_tomatoes" / name, data_dir / "rotten_tomatoes" / name)
  return data_dir / "rotten_tomatoes" / "rt-polarity.pos.xz"


@needs_shared
def test_prepared_dataset_rechecks_its_raw_files(tmp_path):
  """Issue 11 item 6: once tfds had prepared a dataset, a raw file flipped or truncated after the
  preparation was never hashed again. Now the prepared directory records the raw files' digests
  and every load (in a new process: the memo cleared) compares them."""
  from skipjax.data import datasets
  data_dir, cache_dir = tmp_path / "data", tmp_path / "cache"
  pos = _copy_rotten_tomatoes(data_dir)
  intact = pos.read_bytes()
  load = lambda: data.load("rotten_tomatoes", "test", data_dir=data_dir, cache_dir=cache_dir,
                           source="local")
  arrays, _ = load()
  (record_path,) = cache_dir.rglob(files.PREPARED_RECORD)
  record = files.read_prepared_record(record_path.parent)
  assert record["files"]["pos"] == {"path": "rotten_tomatoes/rt-polarity.pos.xz",
                                    "size": len(intact), "sha256": files.file_sha256(pos)}
  assert record["files"]["pos"]["sha256"] in files.RAW_FILES["rotten_tomatoes"]["pos"][0].sha256
  try:
    for broken in (bytes([intact[0] ^ 0x01]) + intact[1:],  # one flipped bit, same size
                   intact[:-100]):                          # truncated
      pos.write_bytes(broken)
      datasets.clear_memo()
      with pytest.raises(files.DataFileError) as err:
        load()
      message = str(err.value)
      assert str(pos) in message and str(record_path.parent) in message
      assert record["files"]["pos"]["sha256"] in message and files.file_sha256(pos) in message
      assert "has changed since the prepared dataset" in message
      assert "corrupt or truncated" in message and "Restore it" in message
    # Restored, the prepared dataset is used again.
    pos.write_bytes(intact)
    datasets.clear_memo()
    again, _ = load()
    np.testing.assert_array_equal(again["inputs"], arrays["inputs"])
  finally:
    datasets.clear_memo()


@needs_shared
def test_prepared_dataset_without_record_is_verified_and_recorded(tmp_path):
  """A dataset prepared before records existed: its raw files are checked against SOURCE.md (a
  corrupt one raises) and the record is written once they pass."""
  from skipjax.data import datasets
  data_dir, cache_dir = tmp_path / "data", tmp_path / "cache"
  pos = _copy_rotten_tomatoes(data_dir)
  load = lambda: data.load("rotten_tomatoes", "test", data_dir=data_dir, cache_dir=cache_dir,
                           source="local")
  try:
    load()
    (record_path,) = cache_dir.rglob(files.PREPARED_RECORD)
    record_path.unlink()
    intact = pos.read_bytes()
    pos.write_bytes(intact[:-1] + bytes([intact[-1] ^ 0x01]))
    datasets.clear_memo()
    with pytest.raises(files.DataFileError, match=r"rt-polarity\.pos\.xz is corrupt"):
      load()
    assert not record_path.exists()
    pos.write_bytes(intact)
    datasets.clear_memo()
    load()
    assert files.read_prepared_record(record_path.parent)["files"]["pos"]["sha256"] == \
        files.file_sha256(pos)
  finally:
    datasets.clear_memo()


def test_check_prepared_tells_a_valid_other_copy_from_a_corrupt_file(tmp_path, monkeypatch):
  """The advice depends on whether the changed file matches SOURCE.md (no tfds needed)."""
  path = tmp_path / "ptb" / "ptb.test.txt.xz"
  path.parent.mkdir()
  path.write_bytes(b"another copy")
  now = files.raw_file_record("ptb", ["test"], tmp_path)
  record = {"format": 1, "files": {"test": {**now["test"], "sha256": "0" * 64}}}
  prepared = tmp_path / "cache" / "skipjax_ptb" / "1.0.0"
  with pytest.raises(files.DataFileError, match=r"ptb\.test\.txt\.xz has changed since the "
                     r"prepared dataset .* recorded sha256 0{64} \(12 bytes\), now sha256 "
                     r"[0-9a-f]{64} \(12 bytes\)\. It matches no published digest"):
    files.check_prepared(prepared, "ptb", record, now, tmp_path)
  raw = files.RAW_FILES["ptb"]["test"][0]
  monkeypatch.setitem(files.RAW_FILES["ptb"], "test",
                      [files.RawFile(raw.path, raw.sha256 + (now["test"]["sha256"],))])
  with pytest.raises(files.DataFileError, match=rf"another valid copy .*: delete {prepared} "):
    files.check_prepared(prepared, "ptb", record, now, tmp_path)
  files.check_prepared(prepared, "ptb", {"format": 1, "files": now}, now, tmp_path)  # matches
