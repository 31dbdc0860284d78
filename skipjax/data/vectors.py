"""Pretrained word vectors: a deterministic IMDB word2vec, loaders for GloVe / word2vec files, and
the embedding table of a vocabulary.

The papers initialise their embeddings with pretrained vectors: Skim-RNN (Seo et al., 2018) with
GloVe, Skip RNN (Campos et al., 2018) and LSTM-Jump (Yu et al., 2017) with word2vec (Mikolov et
al., 2013). Neither set can be obtained offline here, so:

- `imdb_word2vec` trains skip-gram word2vec (gensim) on the IMDB *train* and *unsup* reviews only
  (the test reviews are never extracted from the archive), tokenised by the IMDB pipeline's own
  tokenizer (`skipjax.data.text.tokenize`), deterministically (one worker thread, fixed seed, a
  fixed string hash), and caches the result under a name made of the digest of its inputs (the
  archive's sha256, the splits, the tokenizer, gensim's version) and settings;
- `load_vectors` reads the vectors a user brings: GloVe text (`word v1 .. vE` per line, no
  header), word2vec text (a `count dim` header line, then GloVe-like lines) and word2vec binary
  (the header, then per word `word<space>` and dim little-endian float32, optionally followed by a
  newline). A malformed line, a dimension mismatch, a duplicate word or a truncated file raises a
  `VectorFileError` naming the file and the line (binary: the entry and byte offset).
- `embedding_matrix(vectors, vocab, init)` is the model's initial table `init` [V, E] with the
  rows of the words found in the vectors replaced, and the coverage.

CLI (prints time, vocabulary size and the coverage of the IMDB training vocabulary):

    python -m skipjax.data vectors [--data_dir DIR] [--cache_dir DIR] [--dim 100] [--epochs 5]

This module imports gensim only inside `train_word2vec`.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import io
import json
import mmap
import os
import pathlib
import re
import sys
import tarfile
import time
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import numpy as np

from skipjax import validation
from skipjax.data import files
from skipjax.data import text as text_lib

ENV_VECTORS_DIR = "SKIPJAX_VECTORS_DIR"
DEFAULT_CACHE_DIR = files.cache_root() / "vectors"  # <repo>/.cache/vectors in a checkout

FORMATS = ("auto", "glove", "word2vec_text", "word2vec_binary")
IMDB_WORD2VEC = "word2vec_imdb"  # the name `resolve_pretrained` knows besides file paths
IMDB_SPLITS = ("train", "unsup")
# Bumped whenever the corpus a given archive gives changes (tokenizer, member order, chunking).
CORPUS_VERSION = "imdb-train-unsup/tokenize-v1/chunk-10000"
# gensim's Cython loop silently truncates sentences longer than this (MAX_WORDS_IN_BATCH): longer
# documents are cut into consecutive chunks of at most this many tokens instead.
MAX_SENTENCE_TOKENS = 10000


class VectorFileError(ValueError):
  """A word-vector file is malformed; the message names the file and the line or entry."""


class DimensionMismatchError(VectorFileError):
  """The vectors' dimension differs from the one asked for (`dim=`)."""


@dataclasses.dataclass(frozen=True, eq=False)
class WordVectors:
  """words: N distinct strings; vectors: float32 [N, dim], row i the vector of words[i]."""
  words: tuple[str, ...]
  vectors: np.ndarray

  def __post_init__(self):
    object.__setattr__(self, "words", tuple(self.words))
    vectors = np.asarray(self.vectors)
    if vectors.ndim != 2 or vectors.shape[0] != len(self.words):
      raise ValueError(f"vectors must have shape [{len(self.words)}, dim] (one row per word), got "
                       f"{vectors.shape}")
    if not np.issubdtype(vectors.dtype, np.floating):
      raise TypeError(f"vectors must be floating point, got {vectors.dtype}")
    object.__setattr__(self, "vectors", vectors.astype(np.float32, copy=False))
    if len(self.index) != len(self.words):
      seen = set()
      dup = next(w for w in self.words if w in seen or seen.add(w))
      raise ValueError(f"duplicate word {dup!r} in the vectors")

  @functools.cached_property
  def index(self) -> dict[str, int]:
    return {w: i for i, w in enumerate(self.words)}

  @property
  def dim(self) -> int:
    return int(self.vectors.shape[1])

  def __len__(self) -> int:
    return len(self.words)

  def __contains__(self, word: str) -> bool:
    return word in self.index

  def __getitem__(self, word: str) -> np.ndarray:
    return self.vectors[self.index[word]]

  def __repr__(self) -> str:
    return f"WordVectors(words={len(self)}, dim={self.dim})"


