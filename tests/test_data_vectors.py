"""Tests for skipjax.data.vectors: the deterministic IMDB word2vec (tiny corpora only), the GloVe /
word2vec loaders on good and broken files, and the embedding table of a vocabulary."""

import gzip
import hashlib
import io
import os
import pathlib
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from skipjax.data import files
from skipjax.data import text
from skipjax.data import vectors as vec

REPO = pathlib.Path(__file__).resolve().parents[1]
TINY = vec.Word2VecSettings(dim=8, min_count=1, epochs=2, window=2)


def _corpus(seed=0, n=60, length=12):
  rng = np.random.RandomState(seed)
  words = [f"w{i}" for i in range(25)]
  return [[words[j] for j in rng.randint(0, len(words), size=length)] for _ in range(n)]


def _digest(v):
  return hashlib.sha256(v.vectors.tobytes() + "\n".join(v.words).encode()).hexdigest()


# ----------------------------------------------------------------------------- word2vec


def test_train_word2vec_is_deterministic_and_seeded():
  corpus = _corpus()
  a, b = vec.train_word2vec(corpus, TINY), vec.train_word2vec(corpus, TINY)
  assert a.words == b.words and len(a) == 25 and a.dim == 8
  np.testing.assert_array_equal(a.vectors, b.vectors)
  c = vec.train_word2vec(corpus, TINY._replace(seed=1))
  assert not np.array_equal(a.vectors, c.vectors)


def test_train_word2vec_is_identical_across_hash_seeds():
  # Another process with another PYTHONHASHSEED (str hashes differ) gives the same bytes.
  script = ("import hashlib, numpy as np, sys; sys.path.insert(0, %r); "
            "from skipjax.data import vectors as vec; "
            "rng = np.random.RandomState(0); words = [f'w{i}' for i in range(25)]; "
            "c = [[words[j] for j in rng.randint(0, 25, size=12)] for _ in range(60)]; "
            "v = vec.train_word2vec(c, vec.Word2VecSettings(dim=8, min_count=1, epochs=2, "
            "window=2)); "
            "print(hashlib.sha256(v.vectors.tobytes() + '\\n'.join(v.words).encode())"
            ".hexdigest())") % str(REPO)
  here = _digest(vec.train_word2vec(_corpus(), TINY))
  for seed in ("12345",):
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env={**os.environ, "PYTHONHASHSEED": seed}, check=True)
    assert out.stdout.strip() == here


def test_train_word2vec_rejects_bad_input():
  with pytest.raises(ValueError, match="truncates"):
    vec.train_word2vec([["a"] * (vec.MAX_SENTENCE_TOKENS + 1)], TINY)
  with pytest.raises(ValueError, match="min_count"):
    vec.train_word2vec([["a", "b"]], TINY._replace(min_count=3))
  with pytest.raises(ValueError, match="sg"):
    vec.train_word2vec(_corpus(), TINY._replace(sg=2))
  with pytest.raises(TypeError, match="sequence"):
    vec.train_word2vec(iter(_corpus()), TINY)


def test_tokenize_corpus_uses_the_pipeline_tokenizer_and_chunks_long_texts():
  review = "Don't stop!<br />It's GREAT."
  assert vec.tokenize_corpus([review, ""]) == [text.tokenize(review)]
  long = " ".join(["x"] * (vec.MAX_SENTENCE_TOKENS + 5))
  chunks = vec.tokenize_corpus([long])
  assert [len(c) for c in chunks] == [vec.MAX_SENTENCE_TOKENS, 5]  # nothing dropped


def _add(tar, name, data: bytes):
  info = tarfile.TarInfo(name)
  info.size = len(data)
  tar.addfile(info, io.BytesIO(data))


def _fake_imdb(path, test_member=True):
  """A tiny aclImdb archive whose test reviews are poisoned: a word seen nowhere else, and bytes
  that are not UTF-8 (decoding a test review would raise)."""
  train = {"train/pos/0_9.txt": "Don't miss it!<br />A great film , great cast .",
           "train/pos/1_8.txt": "A great cast and a fine film .",
           "train/neg/0_2.txt": "A dull film ; the cast is dull .",
           "train/neg/1_1.txt": "Dull , dull , dull .",
           "train/unsup/0_0.txt": "unsupword appears only in unsup ; a film .",
           "train/unsup/1_0.txt": "another unsupword review of a film ."}
  with tarfile.open(path, "w:xz") as tar:
    for name, body in sorted(train.items()):
      _add(tar, f"aclImdb/{name}", body.encode())
    if test_member:
      _add(tar, "aclImdb/test/pos/0_10.txt", b"testpoison " * 50 + b"\xff\xfe")
      _add(tar, "aclImdb/test/neg/0_1.txt", b"testpoison film " * 50)
  return train


