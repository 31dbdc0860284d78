"""Tests for skipjax.data.files: data dir resolution, missing and corrupt files."""

import lzma
import shutil

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
