"""IMDB through skipjax's tfds builder from ../shared/data: counts of SOURCE.md, content digests."""

import collections
import hashlib
import io
import os
import pathlib
import tarfile

import numpy as np
import pytest

from skipjax import data
from skipjax.data import files

REPO = pathlib.Path(__file__).resolve().parents[1]
CACHE = pathlib.Path(os.environ.get("SKIPJAX_TEST_TFDS_DIR", REPO / ".cache" / "tfds"))


def _cache():
  CACHE.mkdir(parents=True, exist_ok=True)
  ignore = CACHE.parent / ".gitignore"
  if not ignore.exists():
    ignore.write_text("*\n")
  return CACHE


@pytest.mark.skipif(not files.DEFAULT_DATA_DIR.is_dir(), reason="shared data dir is absent")
def test_imdb_counts_ratings_and_crop():
  ratings = {
      "train": {1: 5100, 2: 2284, 3: 2420, 4: 2696, 7: 2496, 8: 3009, 9: 2263, 10: 4732},
      "test": {1: 5022, 2: 2302, 3: 2541, 4: 2635, 7: 2307, 8: 2850, 9: 2344, 10: 4999}}
  for split in ("train", "test"):
    arrays, info = data.load("imdb", split, cache_dir=_cache(), max_len=400, min_freq=2)
    assert info.num_examples == 25000 and info.label_counts.tolist() == [12500, 12500]
    assert info.split_sizes == {"train": 25000, "test": 25000}
    assert arrays["inputs"].shape == (25000, 400)
    np.testing.assert_array_equal(arrays["lengths"], np.minimum(arrays["original_lengths"], 400))
    assert (arrays["original_lengths"] > 400).any()
    examples, _ = data.load_examples("imdb", split, cache_dir=_cache())
    assert collections.Counter(examples["rating"].tolist()) == ratings[split]
    # Labels follow the ratings: neg 1-4, pos 7-10.
    np.testing.assert_array_equal(examples["label"], (examples["rating"] >= 7).astype(int))
  vocab = info.vocab
  assert "<br" not in vocab.index and "br" not in vocab.index   # HTML breaks removed
  assert vocab.tokens[:3] == ["<pad>", "<unk>", "the"] and {".", ","} < set(vocab.tokens[:5])
  # The famous first train review (pos/0_9.txt) is intact.
  train, _ = data.load_examples("imdb", "train", cache_dir=_cache())
  assert train["text"][12500].startswith("Bromwell High is a cartoon comedy.")


def _tar(members):
  buf = io.BytesIO()
  with tarfile.open(fileobj=buf, mode="w") as tar:
    for name, payload in members.items():
      info = tarfile.TarInfo(name)
      info.size = len(payload)
      tar.addfile(info, io.BytesIO(payload))
  return buf.getvalue()


def test_imdb_content_digest_catches_tampered_reviews(tmp_path):
  from skipjax.data import builders
  members = {f"aclImdb/{split}/{pol}/{i}_{r}.txt": f"review {split} {pol} {i}".encode()
             for split in ("train", "test") for pol, r in (("pos", 8), ("neg", 2))
             for i in range(3)}
  archive = tmp_path / "aclImdb_v1.tar.gz"
  archive.write_bytes(_tar(members))
  with pytest.raises(files.DataFileError, match=r"aclImdb/train/pos \(3 files\) has digest "
                     r"[0-9a-f]{64}, expected dfb9548b1b24f3c6"):
    builders.read_imdb_archive(archive)
  # The digest recipe of SOURCE.md, checked on the small archive: patch the expected digests.
  digests = {}
  for d in ("train/pos", "train/neg", "test/pos", "test/neg"):
    lines = sorted((n.split("/")[-1], hashlib.sha256(p).hexdigest())
                   for n, p in members.items() if n.startswith(f"aclImdb/{d}/"))
    digests[d] = hashlib.sha256("".join(f"{d}/{f}\t{h}\n" for f, h in lines).encode()).hexdigest()
  original = dict(builders.IMDB_DIR_DIGESTS)
  try:
    builders.IMDB_DIR_DIGESTS.update(digests)
    out = builders.read_imdb_archive(archive)
  finally:
    builders.IMDB_DIR_DIGESTS.update(original)
  assert [(k, label, rating) for k, _, label, rating in out["train"]] == [
      ("neg/0_2.txt", 0, 2), ("neg/1_2.txt", 0, 2), ("neg/2_2.txt", 0, 2),
      ("pos/0_8.txt", 1, 8), ("pos/1_8.txt", 1, 8), ("pos/2_8.txt", 1, 8)]