def test_imdb_word2vec_reads_train_and_unsup_never_test(tmp_path, monkeypatch):
  archive = tmp_path / "aclImdb.tar.xz"
  _fake_imdb(archive)
  extracted = []
  original = tarfile.TarFile.extractfile

  def spy(self, member):
    extracted.append(member.name if hasattr(member, "name") else member)
    return original(self, member)

  monkeypatch.setattr(tarfile.TarFile, "extractfile", spy)
  logs = []
  out = vec.imdb_word2vec(TINY, archive=archive, cache_dir=tmp_path / "cache", verify=False,
                          log=logs.append)
  assert out.trained and logs
  assert extracted and not [m for m in extracted if "/test/" in m]
  words = set(out.vectors.words)
  assert "testpoison" not in words
  assert {"don't", "great", "dull", "unsupword", "!", ","} <= words  # pipeline tokens, unsup read
  assert out.meta["splits"] == ["train", "unsup"] and out.meta["sentences"] == 6
  # Only train: the unsup-only word is absent.
  train_only = vec.imdb_word2vec(TINY, archive=archive, cache_dir=tmp_path / "cache",
                                 splits=("train",), verify=False, log=logs.append)
  assert "unsupword" not in train_only.vectors and train_only.path != out.path
  with pytest.raises(ValueError, match="splits"):
    vec.imdb_word2vec(TINY, archive=archive, cache_dir=tmp_path, splits=("train", "test"))


def test_imdb_word2vec_is_cached_by_inputs_and_settings(tmp_path):
  archive = tmp_path / "aclImdb.tar.xz"
  _fake_imdb(archive)
  cache = tmp_path / "cache"
  first = vec.imdb_word2vec(TINY, archive=archive, cache_dir=cache, verify=False, log=print)
  again = vec.imdb_word2vec(TINY, archive=archive, cache_dir=cache, verify=False, log=print)
  assert first.trained and not again.trained and again.path == first.path
  assert again.vectors.words == first.vectors.words
  np.testing.assert_array_equal(again.vectors.vectors, first.vectors.vectors)
  assert first.path.name.startswith("word2vec_imdb_8d_")
  assert again.meta["archive_sha256"] == files.file_digest(archive)
  # Other settings or another archive: another cache entry.
  other = vec.imdb_word2vec(TINY._replace(epochs=3), archive=archive, cache_dir=cache,
                            verify=False, log=print)
  assert other.trained and other.path != first.path
  archive2 = tmp_path / "other.tar.xz"
  _fake_imdb(archive2, test_member=False)
  assert vec.imdb_word2vec(TINY, archive=archive2, cache_dir=cache, verify=False,
                           log=print).path != first.path
  # Retraining from scratch (cache removed) gives the same file.
  data = first.path.read_bytes()
  for p in cache.iterdir():
    p.unlink()
  retrained = vec.imdb_word2vec(TINY, archive=archive, cache_dir=cache, verify=False, log=print)
  assert retrained.trained and retrained.path.read_bytes() == data


def test_read_imdb_texts_checks_content_digests(tmp_path):
  archive = tmp_path / "aclImdb.tar.xz"
  train = _fake_imdb(archive)
  with pytest.raises(files.DataFileError, match=r"aclImdb/train/neg \(2 files\) has digest"):
    vec.read_imdb_texts(archive)
  texts = vec.read_imdb_texts(archive, ("train",), verify=False)
  # neg then pos, each by review id.
  assert texts == [train[k] for k in ("train/neg/0_2.txt", "train/neg/1_1.txt",
                                      "train/pos/0_9.txt", "train/pos/1_8.txt")]
  empty = tmp_path / "empty.tar.xz"
  with tarfile.open(empty, "w:xz") as tar:
    _add(tar, "aclImdb/README", b"x")
  with pytest.raises(files.DataFileError, match="no reviews under aclImdb/train/neg"):
    vec.read_imdb_texts(empty, verify=False)


def test_real_imdb_unsup_digest_matches_source_md():
  # The digest table in files.py is the one of imdb/split_digests.tsv.
  tsv = files.resolve_data_dir() / "imdb" / "split_digests.tsv"
  if not tsv.is_file():
    pytest.skip(f"{tsv} not present")
  rows = [line.split("\t") for line in tsv.read_text().splitlines()[1:] if line.strip()]
  assert {row[0]: row[3] for row in rows} == files.IMDB_DIR_DIGESTS


# ----------------------------------------------------------------------------- loaders


WORDS = ("the", "film", "don't", "été")
VALUES = np.asarray([[0.5, -1.25, 3.0], [1e-3, 2.0, -0.0], [7.0, 8.5, -9.25], [0.1, 0.2, 0.3]],
                    np.float32)


def _glove_text():
  return "".join(f"{w} {' '.join(repr(float(x)) for x in row)}\n" for w, row in zip(WORDS, VALUES))


