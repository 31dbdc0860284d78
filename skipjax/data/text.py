"""Word-level tokenisation, vocabularies and fixed-length crop/pad (pure Python + numpy).

Conventions: ids are int32; PAD = 0 and OOV = `<unk>` = 1 in classification vocabularies (built
with `Vocab.build`, most frequent first, ties broken alphabetically so the ids never depend on
dict order); a vocabulary is built on the training split only and saved/loaded as JSON.
"""

from __future__ import annotations

import collections
import json
import os
import re
from typing import Iterable, Sequence

import numpy as np

from skipjax import validation

PAD = "<pad>"
UNK = "<unk>"

_HTML_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
# A word: letters/digits with inner apostrophes or hyphens ("don't", "well-made"); otherwise any
# single non-space character (punctuation) is a token of its own.
_WORD = re.compile(r"[^\W_]+(?:['\-][^\W_]+)*|[^\w\s]|_", re.UNICODE)


def tokenize(text: str, *, lower: bool = True, pretokenized: bool = False) -> list[str]:
  """Splits `text` into word tokens.

  pretokenized=True splits on whitespace only (for corpora that ship tokenised: Rotten Tomatoes,
  SST, PTB, CoNLL). Otherwise HTML line breaks (`<br />`, IMDB) become spaces and the text is
  split into words (letters/digits, keeping inner ' and -) and single punctuation marks:
  "Don't stop!<br />OK" -> ["don't", "stop", "!", "ok"].
  """
  if lower:
    text = text.lower()
  if pretokenized:
    return text.split()
  return _WORD.findall(_HTML_BREAK.sub(" ", text))


class Vocab:
  """A word <-> id map. ids: `pad` (if any) is 0, then `unk`, then the words."""

  def __init__(self, tokens: Sequence[str], *, pad: str | None = PAD, unk: str | None = UNK):
    tokens = list(tokens)
    if len(set(tokens)) != len(tokens):
      raise ValueError("vocabulary tokens must be unique")
    if pad is not None and (not tokens or tokens[0] != pad):
      raise ValueError(f"the pad token {pad!r} must come first (id 0)")
    if unk is not None and unk not in tokens:
      raise ValueError(f"the OOV token {unk!r} is not in the vocabulary")
    self.tokens = tokens
    self.pad = pad
    self.unk = unk
    self.index = {t: i for i, t in enumerate(tokens)}
    self.pad_id = 0 if pad is not None else None
    self.unk_id = self.index[unk] if unk is not None else None

  @classmethod
  def build(cls, token_lists: Iterable[Sequence[str]], *, min_freq: int = 1,
            max_size: int | None = None, pad: str | None = PAD, unk: str | None = UNK,
            extra: Sequence[str] = ()) -> "Vocab":
    """Vocabulary of the words seen at least `min_freq` times, most frequent first.

    max_size caps the total size (specials included). Words below the cut-off map to `unk`.
    `extra` tokens (e.g. '<eos>') are counted like words. A word equal to a special is not
    duplicated.
    """
    validation.check_positive_int("min_freq", min_freq)
    counts = collections.Counter()
    for tokens in token_lists:
      counts.update(tokens)
    specials = [t for t in (pad, unk) if t is not None]
    for t in extra:
      counts.setdefault(t, 0)
      counts[t] = max(counts[t], min_freq)
    words = [w for w, c in counts.items() if c >= min_freq and w not in specials]
    words.sort(key=lambda w: (-counts[w], w))
    if max_size is not None:
      validation.check_positive_int("max_size", max_size)
      if max_size < len(specials):
        raise ValueError(f"max_size={max_size} leaves no room for the specials {specials}")
      words = words[:max_size - len(specials)]
    return cls(specials + words, pad=pad, unk=unk)

  def __len__(self) -> int:
    return len(self.tokens)

  def __eq__(self, other: object) -> bool:
    return (isinstance(other, Vocab) and self.tokens == other.tokens and self.pad == other.pad
            and self.unk == other.unk)

  def __repr__(self) -> str:
    return f"Vocab(size={len(self)}, pad={self.pad!r}, unk={self.unk!r})"

  def encode(self, tokens: Sequence[str]) -> np.ndarray:
    """int32 ids [len(tokens)]; unknown words map to unk_id (KeyError if there is no unk)."""
    if self.unk_id is None:
      try:
        return np.asarray([self.index[t] for t in tokens], np.int32)
      except KeyError as e:
        raise KeyError(f"token {e.args[0]!r} is not in the vocabulary and it has no OOV token")
    get, unk = self.index.get, self.unk_id
    return np.asarray([get(t, unk) for t in tokens], np.int32)

  def decode(self, ids: Iterable[int]) -> list[str]:
    return [self.tokens[int(i)] for i in ids]

  def to_json(self) -> str:
    return json.dumps({"tokens": self.tokens, "pad": self.pad, "unk": self.unk})

  @classmethod
  def from_json(cls, text: str) -> "Vocab":
    d = json.loads(text)
    return cls(d["tokens"], pad=d["pad"], unk=d["unk"])

  def save(self, path: str | os.PathLike) -> None:
    with open(path, "w", encoding="utf-8") as f:
      f.write(self.to_json())

  @classmethod
  def load(cls, path: str | os.PathLike) -> "Vocab":
    with open(path, encoding="utf-8") as f:
      return cls.from_json(f.read())


def pad_or_crop(sequences: Sequence[np.ndarray], max_len: int | None = None, *,
                pad_id: int = 0, keep: str = "first") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Packs variable-length id sequences into a fixed [N, T] int32 array, padded at the end.

  max_len None: T = the longest sequence (at least 1). Longer sequences are cropped to T,
  keeping the first T tokens (keep='first') or the last T (keep='last').

  Returns: ids [N, T] int32, lengths [N] int32 (= min(len, T), what a model should read),
  original_lengths [N] int32 (before cropping).
  """
  if keep not in ("first", "last"):
    raise ValueError(f"keep must be 'first' or 'last', got {keep!r}")
  original = np.asarray([len(s) for s in sequences], np.int32)
  if max_len is None:
    max_len = max(1, int(original.max(initial=0)))
  validation.check_positive_int("max_len", max_len)
  ids = np.full((len(sequences), max_len), pad_id, np.int32)
  lengths = np.minimum(original, max_len).astype(np.int32)
  for i, seq in enumerate(sequences):
    n = lengths[i]
    if n:
      ids[i, :n] = seq[:n] if keep == "first" else seq[len(seq) - n:]
  return ids, lengths, original