# ----------------------------------------------------------------------------- reading files


def _open_binary(path: pathlib.Path):
  return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def detect_format(path: str | os.PathLike) -> str:
  """'word2vec_binary' for a .bin (or .bin.gz) file; otherwise 'word2vec_text' if the first line
  is a `count dim` header of two integers, else 'glove'."""
  path = pathlib.Path(path)
  suffixes = [s for s in path.suffixes if s != ".gz"]
  if suffixes and suffixes[-1] == ".bin":
    return "word2vec_binary"
  with _open_binary(path) as f:
    first = f.readline(1 << 16)
  fields = first.split()
  if len(fields) == 2 and all(re.fullmatch(rb"\d+", x) for x in fields):
    return "word2vec_text"
  return "glove"


def _parse_header(line: bytes, path: pathlib.Path) -> tuple[int, int]:
  fields = line.split()
  if len(fields) != 2 or not all(re.fullmatch(rb"\d+", x) for x in fields):
    raise VectorFileError(f"{path}:1: a word2vec header must be two integers 'count dim', got "
                          f"{line[:80]!r}")
  count, dim = int(fields[0]), int(fields[1])
  if dim <= 0:
    raise VectorFileError(f"{path}:1: the header gives dimension {dim}, expected > 0")
  return count, dim


def _check_dim(found: int, dim: int | None, where: str) -> None:
  if dim is not None and found != dim:
    raise DimensionMismatchError(f"{where}: the vectors have dimension {found}, expected {dim}")


def _finite(vector: np.ndarray, where: str) -> np.ndarray:
  if not np.all(np.isfinite(vector)):
    raise VectorFileError(f"{where}: the vector holds a NaN or infinite value")
  return vector


def _read_text(path: pathlib.Path, header: bool, dim: int | None, keep: Callable[[str], bool],
               encoding: str) -> WordVectors:
  words, rows, lines_of = [], [], {}
  count = file_dim = None
  lineno = 0
  with _open_binary(path) as f:
    if header:
      lineno = 1
      count, file_dim = _parse_header(f.readline(), path)
      _check_dim(file_dim, dim, f"{path}:1")
    entries = 0
    for raw in f:
      lineno += 1
      where = f"{path}:{lineno}"
      try:
        line = raw.decode(encoding)
      except UnicodeDecodeError as e:
        raise VectorFileError(f"{where}: not valid {encoding} ({e.reason} at byte {e.start})"
                              ) from None
      line = line.rstrip("\r\n")
      if not line.strip():
        raise VectorFileError(f"{where}: empty line")
      fields = line.rstrip(" ").split(" ")
      if file_dim is None:  # GloVe: the first line fixes the dimension
        if len(fields) == 2 and all(f.isdigit() for f in fields):
          raise VectorFileError(f"{where}: {line!r} looks like a word2vec header 'count dim', "
                                "not a GloVe line: use format='word2vec_text' (or 'auto')")
        file_dim = len(fields) - 1
        if file_dim < 1:
          raise VectorFileError(f"{where}: expected a word and its values, got {line[:80]!r}")
        _check_dim(file_dim, dim, where)
      if len(fields) != file_dim + 1:
        raise VectorFileError(
            f"{where}: {len(fields) - 1} values after the word {fields[0]!r}, expected "
            f"{file_dim} (a dimension mismatch, or a word containing a space)")
      entries += 1
      word = fields[0]
      if not word:
        raise VectorFileError(f"{where}: the line starts with a space (empty word)")
      if word in lines_of:
        raise VectorFileError(f"{where}: duplicate word {word!r} (first on line "
                              f"{lines_of[word]})")
      lines_of[word] = lineno
      if not keep(word):
        continue
      try:
        vector = np.asarray(fields[1:], dtype=np.float32)
      except ValueError:
        bad = next(x for x in fields[1:] if not _is_float(x))
        raise VectorFileError(f"{where}: value {bad!r} of the word {word!r} is not a number"
                              ) from None
      words.append(word)
      rows.append(_finite(vector, where))
  if file_dim is None:
    raise VectorFileError(f"{path}: no vectors in the file")
  if count is not None and entries != count:
    raise VectorFileError(f"{path}: the header announces {count} words, the file holds "
                          f"{entries}")
  matrix = np.stack(rows) if rows else np.zeros((0, file_dim), np.float32)
  return WordVectors(tuple(words), matrix)