def _check(v, words=WORDS, values=VALUES):
  assert v.words == tuple(words) and v.dim == values.shape[1]
  np.testing.assert_array_equal(v.vectors, values)
  assert v.vectors.dtype == np.float32


def test_load_glove_text_and_auto_detect(tmp_path):
  path = tmp_path / "glove.3d.txt"
  path.write_text(_glove_text(), encoding="utf-8")
  assert vec.detect_format(path) == "glove"
  _check(vec.load_vectors(path))
  _check(vec.load_vectors(path, "glove", dim=3))
  # Only some words kept; CRLF line ends and trailing spaces are fine; gzip too.
  _check(vec.load_vectors(path, words=["film", "été", "absent"]), ("film", "été"), VALUES[[1, 3]])
  crlf = tmp_path / "crlf.txt"
  crlf.write_bytes(_glove_text().replace("\n", " \r\n").encode())
  _check(vec.load_vectors(crlf))
  gz = tmp_path / "glove.txt.gz"
  gz.write_bytes(gzip.compress(_glove_text().encode()))
  _check(vec.load_vectors(gz))


def test_load_gensim_written_word2vec_files(tmp_path):
  # gensim's own writer as the independent reference for both word2vec formats.
  from gensim.models import KeyedVectors
  kv = KeyedVectors(vector_size=3)
  kv.add_vectors(list(WORDS), VALUES)
  binary, txt = tmp_path / "vectors.bin", tmp_path / "vectors.txt"
  kv.save_word2vec_format(str(binary), binary=True)
  kv.save_word2vec_format(str(txt), binary=False)
  assert vec.detect_format(binary) == "word2vec_binary"
  assert vec.detect_format(txt) == "word2vec_text"
  _check(vec.load_vectors(binary))
  _check(vec.load_vectors(txt))
  _check(vec.load_vectors(binary, words={"the", "don't"}), ("the", "don't"), VALUES[[0, 2]])


def test_save_vectors_round_trips_and_gensim_reads_it(tmp_path):
  from gensim.models import KeyedVectors
  rng = np.random.RandomState(0)
  v = vec.WordVectors(WORDS, rng.randn(4, 5).astype(np.float32))
  for fmt in ("word2vec_binary", "word2vec_text", "glove"):
    path = vec.save_vectors(v, tmp_path / f"out.{fmt}", fmt)
    back = vec.load_vectors(path, fmt)
    assert back.words == v.words
    np.testing.assert_array_equal(back.vectors, v.vectors)  # 9 digits: float32-exact
  # The C tool's binary layout (a newline after each vector), read by gensim too.
  kv = KeyedVectors.load_word2vec_format(str(tmp_path / "out.word2vec_binary"), binary=True)
  np.testing.assert_array_equal(kv["été"], v["été"])
  with pytest.raises(ValueError, match="without spaces"):
    vec.save_vectors(vec.WordVectors(("a b",), np.zeros((1, 2))), tmp_path / "x.bin")


GLOVE_BROKEN = [
    ("the 1 2 3\nfilm 1 2\n", r":2: 2 values after the word 'film', expected 3"),
    ("the 1 2 3\nfilm 1 2 3 4\n", r":2: 4 values after the word 'film', expected 3"),
    ("the 1 2 3\nfilm 1 x 3\n", r":2: value 'x' of the word 'film' is not a number"),
    ("the 1 2 3\n\nfilm 1 2 3\n", r":2: empty line"),
    ("the 1 2 3\nfilm 1 nan 3\n", r":2: the vector holds a NaN"),
    ("the 1 2 3\nfilm 1 2 3\nthe 4 5 6\n", r":3: duplicate word 'the' \(first on line 1\)"),
    ("the\n", r":1: expected a word and its values"),
    ("", r"no vectors in the file"),
    ("1 3\nthe 1 2 3\n", r":1: '1 3' looks like a word2vec header"),
]


@pytest.mark.parametrize("content,message", GLOVE_BROKEN)
def test_broken_glove_names_the_line(tmp_path, content, message):
  path = tmp_path / "broken.txt"
  path.write_text(content)
  with pytest.raises(vec.VectorFileError, match=message) as error:
    vec.load_vectors(path, "glove")
  assert str(path) in str(error.value)


