"""MNIST / permuted MNIST through tfds's own `mnist` builder, manual_dir = ../shared/data/mnist."""

import os
import pathlib

import numpy as np
import pytest

from skipjax import data
from skipjax.data import files

REPO = pathlib.Path(__file__).resolve().parents[1]
CACHE = pathlib.Path(os.environ.get("SKIPJAX_TEST_TFDS_DIR", REPO / ".cache" / "tfds"))

pytestmark = pytest.mark.skipif(not files.DEFAULT_DATA_DIR.is_dir(),
                                reason="shared data dir is absent")


def _cache():
  CACHE.mkdir(parents=True, exist_ok=True)
  ignore = CACHE.parent / ".gitignore"
  if not ignore.exists():
    ignore.write_text("*\n")
  return CACHE


def test_mnist_sequential_pixels_counts():
  want = {"train": [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949],
          "test": [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]}
  means = {"train": 33.318, "test": 33.791}
  for split in ("train", "test"):
    arrays, info = data.load("mnist", split, cache_dir=_cache())
    n = sum(want[split])
    assert info.label_counts.tolist() == want[split] and info.num_examples == n
    assert info.split_sizes == {"train": 60000, "test": 10000} and info.source == "local"
    assert arrays["inputs"].shape == (n, 784, 1) and arrays["inputs"].dtype == np.float32
    np.testing.assert_array_equal(arrays["lengths"], np.full(n, 784))
    assert 0.0 <= arrays["inputs"].min() and arrays["inputs"].max() <= 1.0
    assert float(arrays["inputs"].mean()) * 255 == pytest.approx(means[split], abs=1e-3)
  # A held-out validation set by tfds slicing (Campos et al. hold out 5k of train).
  train, _ = data.load("mnist", "train", cache_dir=_cache())
  val, info = data.load("mnist", "train[55000:]", cache_dir=_cache(), pixel_dtype=np.uint8)
  assert info.num_examples == 5000 and val["inputs"].dtype == np.uint8
  np.testing.assert_array_equal(val["inputs"] / np.float32(255), train["inputs"][55000:])


def test_pmnist_is_a_fixed_permutation_of_mnist():
  plain, _ = data.load("mnist", "test", cache_dir=_cache())
  permuted, info = data.load("pmnist", "test", cache_dir=_cache())
  perm = data.pmnist_permutation(0)
  assert sorted(perm.tolist()) == list(range(784))
  # numpy's legacy RandomState stream is frozen: the permutation never changes.
  assert perm[:6].tolist() == [693, 85, 647, 392, 765, 14]
  np.testing.assert_array_equal(permuted["inputs"], plain["inputs"][:, perm])
  np.testing.assert_array_equal(permuted["labels"], plain["labels"])
  other, _ = data.load("pmnist", "test", cache_dir=_cache(), permutation_seed=1)
  assert not np.array_equal(other["inputs"], permuted["inputs"])
  assert info.name == "pmnist"