def _is_float(x: str) -> bool:
  try:
    float(x)
    return True
  except ValueError:
    return False


def _read_binary(path: pathlib.Path, dim: int | None, keep: Callable[[str], bool],
                 encoding: str) -> WordVectors:
  with _open_binary(path) as f:
    if path.suffix == ".gz":
      buf = f.read()
    else:
      size = os.fstat(f.fileno()).st_size
      buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
  try:
    end = buf.find(b"\n")
    if end < 0:
      raise VectorFileError(f"{path}:1: no header line 'count dim'")
    count, file_dim = _parse_header(bytes(buf[:end]), path)
    _check_dim(file_dim, dim, f"{path}:1")
    nbytes = 4 * file_dim
    words, rows, entry_of = [], [], {}
    pos = end + 1
    for i in range(count):
      where = f"{path}: entry {i + 1} of {count} (byte {pos})"
      while pos < len(buf) and buf[pos:pos + 1] == b"\n":  # the C tool ends each vector with \n
        pos += 1
      space = buf.find(b" ", pos, pos + (1 << 16))
      if space < 0:
        raise VectorFileError(f"{where}: truncated file or malformed entry (no space ends the "
                              "word)")
      try:
        word = bytes(buf[pos:space]).decode(encoding)
      except UnicodeDecodeError as e:
        raise VectorFileError(f"{where}: the word is not valid {encoding} ({e.reason})") from None
      if not word or any(c.isspace() for c in word):
        raise VectorFileError(f"{where}: malformed word {word!r}")
      if space + 1 + nbytes > len(buf):
        raise VectorFileError(f"{where}: truncated file: the vector of {word!r} needs {nbytes} "
                              f"bytes, {len(buf) - space - 1} are left")
      if word in entry_of:
        raise VectorFileError(f"{where}: duplicate word {word!r} (first at entry "
                              f"{entry_of[word]})")
      entry_of[word] = i + 1
      if keep(word):
        vector = np.frombuffer(buf, dtype="<f4", count=file_dim, offset=space + 1).copy()
        words.append(word)
        rows.append(_finite(vector, where))
      pos = space + 1 + nbytes
    rest = bytes(buf[pos:pos + 64])
    if rest.strip():
      raise VectorFileError(f"{path}: bytes left after the {count} words the header announces "
                            f"(at byte {pos}: {rest[:20]!r})")
  finally:
    if isinstance(buf, mmap.mmap):
      buf.close()
  matrix = np.stack(rows) if rows else np.zeros((0, file_dim), np.float32)
  return WordVectors(tuple(words), matrix.astype(np.float32))


