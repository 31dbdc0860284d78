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
- `load_vectors` (`skipjax.data.vector_files`, re-exported here) reads the vectors a user brings:
  GloVe text, word2vec text and word2vec binary files; a malformed line, a dimension mismatch, a
  duplicate word or a truncated file raises a `VectorFileError` naming the file and the line.
- `embedding_matrix(vectors, vocab, init)` is the model's initial table `init` [V, E] with the
  rows of the words found in the vectors replaced, and the coverage.

CLI (prints time, vocabulary size and the coverage of the IMDB training vocabulary):

    python -m skipjax.data vectors [--data_dir DIR] [--cache_dir DIR] [--dim 100] [--epochs 5]

This module imports gensim only inside `train_word2vec`.
"""

from __future__ import annotations

import hashlib
import json
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
# The file formats, re-exported (`vectors.load_vectors`, `vectors.WordVectors`, ...).
from skipjax.data.vector_files import FORMATS as FORMATS
from skipjax.data.vector_files import DimensionMismatchError as DimensionMismatchError
from skipjax.data.vector_files import VectorFileError as VectorFileError
from skipjax.data.vector_files import WordVectors as WordVectors
from skipjax.data.vector_files import detect_format as detect_format
from skipjax.data.vector_files import load_vectors as load_vectors
from skipjax.data.vector_files import save_vectors as save_vectors

ENV_VECTORS_DIR = "SKIPJAX_VECTORS_DIR"
DEFAULT_CACHE_DIR = files.cache_root() / "vectors"  # <repo>/.cache/vectors in a checkout

IMDB_WORD2VEC = "word2vec_imdb"  # the name `resolve_pretrained` knows besides file paths
IMDB_SPLITS = ("train", "unsup")
# Bumped whenever the corpus a given archive gives changes (tokenizer, member order, chunking).
CORPUS_VERSION = "imdb-train-unsup/tokenize-v1/chunk-10000"
# gensim's Cython loop silently truncates sentences longer than this (MAX_WORDS_IN_BATCH): longer
# documents are cut into consecutive chunks of at most this many tokens instead.
MAX_SENTENCE_TOKENS = 10000


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
