"""Tests for skipjax.data.text: tokenisation, vocabulary cut-off/OOV/JSON, crop/pad."""

import numpy as np
import pytest

from skipjax.data import text


def test_tokenize_raw_text():
  assert text.tokenize("Don't stop!<br /><br />It's GREAT, well-made.") == [
      "don't", "stop", "!", "it's", "great", ",", "well-made", "."]
  assert text.tokenize("A  b", lower=False) == ["A", "b"]
  assert text.tokenize("$5.00 (cheap)") == ["$", "5", ".", "00", "(", "cheap", ")"]


def test_tokenize_pretokenized_splits_on_whitespace_only():
  assert text.tokenize("it 's a  Film -- ok . ", pretokenized=True) == [
      "it", "'s", "a", "film", "--", "ok", "."]


def test_vocab_frequency_cutoff_order_and_oov():
  corpus = [["b", "a", "a"], ["c", "a", "b"], ["d"]]
  vocab = text.Vocab.build(corpus, min_freq=2)
  # counts: a 3, b 2, c 1, d 1 -> c, d fall below the cut-off.
  assert vocab.tokens == ["<pad>", "<unk>", "a", "b"]
  assert vocab.pad_id == 0 and vocab.unk_id == 1
  np.testing.assert_array_equal(vocab.encode(["a", "c", "b", "zzz"]), [2, 1, 3, 1])
  assert vocab.encode(["a"]).dtype == np.int32
  assert vocab.decode([2, 3, 0]) == ["a", "b", "<pad>"]
  # Ties broken alphabetically, whatever the input order.
  assert text.Vocab.build([["y", "x"]]).tokens == ["<pad>", "<unk>", "x", "y"]
  assert text.Vocab.build([["y", "x", "z"]], max_size=3).tokens == ["<pad>", "<unk>", "x"]


def test_vocab_without_pad_like_ptb():
  # PTB: <unk> already occurs in the text; <eos> is added; no PAD id.
  vocab = text.Vocab.build([["the", "<unk>", "the"], ["<unk>", "<unk>"]], pad=None,
                           extra=["<eos>"])
  assert vocab.tokens == ["<unk>", "the", "<eos>"]
  assert vocab.pad_id is None and vocab.unk_id == 0
  strict = text.Vocab(["a", "b"], pad=None, unk=None)
  with pytest.raises(KeyError, match="no OOV"):
    strict.encode(["c"])


def test_vocab_json_round_trip(tmp_path):
  vocab = text.Vocab.build([["héllo", "world", "world"]])
  path = tmp_path / "vocab.json"
  vocab.save(path)
  loaded = text.Vocab.load(path)
  assert loaded == vocab and loaded.tokens == ["<pad>", "<unk>", "world", "héllo"]
  assert text.Vocab.from_json(vocab.to_json()) == vocab


def test_vocab_rejects_bad_layouts():
  with pytest.raises(ValueError, match="first"):
    text.Vocab(["<unk>", "<pad>"])
  with pytest.raises(ValueError, match="unique"):
    text.Vocab(["<pad>", "<unk>", "a", "a"])
  with pytest.raises(ValueError, match="min_freq"):
    text.Vocab.build([["a"]], min_freq=0)


def test_pad_or_crop_keeps_true_lengths():
  seqs = [np.array([1, 2, 3]), np.array([4]), np.array([], np.int32)]
  ids, lengths, original = text.pad_or_crop(seqs, 2)
  np.testing.assert_array_equal(ids, [[1, 2], [4, 0], [0, 0]])
  np.testing.assert_array_equal(lengths, [2, 1, 0])
  np.testing.assert_array_equal(original, [3, 1, 0])
  assert ids.dtype == lengths.dtype == np.int32
  ids, lengths, _ = text.pad_or_crop(seqs, 2, keep="last")
  np.testing.assert_array_equal(ids, [[2, 3], [4, 0], [0, 0]])
  ids, lengths, _ = text.pad_or_crop(seqs)
  np.testing.assert_array_equal(ids, [[1, 2, 3], [4, 0, 0], [0, 0, 0]])
  np.testing.assert_array_equal(lengths, [3, 1, 0])
  with pytest.raises(ValueError, match="keep"):
    text.pad_or_crop(seqs, 2, keep="middle")
  with pytest.raises(ValueError, match="max_len"):
    text.pad_or_crop(seqs, 0)
