"""Synthetic tasks from the papers, as deterministic batch generators keyed by (seed, split, index).

Every generator is a pure function `task(seed, index, batch_size, ..., split='train') -> batch`:
batch `index` of a split is the same numpy arrays on every call and every machine, so a training
run resumes exactly by remembering the next index (see `SyntheticBatches.get_state`). Batches are
dicts of numpy arrays with a leading batch axis:

- 'inputs':  [B, T, D] float32 (adding, frequency) or [B, T] int32 token ids (number prediction)
- 'lengths': [B] int32, all equal to T (no padding in these tasks)
- 'labels':  [B] float32 (adding, a regression target) or [B] int32 class ids
- 'mask':    [B] float32 ones (every row is a real example)

Tasks:
- `adding`: Campos et al. 2018 (after Neil et al. 2016), PAPERS.md section 1.
- `frequency_discrimination`: Campos et al. 2018, PAPERS.md section 1.
- `number_prediction_jump`: Yu et al. 2017 (LSTM-Jump), section 4.1: the first token is the
  (0-based) position of the answer.
- `number_prediction_pointer`: Gui et al. 2019 (dynamic skip), section 4.1: L-1 digits then a
  pointer; the answer is the digit it points at (see "Gui et al.'s protocol" below).

The generators are endless streams (a fresh example every time). The papers train on a fixed,
finite training set: `skipjax.data.finite.finite_splits` builds it for the token tasks (and
says how we read Gui et al.'s released generator).

This module imports only numpy: importing it never imports TensorFlow.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Iterator

import numpy as np

from skipjax import validation

Batch = dict[str, np.ndarray]

# Each split draws from its own stream, so a test set never repeats a training batch.
_SPLIT_STREAMS = {"train": 0, "validation": 1, "test": 2}
# Each task draws from its own stream, so two tasks with the same seed are independent.
_TASK_STREAMS = {"adding": 11, "frequency_discrimination": 12, "number_prediction_jump": 13,
                 "number_prediction_pointer": 14}


def _rng(task: str, seed: int, split: str, index: int) -> np.random.Generator:
  validation.check_nonneg_int("seed", seed)
  validation.check_nonneg_int("index", index)
  if split not in _SPLIT_STREAMS:
    raise ValueError(f"split must be one of {sorted(_SPLIT_STREAMS)}, got {split!r}")
  entropy = [int(seed), _TASK_STREAMS[task], _SPLIT_STREAMS[split], int(index)]
  return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def _full_batch(inputs: np.ndarray, labels: np.ndarray, length: int) -> Batch:
  batch_size = inputs.shape[0]
  return {
      "inputs": inputs,
      "lengths": np.full((batch_size,), length, np.int32),
      "labels": labels,
      "mask": np.ones((batch_size,), np.float32),
  }


def adding(seed: int, index: int, batch_size: int, length: int = 50, *,
           split: str = "train") -> Batch:
  """The adding task (Campos et al. 2018, sec. 4.1; Neil et al. 2016).

  Each step carries two channels: a value drawn from U(-0.5, 0.5) and a marker in {0, 1}. Exactly
  two steps are marked: the first uniformly among the first 10% of the steps (positions
  [0, max(1, floor(0.1 T)))), the second uniformly among the last 50% (positions
  [T - ceil(0.5 T), T)). The target is the sum of the two marked values (variance 1/6; the paper
  calls the task solved at MSE < 1/600).

  Returns: inputs [B, T, 2] float32 (channel 0 values, channel 1 markers), lengths [B] int32 = T,
  labels [B] float32 (the sums), mask [B] float32 ones.
  """
  validation.check_positive_int("batch_size", batch_size)
  validation.check_positive_int("length", length)
  if length < 2:
    raise ValueError(f"length must be at least 2 (two marked steps), got {length}")
  rng = _rng("adding", seed, split, index)
  values = rng.uniform(-0.5, 0.5, size=(batch_size, length)).astype(np.float32)
  first_end = max(1, int(math.floor(0.1 * length)))
  second_start = length - int(math.ceil(0.5 * length))
  first = rng.integers(0, first_end, size=batch_size)
  second = rng.integers(max(second_start, first_end), length, size=batch_size)
  rows = np.arange(batch_size)
  markers = np.zeros((batch_size, length), np.float32)
  markers[rows, first] = 1.0
  markers[rows, second] = 1.0
  labels = (values[rows, first] + values[rows, second]).astype(np.float32)
  return _full_batch(np.stack([values, markers], axis=-1), labels, length)


# Class-0 periods are uniform on the union (1, 5) u (6, 100) ms (measure 4 + 94).
_SHORT_PERIODS = (1.0, 5.0)
_LONG_PERIODS = (6.0, 100.0)
_TARGET_PERIODS = (5.0, 6.0)


def _sample_off_target_periods(rng: np.random.Generator, n: int) -> np.ndarray:
  short = _SHORT_PERIODS[1] - _SHORT_PERIODS[0]
  long = _LONG_PERIODS[1] - _LONG_PERIODS[0]
  u = rng.uniform(0.0, short + long, size=n)
  return np.where(u < short, _SHORT_PERIODS[0] + u, _LONG_PERIODS[0] + (u - short))


def frequency_discrimination(seed: int, index: int, batch_size: int, length: int = 100,
                             dt_ms: float = 1.0, *, split: str = "train") -> Batch:
  """Frequency discrimination (Campos et al. 2018, sec. 4.2; Neil et al. 2016).

  x_t = sin(2 pi t dt / P + phi), t = 0..T-1, phase phi ~ U(0, 2 pi). Class 1: P ~ U(5, 6) ms;
  class 0: P ~ U((1, 5) u (6, 100)) ms. Each batch is balanced: floor(B/2) rows of class 0 and
  ceil(B/2) rows of class 1, in a random order. The paper's two settings are T=100 with
  dt_ms=1.0 and T=200 with dt_ms=0.5 (both 100 ms of signal).

  Note (a property of the paper's task, kept as is): sampled at dt = 1 ms, a class-0 sine with
  P in [1.2, 1.25] ms aliases to an apparent period P / (P - 1) in [5, 6] ms and cannot be told
  from class 1; about 0.05% of class-0 rows (0.026% of all rows) are affected.

  Returns: inputs [B, T, 1] float32, lengths [B] int32 = T, labels [B] int32 in {0, 1},
  mask [B] float32 ones.
  """
  validation.check_positive_int("batch_size", batch_size)
  validation.check_positive_int("length", length)
  if not (isinstance(dt_ms, (int, float)) and dt_ms > 0):
    raise ValueError(f"dt_ms must be a positive number of milliseconds, got {dt_ms!r}")
  rng = _rng("frequency_discrimination", seed, split, index)
  labels = rng.permutation(np.arange(batch_size) < (batch_size + 1) // 2).astype(np.int32)
  in_band = rng.uniform(*_TARGET_PERIODS, size=batch_size)
  out_band = _sample_off_target_periods(rng, batch_size)
  periods = np.where(labels == 1, in_band, out_band)
  phases = rng.uniform(0.0, 2.0 * np.pi, size=batch_size)
  times = np.arange(length, dtype=np.float64) * dt_ms
  signal = np.sin(2.0 * np.pi * times[None, :] / periods[:, None] + phases[:, None])
  return _full_batch(signal.astype(np.float32)[..., None], labels, length)


NUM_DIGITS = 10


def number_prediction_jump(seed: int, index: int, batch_size: int, length: int = 100, *,
                           split: str = "train") -> Batch:
  """Number prediction in LSTM-Jump's form (Yu et al. 2017, sec. 4.1).

  A sequence x_0..x_{T-1}: the first token x_0 ~ U{1, ..., T-1} is a position, the others are
  digits x_1..x_{T-1} ~ U{0, ..., 9}, and the label is x_{x_0} (0-based indexing, as in the
  paper's examples "4, 5, 1, 7, 6, 2 -> 6" and "2, 4, 9, 4, 5, 6 -> 9"). The paper trains at
  T=100 (also tests 10 and 1000). Token ids are the integers themselves, so the vocabulary is
  {0, ..., max(9, T-1)} (`number_prediction_vocab_size('jump', T)`); no id is reserved for
  padding because no row is padded.

  Returns: inputs [B, T] int32, lengths [B] int32 = T, labels [B] int32 in [0, 9],
  mask [B] float32 ones.
  """
  validation.check_positive_int("batch_size", batch_size)
  validation.check_positive_int("length", length)
  if length < 2:
    raise ValueError(f"length must be at least 2 (a pointer and a digit), got {length}")
  rng = _rng("number_prediction_jump", seed, split, index)
  tokens = rng.integers(0, NUM_DIGITS, size=(batch_size, length)).astype(np.int32)
  pointers = rng.integers(1, length, size=batch_size).astype(np.int32)
  tokens[:, 0] = pointers
  labels = tokens[np.arange(batch_size), pointers].astype(np.int32)
  return _full_batch(tokens, labels, length)


def check_pointer_range(length: int, pointer_range: int | None) -> int:
  """The number of digits the pointer may name: pointer_range, or all L-1 when None."""
  if pointer_range is None:
    return length - 1
  validation.check_positive_int("pointer_range", pointer_range)
  if pointer_range > length - 1:
    raise ValueError(f"pointer_range={pointer_range} exceeds the {length - 1} digits of a "
                     f"length-{length} sequence")
  return int(pointer_range)


def number_prediction_pointer(seed: int, index: int, batch_size: int, length: int = 11, *,
                              pointer_range: int | None = None, split: str = "train") -> Batch:
  """Number prediction in Gui et al.'s form (AAAI 2019, sec. 4.1).

  A sequence of L-1 digits x_0..x_{L-2} ~ U{0, ..., 9} followed by a pointer token
  x_{L-1} = b ~ U{0, ..., R-1}, R = pointer_range (None: R = L-1); the label is the b-th
  (0-based) of the last R digits, x_{L-1-R+b}. With R = L-1 (the default) the pointer is the
  position itself (label x_b); R=10 is the range of the authors' generator (label a[b + 90]:
  one of the last 10 digits; see the module docstring), the same task as R = L-1 for L=11.
  The paper uses L = 11 and 21. Token ids are the integers themselves, so the vocabulary is
  {0, ..., max(9, R-1)} (`number_prediction_vocab_size('pointer', L, R)`).

  Returns: inputs [B, L] int32, lengths [B] int32 = L, labels [B] int32 in [0, 9],
  mask [B] float32 ones.
  """
  validation.check_positive_int("batch_size", batch_size)
  validation.check_positive_int("length", length)
  if length < 2:
    raise ValueError(f"length must be at least 2 (a digit and a pointer), got {length}")
  span = check_pointer_range(length, pointer_range)
  rng = _rng("number_prediction_pointer", seed, split, index)
  tokens = rng.integers(0, NUM_DIGITS, size=(batch_size, length)).astype(np.int32)
  pointers = rng.integers(0, span, size=batch_size).astype(np.int32)
  tokens[:, -1] = pointers
  labels = tokens[np.arange(batch_size), length - 1 - span + pointers].astype(np.int32)
  return _full_batch(tokens, labels, length)


def number_prediction_vocab_size(form: str, length: int, pointer_range: int | None = None) -> int:
  """Number of token ids of a number-prediction task: form 'jump' or 'pointer' (whose pointer
  takes pointer_range values, all L-1 positions when None)."""
  validation.check_positive_int("length", length)
  if form == "jump":
    if pointer_range is not None:
      raise ValueError("pointer_range applies to the 'pointer' form only")
    return max(NUM_DIGITS, length)
  if form == "pointer":
    return max(NUM_DIGITS, check_pointer_range(length, pointer_range))
  raise ValueError(f"form must be 'jump' or 'pointer', got {form!r}")


TASKS: dict[str, Callable[..., Batch]] = {
    "adding": adding,
    "frequency_discrimination": frequency_discrimination,
    "number_prediction_jump": number_prediction_jump,
    "number_prediction_pointer": number_prediction_pointer,
}


def task_info(name: str, **task_kwargs: Any) -> dict[str, Any]:
  """Static facts about a task: 'num_classes' (None for regression), 'vocab_size' (None for
  float inputs), 'input_dim' (None for token ids), 'length'."""
  if name not in TASKS:
    raise ValueError(f"unknown synthetic task {name!r}; known: {sorted(TASKS)}")
  defaults = {"adding": 50, "frequency_discrimination": 100, "number_prediction_jump": 100,
              "number_prediction_pointer": 11}
  length = task_kwargs.get("length", defaults[name])
  if name == "adding":
    return {"num_classes": None, "vocab_size": None, "input_dim": 2, "length": length}
  if name == "frequency_discrimination":
    return {"num_classes": 2, "vocab_size": None, "input_dim": 1, "length": length}
  form = "jump" if name == "number_prediction_jump" else "pointer"
  vocab = number_prediction_vocab_size(form, length, task_kwargs.get("pointer_range"))
  return {"num_classes": NUM_DIGITS, "vocab_size": vocab, "input_dim": None, "length": length}


def shard_batch(batch: Batch, process_index: int, process_count: int) -> Batch:
  """Rows [i * B/n, (i+1) * B/n) of a global batch for process i of n (B must divide by n)."""
  validation.check_positive_int("process_count", process_count)
  validation.check_nonneg_int("process_index", process_index)
  if process_index >= process_count:
    raise ValueError(f"process_index must be < process_count={process_count}, "
                     f"got {process_index}")
  global_batch = next(iter(batch.values())).shape[0]
  if global_batch % process_count:
    raise ValueError(f"the global batch size {global_batch} must be divisible by "
                     f"process_count={process_count}")
  per_process = global_batch // process_count
  start = process_index * per_process
  return {k: v[start:start + per_process] for k, v in batch.items()}


class SyntheticBatches(Iterator[Batch]):
  """An endless, resumable iterator over a synthetic task: batch i = task(seed, i, ...).

  The state is {'seed', 'split', 'index'} (JSON-serialisable): `set_state(get_state())` on any
  iterator of the same task gives the same future batches. With process_count > 1 every process
  builds the same global batch and keeps its own contiguous rows (`shard_batch`), so the data a
  step sees does not depend on the number of processes.
  """

  def __init__(self, name: str, seed: int, batch_size: int, *, split: str = "train",
               start_index: int = 0, process_index: int = 0, process_count: int = 1,
               **task_kwargs: Any):
    if name not in TASKS:
      raise ValueError(f"unknown synthetic task {name!r}; known: {sorted(TASKS)}")
    validation.check_nonneg_int("seed", seed)
    validation.check_positive_int("batch_size", batch_size)
    validation.check_nonneg_int("start_index", start_index)
    validation.check_positive_int("process_count", process_count)
    if batch_size % process_count:
      raise ValueError(f"batch_size (the global batch) {batch_size} must be divisible by "
                       f"process_count={process_count}")
    if not 0 <= process_index < process_count:
      raise ValueError(f"process_index must lie in [0, {process_count}), got {process_index}")
    if split not in _SPLIT_STREAMS:
      raise ValueError(f"split must be one of {sorted(_SPLIT_STREAMS)}, got {split!r}")
    self.name = name
    self.seed = int(seed)
    self.split = split
    self.batch_size = batch_size
    self.process_index = process_index
    self.process_count = process_count
    self.task_kwargs = dict(task_kwargs)
    self.index = int(start_index)
    self.info = task_info(name, **task_kwargs)
    # Fail now, not at the first batch, on bad task arguments.
    TASKS[name](self.seed, 0, 1, split=split, **self.task_kwargs)

  def __iter__(self) -> "SyntheticBatches":
    return self

  def __next__(self) -> Batch:
    batch = TASKS[self.name](self.seed, self.index, self.batch_size, split=self.split,
                             **self.task_kwargs)
    self.index += 1
    if self.process_count > 1:
      batch = shard_batch(batch, self.process_index, self.process_count)
    return batch

  def get_state(self) -> dict[str, Any]:
    return {"seed": self.seed, "split": self.split, "index": self.index}

  def set_state(self, state: dict[str, Any]) -> None:
    if state.get("seed") != self.seed or state.get("split") != self.split:
      raise ValueError(f"state {state!r} was saved by an iterator with another seed or split "
                       f"(this one: seed={self.seed}, split={self.split!r})")
    validation.check_nonneg_int("state['index']", state.get("index"))
    self.index = int(state["index"])


def synthetic_batches(name: str, seed: int, batch_size: int, **kwargs: Any) -> SyntheticBatches:
  """`SyntheticBatches(name, seed, batch_size, **kwargs)`; kwargs: split, start_index,
  process_index, process_count and the task's own (length, dt_ms)."""
  return SyntheticBatches(name, seed, batch_size, **kwargs)


def fixed_set(name: str, seed: int, num_examples: int, batch_size: int, *,
              split: str = "test", **task_kwargs: Any) -> list[Batch]:
  """A fixed evaluation set of ceil(num_examples / batch_size) batches of `split`; the last batch
  keeps its full size with mask 0 on the rows past num_examples (never dropped)."""
  validation.check_positive_int("num_examples", num_examples)
  validation.check_positive_int("batch_size", batch_size)
  batches = []
  for index in range(-(-num_examples // batch_size)):
    batch = TASKS[name](seed, index, batch_size, split=split, **task_kwargs)
    valid = num_examples - index * batch_size
    if valid < batch_size:
      batch["mask"] = (np.arange(batch_size) < valid).astype(np.float32)
    batches.append(batch)
  return batches