def load_vectors(path: str | os.PathLike, format: str = "auto", *,  # pylint: disable=redefined-builtin
                 dim: int | None = None, words: Iterable[str] | None = None,
                 encoding: str = "utf-8") -> WordVectors:
  """Reads a GloVe or word2vec file (optionally gzipped, `.gz`).

  Args:
    path: the file.
    format: 'glove' (no header), 'word2vec_text', 'word2vec_binary', or 'auto' (`detect_format`).
    dim: the expected dimension (None: whatever the file has). A file of another dimension raises.
    words: keep only these words (the rest are still checked for their shape, not parsed): saves
      memory for large files.
    encoding: of the words (and of the text formats' lines).
  Returns:
    WordVectors, in file order.
  Raises:
    FileNotFoundError: no such file. VectorFileError: a malformed line or entry (naming it), a
    dimension differing from the first line's, the header's or `dim`, a duplicate word, a value
    that is not a finite number, or a word count differing from the header's.
  """
  path = pathlib.Path(path)
  if format not in FORMATS:
    raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
  if not path.is_file():
    raise FileNotFoundError(f"no word-vector file {path}")
  if dim is not None:
    validation.check_positive_int("dim", dim)
  wanted = None if words is None else frozenset(words)
  keep = (lambda w: True) if wanted is None else wanted.__contains__
  if format == "auto":
    format = detect_format(path)
  if format == "word2vec_binary":
    return _read_binary(path, dim, keep, encoding)
  return _read_text(path, format == "word2vec_text", dim, keep, encoding)


def save_vectors(vectors: WordVectors, path: str | os.PathLike,
                 format: str = "word2vec_binary") -> pathlib.Path:  # pylint: disable=redefined-builtin
  """Writes `vectors` as 'word2vec_binary' (exact), 'word2vec_text' or 'glove' (9 significant
  digits: float32 values read back exactly). Written to a temporary file, then renamed."""
  if format not in FORMATS[1:]:
    raise ValueError(f"format must be one of {FORMATS[1:]}, got {format!r}")
  for w in vectors.words:
    if not w or any(c.isspace() for c in w):
      raise ValueError(f"word {w!r} cannot be written: words must be non-empty, without spaces")
  path = pathlib.Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
  with open(tmp, "wb") as f:
    if format != "glove":
      f.write(f"{len(vectors)} {vectors.dim}\n".encode())
    if format == "word2vec_binary":
      for word, row in zip(vectors.words, vectors.vectors):
        f.write(word.encode("utf-8") + b" " + row.astype("<f4").tobytes() + b"\n")
    else:
      buf = io.StringIO()
      for word, row in zip(vectors.words, vectors.vectors):
        buf.write(word + " " + " ".join(f"{x:.9g}" for x in row.tolist()) + "\n")
      f.write(buf.getvalue().encode("utf-8"))
  os.replace(tmp, path)
  return path


# ----------------------------------------------------------------------------- the IMDB corpus


_IMDB_TRAIN_MEMBER = re.compile(r"aclImdb/train/(pos|neg|unsup)/((\d+)_(\d+)\.txt)")
_SPLIT_DIRS = {"train": ("train/neg", "train/pos"), "unsup": ("train/unsup",)}


def read_imdb_texts(archive: str | os.PathLike, splits: Sequence[str] = IMDB_SPLITS, *,
                    verify: bool = True) -> list[str]:
  """The raw review texts of the IMDB `splits` ('train': the 25,000 labelled training reviews,
  'unsup': the 50,000 unlabelled ones) from an aclImdb archive (.tar.xz or .tar.gz).

  Only members under aclImdb/train/ are extracted: the test reviews are never read. Order:
  train/neg, train/pos, train/unsup, each by review id (independent of the archive's member
  order). verify: check each directory's content digest (`files.IMDB_DIR_DIGESTS`).
  """
  splits = tuple(splits)
  if not splits or any(s not in _SPLIT_DIRS for s in splits) or len(set(splits)) != len(splits):
    raise ValueError(f"splits must be distinct entries of {tuple(_SPLIT_DIRS)}, got {splits!r}")
  wanted = [d for s in splits for d in _SPLIT_DIRS[s]]
  found: dict[str, list[tuple[int, str, bytes]]] = {d: [] for d in wanted}
  with tarfile.open(archive, "r:*") as tar:
    for member in tar:
      match = _IMDB_TRAIN_MEMBER.fullmatch(member.name)
      if not (match and member.isfile()):
        continue
      directory = f"train/{match.group(1)}"
      if directory in found:
        found[directory].append((int(match.group(3)), match.group(2),
                                 tar.extractfile(member).read()))
  texts = []
  for directory in wanted:
    entries = found[directory]
    if not entries:
      raise files.DataFileError(f"{archive}: no reviews under aclImdb/{directory}/")
    if verify:
      files.check_content_digest(archive, directory, [(name, data) for _, name, data in entries],
                                 files.IMDB_DIR_DIGESTS[directory])
    for _, name, data in sorted(entries):
      try:
        texts.append(data.decode("utf-8"))
      except UnicodeDecodeError as e:
        raise files.DataFileError(f"{archive}: aclImdb/{directory}/{name} is not valid UTF-8 "
                                  f"({e.reason})") from None
  return texts


