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


# ----- chunk_counts: the same counts inside a jitted loss -----

CONLL_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


def _padded(sentences, tag_names, width, rng):
  """Tag ids [B, width] with random (wrong) ids past each sentence's length, and lengths [B]."""
  index = {t: i for i, t in enumerate(tag_names)}
  ids = rng.integers(0, len(tag_names), (len(sentences), width))
  for row, sent in enumerate(sentences):
    ids[row, :len(sent)] = [index[t] for t in sent]
  return ids, np.array([len(s) for s in sentences])


@pytest.mark.parametrize("tag_names", [CONLL_TAGS, ("B-A", "O", "I-A", "I-B", "B-B")],
                         ids=["conll", "two_types"])
def test_chunk_counts_equal_evaluate_on_random_tags(tag_names):
  import jax  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  count = jax.jit(lambda p, g, n, w: conlleval.chunk_counts(p, g, n, tag_names, w))
  outside = tag_names.index("O")
  probs = np.full(len(tag_names), 0.6 / (len(tag_names) - 1))
  probs[outside] = 0.4
  for _ in range(20):
    width, batch = 9, 12
    lengths = rng.integers(0, width + 1, batch)
    gold = [list(rng.choice(tag_names, n, p=probs)) for n in lengths]
    # Predictions agree with gold on ~60% of tokens, so chunks are found right and wrong.
    pred = [[g if rng.random() < 0.6 else str(rng.choice(tag_names, p=probs)) for g in s]
            for s in gold]
    weights = rng.choice([0.0, 1.0, 2.0], batch)
    gold_ids, _ = _padded(gold, tag_names, width, rng)
    pred_ids, _ = _padded(pred, tag_names, width, rng)
    got = [float(x) for x in count(pred_ids, gold_ids, lengths, weights)]
    want = np.zeros(3)
    for i in range(batch):
      r = conlleval.evaluate([gold[i]], [pred[i]])
      want += weights[i] * np.array([r.correct_chunks, r.found_guessed, r.found_correct])
    assert got == list(want)


def test_chunk_counts_hand_checked():
  # test_hand_checked_scores: 2 correct, 5 guessed, 4 gold; padded to width 6.
  gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-MISC", "I-MISC", "O"]]
  pred = [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O", "B-LOC", "I-LOC", "I-PER"]]
  rng = np.random.default_rng(1)
  gold_ids, lengths = _padded(gold, CONLL_TAGS, 6, rng)
  pred_ids, _ = _padded(pred, CONLL_TAGS, 6, rng)
  counts = conlleval.chunk_counts(pred_ids, gold_ids, lengths, CONLL_TAGS)
  assert [float(c) for c in counts] == [2.0, 5.0, 4.0]
  # IOB1: I- after another type opens a chunk, B- splits two of the same type; a chunk running
  # to the last column closes there.
  iob1 = [["I-PER", "I-PER", "B-PER", "I-LOC", "I-LOC", "I-PER"]]
  ids, lengths = _padded(iob1, CONLL_TAGS, 6, rng)
  shifted = ids.copy()
  shifted[0, 2] = CONLL_TAGS.index("I-PER")  # merges the first two PER chunks
  counts = conlleval.chunk_counts(shifted, ids, lengths, CONLL_TAGS)
  assert [float(c) for c in counts] == [2.0, 3.0, 4.0]
  metrics = conlleval.chunk_count_metrics(shifted, ids, lengths, CONLL_TAGS, None, 4.0)
  assert {k: float(v) for k, v in metrics.items()} == {
      "chunks_correct": 0.5, "chunks_guessed": 0.75, "chunks_gold": 1.0}


def test_iob_tables_and_entity_scores():
  prefixes, types = conlleval.iob_tables(CONLL_TAGS)
  assert list(prefixes) == [0, 1, 2, 1, 2, 1, 2, 1, 2]
  assert list(types) == [0, 1, 1, 2, 2, 3, 3, 4, 4]
  for bad in (("O", "S-PER"), ("O", "PER"), ("O", "B-")):
    with pytest.raises(ValueError, match="IOB tags only"):
      conlleval.iob_tables(bad)
  with pytest.raises(ValueError, match="non-empty"):
    conlleval.iob_tables("O")
  with pytest.raises(ValueError, match="lengths"):
    conlleval.chunk_counts(np.zeros((2, 3), int), np.zeros((2, 3), int), [1], CONLL_TAGS)
  scores = conlleval.entity_scores(2.0, 5.0, 4.0)
  assert scores["precision"] == 0.4 and scores["recall"] == 0.5
  assert scores["f1"] == pytest.approx(conlleval.evaluate(
      [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-MISC", "I-MISC", "O"]],
      [["B-PER", "O", "O", "B-LOC"], ["B-ORG", "O", "B-LOC", "I-LOC", "I-PER"]]).f1 / 100)
  assert conlleval.entity_scores(0.0, 0.0, 3.0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
