"""Tests for skipjax.data.batching: epochs, padded last batch, bucketing, resume, sharding, BPTT."""

import json

import numpy as np
import pytest

from skipjax.data import batching


def _arrays(n=10, t=8, seed=0):
  rng = np.random.default_rng(seed)
  lengths = rng.integers(1, t + 1, size=n).astype(np.int32)
  inputs = np.zeros((n, t), np.int32)
  for i, l in enumerate(lengths):
    inputs[i, :l] = 100 * (i + 1) + np.arange(1, l + 1)   # row i is recognisable: 100(i+1)+k
  return {"inputs": inputs, "lengths": lengths, "labels": np.arange(n, dtype=np.int32)}


def _ids(batch):
  return batch["labels"][batch["mask"] > 0].tolist()


def test_training_epochs_cover_every_example_once_in_a_seeded_order():
  batcher = batching.batches(_arrays(12), 4, train=True, seed=3)
  epoch0 = [_ids(next(batcher)) for _ in range(3)]
  epoch1 = [_ids(next(batcher)) for _ in range(3)]
  assert sorted(sum(epoch0, [])) == list(range(12)) == sorted(sum(epoch1, []))
  assert epoch0 != epoch1 and sum(epoch0, []) != list(range(12))
  again = batching.batches(_arrays(12), 4, train=True, seed=3)
  assert [_ids(next(again)) for _ in range(3)] == epoch0
  other = batching.batches(_arrays(12), 4, train=True, seed=4)
  assert [_ids(next(other)) for _ in range(3)] != epoch0


def test_evaluation_pads_and_masks_the_last_batch():
  arrays = _arrays(10)
  out = list(batching.batches(arrays, 4, train=False))
  assert len(out) == 3
  for b in out:
    assert b["inputs"].shape == (4, 8) and b["mask"].dtype == np.float32
  np.testing.assert_array_equal(out[2]["mask"], [1, 1, 0, 0])
  # Filler rows repeat real rows of the same batch (examples 8 and 9), so they are valid inputs.
  np.testing.assert_array_equal(out[2]["labels"], [8, 9, 8, 9])
  np.testing.assert_array_equal(out[2]["inputs"][2], arrays["inputs"][8])
  assert sum((_ids(b) for b in out), []) == list(range(10))   # in order, none dropped
  dropped = list(batching.batches(arrays, 4, train=False, drop_remainder=True))
  assert len(dropped) == 2 and all(b["mask"].all() for b in dropped)


def test_resume_from_saved_state_gives_identical_batches():
  batcher = batching.batches(_arrays(10), 4, train=True, seed=1)
  for _ in range(4):                  # into the second epoch (3 batches per epoch)
    next(batcher)
  state = json.loads(json.dumps(batcher.get_state()))
  assert state["epoch"] == 1 and state["position"] == 1
  expected = [next(batcher) for _ in range(5)]
  restored = batching.batches(_arrays(10), 4, train=True, seed=1)
  restored.set_state(state)
  for want in expected:
    got = next(restored)
    assert got.keys() == want.keys()
    for k in want:
      np.testing.assert_array_equal(got[k], want[k])
  with pytest.raises(ValueError, match="seed"):
    batching.batches(_arrays(10), 4, train=True, seed=2).set_state(state)
  with pytest.raises(ValueError, match="batch_size"):
    batching.batches(_arrays(10), 5, train=True, seed=1).set_state(state)


def test_bucketing_groups_similar_lengths_and_cuts_the_time_axis():
  arrays = _arrays(40, t=8, seed=5)
  batcher = batching.Batcher(arrays, 4, shuffle=True, seed=0, bucket_boundaries=[2, 4, 6],
                             num_epochs=1)
  seen = []
  for batch in batcher:
    longest = batch["lengths"].max()
    width = batch["inputs"].shape[1]
    assert width == min([b for b in (2, 4, 6) if b >= longest] or [8])
    # Cutting never loses a token: every row's content fits.
    for row, l in zip(batch["inputs"], batch["lengths"]):
      assert np.count_nonzero(row) == l
    seen += _ids(batch)
  assert sorted(seen) == list(range(40))
  # Sorted within one window (all 40 here): the batches are length-homogeneous.
  spreads = [b["lengths"].max() - b["lengths"].min()
             for b in batching.Batcher(arrays, 4, shuffle=False, bucket_boundaries=[8],
                                       num_epochs=1)]
  assert sum(spreads) <= 8 - 1


def test_sharding_splits_each_global_batch_between_processes():
  arrays = _arrays(10)
  full = list(batching.batches(arrays, 4, train=False))
  shards = [list(batching.batches(arrays, 4, train=False, process_index=i, process_count=2))
            for i in range(2)]
  for k, batch in enumerate(full):
    for key in batch:
      np.testing.assert_array_equal(
          np.concatenate([shards[0][k][key], shards[1][k][key]]), batch[key])
  with pytest.raises(ValueError, match="divisible"):
    batching.batches(arrays, 5, train=False, process_count=2)
  with pytest.raises(ValueError, match="process_index"):
    batching.batches(arrays, 4, train=False, process_index=2, process_count=2)


