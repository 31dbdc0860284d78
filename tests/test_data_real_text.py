"""Real text datasets through tfds from ../shared/data: split sizes and label counts of SOURCE.md.

Prepared tfds data is cached under <repo>/.cache/tfds (or $SKIPJAX_TEST_TFDS_DIR) so only the first
run pays for preparation.
"""

import collections
import pathlib
import os

import numpy as np
import pytest

from skipjax import data
from skipjax.data import files

REPO = pathlib.Path(__file__).resolve().parents[1]
CACHE = pathlib.Path(os.environ.get("SKIPJAX_TEST_TFDS_DIR", REPO / ".cache" / "tfds"))

pytestmark = pytest.mark.skipif(not files.DEFAULT_DATA_DIR.is_dir(),
                                reason=f"shared data dir {files.DEFAULT_DATA_DIR} is absent")


def _cache():
  CACHE.mkdir(parents=True, exist_ok=True)
  ignore = CACHE.parent / ".gitignore"
  if not ignore.exists():
    ignore.write_text("*\n")
  return CACHE


def _load(name, split, **kwargs):
  return data.load(name, split, cache_dir=_cache(), **kwargs)


def test_rotten_tomatoes_fixed_split():
  sizes = {}
  labels = collections.Counter()
  inputs = {}
  for split in ("train", "validation", "test"):
    arrays, info = _load("rotten_tomatoes", split)
    sizes[split] = info.num_examples
    labels.update(arrays["labels"].tolist())
    inputs[split] = {tuple(r[:l]) for r, l in zip(arrays["inputs"], arrays["lengths"])}
    assert info.source == "local" and info.num_classes == 2
  # 10,662 snippets: 10% test (1,066), 10% of the rest validation (960), the rest train.
  assert sizes == {"train": 8636, "validation": 960, "test": 1066} == info.split_sizes
  assert labels == {0: 5331, 1: 5331}
  # The split is the documented RandomState(0) permutation of the corpus order (neg then pos).
  from skipjax.data import builders
  split = builders.rotten_tomatoes_split(10662)
  assert len(split["test"]) == 1066 and not set(split["test"]) & set(split["train"])
  examples, _ = data.load_examples("rotten_tomatoes", "test", cache_dir=_cache())
  np.testing.assert_array_equal(examples["id"], split["test"])
  np.testing.assert_array_equal(examples["label"], (split["test"] >= 5331).astype(int))


def test_sst2_glue_counts():
  want = {"train": (67349, [29780, 37569]), "validation": (872, [428, 444])}
  for split, (n, counts) in want.items():
    arrays, info = _load("sst2_glue", split, max_len=20)
    assert info.num_examples == n and info.label_counts.tolist() == counts
    assert arrays["inputs"].shape == (n, 20)
    assert (arrays["lengths"] <= 20).all() and (arrays["original_lengths"] > 20).any()
  arrays, info = _load("sst2_glue", "test")
  assert info.num_examples == 1821 and (arrays["labels"] == -1).all()
  assert info.split_sizes == {"train": 67349, "validation": 872, "test": 1821}


def test_sst_trees_binary_and_five_class_counts():
  five = {"train": [1092, 2218, 1624, 2322, 1288], "validation": [139, 289, 229, 279, 165],
          "test": [279, 633, 389, 510, 399]}
  two = {"train": [3310, 3610], "validation": [428, 444], "test": [912, 909]}
  for split in ("train", "validation", "test"):
    _, info5 = _load("sst5", split)
    assert info5.label_counts.tolist() == five[split]
    arrays, info2 = _load("sst2_trees", split)
    assert info2.label_counts.tolist() == two[split]
    # Each vocabulary comes from its own training sentences (binary: the 6,920 non-neutral).
    assert set(info2.vocab.tokens) < set(info5.vocab.tokens)
  assert info5.split_sizes == {"train": 8544, "validation": 1101, "test": 2210}
  assert info2.split_sizes == {"train": 6920, "validation": 872, "test": 1821}
  # -LRB-/-RRB- are mapped back to brackets.
  examples, _ = data.load_examples("sst5", "train", cache_dir=_cache())
  assert not any("-LRB-" in t for t in examples["text"])
  assert sum("(" in t for t in examples["text"]) > 0


def test_ag_news_test_only():
  examples, sizes = data.load_examples("ag_news", "test", cache_dir=_cache())
  assert sizes == {"test": 7600}
  assert np.bincount(examples["label"]).tolist() == [1900] * 4
  assert "\\" not in "".join(examples["text"]) and "#36;" not in "".join(examples["text"])
  with pytest.raises(data.DataFileError, match="test split only"):
    _load("ag_news", "train")
  with pytest.raises(ValueError, match="vocab="):
    _load("ag_news", "test")
  vocab = data.Vocab.build(data.tokenize(t) for t in examples["text"][:1000])
  arrays, info = _load("ag_news", "test", vocab=vocab, max_len=50)
  assert arrays["inputs"].shape == (7600, 50) and info.label_counts.tolist() == [1900] * 4
  assert info.label_names == ["World", "Sports", "Business", "Sci/Tech"]
  assert (arrays["inputs"] == vocab.unk_id).any()


