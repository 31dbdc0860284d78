"""Entity-level precision, recall and F1 with the rules of the CoNLL shared-task script.

A Python port of the logic of `conlleval.pl` (Tjong Kim Sang, version 2004-01-26), the script that
scores CoNLL-2000 chunking and CoNLL-2003 NER. A tag is `PREFIX-TYPE` (`B-PER`, `I-LOC`) or `O`;
the prefix and the type are split at the first hyphen, so types may contain hyphens.

Chunk boundaries follow the script's `startOfChunk` / `endOfChunk`, which read both IOB1 (the
original CoNLL-2003 files: `I-` opens a chunk after `O` or after another type, `B-` only separates
two adjacent chunks of the same type) and IOB2/BIO (every chunk opens with `B-`) without being
told which: a chunk starts at `B-X`, at `I-X` after `O`, and wherever the type changes. A chunk is
correct when gold and guess start at the same token with the same type and end at the same token.
Sentences are separated by a boundary (the script's empty line), which closes every open chunk.

Scores are percentages, as the script prints them (CoNLL-2003 F1 is quoted as e.g. 91.56).

For training runs, `chunk_counts` computes the same chunk counts inside a jitted loss (JAX, tag
ids [B, T] with lengths), so an evaluation can sum them over batches: entity F1 is a ratio of
counts over the whole split (`entity_scores`), not a mean of per-batch F1s. The losses report
them as the metrics named in CHUNK_METRICS (`chunk_count_metrics`), and
`skipjax.train.step.finalize_metrics` turns the split's sums into precision, recall and F1.
"""

from __future__ import annotations

import collections
from typing import Iterable, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from skipjax.train import step as step_lib

_OUTSIDE = "O"


class TypeScore(NamedTuple):
  """Scores of one entity type (percent) and its chunk counts."""
  precision: float
  recall: float
  f1: float
  found_guessed: int
  found_correct: int
  correct_chunks: int


class ConllevalResult(NamedTuple):
  """What `conlleval.pl` prints: overall scores (percent), counts, and scores per type."""
  precision: float
  recall: float
  f1: float
  accuracy: float        # token-level tag accuracy, percent
  tokens: int
  found_correct: int     # chunks in the gold tags
  found_guessed: int     # chunks in the predicted tags
  correct_chunks: int
  per_type: dict[str, TypeScore]


def split_tag(tag: str) -> tuple[str, str]:
  """`'B-PER' -> ('B', 'PER')`, `'O' -> ('O', '')`; split at the first hyphen (as the script)."""
  if not isinstance(tag, str):
    raise TypeError(f"tags must be strings, got {tag!r}")
  prefix, sep, kind = tag.partition("-")
  return (prefix, kind) if sep else (tag, "")


def end_of_chunk(prev_tag: str, tag: str, prev_type: str, kind: str) -> bool:
  """True if a chunk ended between the previous and the current token (`endOfChunk`)."""
  if (prev_tag, tag) in {("B", "B"), ("B", "O"), ("I", "B"), ("I", "O"), ("E", "E"), ("E", "I"),
                         ("E", "O")}:
    return True
  if prev_tag not in ("O", ".") and prev_type != kind:
    return True
  return prev_tag in ("[", "]")


def start_of_chunk(prev_tag: str, tag: str, prev_type: str, kind: str) -> bool:
  """True if a chunk started at the current token (`startOfChunk`)."""
  if (prev_tag, tag) in {("B", "B"), ("I", "B"), ("O", "B"), ("O", "I"), ("E", "E"), ("E", "I"),
                         ("O", "E")}:
    return True
  if tag not in ("O", ".") and prev_type != kind:
    return True
  return tag in ("[", "]")


def chunks(tags: Sequence[str]) -> list[tuple[str, int, int]]:
  """Chunks of one sentence as `(type, start, end)` with `end` exclusive, by the script's rules."""
  found = []
  prev_tag, prev_type, start = _OUTSIDE, "", None
  for i, tag in enumerate(list(tags) + [_OUTSIDE]):  # the trailing O is the sentence boundary
    cur_tag, kind = split_tag(tag)
    if start is not None and end_of_chunk(prev_tag, cur_tag, prev_type, kind):
      found.append((prev_type, start, i))
      start = None
    if i < len(tags) and start_of_chunk(prev_tag, cur_tag, prev_type, kind):
      start = i
    prev_tag, prev_type = cur_tag, kind
  return found


