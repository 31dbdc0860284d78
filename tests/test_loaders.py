"""experiments.loaders: in a multi-process run each process's train iterator gives its own rows
of the global batch a single process would see (and a bucketed batch is cut to the global
batch's width on every process), also after a resume."""

import ml_collections
import numpy as np
import pytest

from experiments import loaders
from skipjax.data import batching


def _data(**kwargs):
  return ml_collections.ConfigDict(dict(batch_size=8, eval_batch_size=8, dev_examples=8,
                                        test_examples=8, **kwargs))


def _take(iterator, n):
  return [next(iterator) for _ in range(n)]


@pytest.mark.parametrize("task,kwargs", [
    ("adding", dict(length=12)),                                     # an endless stream
    ("number_prediction_pointer", dict(length=11, train_examples=40)),  # a finite train set
])
def test_each_process_reads_its_rows_of_the_single_process_batches(task, kwargs):
  whole = loaders.DATASETS[task](_data(**kwargs), 3).train
  parts = [loaders.DATASETS[task](_data(**kwargs), 3, process_index=i, process_count=2).train
           for i in range(2)]
  for _ in range(2):  # a resume from the state after a few batches
    for global_batch, *local in zip(_take(whole, 7), *(_take(p, 7) for p in parts)):
      assert set(global_batch) == set(local[0])
      for key, value in global_batch.items():
        assert local[0][key].shape[0] == local[1][key].shape[0] == 4
        np.testing.assert_array_equal(np.concatenate([l[key] for l in local]), value)
    state = whole.get_state()
    assert all(p.get_state() == state for p in parts)
    whole = loaders.DATASETS[task](_data(**kwargs), 3).train
    whole.set_state(state)
    for p in parts:
      p.set_state(state)


def test_a_bucketed_batch_has_the_global_width_on_every_process():
  rng = np.random.default_rng(0)
  lengths = np.concatenate([np.full(4, 2), np.full(4, 9)]).astype(np.int32)  # one batch
  arrays = {"inputs": rng.integers(1, 5, (8, 10)), "lengths": lengths,
            "labels": np.zeros(8, np.int32)}
  whole = next(batching.Batcher(arrays, 8, shuffle=False, bucket_boundaries=[4, 10]))
  assert whole["inputs"].shape == (8, 10)
  for i in range(2):
    part = next(batching.Batcher(arrays, 8, shuffle=False, bucket_boundaries=[4, 10],
                                 process_index=i, process_count=2))
    # Process 0's rows are all of length 2, but its batch is cut where the global batch is.
    assert part["inputs"].shape == (4, 10)
    np.testing.assert_array_equal(part["inputs"], whole["inputs"][4 * i:4 * i + 4])
