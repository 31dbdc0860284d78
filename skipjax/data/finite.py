"""Fixed, finite train / validation / test sets of the synthetic token tasks (the papers' protocol).

The papers train on a fixed, finite training set, which `finite_splits` builds for the token
tasks of `skipjax.data.synthetic` (whose generators are endless streams): train, validation and
test sets of given sizes in which no input sequence occurs twice (no test sequence is in train).

Gui et al.'s protocol, read from the authors' released code (yslin1995/DynamicLSTM,
NumberPrediction/; PAPERS.md section 4):
- `produce_data.py` draws 100,000 training and 100,000 test rows, each `a` = 100 digits
  U{0..9}, `b` = one digit U{0..9} and the label `c = a[b + 90]`, stored as the 102 columns
  [a, b, c]. The pointer therefore always names one of the LAST 10 digits.
- The indexing bug: `train_RL10_1.py` feeds columns 0..10 (the first eleven digits of `a`; the
  pointer `b` is column 100) and takes column 11 (the digit a[11]) as the label: the label is
  independent of the inputs, so the released pair as written can only learn chance (10%). The
  generator's comment says the intended row is "the first 10 numbers are inputs, the last one is
  label" (12 columns: 10 digits, pointer, label). Our reading, the one consistent with both the
  comment and `c = a[b + 90]`: the sequence is the last L-1 digits of `a` followed by `b`, and
  the label is `a[b + 90]`, i.e. the b-th (0-based) of the last 10 digits. For L=11 this is
  exactly "10 digits, a pointer p in 0..9, label = digit p". For L=21 (no released generator) it
  is 20 digits, a pointer b in 0..9, label = digit 10 + b: every target lies within the agent's
  reach of K=10 (the paper's K for both lengths). `number_prediction_pointer(pointer_range=10)`
  generates this reading; `pointer_range=None` (every one of the L-1 digits) is the other one.
  Pointer tokens take the ids 0..pointer_range-1, the digits' ids, as in the authors' one-hot
  encoding of depth 10.
- The trainer also selects its checkpoint on the test rows it reports (the first 1,000), and its
  "early stop" after 5 epochs without a better score only prints (no break: all 200 epochs run;
  its counter also reaches 5 after 4 epochs without improvement). Ours: a separate dev split, a
  patience of 5 evaluations on dev, the test split scored once, at the best-dev checkpoint.

This module imports only numpy.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from skipjax import validation
from skipjax.data import synthetic

# Tasks whose examples are token sequences, compared exactly by `finite_splits`.
FINITE_TASKS = ("number_prediction_jump", "number_prediction_pointer")
# The order in which `finite_splits` draws the splits (a later split rejects earlier rows).
FINITE_SPLIT_ORDER = ("train", "validation", "test")
# Candidates are drawn in chunks of this many rows: chunk i of a split is
# task(seed, i, FINITE_CHUNK, split=split), so the sets do not depend on any batch size.
FINITE_CHUNK = 10_000


class FiniteSplits(NamedTuple):
  """arrays[split]: {'inputs' [N, T] int32, 'lengths' [N] int32, 'labels' [N] int32} (no mask:
  a batcher adds it); rejected[split]: candidates dropped because their input sequence had
  already been drawn (into this split or an earlier one)."""
  arrays: dict[str, dict[str, np.ndarray]]
  rejected: dict[str, int]


def num_distinct_sequences(name: str, **task_kwargs: Any) -> int:
  """How many different input sequences the token task `name` can generate (a Python int)."""
  if name not in FINITE_TASKS:
    raise ValueError(f"task {name!r} has no finite form; finite tasks: {list(FINITE_TASKS)}")
  unknown = sorted(set(task_kwargs) - {"length", "pointer_range"})
  if unknown:
    raise TypeError(f"{name}() got an unexpected keyword argument {unknown[0]!r}")
  if name == "number_prediction_jump":
    if "pointer_range" in task_kwargs:
      raise TypeError("number_prediction_jump() got an unexpected keyword argument "
                      "'pointer_range'")
    length = task_kwargs.get("length", 100)
    validation.check_positive_int("length", length)
    return synthetic.NUM_DIGITS ** (length - 1) * (length - 1)
  length = task_kwargs.get("length", 11)
  validation.check_positive_int("length", length)
  span = synthetic.check_pointer_range(length, task_kwargs.get("pointer_range"))
  return synthetic.NUM_DIGITS ** (length - 1) * span


def finite_splits(name: str, seed: int, sizes: dict[str, int], **task_kwargs: Any
                  ) -> FiniteSplits:
  """Fixed train / validation / test sets of a token task in which no input sequence repeats.

  The splits named in `sizes` (a subset of FINITE_SPLIT_ORDER, each a positive number of
  examples) are drawn in the order train, validation, test, each from its own stream (chunks of
  FINITE_CHUNK rows, `task(seed, i, FINITE_CHUNK, split=split)`). A candidate whose input
  sequence was already accepted, into the same split or an earlier one, is rejected and the
  stream is read further, so every split has exactly its size and no test (or validation)
  sequence occurs in train: collisions are rejected, not deduplicated afterwards. The result is
  a function of (name, seed, sizes, task_kwargs) only. At the papers' sizes collisions are rare
  (L=11: about 10^11 sequences, so ~0.05 expected among 100,000 rows), but the guarantee holds
  at any size; sizes summing past `num_distinct_sequences` raise ValueError.
  """
  if name not in FINITE_TASKS:
    raise ValueError(f"task {name!r} has no finite form (its examples are not token sequences "
                     f"compared exactly); finite tasks: {list(FINITE_TASKS)}")
  validation.check_nonneg_int("seed", seed)
  unknown = sorted(set(sizes) - set(FINITE_SPLIT_ORDER))
  if unknown or not sizes:
    raise ValueError(f"sizes must name some of the splits {list(FINITE_SPLIT_ORDER)}, got "
                     f"{sorted(sizes)}")
  for split, n in sizes.items():
    validation.check_positive_int(f"sizes[{split!r}]", n)
  total = sum(sizes.values())
  available = num_distinct_sequences(name, **task_kwargs)
  if total > available:
    raise ValueError(f"{total} distinct examples requested ({dict(sizes)}) but {name} with "
                     f"{task_kwargs} has only {available} different sequences")
  fn = synthetic.TASKS[name]
  seen: set[bytes] = set()
  arrays, rejected = {}, {}
  for split in FINITE_SPLIT_ORDER:
    if split not in sizes:
      continue
    need, chunks, dropped, index = sizes[split], [], 0, 0
    while need:
      batch = fn(seed, index, FINITE_CHUNK, split=split, **task_kwargs)
      index += 1
      inputs = np.ascontiguousarray(batch["inputs"])
      keys = inputs.view(np.dtype((np.void, inputs.itemsize * inputs.shape[1]))).ravel().tolist()
      keep = []
      for row, key in enumerate(keys):
        if key in seen:
          dropped += 1
          continue
        seen.add(key)
        keep.append(row)
        if len(keep) == need:
          break
      keep = np.asarray(keep, np.int64)
      chunks.append({k: batch[k][keep] for k in ("inputs", "lengths", "labels")})
      need -= len(keep)
    arrays[split] = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    rejected[split] = dropped
  return FiniteSplits(arrays, rejected)