def iob1_to_iob2(tags: Sequence[str]) -> list[str]:
  """Rewrites one sentence so that every chunk opens with `B-` (the chunks stay the same)."""
  out = [_OUTSIDE if t == _OUTSIDE else "I-" + split_tag(t)[1] for t in tags]
  for kind, start, _ in chunks(tags):
    out[start] = "B-" + kind
  return out


def _check_sentences(true_tags, pred_tags):
  true_tags, pred_tags = list(true_tags), list(pred_tags)
  if len(true_tags) != len(pred_tags):
    raise ValueError(f"true_tags has {len(true_tags)} sentences but pred_tags has "
                     f"{len(pred_tags)}")
  for i, (t, p) in enumerate(zip(true_tags, pred_tags)):
    if isinstance(t, str) or isinstance(p, str):
      raise TypeError("true_tags and pred_tags must be sequences of sentences (lists of tags), "
                      "not of strings")
    if len(t) != len(p):
      raise ValueError(f"sentence {i}: {len(t)} gold tags but {len(p)} predicted tags")
  return true_tags, pred_tags


def _percent(num: int, den: int) -> float:
  return 100.0 * num / den if den > 0 else 0.0


def _f1(precision: float, recall: float) -> float:
  total = precision + recall
  return 2 * precision * recall / total if total > 0 else 0.0


def evaluate(true_tags: Iterable[Sequence[str]],
             pred_tags: Iterable[Sequence[str]]) -> ConllevalResult:
  """Scores predicted tags against gold tags exactly as `conlleval.pl` does.

  Args:
    true_tags: gold tags, one list of strings per sentence (IOB1 or IOB2).
    pred_tags: predicted tags, same shapes.
  Returns:
    ConllevalResult: precision, recall, F1 (percent; F1 = 2PR / (P + R), 0 when P + R = 0), token
    accuracy, chunk counts and per-type scores.
  """
  true_tags, pred_tags = _check_sentences(true_tags, pred_tags)
  found_correct = collections.Counter()
  found_guessed = collections.Counter()
  correct_chunks = collections.Counter()
  correct_tags = tokens = 0
  # The script's state machine, token by token, with a boundary token (O, O) after each sentence.
  in_correct = False
  last_c, last_c_type, last_g, last_g_type = _OUTSIDE, "", _OUTSIDE, ""
  for sent_true, sent_pred in zip(true_tags, pred_tags):
    items = [(t, p, True) for t, p in zip(sent_true, sent_pred)] + [(_OUTSIDE, _OUTSIDE, False)]
    for gold, guess, is_token in items:
      cur_c, c_type = split_tag(gold)
      cur_g, g_type = split_tag(guess)
      end_c = end_of_chunk(last_c, cur_c, last_c_type, c_type)
      end_g = end_of_chunk(last_g, cur_g, last_g_type, g_type)
      start_c = start_of_chunk(last_c, cur_c, last_c_type, c_type)
      start_g = start_of_chunk(last_g, cur_g, last_g_type, g_type)
      if in_correct:
        if end_c and end_g and last_g_type == last_c_type:
          in_correct = False
          correct_chunks[last_c_type] += 1
        elif end_c != end_g or g_type != c_type:
          in_correct = False
      if start_c and start_g and g_type == c_type:
        in_correct = True
      if start_c:
        found_correct[c_type] += 1
      if start_g:
        found_guessed[g_type] += 1
      if is_token:
        correct_tags += int(cur_c == cur_g and c_type == g_type)
        tokens += 1
      last_c, last_c_type, last_g, last_g_type = cur_c, c_type, cur_g, g_type
  if in_correct:  # unreachable after a boundary, kept for parity with the script
    correct_chunks[last_c_type] += 1

  per_type = {}
  for kind in sorted(set(found_correct) | set(found_guessed)):
    p = _percent(correct_chunks[kind], found_guessed[kind])
    r = _percent(correct_chunks[kind], found_correct[kind])
    per_type[kind] = TypeScore(p, r, _f1(p, r), found_guessed[kind], found_correct[kind],
                               correct_chunks[kind])
  n_correct, n_found_c, n_found_g = (sum(correct_chunks.values()), sum(found_correct.values()),
                                     sum(found_guessed.values()))
  p, r = _percent(n_correct, n_found_g), _percent(n_correct, n_found_c)
  return ConllevalResult(precision=p, recall=r, f1=_f1(p, r),
                         accuracy=_percent(correct_tags, tokens), tokens=tokens,
                         found_correct=n_found_c, found_guessed=n_found_g,
                         correct_chunks=n_correct, per_type=per_type)


