"""Tests for skipjax.data.synthetic: hand-checked properties of each task, determinism, resume."""

import json
import subprocess
import sys

import numpy as np
import pytest

from skipjax.data import synthetic


def _estimated_periods(x, dt_ms):
  """Period of each row of a pure sine sampled every dt_ms, from x[t+1] + x[t-1] = 2 cos(w dt) x[t].

  Exact for a noiseless sine; gives the apparent (aliased) period when 2 pi dt / P > pi.
  """
  mid, around = x[:, 1:-1], x[:, 2:] + x[:, :-2]
  cos_w = np.sum(around * mid, axis=1) / (2.0 * np.sum(mid * mid, axis=1))
  return 2.0 * np.pi * dt_ms / np.arccos(np.clip(cos_w, -1.0, 1.0))


def test_does_not_import_tensorflow():
  # In a fresh interpreter: other tests in this process may have imported TensorFlow already.
  code = "import skipjax.data, sys; assert 'tensorflow' not in sys.modules, 'tf imported'"
  subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", sorted(synthetic.TASKS))
def test_deterministic_in_seed_split_and_index(name):
  fn = synthetic.TASKS[name]
  a = fn(3, 7, 16)
  b = fn(3, 7, 16)
  for k in a:
    np.testing.assert_array_equal(a[k], b[k])
  assert not np.array_equal(a["inputs"], fn(3, 8, 16)["inputs"])
  assert not np.array_equal(a["inputs"], fn(4, 7, 16)["inputs"])
  assert not np.array_equal(a["inputs"], fn(3, 7, 16, split="test")["inputs"])
  assert set(a) == {"inputs", "lengths", "labels", "mask"}
  assert a["lengths"].dtype == np.int32 and a["mask"].dtype == np.float32
  np.testing.assert_array_equal(a["mask"], np.ones(16, np.float32))


def test_adding_markers_and_targets():
  batch = synthetic.adding(0, 0, 2000, length=50)
  x, y = batch["inputs"], batch["labels"]
  assert x.shape == (2000, 50, 2) and x.dtype == np.float32 and y.dtype == np.float32
  np.testing.assert_array_equal(batch["lengths"], np.full(2000, 50))
  values, markers = x[..., 0], x[..., 1]
  assert values.min() >= -0.5 and values.max() < 0.5
  assert set(np.unique(markers)) == {0.0, 1.0}
  for row in range(2000):
    marked = np.flatnonzero(markers[row])
    assert len(marked) == 2
    first, second = marked
    assert 0 <= first < 5, first          # first 10% of 50 steps
    assert 25 <= second < 50, second      # last 50%
    assert y[row] == pytest.approx(values[row, first] + values[row, second], abs=1e-6)
  firsts = np.argmax(markers[:, :5], axis=1)
  seconds = 25 + np.argmax(markers[:, 25:], axis=1)
  assert set(firsts) == set(range(5)) and set(seconds) == set(range(25, 50))
  # Sum of two U(-0.5, 0.5): mean 0, variance 1/6 (the paper's "solved" threshold is 1/600).
  assert abs(y.mean()) < 0.03 and abs(y.var() - 1 / 6) < 0.015


def test_adding_short_sequence_hand_checked():
  batch = synthetic.adding(1, 2, 64, length=10)
  markers = batch["inputs"][..., 1]
  np.testing.assert_array_equal(markers[:, 0], np.ones(64))    # only step 0 is in the first 10%
  assert markers[:, 1:5].sum() == 0                              # steps 1..4 never marked
  assert np.all(markers[:, 5:].sum(axis=1) == 1)


@pytest.mark.parametrize("length,dt_ms", [(100, 1.0), (200, 0.5)])
def test_frequency_discrimination_periods_and_balance(length, dt_ms):
  batch = synthetic.frequency_discrimination(5, 1, 501, length=length, dt_ms=dt_ms)
  x, y = batch["inputs"], batch["labels"]
  assert x.shape == (501, length, 1) and x.dtype == np.float32 and y.dtype == np.int32
  assert (y == 1).sum() == 251 and (y == 0).sum() == 250   # balanced (ceil/floor of B/2)
  assert not np.array_equal(y[:10], np.arange(10) % 2)      # order is shuffled
  assert np.abs(x).max() <= 1.0
  periods = _estimated_periods(x[..., 0].astype(np.float64), dt_ms)
  class1, class0 = periods[y == 1], periods[y == 0]
  assert class1.min() >= 5.0 - 1e-3 and class1.max() <= 6.0 + 1e-3
  in_band = (class0 >= 5.0 - 1e-3) & (class0 <= 6.0 + 1e-3)
  if dt_ms == 0.5:
    assert not in_band.any()     # every period > 2 samples: no aliasing
  else:
    assert in_band.mean() < 0.01  # only the rare aliased P in [1.2, 1.25] ms
  # Class-0 periods cover both intervals, (1, 5) and (6, 100), roughly by their 4:94 measure.
  rng_periods = synthetic._sample_off_target_periods(np.random.default_rng(0), 98000)
  assert rng_periods.min() > 1 and rng_periods.max() < 100
  assert not ((rng_periods >= 5) & (rng_periods <= 6)).any()
  assert abs((rng_periods < 5).mean() - 4 / 98) < 0.003
  # Random phase: first samples spread over [-1, 1].
  assert x[:, 0, 0].min() < -0.9 and x[:, 0, 0].max() > 0.9


