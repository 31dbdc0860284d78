"""Word-vector files: `WordVectors`, and readers / writers of the GloVe and word2vec formats.

`load_vectors` reads the vectors a user brings: GloVe text (`word v1 .. vE` per line, no header),
word2vec text (a `count dim` header line, then GloVe-like lines) and word2vec binary (the header,
then per word `word<space>` and dim little-endian float32, optionally followed by a newline), any
of them gzipped. A malformed line, a dimension mismatch, a duplicate word or a truncated file
raises a `VectorFileError` naming the file and the line (binary: the entry and byte offset).
`save_vectors` writes the same formats. `skipjax.data.vectors` builds on these (the IMDB word2vec
and embedding tables) and re-exports them.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import io
import mmap
import os
import pathlib
import re
from typing import Callable, Iterable

import numpy as np

from skipjax import validation

FORMATS = ("auto", "glove", "word2vec_text", "word2vec_binary")


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