def tokenize_corpus(texts: Iterable[str], *, pretokenized: bool = False) -> list[list[str]]:
  """`text.tokenize` of each text (the classification pipelines' tokenizer, lower-cased), cut
  into chunks of at most MAX_SENTENCE_TOKENS tokens (word2vec's sentence limit); empty texts are
  dropped. Equal tokens share one string object (sys.intern), to keep a 20M-token corpus small."""
  out = []
  intern = sys.intern
  for t in texts:
    tokens = [intern(w) for w in text_lib.tokenize(t, pretokenized=pretokenized)]
    for start in range(0, len(tokens), MAX_SENTENCE_TOKENS):
      out.append(tokens[start:start + MAX_SENTENCE_TOKENS])
  return out


# ----------------------------------------------------------------------------- word2vec


class Word2VecSettings(NamedTuple):
  """gensim Word2Vec settings (Mikolov et al., 2013). sg=1: skip-gram (0: CBOW); negative:
  negative samples; sample: the frequent-word downsampling threshold; min_count: words seen
  fewer times get no vector."""
  dim: int = 100
  sg: int = 1
  window: int = 5
  min_count: int = 5
  negative: int = 5
  sample: float = 1e-3
  alpha: float = 0.025
  min_alpha: float = 1e-4
  epochs: int = 5
  seed: int = 0


def _stable_hash(text: str) -> int:
  """A hash independent of PYTHONHASHSEED, for gensim's `hashfxn`."""
  return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little")


def train_word2vec(sentences: Sequence[Sequence[str]],
                   settings: Word2VecSettings = Word2VecSettings()) -> WordVectors:
  """Trains word2vec on `sentences` (lists of tokens; each at most MAX_SENTENCE_TOKENS long).

  Deterministic: one worker thread, `settings.seed`, and a PYTHONHASHSEED-independent hash give
  the same vectors on every run of the same gensim version. Returns the vectors of the words seen
  at least `min_count` times, most frequent first.
  """
  from gensim.models import word2vec  # pylint: disable=g-import-not-at-top
  for name in ("dim", "window", "min_count", "epochs", "negative"):
    validation.check_positive_int(f"settings.{name}", getattr(settings, name))
  validation.check_nonneg_int("settings.seed", settings.seed)
  if settings.sg not in (0, 1):
    raise ValueError(f"settings.sg must be 0 (CBOW) or 1 (skip-gram), got {settings.sg!r}")
  if not isinstance(sentences, Sequence):
    raise TypeError("sentences must be a sequence (word2vec reads it once per epoch)")
  longest = max((len(s) for s in sentences), default=0)
  if longest > MAX_SENTENCE_TOKENS:
    raise ValueError(f"a sentence has {longest} tokens; gensim truncates sentences longer than "
                     f"{MAX_SENTENCE_TOKENS} (cut them with tokenize_corpus)")
  model = word2vec.Word2Vec(
      vector_size=settings.dim, sg=settings.sg, window=settings.window,
      min_count=settings.min_count, negative=settings.negative, hs=0, sample=settings.sample,
      alpha=settings.alpha, min_alpha=settings.min_alpha, epochs=settings.epochs,
      seed=settings.seed, workers=1, hashfxn=_stable_hash, sorted_vocab=1)
  model.build_vocab(sentences)
  if len(model.wv) == 0:
    raise ValueError(f"no word occurs min_count={settings.min_count} times in the corpus")
  model.train(sentences, total_examples=model.corpus_count, total_words=model.corpus_total_words,
              epochs=model.epochs)
  return WordVectors(tuple(model.wv.index_to_key), np.asarray(model.wv.vectors, np.float32))


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
  """Where trained vectors are cached: cache_dir, $SKIPJAX_VECTORS_DIR, or <repo>/.cache/vectors."""
  if cache_dir is None:
    cache_dir = os.environ.get(ENV_VECTORS_DIR) or DEFAULT_CACHE_DIR
  return pathlib.Path(cache_dir).expanduser().resolve()