def test_number_prediction_jump_labels():
  batch = synthetic.number_prediction_jump(2, 0, 3000, length=10)
  x, y = batch["inputs"], batch["labels"]
  assert x.shape == (3000, 10) and x.dtype == np.int32 and y.dtype == np.int32
  pointers = x[:, 0]
  assert set(pointers) == set(range(1, 10))
  assert x[:, 1:].min() == 0 and x[:, 1:].max() == 9
  for row in range(3000):
    assert y[row] == x[row, x[row, 0]]
  assert set(y) == set(range(10))
  assert synthetic.number_prediction_vocab_size("jump", 100) == 100
  assert synthetic.number_prediction_vocab_size("jump", 8) == 10
  assert synthetic.number_prediction_jump(0, 0, 4, length=100)["inputs"].max() < 100


@pytest.mark.parametrize("length", [11, 21])
def test_number_prediction_pointer_labels(length):
  batch = synthetic.number_prediction_pointer(9, 4, 3000, length=length)
  x, y = batch["inputs"], batch["labels"]
  assert x.shape == (3000, length)
  pointers = x[:, -1]
  assert set(pointers) == set(range(length - 1))
  assert x[:, :-1].min() == 0 and x[:, :-1].max() == 9
  for row in range(3000):
    assert y[row] == x[row, x[row, -1]]
  assert synthetic.number_prediction_vocab_size("pointer", length) == max(10, length - 1)
  info = synthetic.task_info("number_prediction_pointer", length=length)
  assert info["num_classes"] == 10 and x.max() < info["vocab_size"]


def test_iterator_resumes_exactly():
  it = synthetic.SyntheticBatches("adding", seed=7, batch_size=8, length=20)
  for _ in range(3):
    next(it)
  state = json.loads(json.dumps(it.get_state()))
  expected = [next(it) for _ in range(2)]
  restored = synthetic.synthetic_batches("adding", 7, 8, length=20)
  restored.set_state(state)
  for want in expected:
    got = next(restored)
    for k in want:
      np.testing.assert_array_equal(got[k], want[k])
  np.testing.assert_array_equal(expected[0]["inputs"], synthetic.adding(7, 3, 8, 20)["inputs"])
  with pytest.raises(ValueError, match="another seed"):
    synthetic.SyntheticBatches("adding", seed=8, batch_size=8).set_state(state)


def test_sharding_across_processes_partitions_the_global_batch():
  shards = [next(synthetic.SyntheticBatches("number_prediction_pointer", 1, 12,
                                            process_index=i, process_count=3))
            for i in range(3)]
  full = synthetic.number_prediction_pointer(1, 0, 12)
  for k in full:
    np.testing.assert_array_equal(np.concatenate([s[k] for s in shards]), full[k])
  with pytest.raises(ValueError, match="divisible"):
    synthetic.SyntheticBatches("adding", 1, 10, process_count=3)


def test_fixed_set_masks_the_last_partial_batch():
  batches = synthetic.fixed_set("frequency_discrimination", 0, 10, 4)
  assert len(batches) == 3
  np.testing.assert_array_equal(batches[2]["mask"], [1, 1, 0, 0])
  assert batches[2]["inputs"].shape[0] == 4


def test_bad_arguments_raise_clear_errors():
  with pytest.raises(ValueError, match="batch_size"):
    synthetic.adding(0, 0, 0)
  with pytest.raises(ValueError, match="length"):
    synthetic.number_prediction_pointer(0, 0, 4, length=1)
  with pytest.raises(ValueError, match="split"):
    synthetic.adding(0, 0, 4, split="dev")
  with pytest.raises(ValueError, match="seed"):
    synthetic.adding(-1, 0, 4)
  with pytest.raises(ValueError, match="dt_ms"):
    synthetic.frequency_discrimination(0, 0, 4, dt_ms=0)
  with pytest.raises(ValueError, match="unknown synthetic task"):
    synthetic.SyntheticBatches("copy", 0, 4)
