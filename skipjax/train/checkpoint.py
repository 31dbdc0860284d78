"""Checkpoints with orbax: periodic saves, keep the latest N and the best, resume, integrity checks.

A checkpoint at step `s` holds two items:

- `state`: the `TrainState` pytree (params, optimiser state, model state, hparams, step);
- `loop`: a JSON dict with everything else a resumed run needs to continue exactly as an
  uninterrupted one: the data iterator position (`get_state()`), early-stopping bookkeeping,
  elapsed training time. PRNG keys are not stored: every step's key is `fold_in(base_key, step)`.

Saving is asynchronous: orbax copies the arrays to host memory before `save` returns (so the
train step may donate or overwrite them at once) and writes the files in a background thread
while training goes on. The step is finished (waited for, its manifest written) by the next call
that needs it: the next `save`, any listing or restore, or `close`. A process killed before that
leaves the step without a manifest, which `restore_latest` treats as never completed.

With several processes (`jax.distributed`) every process creates the manager and calls each
method at the same point: orbax writes a step from all of them together, and process 0 alone
writes the manifests and moves damaged steps aside (`skipjax.train.multihost`); the directory
must be one all processes see.

Orbax writes a step atomically (temporary directory, then rename), but a file can still be lost
or truncated afterwards (disk full, a copy interrupted, a user deleting files). After each save we
write `skipjax_files.json` (size and sha256 of every file in the step directory); `restore`
verifies it and, if the newest checkpoint is damaged or was never completed, warns with its path
and falls back to the previous good one.

A checkpoint whose files are intact but whose arrays do not fit the model (another
`hidden_dim`, another model) is not damaged: restoring it raises `CheckpointMismatchError`,
naming the arrays that differ, and the checkpoint is left where it is.
"""

from __future__ import annotations

import hashlib
import json
import logging as py_logging
import os
import pathlib
import shutil
import time
import warnings
from typing import Any, Callable, Mapping, NamedTuple

import jax

from skipjax import validation
from skipjax.train import multihost

MANIFEST_NAME = "skipjax_files.json"
_ITEMS = ("state", "loop")


class CorruptCheckpointWarning(RuntimeWarning):
  """A checkpoint could not be read or failed its integrity check and was skipped."""


class CorruptCheckpointError(RuntimeError):
  """A requested checkpoint is damaged (raised only when there is nothing to fall back to)."""


class CheckpointMismatchError(ValueError):
  """An intact checkpoint holds arrays of other names, shapes or dtypes than the model's: it was
  written by another configuration (the message names the arrays that differ)."""


class Restored(NamedTuple):
  step: int
  state: Any                 # the TrainState pytree, same structure as the template
  loop: dict[str, Any]       # the JSON loop state saved with it


def _file_digest(path: pathlib.Path) -> str:
  h = hashlib.sha256()
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()


def _list_files(step_dir: pathlib.Path) -> list[pathlib.Path]:
  return sorted(p for p in step_dir.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)


def write_manifest(step_dir: str | os.PathLike[str]) -> None:
  """Records size and sha256 of every file under `step_dir` in `step_dir/skipjax_files.json`."""
  step_dir = pathlib.Path(step_dir)
  files = {str(p.relative_to(step_dir)): {"size": p.stat().st_size, "sha256": _file_digest(p)}
           for p in _list_files(step_dir)}
  tmp = step_dir / (MANIFEST_NAME + ".tmp")
  tmp.write_text(json.dumps(files, indent=1, sort_keys=True))
  os.replace(tmp, step_dir / MANIFEST_NAME)


def verify_manifest(step_dir: str | os.PathLike[str]) -> str | None:
  """Returns None if every file listed in the manifest is present and intact, else the problem."""
  step_dir = pathlib.Path(step_dir)
  manifest_path = step_dir / MANIFEST_NAME
  if not manifest_path.exists():
    return f"{manifest_path} is missing (the save did not complete)"
  try:
    files = json.loads(manifest_path.read_text())
  except (OSError, ValueError) as e:
    return f"{manifest_path} is unreadable ({e})"
  for rel, info in files.items():
    path = step_dir / rel
    if not path.is_file():
      return f"file {path} is missing"
    size = path.stat().st_size
    if size != info["size"]:
      return f"file {path} has {size} bytes, expected {info['size']} (truncated?)"
    if _file_digest(path) != info["sha256"]:
      return f"file {path} does not match its recorded sha256"
  return None


def _leaf_name(path: tuple[Any, ...]) -> str:
  """A key path as orbax names the array it saves: keys, attribute names, indices, dot-joined."""
  parts = []
  for key in path:
    for attr in ("key", "name", "idx"):
      if hasattr(key, attr):
        parts.append(str(getattr(key, attr)))
        break
    else:
      parts.append(str(key))
  return ".".join(parts)