def test_lm_windows_hand_checked():
  stream = np.arange(23, dtype=np.int32)      # 22 predictions, 2 rows of 11
  out = list(batching.batches({"tokens": stream}, 2, train=False, bptt=5))
  assert len(out) == 3
  np.testing.assert_array_equal(out[0]["inputs"], [[0, 1, 2, 3, 4], [11, 12, 13, 14, 15]])
  np.testing.assert_array_equal(out[0]["labels"], [[1, 2, 3, 4, 5], [12, 13, 14, 15, 16]])
  np.testing.assert_array_equal(out[1]["inputs"][1], [16, 17, 18, 19, 20])
  np.testing.assert_array_equal(out[2]["inputs"], [[10, 0, 0, 0, 0], [21, 0, 0, 0, 0]])
  np.testing.assert_array_equal(out[2]["labels"], [[11, 0, 0, 0, 0], [22, 0, 0, 0, 0]])
  np.testing.assert_array_equal(out[2]["lengths"], [1, 1])


def test_lm_windows_predict_every_token_once():
  stream = np.arange(1, 31, dtype=np.int32)   # 29 predictions over 4 rows of 8 (last row 5)
  targets = []
  for batch in batching.LMBatcher(stream, 4, 3, num_epochs=1):
    for row, l in enumerate(batch["lengths"]):
      np.testing.assert_array_equal(batch["labels"][row, :l], batch["inputs"][row, :l] + 1)
      targets += batch["labels"][row, :l].tolist()
    np.testing.assert_array_equal(batch["mask"], (batch["lengths"] > 0).astype(np.float32))
  assert sorted(targets) == list(range(2, 31))


def test_lm_resume():
  stream = np.arange(100, dtype=np.int32)
  it = batching.LMBatcher(stream, 3, 4)
  for _ in range(10):                         # 9 windows per epoch: into epoch 1
    next(it)
  state = json.loads(json.dumps(it.get_state()))
  want = [next(it) for _ in range(3)]
  again = batching.LMBatcher(stream, 3, 4)
  again.set_state(state)
  for w in want:
    np.testing.assert_array_equal(next(again)["inputs"], w["inputs"])
  with pytest.raises(ValueError, match="bptt"):
    batching.LMBatcher(stream, 3, 5).set_state(state)


def test_bad_arguments_raise_clear_errors():
  arrays = _arrays(6)
  with pytest.raises(ValueError, match="leading"):
    batching.Batcher({"inputs": arrays["inputs"], "labels": np.zeros(5)}, 2)
  with pytest.raises(ValueError, match="mask"):
    batching.Batcher({**arrays, "mask": np.ones(6)}, 2)
  with pytest.raises(ValueError, match="batch_size"):
    batching.Batcher(arrays, 0)
  with pytest.raises(ValueError, match="bucket_boundaries"):
    batching.Batcher(arrays, 2, bucket_boundaries=[4, 2])
  with pytest.raises(ValueError, match="bptt"):
    batching.batches({"tokens": np.arange(10)}, 2, train=True)
  with pytest.raises(TypeError, match="integer"):
    batching.LMBatcher(np.linspace(0, 1, 10), 2, 2)


def test_bucketed_evaluation_gives_the_unbucketed_metrics():
  """Evaluating over length-bucketed batches (other groupings, shorter time axes) gives the
  metrics of plain batches up to float summation order (issue 17 item 4)."""
  import jax  # pylint: disable=g-import-not-at-top
  from skipjax import classifier  # pylint: disable=g-import-not-at-top
  from skipjax.train import step as step_lib  # pylint: disable=g-import-not-at-top
  from skipjax.train.state import TrainState  # pylint: disable=g-import-not-at-top
  arrays = _arrays(37, t=12, seed=3)
  arrays["inputs"] = arrays["inputs"] % 50
  arrays["labels"] = arrays["labels"] % 2
  params = classifier.init(jax.random.PRNGKey(0), vocab_size=50, embed_dim=4, hidden_dim=6,
                           num_classes=2)
  state = TrainState(step=np.int32(0), params=params, opt_state={}, model_state={}, hparams={})
  eval_step = jax.jit(step_lib.make_eval_step(classifier.loss_fn))
  key = jax.random.PRNGKey(1)
  plain = step_lib.evaluate(eval_step, state, batching.batches(arrays, 8, train=False), key)
  bucketed_batches = list(batching.batches(arrays, 8, train=False, bucket_boundaries=[3, 6, 9]))
  assert {b["inputs"].shape[1] for b in bucketed_batches} != {12}  # the time axis was cut
  bucketed = step_lib.evaluate(eval_step, state, bucketed_batches, key)
  assert bucketed["count"] == plain["count"] == 37
  for name in ("loss", "accuracy"):
    np.testing.assert_allclose(bucketed[name], plain[name], rtol=1e-5)
