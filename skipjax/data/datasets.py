"""One entry point for the real datasets: `load(name, split, ...) -> (arrays, info)`.

Every dataset goes through tfds (`skipjax.data.tfds_source`: prepared once, as tfrecords under
`cache_dir`, from the raw files of the data dir checked against their SOURCE.md digests, or
from tfds's catalog), then each split is read once into in-memory numpy arrays (the datasets
are small), tokenised and encoded here, and served by `skipjax.data.batches`.

Names and splits (validation is spelled 'validation'; 'dev' and 'valid' are accepted too; tfds
slices such as 'train[:55000]' work):
- imdb (train/test), rotten_tomatoes (train/validation/test: a fixed seeded 80/10/10 split, see
  `builders.rotten_tomatoes_split`), sst2_glue (train/validation/test; test labels are -1),
  sst2_trees (binary SST from the trees, neutral dropped), sst5 (5-class SST sentences),
  ag_news (test only offline; train needs the original train.csv), mnist and pmnist
  (train/test), ptb (train/validation/test), conll2003 (train/validation = testa, test = testb).

tensorflow_datasets is imported only inside functions (`tfds_import.import_tfds`), quietly:
TensorFlow without its oneDNN banner and INFO lines, tfds without progress bars when stderr is
not a terminal (a log file).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Sequence

import numpy as np

from skipjax import validation
from skipjax.data import files
from skipjax.data import tfds_source
from skipjax.data import text as text_lib

ENV_TFDS_DIR = tfds_source.ENV_TFDS_DIR
CLASSIFICATION = tfds_source.CLASSIFICATION
NAMES = tfds_source.NAMES
resolve_cache_dir = tfds_source.resolve_cache_dir
load_examples = tfds_source.load_examples

# Whether each dataset's text is tokenised already.
_PRETOKENIZED = {"imdb": False, "ag_news": False, "rotten_tomatoes": True, "sst2_glue": True,
                 "sst2_trees": True, "sst5": True, "ptb": True, "conll2003": True}
PMNIST_SEED = 0
MNIST_PIXELS = 784
PTB_EOS = "<eos>"


@dataclasses.dataclass
class DatasetInfo:
  """What a model needs to know about a loaded split.

  num_classes: classes (tags for conll2003; None for ptb). label_names: their names.
  vocab: the word vocabulary (built on the train split) or None (mnist). split_sizes: examples
  per split of the prepared dataset (sentences/lines for conll2003/ptb). label_counts: examples
  per class in this split (tags per class for conll2003). extras: raw data kept for evaluation
  (conll2003: 'tags' and 'tokens', lists of per-sentence lists of str, for conlleval; with
  char_len also 'char_vocab_size', the size of the character vocabulary behind 'chars').
  """
  name: str
  split: str
  num_examples: int
  num_classes: int | None
  label_names: list[str] | None
  vocab: text_lib.Vocab | None
  split_sizes: dict[str, int]
  label_counts: np.ndarray | None
  max_len: int | None
  source: str
  extras: dict[str, Any] = dataclasses.field(default_factory=dict)

  @property
  def vocab_size(self) -> int | None:
    return None if self.vocab is None else len(self.vocab)


_vocab_memo: dict[tuple, text_lib.Vocab] = {}  # train vocabularies built so far


# ----- tokenised arrays -----

def _sst_binary(texts: list[str], labels: np.ndarray) -> tuple[list[str], np.ndarray]:
  """SST-2 from the 5-class trees: drop neutral (2), {0, 1} -> 0, {3, 4} -> 1."""
  keep = labels != 2
  return [t for t, k in zip(texts, keep) if k], (labels[keep] > 2).astype(np.int32)


def _text_label(name: str, split: str, data_dir, cache_dir, source):
  base = "sst5" if name == "sst2_trees" else name
  examples, sizes, used = tfds_source.split_examples(base, split, data_dir, cache_dir, source)
  texts, labels = examples["text"], np.asarray(examples["label"], np.int32)
  if name == "sst2_trees":
    texts, labels = _sst_binary(texts, labels)
  return texts, labels, sizes, used


def _tokens(name: str, texts: list[str]) -> list[list[str]]:
  return [text_lib.tokenize(t, pretokenized=_PRETOKENIZED[name]) for t in texts]


def encode_texts(name: str, texts: Sequence[str], vocab: text_lib.Vocab, *,
                 max_len: int | None = None, keep: str = "first") -> dict[str, np.ndarray]:
  """New raw texts as `load` prepares a text-classification split (for prediction).

  Tokenised as dataset `name` is (IMDB/AG News: words and punctuation, HTML breaks removed;
  Rotten Tomatoes/SST: whitespace), lower-cased, mapped through `vocab` (unknown words -> unk)
  and cropped/padded to `max_len` keeping the first or last tokens. Returns 'inputs' [N, T]
  int32, 'lengths' [N] and 'original_lengths' [N] (before cropping).
  """
  name = tfds_source.check_name(name)
  if name not in CLASSIFICATION:
    raise ValueError(f"encode_texts: dataset {name!r} is not a text-classification dataset "
                     f"(one of {sorted(CLASSIFICATION)})")
  if isinstance(texts, str):
    raise TypeError("encode_texts: texts must be a sequence of strings, got one string")
  for i, t in enumerate(texts):
    if not isinstance(t, str):
      raise TypeError(f"encode_texts: texts[{i}] is a {type(t).__name__}, not a string")
  if max_len is not None:
    validation.check_positive_int("max_len", max_len)
  ids, lengths, original = text_lib.pad_or_crop([vocab.encode(t) for t in _tokens(name, texts)],
                                                max_len, pad_id=0, keep=keep)
  return {"inputs": ids, "lengths": lengths, "original_lengths": original}


def _train_vocab(name: str, data_dir, cache_dir, source, min_freq, max_vocab_size,
                 train_tokens=None):
  key = (name, str(data_dir), str(cache_dir), source, min_freq, max_vocab_size)
  if key in _vocab_memo:
    return _vocab_memo[key]
  if name == "ag_news" and not files.has_file("ag_news", "train", data_dir) and \
      tfds_source.choose_source(name, source, data_dir, cache_dir) == "local":
    raise ValueError("AG News: the vocabulary is built on the train split, which is not "
                     "available here (shared/data has the test split only). Pass vocab= (a "
                     "skipjax.data.Vocab or a JSON path saved by Vocab.save) to load the test "
                     "split.")
  if name == "ptb":
    examples, _, _ = tfds_source.split_examples("ptb", "train", data_dir, cache_dir, source)
    vocab = text_lib.Vocab.build((line.split() for line in examples["text"]), pad=None,
                                 unk=text_lib.UNK, extra=(PTB_EOS,), min_freq=min_freq,
                                 max_size=max_vocab_size)
  elif name == "conll2003":
    examples, _, _ = tfds_source.split_examples("conll2003", "train", data_dir, cache_dir, source)
    vocab = text_lib.Vocab.build(
        ([w.lower() for w in _conll_tokens(s)] for s in examples["tokens"]),
        min_freq=min_freq, max_size=max_vocab_size)
  else:
    if train_tokens is None:
      texts, _, _, _ = _text_label(name, "train", data_dir, cache_dir, source)
      train_tokens = _tokens(name, texts)
    vocab = text_lib.Vocab.build(train_tokens, min_freq=min_freq, max_size=max_vocab_size)
  _vocab_memo[key] = vocab
  return vocab


def _conll_tokens(sentence: str | list[str]) -> list[str]:
  return sentence.split(" ") if isinstance(sentence, str) else list(sentence)


def _resolve_vocab(vocab, name, data_dir, cache_dir, source, min_freq, max_vocab_size):
  if vocab is None:
    return _train_vocab(name, data_dir, cache_dir, source, min_freq, max_vocab_size)
  if isinstance(vocab, text_lib.Vocab):
    return vocab
  if isinstance(vocab, (str, os.PathLike)):
    return text_lib.Vocab.load(vocab)
  raise TypeError(f"vocab must be None, a Vocab or a JSON path, got {type(vocab).__name__}")


def load(name: str, split: str, *, data_dir: str | os.PathLike | None = None,
         cache_dir: str | os.PathLike | None = None, max_len: int | None = None,
         vocab: text_lib.Vocab | str | os.PathLike | None = None, min_freq: int = 1,
         max_vocab_size: int | None = None, keep: str = "first", source: str = "auto",
         permutation_seed: int = PMNIST_SEED, char_len: int | None = None,
         pixel_dtype: Any = np.float32) -> tuple[dict[str, np.ndarray], DatasetInfo]:
  """Loads one split as in-memory numpy arrays, through tfds (see the module docstring).

  Args:
    name: one of NAMES. split: 'train', 'validation' ('dev'), 'test', or a tfds slice.
    data_dir: raw files (default $SKIPJAX_DATA_DIR or <repo>/../shared/data).
    cache_dir: tfds prepared data (default $SKIPJAX_TFDS_DIR, $TFDS_DATA_DIR,
      <repo>/.cache/tfds: `resolve_cache_dir`).
    max_len: crop/pad length T for text (None: the longest in the split); crops keep the first
      T tokens (keep='first') or the last (keep='last'). Ignored by mnist/ptb.
    vocab: None builds the word vocabulary on the train split (lower-cased; words seen fewer than
      min_freq times -> <unk>; at most max_vocab_size entries with PAD=0 and <unk>=1; ptb: the
      10k Mikolov words, no PAD, <eos> ends every line); or a Vocab, or a JSON path.
    source: 'auto', 'local', 'catalog' or 'arrays' (`skipjax.data.tfds_source`).
    permutation_seed: pmnist's fixed pixel permutation,
      np.random.RandomState(seed).permutation(784).
    char_len: conll2003 only: also return 'chars' [N, T, char_len] int32 character ids
      (vocabulary of the train split's characters, PAD=0, <unk>=1, case kept); a word longer
      than char_len raises ValueError (the longest CoNLL-2003 word has 61 characters).
    pixel_dtype: mnist dtype (float32 scaled to [0, 1]; uint8 keeps the raw 0..255 values).

  Returns (arrays, info):
    classification: inputs [N, T] int32, lengths [N] int32 (<= T), original_lengths [N] int32
      (before cropping), labels [N] int32.
    mnist / pmnist: inputs [N, 784, 1] (pixels in raster order; pmnist permuted), lengths [N] =
      784, labels [N] int32.
    ptb: tokens [N] int32, the whole split as one stream with <eos> after every line (batch it
      with `batches(..., bptt=...)`).
    conll2003: inputs [N, T] int32 lower-cased word ids, lengths, original_lengths, labels
      [N, T] int32 tag ids (CONLL_NER_TAGS order; 0 = 'O' also on padding, use lengths), and
      'chars' with char_len; raw tokens and IOB1 tags in info.extras.
  """
  name, split = tfds_source.check_name(name), tfds_source.normalise_split(split)
  validation.check_positive_int("min_freq", min_freq)
  if max_len is not None:
    validation.check_positive_int("max_len", max_len)
  data_dir, cache_dir = files.resolve_data_dir(data_dir), resolve_cache_dir(cache_dir)
  tfds_source.check_available(name, split, data_dir,
                              tfds_source.choose_source(name, source, data_dir, cache_dir))

  if name in ("mnist", "pmnist"):
    return _load_mnist(name, split, data_dir, cache_dir, source, permutation_seed, pixel_dtype)

  if name in CLASSIFICATION:
    texts, labels, sizes, used = _text_label(name, split, data_dir, cache_dir, source)
    tokens = _tokens(name, texts)
    if vocab is None and split == "train":  # reuse this split's tokens for the vocabulary
      vocab = _train_vocab(name, data_dir, cache_dir, source, min_freq, max_vocab_size,
                           train_tokens=tokens)
  vocab = _resolve_vocab(vocab, name, data_dir, cache_dir, source, min_freq, max_vocab_size)
  if name == "ptb":
    examples, sizes, used = tfds_source.split_examples("ptb", split, data_dir, cache_dir, source)
    stream = [w for line in examples["text"] for w in line.split() + [PTB_EOS]]
    tokens = vocab.encode(stream)
    info = DatasetInfo(name, split, len(tokens), None, None, vocab, sizes, None, None, used)
    return {"tokens": tokens}, info
  if name == "conll2003":
    return _load_conll(split, data_dir, cache_dir, source, vocab, max_len, keep, char_len)

  ids, lengths, original = text_lib.pad_or_crop(
      [vocab.encode(t) for t in tokens], max_len, pad_id=0, keep=keep)
  label_names = _label_names(name)
  counts = np.bincount(labels[labels >= 0], minlength=len(label_names))
  if name == "sst2_trees":  # the prepared dataset holds the 5-class trees: count the binary ones
    trees = lambda s: tfds_source.split_examples("sst5", s, data_dir, cache_dir, source)[0]
    sizes = {s: int((np.asarray(trees(s)["label"]) != 2).sum()) for s in sizes}
  info = DatasetInfo(name, split, len(labels), len(label_names), label_names, vocab, sizes,
                     counts, ids.shape[1], used)
  return {"inputs": ids, "lengths": lengths, "original_lengths": original,
          "labels": labels}, info


def _label_names(name: str) -> list[str]:
  return {"imdb": ["neg", "pos"], "rotten_tomatoes": ["neg", "pos"],
          "sst2_glue": ["negative", "positive"], "sst2_trees": ["negative", "positive"],
          "sst5": ["very negative", "negative", "neutral", "positive", "very positive"],
          "ag_news": ["World", "Sports", "Business", "Sci/Tech"]}[name]


def _load_mnist(name, split, data_dir, cache_dir, source, permutation_seed, pixel_dtype):
  examples, sizes, used = tfds_source.split_examples("mnist", split, data_dir, cache_dir, source)
  pixels = examples["image"].reshape(-1, MNIST_PIXELS, 1)
  if name == "pmnist":
    validation.check_nonneg_int("permutation_seed", permutation_seed)
    pixels = pixels[:, pmnist_permutation(permutation_seed)]
  if np.dtype(pixel_dtype) == np.uint8:
    inputs = np.ascontiguousarray(pixels)
  else:
    inputs = pixels.astype(pixel_dtype) / np.asarray(255.0, pixel_dtype)
  labels = examples["label"].astype(np.int32)
  n = len(labels)
  info = DatasetInfo(name, split, n, 10, [str(d) for d in range(10)], None, sizes,
                     np.bincount(labels, minlength=10), MNIST_PIXELS, used)
  return {"inputs": inputs, "lengths": np.full(n, MNIST_PIXELS, np.int32), "labels": labels}, info


def pmnist_permutation(seed: int = PMNIST_SEED) -> np.ndarray:
  """The fixed pixel order of permuted MNIST: np.random.RandomState(seed).permutation(784)."""
  return np.random.RandomState(seed).permutation(MNIST_PIXELS)


def _load_conll(split, data_dir, cache_dir, source, vocab, max_len, keep, char_len):
  from skipjax.data import builders  # pylint: disable=g-import-not-at-top
  examples, sizes, used = tfds_source.split_examples("conll2003", split, data_dir, cache_dir,
                                                     source)
  tokens = [_conll_tokens(s) for s in examples["tokens"]]
  tags = [_conll_tokens(s) for s in examples["ner"]]
  tag_index = {t: i for i, t in enumerate(builders.CONLL_NER_TAGS)}
  unknown = {t for sent in tags for t in sent} - set(tag_index)
  if unknown:
    raise ValueError(f"CoNLL-2003 {split}: unknown NER tags {sorted(unknown)}")
  ids, lengths, original = text_lib.pad_or_crop(
      [vocab.encode([w.lower() for w in sent]) for sent in tokens], max_len, keep=keep)
  tag_ids, _, _ = text_lib.pad_or_crop(
      [np.asarray([tag_index[t] for t in sent], np.int32) for sent in tags], ids.shape[1],
      keep=keep)
  num_tags = len(builders.CONLL_NER_TAGS)
  flat = np.concatenate([np.asarray([tag_index[t] for t in s], np.int32) for s in tags])
  arrays = {"inputs": ids, "lengths": lengths, "original_lengths": original, "labels": tag_ids}
  if char_len is not None:
    validation.check_positive_int("char_len", char_len)
    train, _, _ = tfds_source.split_examples("conll2003", "train", data_dir, cache_dir, source)
    chars = text_lib.Vocab.build(list(w) for s in train["tokens"] for w in _conll_tokens(s))
    arrays["chars"] = _char_ids(tokens, chars, ids.shape[1], char_len, keep)
  extras = {"tokens": tokens, "tags": tags}
  if char_len is not None:
    extras["char_vocab_size"] = len(chars)
  info = DatasetInfo("conll2003", split, len(tokens), num_tags,
                     list(builders.CONLL_NER_TAGS), vocab, sizes,
                     np.bincount(flat, minlength=num_tags), ids.shape[1], used, extras=extras)
  return arrays, info


def _char_ids(sentences, chars, max_len, char_len, keep):
  out = np.zeros((len(sentences), max_len, char_len), np.int32)
  for i, sent in enumerate(sentences):
    words = sent[:max_len] if keep == "first" else sent[max(0, len(sent) - max_len):]
    for j, word in enumerate(words):
      if len(word) > char_len:
        raise ValueError(f"conll2003: the word {word!r} of sentence {i} has {len(word)} "
                         f"characters, more than char_len={char_len}; raise char_len")
      ids = chars.encode(list(word))
      out[i, j, :len(ids)] = ids
  return out


def clear_memo() -> None:
  """Forget the splits and vocabularies read so far in this process."""
  tfds_source.clear_memo()
  _vocab_memo.clear()

