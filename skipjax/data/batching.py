"""Pure-numpy batching with explicit, JSON-serialisable state (exact resume after a restore).

`Batcher` serves in-memory arrays {'inputs' [N, T, ...], 'lengths' [N], 'labels' [N] or [N, T],
...} as batches {'inputs' [B, ...], 'lengths' [B], 'labels', ..., 'mask' [B] float32}:
- the order of epoch e is a function of (seed, e) only, so the state is (seed, epoch, position);
- the last partial batch keeps the full batch size: its missing rows repeat real rows of the
  same batch (valid inputs, so no model ever sees a degenerate row) with mask 0, and no
  example is dropped unless drop_remainder=True;
- optional bucketing: with bucket_boundaries, batches are made of examples of similar length
  (sorted within windows of `bucket_window` batches when shuffling, sorted globally otherwise)
  and the time axis is cut to the smallest boundary >= the longest example of the batch, so a
  jitted step sees only len(bucket_boundaries) + 1 shapes;
- multi-host: each process keeps rows [i * B/n, (i+1) * B/n) of the same global batch (only
  those rows are gathered; a bucketed batch is cut to the global batch's width).

`LMBatcher` serves a contiguous token stream as [B, T] BPTT windows (Zaremba et al. 2014).
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from skipjax import validation

Batch = dict[str, np.ndarray]


def _epoch_rng(seed: int, epoch: int) -> np.random.Generator:
  return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, epoch])))


def _check_sharding(batch_size: int, process_index: int, process_count: int) -> None:
  validation.check_positive_int("batch_size", batch_size)
  validation.check_positive_int("process_count", process_count)
  if batch_size % process_count:
    raise ValueError(f"batch_size (the global batch) {batch_size} must be divisible by "
                     f"process_count={process_count}")
  if isinstance(process_index, bool) or not 0 <= process_index < process_count:
    raise ValueError(f"process_index must lie in [0, {process_count}), got {process_index}")


class Batcher(Iterator[Batch]):
  """Resumable batches over in-memory example arrays (see the module docstring).

  Args:
    arrays: dict of numpy arrays with the same leading size N; needs 'lengths' [N] when
      bucketing. A 'mask' key is not allowed (the batcher makes it).
    batch_size: the global batch size B.
    shuffle: reshuffle every epoch with an order derived from (seed, epoch).
    seed: non-negative int.
    num_epochs: None for endless; otherwise StopIteration after that many epochs.
    drop_remainder: drop the last partial batch of each epoch instead of padding it.
    bucket_boundaries: increasing sequence lengths; see the module docstring.
    bucket_window: number of batches whose examples are sorted together when shuffling.
    sequence_keys: keys whose axis 1 is time (cut when bucketing). Default: every array of rank
      >= 2 whose axis 1 has the size of arrays['inputs'].shape[1].
    process_index, process_count: this process's share of each global batch.
  """

  def __init__(self, arrays: dict[str, np.ndarray], batch_size: int, *, shuffle: bool = True,
               seed: int = 0, num_epochs: int | None = None, drop_remainder: bool = False,
               bucket_boundaries: Sequence[int] | None = None, bucket_window: int = 100,
               sequence_keys: Sequence[str] | None = None, process_index: int = 0,
               process_count: int = 1):
    if not arrays:
      raise ValueError("arrays must hold at least one array")
    if "mask" in arrays:
      raise ValueError("arrays must not contain 'mask': the batcher adds it")
    sizes = {k: np.shape(v)[0] if np.ndim(v) else None for k, v in arrays.items()}
    n = next(iter(sizes.values()))
    if n is None or any(s != n for s in sizes.values()):
      raise ValueError(f"every array needs the same leading (example) axis, got sizes {sizes}")
    if n == 0:
      raise ValueError("arrays hold no examples")
    _check_sharding(batch_size, process_index, process_count)
    validation.check_nonneg_int("seed", seed)
    if num_epochs is not None:
      validation.check_positive_int("num_epochs", num_epochs)
    self.arrays = {k: np.asarray(v) for k, v in arrays.items()}
    self.num_examples = int(n)
    self.batch_size = batch_size
    self.shuffle = bool(shuffle)
    self.seed = int(seed)
    self.num_epochs = num_epochs
    self.drop_remainder = bool(drop_remainder)
    self.process_index = process_index
    self.process_count = process_count
    if drop_remainder and n < batch_size:
      raise ValueError(f"drop_remainder=True with {n} examples < batch_size={batch_size} "
                       "would yield no batch")
    self.bucket_boundaries = None
    if bucket_boundaries is not None:
      bounds = [int(b) for b in bucket_boundaries]
      if not bounds or any(b <= 0 for b in bounds) or bounds != sorted(set(bounds)):
        raise ValueError("bucket_boundaries must be strictly increasing positive lengths, got "
                         f"{list(bucket_boundaries)}")
      if "lengths" not in self.arrays:
        raise ValueError("bucketing needs arrays['lengths']")
      self.bucket_boundaries = bounds
      validation.check_positive_int("bucket_window", bucket_window)
    self.bucket_window = bucket_window
    if sequence_keys is None:
      time = np.shape(self.arrays["inputs"])[1] if np.ndim(self.arrays.get("inputs", 0)) >= 2 \
          else None
      sequence_keys = [k for k, v in self.arrays.items()
                       if time is not None and v.ndim >= 2 and v.shape[1] == time]
    self.sequence_keys = tuple(sequence_keys)
    self.epoch = 0
    self.position = 0
    self._order_epoch = None
    self._batches: list[np.ndarray] = []

  # ----- epoch plans -----

  def _plan(self, epoch: int) -> list[np.ndarray]:
    """The example indices of every batch of `epoch` (the last one may be short)."""
    n, b = self.num_examples, self.batch_size
    rng = _epoch_rng(self.seed, epoch)
    order = rng.permutation(n) if self.shuffle else np.arange(n)
    if self.bucket_boundaries is not None:
      lengths = self.arrays["lengths"]
      if self.shuffle:
        window = b * self.bucket_window
        chunks = [order[i:i + window] for i in range(0, n, window)]
        order = np.concatenate([c[np.argsort(lengths[c], kind="stable")] for c in chunks])
      else:
        order = order[np.argsort(lengths[order], kind="stable")]
    batches = [order[i:i + b] for i in range(0, n, b)]
    if self.drop_remainder and len(batches[-1]) < b:
      batches = batches[:-1]
    if self.bucket_boundaries is not None and self.shuffle:
      batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches

  def _ensure_plan(self) -> None:
    if self._order_epoch != self.epoch:
      self._batches = self._plan(self.epoch)
      self._order_epoch = self.epoch

  @property
  def batches_per_epoch(self) -> int:
    full, rest = divmod(self.num_examples, self.batch_size)
    return full + (0 if self.drop_remainder or not rest else 1)

  # ----- iteration -----

  def __iter__(self) -> "Batcher":
    return self

  def __next__(self) -> Batch:
    if self.num_epochs is not None and self.epoch >= self.num_epochs:
      raise StopIteration
    self._ensure_plan()
    indices = self._batches[self.position]
    self.position += 1
    if self.position >= len(self._batches):
      self.epoch, self.position = self.epoch + 1, 0
    return self._make_batch(indices)

  def _make_batch(self, indices: np.ndarray) -> Batch:
    valid = len(indices)
    mask = np.zeros(self.batch_size, np.float32)
    mask[:valid] = 1.0
    if valid < self.batch_size:
      # Fill with real rows of this batch (cycled), masked out.
      indices = np.concatenate([indices, indices[np.arange(self.batch_size - valid) % valid]])
    # The global batch's longest example sets the bucket width, so that every process cuts its
    # rows to the same width (one global array).
    longest = (int(self.arrays["lengths"][indices].max(initial=1))
               if self.bucket_boundaries is not None else 0)
    shard = slice(self.process_index * (self.batch_size // self.process_count),
                  (self.process_index + 1) * (self.batch_size // self.process_count))
    indices, mask = indices[shard], mask[shard]
    batch = {k: v[indices] for k, v in self.arrays.items()}
    if self.bucket_boundaries is not None:
      fitting = [b for b in self.bucket_boundaries if b >= longest]
      width = fitting[0] if fitting else None  # longer than every boundary: keep the full T
      if width is not None:
        for k in self.sequence_keys:
          batch[k] = batch[k][:, :width]
    batch["mask"] = mask
    return batch

  # ----- state -----

  def get_state(self) -> dict[str, Any]:
    """{'seed', 'epoch', 'position', 'num_examples', 'batch_size'}: JSON-serialisable."""
    return {"seed": self.seed, "epoch": self.epoch, "position": self.position,
            "num_examples": self.num_examples, "batch_size": self.batch_size}

  def set_state(self, state: dict[str, Any]) -> None:
    """Restores a state from get_state(); the next batch is the one that followed it."""
    for key in ("seed", "num_examples", "batch_size"):
      if state.get(key) != getattr(self, key):
        raise ValueError(f"cannot restore state {state!r}: its {key} differs from this "
                         f"batcher's ({getattr(self, key)!r})")
    validation.check_nonneg_int("state['epoch']", state.get("epoch"))
    validation.check_nonneg_int("state['position']", state.get("position"))
    if state["position"] >= self.batches_per_epoch:
      raise ValueError(f"state['position']={state['position']} is past the "
                       f"{self.batches_per_epoch} batches of an epoch")
    self.epoch, self.position = int(state["epoch"]), int(state["position"])


class LMBatcher(Iterator[Batch]):
  """BPTT windows over a token stream (Zaremba et al. 2014), with exact resume.

  The stream [N] is cut into B contiguous rows of L = ceil((N - 1) / B) predictions each (the last
  rows may be shorter; no token is dropped), and each batch is the next window of `bptt` steps of
  every row: inputs [B, bptt] int32 = row[t:t+bptt], labels [B, bptt] int32 = row[t+1:t+bptt+1],
  lengths [B] int32 = the valid steps of each row in this window (bptt except at the end), mask [B]
  float32 = (lengths > 0), reset [B] float32 = 1 in the first window of each pass (a model carrying
  its state restarts it from zeros there, as at the start of every epoch in Zaremba et al.), else 0.
  Row b of window k+1 continues row b of window k, so a model may carry its state across batches.
  Windows are not shuffled (order matters); the state is (epoch, position).
  With process_count > 1, process i keeps rows [i * B/n, (i+1) * B/n).
  """

  def __init__(self, tokens: np.ndarray, batch_size: int, bptt: int, *,
               num_epochs: int | None = None, process_index: int = 0, process_count: int = 1):
    tokens = np.asarray(tokens)
    validation.check_rank("tokens", tokens, 1)
    if not np.issubdtype(tokens.dtype, np.integer):
      raise TypeError(f"tokens must be integer ids, got dtype {tokens.dtype}")
    _check_sharding(batch_size, process_index, process_count)
    validation.check_positive_int("bptt", bptt)
    if num_epochs is not None:
      validation.check_positive_int("num_epochs", num_epochs)
    if tokens.shape[0] < 2:
      raise ValueError("tokens must hold at least 2 ids (one input and its target)")
    n_pred = tokens.shape[0] - 1
    row_len = -(-n_pred // batch_size)
    starts = np.arange(batch_size) * row_len
    self.row_lengths = np.clip(n_pred - starts, 0, row_len).astype(np.int32)
    padded = np.zeros(batch_size * row_len + 1, np.int32)
    padded[:tokens.shape[0]] = tokens
    idx = starts[:, None] + np.arange(row_len + 1)[None, :]
    self.rows = padded[idx]                       # [B, L + 1]
    self.batch_size, self.bptt, self.row_len = batch_size, bptt, row_len
    self.num_epochs = num_epochs
    self.num_tokens = int(tokens.shape[0])
    self.process_index, self.process_count = process_index, process_count
    self.epoch, self.position = 0, 0

  @property
  def batches_per_epoch(self) -> int:
    return -(-self.row_len // self.bptt)

  def __iter__(self) -> "LMBatcher":
    return self

  def __next__(self) -> Batch:
    if self.num_epochs is not None and self.epoch >= self.num_epochs:
      raise StopIteration
    t = self.position * self.bptt
    first = self.position == 0
    inputs = np.zeros((self.batch_size, self.bptt), np.int32)
    labels = np.zeros((self.batch_size, self.bptt), np.int32)
    width = min(self.bptt, self.row_len - t)
    inputs[:, :width] = self.rows[:, t:t + width]
    labels[:, :width] = self.rows[:, t + 1:t + 1 + width]
    lengths = np.clip(self.row_lengths - t, 0, self.bptt).astype(np.int32)
    keep = np.arange(self.bptt)[None, :] < lengths[:, None]
    inputs, labels = np.where(keep, inputs, 0), np.where(keep, labels, 0)
    self.position += 1
    if self.position >= self.batches_per_epoch:
      self.epoch, self.position = self.epoch + 1, 0
    per = self.batch_size // self.process_count
    shard = slice(self.process_index * per, (self.process_index + 1) * per)
    return {"inputs": inputs[shard], "labels": labels[shard], "lengths": lengths[shard],
            "mask": (lengths[shard] > 0).astype(np.float32),
            "reset": np.full(per, float(first), np.float32)}

  def get_state(self) -> dict[str, Any]:
    return {"epoch": self.epoch, "position": self.position, "num_tokens": self.num_tokens,
            "batch_size": self.batch_size, "bptt": self.bptt}

  def set_state(self, state: dict[str, Any]) -> None:
    for key in ("num_tokens", "batch_size", "bptt"):
      if state.get(key) != getattr(self, key):
        raise ValueError(f"cannot restore state {state!r}: its {key} differs from this "
                         f"batcher's ({getattr(self, key)!r})")
    validation.check_nonneg_int("state['epoch']", state.get("epoch"))
    validation.check_nonneg_int("state['position']", state.get("position"))
    if state["position"] >= self.batches_per_epoch:
      raise ValueError(f"state['position']={state['position']} is past the "
                       f"{self.batches_per_epoch} windows of an epoch")
    self.epoch, self.position = int(state["epoch"]), int(state["position"])


def batches(arrays: dict[str, np.ndarray], batch_size: int, *, train: bool, seed: int = 0,
            bptt: int | None = None, **kwargs: Any) -> Batcher | LMBatcher:
  """The batch iterator for arrays from `skipjax.data.load`.

  train=True: shuffled every epoch (seeded), endless; train=False: in order, one pass, the last
  batch padded and masked. A language-model stream ({'tokens': [N]}) needs `bptt` and gives
  `LMBatcher` windows (never shuffled). Other kwargs go to `Batcher` / `LMBatcher`
  (bucket_boundaries, drop_remainder, num_epochs, process_index, process_count, ...).
  """
  if "tokens" in arrays and np.ndim(arrays["tokens"]) == 1:
    if bptt is None:
      raise ValueError("a language-model token stream needs bptt (the window length)")
    kwargs.setdefault("num_epochs", None if train else 1)
    return LMBatcher(arrays["tokens"], batch_size, bptt, **kwargs)
  if bptt is not None:
    raise ValueError("bptt applies only to a language-model token stream")
  kwargs.setdefault("shuffle", train)
  kwargs.setdefault("num_epochs", None if train else 1)
  return Batcher(arrays, batch_size, seed=seed, **kwargs)