def ids_to_tags(tag_ids, lengths, id_to_tag: Sequence[str]) -> list[list[str]]:
  """Padded tag ids [B, T] (array-like ints) and lengths [B] -> one list of tag strings per
  sentence, padding dropped: the bridge from a tagger's argmax to `evaluate`."""
  tag_ids, lengths = np.asarray(tag_ids), np.asarray(lengths)
  if tag_ids.ndim != 2:
    raise ValueError(f"tag_ids must have shape [B, T], got {tag_ids.shape}")
  if lengths.shape != (tag_ids.shape[0],):
    raise ValueError(f"lengths must have shape ({tag_ids.shape[0]},), got {lengths.shape}")
  if lengths.size and (lengths.min() < 0 or lengths.max() > tag_ids.shape[1]):
    raise ValueError(f"lengths must lie in [0, {tag_ids.shape[1]}]")
  real = tag_ids[np.arange(tag_ids.shape[1])[None, :] < lengths[:, None]]
  if real.size and (real.min() < 0 or real.max() >= len(id_to_tag)):
    raise ValueError(f"tag_ids within lengths must lie in [0, {len(id_to_tag)}) (the size of "
                     "id_to_tag)")
  return [[id_to_tag[int(i)] for i in row[:n]] for row, n in zip(tag_ids, lengths)]


# ----- chunk counts inside a jitted loss (JAX) -----

# Metric names of `chunk_count_metrics`: correct, predicted and gold chunks.
CHUNK_METRICS = ("chunks_correct", "chunks_guessed", "chunks_gold")
_PREFIX_CODE = {"O": 0, "B": 1, "I": 2}