def test_ptb_stream_and_mikolov_vocab():
  n_tokens = {"train": 929589, "validation": 73760, "test": 82430}
  n_lines = {"train": 42068, "validation": 3370, "test": 3761}
  for split in ("train", "validation", "test"):
    arrays, info = _load("ptb", split)
    tokens = arrays["tokens"]
    assert tokens.shape == (n_tokens[split],) and tokens.dtype == np.int32
    eos = info.vocab.index["<eos>"]
    assert (tokens == eos).sum() == n_lines[split] and tokens[-1] == eos
  assert info.vocab_size == 10000 and info.vocab.pad_id is None
  assert info.split_sizes == n_lines
  batches = data.batches(arrays, 20, train=False, bptt=35)
  first = next(batches)
  np.testing.assert_array_equal(first["labels"][0, :-1], first["inputs"][0, 1:])
  assert sum(int(b["lengths"].sum()) for b in batches) + int(first["lengths"].sum()) == \
      n_tokens["test"] - 1


def _iob1_chunks(tags):
  """Entity chunks of an IOB1 sequence, independently of the library: a chunk starts at B-X, or
  at I-X when the previous tag is not of type X."""
  counts = collections.Counter()
  prev = "O"
  for tag in tags:
    if tag != "O" and (tag.startswith("B-") or prev[2:] != tag[2:]):
      counts[tag[2:]] += 1
    prev = tag
  return counts


def test_conll2003_counts_tags_and_chars():
  want = {"train": (14041, 203621, {"LOC": 7140, "MISC": 3438, "ORG": 6321, "PER": 6600}),
          "validation": (3250, 51362, {"LOC": 1837, "MISC": 922, "ORG": 1341, "PER": 1842}),
          "test": (3453, 46435, {"LOC": 1668, "MISC": 702, "ORG": 1661, "PER": 1617})}
  for split, (n_sent, n_tok, entities) in want.items():
    arrays, info = _load("conll2003", split, char_len=37 if split == "test" else None)
    assert info.num_examples == n_sent and int(arrays["lengths"].sum()) == n_tok
    chunks = collections.Counter()
    for tags in info.extras["tags"]:
      chunks += _iob1_chunks(tags)
    assert chunks == entities
    # Tag ids decode back to the raw tags.
    row = int(np.argmax(arrays["lengths"]))
    decoded = [info.label_names[i] for i in arrays["labels"][row, :arrays["lengths"][row]]]
    assert decoded == info.extras["tags"][row]
    assert arrays["labels"].shape == arrays["inputs"].shape
  assert info.num_classes == 9 and info.split_sizes == {"train": 14041, "validation": 3250,
                                                        "test": 3453}
  chars = arrays["chars"]
  assert chars.shape == arrays["inputs"].shape + (37,)  # the longest test word has 37
  # Padding positions hold no characters; each real word exactly as many as it has.
  lengths = arrays["lengths"]
  mask = np.arange(chars.shape[1])[None, :] < lengths[:, None]
  assert (chars[~mask] == 0).all() and (chars[mask][:, 0] > 0).all()
  word_chars = (chars > 0).sum(-1)
  assert [int(n) for n in word_chars[row, :lengths[row]]] == [
      len(w) for w in info.extras["tokens"][row]]
  assert 2 < info.extras["char_vocab_size"] <= 256 and chars.max() < info.extras["char_vocab_size"]
  # A word longer than char_len is an error, never cropped.
  with pytest.raises(ValueError, match="characters, more than char_len=36"):
    _load("conll2003", "test", char_len=36)


def test_preparing_from_local_files_logs_one_plain_line(tmp_path):
  """No oneDNN banner, no "Downloading and preparing dataset Unknown size", no tqdm bars in a
  log (stderr is a pipe here): one line says what is prepared from where (issue 16)."""
  import subprocess  # pylint: disable=g-import-not-at-top
  import sys  # pylint: disable=g-import-not-at-top
  env = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
  proc = subprocess.run([sys.executable, "-m", "skipjax.data", "rotten_tomatoes", "--cache_dir",
                         str(tmp_path / "tfds")], cwd=REPO, env=dict(env, PYTHONPATH=str(REPO)),
                        capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert "Downloading" not in proc.stdout and "downloaded and prepared" not in proc.stdout
  assert [line.split()[:2] for line in proc.stdout.splitlines()] == [
      ["rotten_tomatoes", "train"], ["rotten_tomatoes", "validation"], ["rotten_tomatoes", "test"]]
  assert "oneDNN" not in proc.stderr and "\r" not in proc.stderr and "%|" not in proc.stderr
  assert (f"preparing skipjax_rotten_tomatoes from the raw files in {files.resolve_data_dir(None)}"
          in proc.stderr), proc.stderr