def _fmt(shape_dtype: tuple[tuple[int, ...], str]) -> str:
  shape, dtype = shape_dtype
  return f"{shape} {dtype}"


class _TrackedMetricFilter(py_logging.Filter):
  """Silences orbax's warning for checkpoints saved without metrics (periodic saves)."""

  def filter(self, record: py_logging.LogRecord) -> bool:
    return "did not provide metrics" not in record.getMessage()


py_logging.getLogger("absl").addFilter(_TrackedMetricFilter())


class CheckpointManager:
  """Keeps the latest `keep` checkpoints plus the best one by `best_metric`.

  Args:
    directory: where step directories `<directory>/<step>/` are written (created if missing).
    keep: how many of the most recent checkpoints to keep (>= 1).
    best_metric: metric name ranking the checkpoints saved with metrics (e.g. 'dev/accuracy');
      the best one is kept in addition to the latest `keep`. None: keep only the latest.
    best_mode: 'max' or 'min'.
  """

  def __init__(self, directory: str | os.PathLike[str], *, keep: int = 2,
               best_metric: str | None = None, best_mode: str = "max"):
    # pylint: disable=g-import-not-at-top
    import orbax.checkpoint as ocp
    from orbax.checkpoint import checkpoint_managers as ocp_managers
    # pylint: enable=g-import-not-at-top

    validation.check_positive_int("keep", keep)
    if best_mode not in ("max", "min"):
      raise ValueError(f"best_mode must be 'max' or 'min', got {best_mode!r}")
    self._ocp = ocp
    self.directory = pathlib.Path(directory).absolute()
    self.directory.mkdir(parents=True, exist_ok=True)
    self.best_metric = best_metric
    self.best_mode = best_mode
    policies = [ocp_managers.LatestN(n=keep)]
    best_fn: Callable[[Mapping[str, float]], float] | None = None
    if best_metric is not None:
      best_fn = lambda metrics: float(metrics[best_metric])
      policies.append(ocp_managers.BestN(get_metric_fn=best_fn, reverse=(best_mode == "min"),
                                         n=1, keep_checkpoints_without_metrics=False))
    options = ocp.CheckpointManagerOptions(
        preservation_policy=ocp_managers.AnyPreservationPolicy(policies),
        best_fn=best_fn, best_mode=best_mode,
        # Asynchronous: orbax copies the arrays to the host before `save` returns, so the train
        # step may donate them right away; the files are written in the background.
        enable_async_checkpointing=True)
    self._manager = ocp.CheckpointManager(self.directory, options=options, item_names=_ITEMS)
    self.quarantined: list[pathlib.Path] = []  # where restore_latest moved damaged steps
    self._pending: int | None = None  # a step saved in the background, its manifest not written

  def finish(self) -> None:
    """Waits for a background save and writes its manifest (a no-op when none is pending)."""
    if self._pending is None:
      return
    step, self._pending = self._pending, None
    self._manager.wait_until_finished()
    if multihost.is_primary():
      write_manifest(self.step_dir(step))
    multihost.barrier(f"skipjax checkpoint manifest {self.directory} {step}")

  def all_steps(self) -> list[int]:
    self.finish()
    return sorted(self._manager.all_steps())

  def latest_step(self) -> int | None:
    self.finish()
    return self._manager.latest_step()

  def step_dir(self, step: int) -> pathlib.Path:
    return self.directory / str(step)

  def save(self, step: int, state: Any, loop: Mapping[str, Any],
           metrics: Mapping[str, float] | None = None) -> None:
    """Saves `state` (pytree) and `loop` (JSON-serialisable dict) as step `step`.

    `metrics` (if given) must contain `best_metric`; it ranks this checkpoint for keep-best.
    An existing checkpoint at the same step is replaced. Returns once the arrays are copied to
    the host; the files are written in the background (see the module docstring).
    """
    validation.check_nonneg_int("step", step)
    if metrics is not None and self.best_metric is not None and self.best_metric not in metrics:
      raise ValueError(f"metrics must contain best_metric {self.best_metric!r}, "
                       f"got keys {sorted(metrics)}")
    loop = json.loads(json.dumps(dict(loop)))  # fail here, not halfway through a save
    self.finish()
    if step in self._manager.all_steps():
      self._manager.delete(step)
    args = self._ocp.args.Composite(state=self._ocp.args.StandardSave(state),
                                    loop=self._ocp.args.JsonSave(loop))
    clean = None if metrics is None else {k: float(v) for k, v in metrics.items()}
    self._manager.save(step, args=args, metrics=clean, force=True)
    self._pending = step

  def restore_step(self, step: int, template: Any) -> Restored:
    """Restores step `step` into the structure/dtypes of `template` (a pytree of arrays).

    Raises CorruptCheckpointError if the step fails its integrity check or cannot be read, and
    CheckpointMismatchError if it is intact but its arrays do not match `template`'s.
    """
    self.finish()
    problem = verify_manifest(self.step_dir(step))
    if problem is not None:
      raise CorruptCheckpointError(f"checkpoint {self.step_dir(step)} is damaged: {problem}")
    abstract = jax.tree.map(self._ocp.utils.to_shape_dtype_struct, template)
    self._check_fits(step, abstract)
    args = self._ocp.args.Composite(state=self._ocp.args.StandardRestore(abstract),
                                    loop=self._ocp.args.JsonRestore())
    try:
      restored = self._manager.restore(step, args=args)
    except Exception as e:  # orbax/tensorstore raise many types; all mean "unreadable"
      raise CorruptCheckpointError(
          f"checkpoint {self.step_dir(step)} could not be read: {type(e).__name__}: {e}") from e
    return Restored(step=step, state=restored.state, loop=dict(restored.loop))

  def stored_arrays(self, step: int) -> dict[str, tuple[tuple[int, ...], str]]:
    """Name ('params.rnn.0.w_i', orbax's naming) -> (shape, dtype) of the arrays stored at
    `step`, read from the checkpoint's metadata (no array is loaded)."""
    from etils import epath  # pylint: disable=g-import-not-at-top
    self.finish()
    try:
      metadata = self._ocp.StandardCheckpointHandler().metadata(
          epath.Path(self.step_dir(step) / "state"))
      leaves = jax.tree.leaves(metadata.tree)
    except Exception as e:  # pylint: disable=broad-except
      raise CorruptCheckpointError(f"checkpoint {self.step_dir(step)}: its metadata could not be "
                                   f"read: {type(e).__name__}: {e}") from e
    return {leaf.name: (tuple(leaf.shape), str(leaf.dtype)) for leaf in leaves}

  def _check_fits(self, step: int, abstract: Any) -> None:
    stored = self.stored_arrays(step)
    wanted = {_leaf_name(path): (tuple(leaf.shape), str(leaf.dtype))
              for path, leaf in jax.tree_util.tree_flatten_with_path(abstract)[0]}
    problems = []
    for name in sorted(set(stored) | set(wanted), key=lambda n: (not n.startswith("params."), n)):
      if name not in wanted:
        problems.append(f"{name} is stored but the model has no such array")
      elif name not in stored:
        problems.append(f"{name} {_fmt(wanted[name])} is missing from the checkpoint")
      elif stored[name] != wanted[name]:
        problems.append(f"{name} is {_fmt(stored[name])} in the checkpoint, "
                        f"{_fmt(wanted[name])} in the model")
    if problems:
      more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
      raise CheckpointMismatchError(
          f"checkpoint {self.step_dir(step)} does not fit the model: {'; '.join(problems[:3])}"
          f"{more}. It was written by another configuration; it is intact and left in place")

  def restore_latest(self, template: Any, *, max_step: int | None = None) -> Restored | None:
    """Restores the newest readable checkpoint (at most `max_step`), or None if there is none.

    A damaged checkpoint is reported with a CorruptCheckpointWarning naming its directory, moved
    aside to `<directory>_corrupt/<step>-<time>/` (so that a resumed run can save that step
    again; `self.quarantined` lists where), and the previous one is tried. A checkpoint that does
    not fit `template` raises CheckpointMismatchError: it is not damaged, and the older ones were
    written by the same configuration.
    """
    for step in reversed(self.all_steps()):
      if max_step is not None and step > max_step:
        continue
      try:
        return self.restore_step(step, template)
      except CorruptCheckpointError as e:
        moved = self.quarantine(step)
        self.quarantined.append(moved)
        warnings.warn(f"{e}; moved it to {moved} and falling back to the previous checkpoint",
                      CorruptCheckpointWarning, stacklevel=2)
    return None

  def quarantine(self, step: int) -> pathlib.Path:
    """Moves a damaged step directory out of the manager's way and returns its new path."""
    self.finish()
    target_root = self.directory.with_name(self.directory.name + "_corrupt")
    target_root.mkdir(parents=True, exist_ok=True)
    target = target_root / f"{step}-{time.strftime('%Y%m%d-%H%M%S')}"
    target = pathlib.Path(multihost.primary_decides(
        lambda: shutil.move(str(self.step_dir(step)), str(target)),
        f"moving the damaged checkpoint {self.step_dir(step)} aside") or target)
    self._manager.reload()
    return target

  def delete_after(self, step: int) -> None:
    """Deletes checkpoints newer than `step` (a resumed run will write them again)."""
    for s in self.all_steps():
      if s > step:
        self._manager.delete(s)

  def close(self) -> None:
    self.finish()
    self._manager.wait_until_finished()
    self._manager.close()