def _gensim_version() -> str:
  from importlib import metadata  # pylint: disable=g-import-not-at-top
  try:
    return metadata.version("gensim")
  except metadata.PackageNotFoundError:
    return "not installed"


def cache_key(archive_sha256: str, splits: Sequence[str], settings: Word2VecSettings) -> str:
  """sha256 of the inputs (archive digest, splits, corpus version, gensim version) and settings."""
  payload = {"archive_sha256": archive_sha256, "splits": list(splits),
             "corpus": CORPUS_VERSION, "gensim": _gensim_version(),
             "settings": settings._asdict()}
  return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


class CachedVectors(NamedTuple):
  vectors: WordVectors
  path: pathlib.Path   # the cached word2vec binary file
  meta: dict[str, Any]  # what trained it (settings, digests, corpus size, time)
  trained: bool        # False: read from the cache


def imdb_word2vec(settings: Word2VecSettings = Word2VecSettings(), *,
                  data_dir: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  archive: str | os.PathLike | None = None,
                  splits: Sequence[str] = IMDB_SPLITS, verify: bool = True,
                  log: Callable[[str], None] | None = None) -> CachedVectors:
  """word2vec trained on the IMDB train (+ unsup) reviews, read from the cache when present.

  Args:
    settings: word2vec settings (`dim` must match the embedding it initialises).
    data_dir: holds imdb/aclImdb_v1_rebuilt.tar.xz (or the original .tar.gz), checked against its
      sha256 (default $SKIPJAX_DATA_DIR or <repo>/../shared/data).
    cache_dir: see `resolve_cache_dir`. The file is word2vec_imdb_<dim>d_<key[:16]>.bin, key =
      `cache_key(...)`, with a .json of its settings, input digests and corpus size beside it.
    archive: an aclImdb archive to use instead of the data dir's (not checked against the
      registered digest; its own sha256 still keys the cache).
    splits: 'train' and/or 'unsup' (never 'test').
    verify: check the content digest of each directory read (needs the genuine dataset).
    log: called with progress messages (default: print to stderr).
  """
  log = log or (lambda m: print(m, file=sys.stderr, flush=True))
  splits = tuple(splits)
  if archive is None:
    archive = files.find_file("imdb", "archive", data_dir)
  archive = pathlib.Path(archive)
  if not archive.is_file():
    raise files.DataFileError(f"missing IMDB archive {archive}")
  digest = files.file_digest(archive, "sha256")
  key = cache_key(digest, splits, settings)
  root = resolve_cache_dir(cache_dir)
  path = root / f"{IMDB_WORD2VEC}_{settings.dim}d_{key[:16]}.bin"
  meta_path = path.with_suffix(".json")
  if path.is_file() and meta_path.is_file():
    meta = json.loads(meta_path.read_text())
    return CachedVectors(load_vectors(path, "word2vec_binary", dim=settings.dim), path, meta,
                         False)
  log(f"word2vec: training on IMDB {'+'.join(splits)} from {archive} (cache miss: {path}); "
      "about 15 min for 5 epochs of 100-d skip-gram (one worker, for determinism; 939 s "
      "measured on one core of a 2-core machine)")
  start = time.perf_counter()
  sentences = tokenize_corpus(read_imdb_texts(archive, splits, verify=verify))
  read_seconds = time.perf_counter() - start
  vectors = train_word2vec(sentences, settings)
  meta = {"name": IMDB_WORD2VEC, "key": key, "archive": str(archive), "archive_sha256": digest,
          "splits": list(splits), "corpus": CORPUS_VERSION, "gensim": _gensim_version(),
          "settings": settings._asdict(), "sentences": len(sentences),
          "tokens": int(sum(len(s) for s in sentences)), "words": len(vectors),
          "read_seconds": round(read_seconds, 1),
          "train_seconds": round(time.perf_counter() - start - read_seconds, 1)}
  save_vectors(vectors, path, "word2vec_binary")
  tmp = meta_path.with_name(f".{meta_path.name}.{os.getpid()}.tmp")
  tmp.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
  os.replace(tmp, meta_path)
  log(f"word2vec: {len(vectors):,} words x {settings.dim} from {meta['tokens']:,} tokens in "
      f"{meta['read_seconds'] + meta['train_seconds']:.0f} s -> {path}")
  return CachedVectors(vectors, path, meta, True)