def iob_tables(tag_names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
  """Per tag id: its prefix code (0 'O', 1 'B', 2 'I') and its type code (0 for 'O', then 1, 2,
  ... per entity type in order of appearance), int32 [C]. Tags must be IOB1/IOB2 ('O', 'B-X',
  'I-X'); the in-graph counter does not handle the script's other prefixes (E-, S-, [, ])."""
  if isinstance(tag_names, str) or not len(tag_names):
    raise ValueError(f"tag_names must be a non-empty sequence of tag strings, got {tag_names!r}")
  prefixes, types, type_code = [], [], {}
  for tag in tag_names:
    prefix, kind = split_tag(tag)
    if tag != _OUTSIDE and (prefix not in ("B", "I") or not kind):
      raise ValueError(f"tag {tag!r}: chunk_counts supports IOB tags only ('O', 'B-TYPE', "
                       f"'I-TYPE'); tag_names={list(tag_names)}")
    prefixes.append(_PREFIX_CODE[prefix])
    types.append(0 if tag == _OUTSIDE else type_code.setdefault(kind, len(type_code) + 1))
  return np.asarray(prefixes, np.int32), np.asarray(types, np.int32)


def _parse(ids, valid, prefixes, types):
  """Chunk starts [B, T], types [B, T] and, per position s, the position where a chunk started
  at s ends (exclusive) [B, T], by the script's startOfChunk / endOfChunk."""
  prefix = jnp.where(valid, jnp.asarray(prefixes)[ids], 0)  # outside a sentence: O
  kind = jnp.where(valid, jnp.asarray(types)[ids], 0)
  # Column 0: the O before the sentence; column T + 1: the boundary after a full-length one.
  prefix = jnp.pad(prefix, ((0, 0), (1, 1)))
  kind = jnp.pad(kind, ((0, 0), (1, 1)))
  prev_p, cur_p = prefix[:, :-1], prefix[:, 1:]  # [B, T + 1]: positions 0..T
  prev_k, cur_k = kind[:, :-1], kind[:, 1:]
  # B always opens; I opens after O or another type (its type code differs: O's code is 0).
  start = (cur_p == 1) | ((cur_p == 2) & (prev_k != cur_k))
  # A chunk closes before j when the previous token is in one and j opens a B or changes type.
  end = (prev_p != 0) & ((cur_p == 1) | (prev_k != cur_k))
  positions = jnp.arange(end.shape[1], dtype=jnp.int32)
  end_at = jnp.where(end, positions, end.shape[1])
  first_end_from = jax.lax.cummin(end_at, axis=1, reverse=True)  # min{j' >= j: end[j']}
  t = ids.shape[1]
  return start[:, :t], cur_k[:, :t], first_end_from[:, 1:t + 1]  # min{j > s: end[j]}


def chunk_counts(pred_ids, gold_ids, lengths, tag_names: Sequence[str],
                 weights=None) -> tuple[jax.Array, jax.Array, jax.Array]:
  """Correct, predicted and gold chunk counts of a batch of tag ids, as `evaluate` counts them.

  Traceable (jit): the `conlleval.pl` rules vectorised over [B, T]. A chunk is correct when a
  predicted and a gold chunk have the same type, start and end.

  Args:
    pred_ids, gold_ids: [B, T] int tag ids into tag_names (ids past a sentence's length are
      ignored).
    lengths: [B] int, real tokens per sentence; the rest is padding (the script's boundary).
    tag_names: the tag of each id, IOB1 or IOB2 (`iob_tables`).
    weights: optional [B] float multiplying each sentence's counts (0 for padded batch entries).
  Returns:
    (correct, guessed, gold): float32 scalars, weighted sums over the batch.
  """
  prefixes, types = iob_tables(tag_names)
  pred_ids, gold_ids = jnp.asarray(pred_ids), jnp.asarray(gold_ids)
  if pred_ids.ndim != 2 or pred_ids.shape != gold_ids.shape:
    raise ValueError(f"pred_ids and gold_ids must both have shape [B, T], got {pred_ids.shape} "
                     f"and {gold_ids.shape}")
  batch, t = gold_ids.shape
  lengths = jnp.asarray(lengths)
  if lengths.shape != (batch,):
    raise ValueError(f"lengths must have shape ({batch},), got {lengths.shape}")
  w = jnp.ones((batch,), jnp.float32) if weights is None else jnp.asarray(weights, jnp.float32)
  if w.shape != (batch,):
    raise ValueError(f"weights must have shape ({batch},), got {w.shape}")
  valid = jnp.arange(t)[None, :] < lengths[:, None]
  start_g, kind_g, end_g = _parse(pred_ids, valid, prefixes, types)
  start_c, kind_c, end_c = _parse(gold_ids, valid, prefixes, types)
  correct = start_g & start_c & (kind_g == kind_c) & (end_g == end_c)
  total = lambda x: jnp.sum(w * jnp.sum(x, axis=1, dtype=jnp.float32))
  return total(correct), total(start_g), total(start_c)


def chunk_count_metrics(pred_ids, gold_ids, lengths, tag_names: Sequence[str], weights,
                        count) -> dict[str, jax.Array]:
  """`chunk_counts` as loss metrics (CHUNK_METRICS), each divided by `count`, the loss's
  metrics['count']: the eval step multiplies every metric by count and sums over batches, so
  the split's totals come back exactly."""
  counts = chunk_counts(pred_ids, gold_ids, lengths, tag_names, weights)
  denom = jnp.maximum(jnp.asarray(count, jnp.float32), 1e-12)
  return {name: value / denom for name, value in zip(CHUNK_METRICS, counts)}


def entity_scores(correct: float, guessed: float, gold: float) -> dict[str, float]:
  """Precision, recall and F1 as fractions in [0, 1] (the script's percentages / 100) from
  chunk counts summed over a split; each is 0 where its denominator is."""
  precision = correct / guessed if guessed > 0 else 0.0
  recall = correct / gold if gold > 0 else 0.0
  total = precision + recall
  return {"precision": precision, "recall": recall,
          "f1": 2 * precision * recall / total if total > 0 else 0.0}


def _finalize(total, means: dict[str, float]) -> dict[str, float]:
  """The split's chunk totals (sums, not means) and its entity-level scores."""
  del means
  counts = {k: float(total[k]) for k in CHUNK_METRICS}
  return {**counts, **entity_scores(*(counts[k] for k in CHUNK_METRICS))}


step_lib.register_finalizer("conlleval", CHUNK_METRICS, _finalize)
