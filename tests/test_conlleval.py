"""Tests for skipjax.conlleval against hand-worked conlleval.pl results."""

import random

import numpy as np
import pytest

from skipjax import conlleval


def test_split_tag():
  assert conlleval.split_tag("B-PER") == ("B", "PER")
  assert conlleval.split_tag("O") == ("O", "")
  assert conlleval.split_tag("I-MISC-X") == ("I", "MISC-X")  # first hyphen, as the script


def test_iob1_chunk_starts():
  # IOB1 (CoNLL-2003 files): I- opens a chunk after O or another type; B- only between two
  # adjacent chunks of the same type.
  tags = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-ORG", "I-ORG", "B-ORG"]
  assert conlleval.chunks(tags) == [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 6), ("ORG", 6, 8),
                                    ("ORG", 8, 9)]


def test_iob2_chunks_and_lenient_starts():
  tags = ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "O", "I-MISC", "B-PER", "I-LOC"]
  # conlleval accepts I- after O (opens a chunk) and closes a chunk wherever the type changes.
  assert conlleval.chunks(tags) == [("PER", 0, 2), ("LOC", 3, 4), ("LOC", 4, 6), ("MISC", 7, 8),
                                    ("PER", 8, 9), ("LOC", 9, 10)]


def test_iob1_to_iob2_keeps_chunks():
  iob1 = ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-LOC", "I-ORG"]
  iob2 = conlleval.iob1_to_iob2(iob1)
  assert iob2 == ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC", "B-ORG"]
  assert conlleval.chunks(iob2) == conlleval.chunks(iob1)


def test_hand_checked_scores():
  # Worked by hand with conlleval.pl's rules:
  #   sentence 1 gold: PER(0-1) LOC(3)       guess: PER(0) LOC(3)     -> LOC correct, PER wrong end
  #   sentence 2 gold: ORG(0) MISC(2-3)      guess: ORG(0) LOC(2-3)   -> ORG correct, MISC wrong type
  #                                                   + extra PER(4)
  # found_correct 4, found_guessed 5, correct 2 -> P 40, R 50, F1 44.44...
  # tokens 4 + 5 = 9; wrong tags: s1 t1 (I-PER vs O), s2 t2, t3 (MISC vs LOC), t4 (O vs I-PER)
  gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-MISC", "I-MISC", "O"]]
  pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O", "B-LOC", "I-LOC", "I-PER"]]
  r = conlleval.evaluate(gold, pred)
  assert (r.found_correct, r.found_guessed, r.correct_chunks, r.tokens) == (4, 5, 2, 9)
  assert r.precision == pytest.approx(40.0)
  assert r.recall == pytest.approx(50.0)
  assert r.f1 == pytest.approx(2 * 40 * 50 / 90)
  assert r.accuracy == pytest.approx(100 * 5 / 9)
  assert r.per_type["LOC"] == conlleval.TypeScore(50.0, 100.0, pytest.approx(200 / 3), 2, 1, 1)
  assert r.per_type["MISC"].found_guessed == 0 and r.per_type["MISC"].f1 == 0.0
  assert r.per_type["PER"].precision == 0.0 and r.per_type["PER"].found_guessed == 2


def test_iob1_scores_like_its_iob2_conversion():
  gold = [["I-PER", "I-PER", "B-PER", "O", "I-LOC"]]
  pred_iob1 = [["I-PER", "I-PER", "I-PER", "O", "I-LOC"]]  # merges the two PER chunks
  r = conlleval.evaluate(gold, pred_iob1)
  # gold chunks PER(0-1) PER(2) LOC(4); guessed PER(0-2) LOC(4): only LOC correct.
  assert (r.found_correct, r.found_guessed, r.correct_chunks) == (3, 2, 1)
  r2 = conlleval.evaluate([conlleval.iob1_to_iob2(s) for s in gold],
                          [conlleval.iob1_to_iob2(s) for s in pred_iob1])
  assert r2[:8] == r[:8]


def test_sentence_boundary_closes_chunks():
  # An I-PER ending sentence 1 and an I-PER opening sentence 2 are two chunks.
  gold = [["O", "I-PER"], ["I-PER", "O"]]
  r = conlleval.evaluate(gold, gold)
  assert (r.found_correct, r.correct_chunks, r.f1) == (2, 2, 100.0)
  # Concatenated into one sentence they would be a single chunk.
  assert conlleval.evaluate([gold[0] + gold[1]], [gold[0] + gold[1]]).found_correct == 1


def test_no_chunks_gives_zero_scores():
  r = conlleval.evaluate([["O", "O"]], [["O", "O"]])
  assert (r.precision, r.recall, r.f1, r.accuracy) == (0.0, 0.0, 0.0, 100.0)


def _span_f1(gold, pred):
  """Independent reference: exact span matching over the chunks of each sentence."""
  g = {(i,) + c for i, s in enumerate(gold) for c in conlleval.chunks(s)}
  p = {(i,) + c for i, s in enumerate(pred) for c in conlleval.chunks(s)}
  return len(g), len(p), len(g & p)


def test_state_machine_equals_span_matching_on_random_tags():
  rng = random.Random(0)
  vocab = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-MISC"]
  for _ in range(200):
    n = rng.randint(1, 5)
    gold = [[rng.choice(vocab) for _ in range(rng.randint(0, 7))] for _ in range(n)]
    pred = [[rng.choice(vocab) for _ in s] for s in gold]
    r = conlleval.evaluate(gold, pred)
    assert (r.found_correct, r.found_guessed, r.correct_chunks) == _span_f1(gold, pred)


def test_ids_to_tags():
  ids = np.array([[1, 2, 0, 0], [0, 1, 2, 5]])
  tags = conlleval.ids_to_tags(ids, np.array([2, 3]), ["O", "B-PER", "I-PER"])
  assert tags == [["B-PER", "I-PER"], ["O", "B-PER", "I-PER"]]
  with pytest.raises(ValueError, match="tag_ids"):
    conlleval.ids_to_tags(ids, np.array([2, 4]), ["O", "B-PER", "I-PER"])
  with pytest.raises(ValueError, match="lengths"):
    conlleval.ids_to_tags(ids, np.array([2, 5]), ["O", "B-PER", "I-PER"])


def test_bad_input():
  with pytest.raises(ValueError, match="sentences"):
    conlleval.evaluate([["O"]], [])
  with pytest.raises(ValueError, match="sentence 0"):
    conlleval.evaluate([["O", "O"]], [["O"]])
  with pytest.raises(TypeError, match="sequences of sentences"):
    conlleval.evaluate(["O"], ["O"])