def resolve_pretrained(name_or_path: str, *, dim: int, format: str = "auto",  # pylint: disable=redefined-builtin
                       data_dir: str | os.PathLike | None = None,
                       cache_dir: str | os.PathLike | None = None,
                       words: Iterable[str] | None = None) -> WordVectors:
  """The vectors a config names: 'word2vec_imdb' (`imdb_word2vec` with dimension `dim`, default
  settings otherwise) or the path of a GloVe / word2vec file (`load_vectors(..., dim=dim)`)."""
  if not isinstance(name_or_path, str) or not name_or_path:
    raise ValueError(f"pretrained vectors must be {IMDB_WORD2VEC!r} or a file path, got "
                     f"{name_or_path!r}")
  if name_or_path == IMDB_WORD2VEC:
    if format != "auto":
      raise ValueError(f"format={format!r} applies to vector files, not to {IMDB_WORD2VEC!r}")
    return imdb_word2vec(Word2VecSettings(dim=dim), data_dir=data_dir,
                         cache_dir=cache_dir).vectors
  path = pathlib.Path(name_or_path).expanduser()
  if not path.is_file():
    raise FileNotFoundError(f"pretrained vectors {name_or_path!r}: no such file (give "
                            f"{IMDB_WORD2VEC!r} or the path of a GloVe / word2vec file)")
  return load_vectors(path, format, dim=dim, words=words)


# ----------------------------------------------------------------------------- embedding tables


class Coverage(NamedTuple):
  """found of total vocabulary words (specials excluded) have a vector; missing: the first few
  words without one, in vocabulary order (most frequent first)."""
  found: int
  total: int
  missing: tuple[str, ...]

  @property
  def fraction(self) -> float:
    return self.found / self.total if self.total else 0.0

  def describe(self) -> str:
    example = f"; missing e.g. {list(self.missing[:5])}" if self.missing else ""
    return (f"{self.found:,} of {self.total:,} vocabulary words ({100 * self.fraction:.1f}%) "
            f"have a pretrained vector{example}")