def test_broken_text_files_more(tmp_path):
  path = tmp_path / "v.txt"
  path.write_bytes(b"the 1 2 3\nfilm\xff 1 2 3\n")
  with pytest.raises(vec.VectorFileError, match=r"v.txt:2: not valid utf-8"):
    vec.load_vectors(path)
  path.write_text("2 3\nthe 1 2 3\n")
  with pytest.raises(vec.VectorFileError, match="announces 2 words, the file holds 1"):
    vec.load_vectors(path)
  path.write_text("2 3\nthe 1 2 3\nfilm 1 2\n")
  with pytest.raises(vec.VectorFileError, match=r":3: 2 values after the word 'film'"):
    vec.load_vectors(path, "word2vec_text")
  path.write_text("2 x\nthe 1 2 3\n")
  with pytest.raises(vec.VectorFileError, match=r":1: a word2vec header must be two integers"):
    vec.load_vectors(path, "word2vec_text")
  path.write_text("the 1 2 3\n")
  with pytest.raises(vec.DimensionMismatchError, match=r":1: the vectors have dimension 3, "
                     "expected 100"):
    vec.load_vectors(path, dim=100)
  with pytest.raises(FileNotFoundError, match="no word-vector file"):
    vec.load_vectors(tmp_path / "absent.txt")
  with pytest.raises(ValueError, match="format must be one of"):
    vec.load_vectors(path, "fasttext")


def _binary(entries, count=None, dim=3):
  out = f"{len(entries) if count is None else count} {dim}\n".encode()
  for word, row in entries:
    out += word + b" " + np.asarray(row, "<f4").tobytes()
  return out


@pytest.mark.parametrize("data,message", [
    (_binary([(b"the", [1, 2, 3]), (b"film", [1, 2, 3])])[:-5],
     r"entry 2 of 2 \(byte \d+\): truncated file: the vector of 'film' needs 12 bytes, 7"),
    (_binary([(b"the", [1, 2, 3])], count=2), r"entry 2 of 2 .*truncated file"),
    (_binary([(b"the", [1, 2, 3]), (b"film", [1, 2, 3])], count=1),
     r"bytes left after the 1 words"),
    (_binary([(b"the", [1, 2, 3]), (b"the", [4, 5, 6])]),
     r"entry 2 of 2 .*duplicate word 'the' \(first at entry 1\)"),
    (_binary([(b"\xff\xfe", [1, 2, 3])]), r"entry 1 of 1 .*not valid utf-8"),
    (_binary([(b"the", [1, np.inf, 3])]), r"entry 1 of 1 .*NaN or infinite"),
    (b"3 three\n", r":1: a word2vec header must be two integers"),
])
def test_broken_word2vec_binary_names_the_entry(tmp_path, data, message):
  path = tmp_path / "broken.bin"
  path.write_bytes(data)
  with pytest.raises(vec.VectorFileError, match=message):
    vec.load_vectors(path)


def test_word2vec_binary_dimension_mismatch(tmp_path):
  path = tmp_path / "v.bin"
  path.write_bytes(_binary([(b"the", [1, 2, 3])]))
  with pytest.raises(vec.DimensionMismatchError, match="dimension 3, expected 4"):
    vec.load_vectors(path, dim=4)


# ----------------------------------------------------------------------------- tables


def test_embedding_matrix_replaces_found_rows_only():
  vocab = text.Vocab(["<pad>", "<unk>", "film", "zzz", "the"])
  v = vec.WordVectors(("the", "film", "<unk>", "other"), VALUES)
  init = np.arange(15, dtype=np.float32).reshape(5, 3)
  table, coverage = vec.embedding_matrix(v, vocab, init)
  np.testing.assert_array_equal(table[[0, 1, 3]], init[[0, 1, 3]])  # pad, unk, missing: init
  np.testing.assert_array_equal(table[2], VALUES[1])
  np.testing.assert_array_equal(table[4], VALUES[0])
  assert coverage == vec.Coverage(2, 3, ("zzz",))
  assert coverage.fraction == pytest.approx(2 / 3)
  assert "2 of 3 vocabulary words (66.7%)" in coverage.describe()
  np.testing.assert_array_equal(init, np.arange(15).reshape(5, 3))  # not modified in place
  with pytest.raises(ValueError, match="dimension 4 but the pretrained vectors have 3"):
    vec.embedding_matrix(v, vocab, np.zeros((5, 4)))
  with pytest.raises(ValueError, match=r"\[vocab size 5, E\]"):
    vec.embedding_matrix(v, vocab, np.zeros((4, 3)))


def test_word_vectors_checks_its_fields():
  with pytest.raises(ValueError, match="duplicate word 'a'"):
    vec.WordVectors(("a", "b", "a"), np.zeros((3, 2)))
  with pytest.raises(ValueError, match="shape"):
    vec.WordVectors(("a",), np.zeros((2, 2)))


def test_resolve_pretrained_names(tmp_path):
  path = tmp_path / "glove.txt"
  path.write_text(_glove_text())
  _check(vec.resolve_pretrained(str(path), dim=3))
  with pytest.raises(FileNotFoundError, match="give 'word2vec_imdb' or the path"):
    vec.resolve_pretrained(str(tmp_path / "nope.txt"), dim=3)
  with pytest.raises(ValueError, match="applies to vector files"):
    vec.resolve_pretrained("word2vec_imdb", dim=3, format="glove")