def embedding_matrix(vectors: WordVectors, vocab: text_lib.Vocab | Sequence[str],
                     init: np.ndarray, *, num_missing: int = 20) -> tuple[np.ndarray, Coverage]:
  """The embedding table [V, E] of `vocab` initialised from `vectors`.

  Row i is the vector of vocab token i where the vectors have that word, else row i of `init`
  (the model's own initial table, [V, E]); the pad and unk rows always keep `init` (pretrained
  sets have no such tokens). Returns (table in init's dtype, Coverage).

  Raises ValueError if `init` is not [len(vocab), vectors.dim].
  """
  tokens = list(vocab.tokens if isinstance(vocab, text_lib.Vocab) else vocab)
  specials = ({vocab.pad, vocab.unk} - {None}) if isinstance(vocab, text_lib.Vocab) else set()
  init = np.asarray(init)
  if init.ndim != 2 or init.shape[0] != len(tokens):
    raise ValueError(f"init must be the [vocab size {len(tokens)}, E] embedding table, got "
                     f"shape {init.shape}")
  if init.shape[1] != vectors.dim:
    raise ValueError(f"the embedding has dimension {init.shape[1]} but the pretrained vectors "
                     f"have {vectors.dim}")
  table = np.array(init, copy=True)
  rows, sources, missing, total = [], [], [], 0
  index = vectors.index
  for i, token in enumerate(tokens):
    if token in specials:
      continue
    total += 1
    j = index.get(token)
    if j is None:
      if len(missing) < num_missing:
        missing.append(token)
    else:
      rows.append(i)
      sources.append(j)
  if rows:
    table[np.asarray(rows)] = vectors.vectors[np.asarray(sources)].astype(table.dtype)
  return table, Coverage(len(rows), total, tuple(missing))


# ----------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
  """`python -m skipjax.data vectors`: trains (or reads from the cache) the IMDB word2vec and
  prints the time, its vocabulary size and the coverage of the IMDB training vocabulary."""
  defaults = Word2VecSettings()
  from skipjax import cli  # pylint: disable=g-import-not-at-top
  parser = cli.ArgumentParser(
      prog="python -m skipjax.data vectors",
      description="Prepare the IMDB word2vec vectors (train + unsup reviews, never test). A "
      "run with config.net.pretrained_embedding=word2vec_imdb uses the default settings below "
      "with --dim = config.net.embed_dim: prepare those (other settings are cached apart).")
  parser.add_argument("--data_dir", default=None, help=f"raw files (default "
                      f"${files.ENV_DATA_DIR} or <repo>/../shared/data)")
  parser.add_argument("--cache_dir", default=None, help=f"vector cache (default "
                      f"${ENV_VECTORS_DIR} or <repo>/.cache/vectors)")
  for field, value in defaults._asdict().items():
    parser.add_argument(f"--{field}", type=type(value), default=value,
                        help=f"word2vec setting (default {value})")
  parser.add_argument("--splits", default=",".join(IMDB_SPLITS),
                      help="IMDB splits to train on: train,unsup (default) or train")
  parser.add_argument("--max_vocab_size", type=int, default=30000,
                      help="coverage is reported for the IMDB training vocabulary of this size "
                      "(the *_imdb configs' 30000; 0: the whole vocabulary)")
  args = parser.parse_args(argv)
  settings = Word2VecSettings(**{f: getattr(args, f) for f in defaults._fields})
  splits = tuple(s for s in args.splits.split(",") if s)
  start = time.perf_counter()
  try:
    cached = imdb_word2vec(settings, data_dir=args.data_dir, cache_dir=args.cache_dir,
                           splits=splits)
  except (files.DataFileError, VectorFileError, ValueError) as e:
    cli.fatal(f"python -m skipjax.data vectors: {e}")
  seconds = time.perf_counter() - start
  source = "trained" if cached.trained else "read from the cache"
  print(f"{IMDB_WORD2VEC}: {len(cached.vectors):,} words x {cached.vectors.dim} ({source} in "
        f"{seconds:.1f} s; training took {cached.meta.get('train_seconds')} s on "
        f"{cached.meta.get('tokens'):,} tokens) -> {cached.path}", flush=True)
  archive = files.find_file("imdb", "archive", args.data_dir)
  train_tokens = tokenize_corpus(read_imdb_texts(archive, ("train",)))
  vocab = text_lib.Vocab.build(train_tokens, max_size=args.max_vocab_size or None)
  _, coverage = embedding_matrix(cached.vectors, vocab,
                                 np.zeros((len(vocab), cached.vectors.dim), np.float32))
  print(f"IMDB training vocabulary (max_vocab_size={args.max_vocab_size or None}, "
        f"{len(vocab):,} entries): {coverage.describe()}", flush=True)
  return 0


if __name__ == "__main__":
  sys.exit(main())
