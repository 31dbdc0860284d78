"""The training loop: train for N steps, evaluate, stop early, checkpoint, log, resume, test.

`fit` drives any model that follows the loss protocol of `skipjax.train.state`, through a
`train_step(state, batch, key) -> (state, metrics)` (from `skipjax.train.step.make_train_step`)
and an `eval_step(state, batch) -> metrics`.

Exact resumption: the key of step `s` (the step whose update takes `state.step` from s to s+1)
is `fold_in(key, s)`, and a checkpoint stores the TrainState together with the train iterator's
`get_state()`, so a run killed at any point and restarted with the same arguments reaches the
same parameters, bit for bit, as one that was never interrupted.
"""

from __future__ import annotations

import dataclasses
import math
import os
import pathlib
import sys
import time
from typing import Any, Callable, Mapping, NamedTuple, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import validation
from skipjax.train import checkpoint as checkpoint_lib
from skipjax.train import early_stopping
from skipjax.train import evaluation
from skipjax.train import interrupt
from skipjax.train import metrics_log
from skipjax.train import multihost
from skipjax.train import workdir as workdir_lib
from skipjax.train.state import TrainState

Batch = evaluation.Batch
Metrics = evaluation.Metrics
Batches = evaluation.Batches
EvalStep = evaluation.EvalStep
TrainStep = Callable[[TrainState, Batch, jax.Array], tuple[TrainState, Metrics]]
# The helpers the training loops share, importable from here as before.
batch_weight = evaluation.batch_weight
evaluate = evaluation.evaluate
fresh_iterable = evaluation.fresh_iterable
prefixed = evaluation.prefixed

SUMMARY_NAME = "summary.json"
# Per-step train metrics that must stay finite (a NaN/Inf in either stops the run).
FINITE_METRICS = ("loss", "grad_norm")
Interrupted = interrupt.Interrupted  # raised by fit when `should_stop` asks it to stop
EVAL_KEY_DATA = 2**31 - 1  # evaluation key = fold_in(key, this): never a training step's key


class ResumableIterator(Protocol):
  """A train iterator whose position can be saved and restored (JSON-serialisable state)."""

  def __next__(self) -> Batch: ...
  def get_state(self) -> Any: ...
  def set_state(self, state: Any) -> None: ...


@dataclasses.dataclass(frozen=True)
class LoopConfig:
  """What `fit` needs to know about the schedule. Fields are named as in the experiment configs.

  Attributes:
    num_steps: number of optimiser updates in total (a resumed run continues up to it).
    eval_every: evaluate on dev (and save a ranked checkpoint) every this many steps; the last
      step is always evaluated. 0: only at the end.
    log_every: write mean training metrics of the last `log_every` steps.
    checkpoint_every: also save a checkpoint every this many steps (0: only at evaluations and
      at the end).
    keep_checkpoints: how many of the latest checkpoints to keep (the best is kept as well).
    best_metric: dev metric that ranks checkpoints and drives early stopping.
    best_mode: 'max' (accuracy) or 'min' (loss, perplexity).
    early_stopping_patience: stop after this many evaluations without improvement (0: never).
    early_stopping_min_delta: an improvement must beat the best by more than this.
    progress: show progress on stderr: a tqdm bar on a terminal, plain lines every 30 s when
      stderr is not one (a log file; `metrics_log.Progress`). False: nothing.
    tensorboard: write TensorBoard event files (the metrics, and the config once at the start).
  """
  num_steps: int
  eval_every: int = 0
  log_every: int = 50
  checkpoint_every: int = 0
  keep_checkpoints: int = 2
  best_metric: str = "accuracy"
  best_mode: str = "max"
  early_stopping_patience: int = 0
  early_stopping_min_delta: float = 0.0
  progress: bool = True
  tensorboard: bool = True

  def __post_init__(self):
    validation.check_positive_int("num_steps", self.num_steps)
    validation.check_positive_int("log_every", self.log_every)
    validation.check_positive_int("keep_checkpoints", self.keep_checkpoints)
    validation.check_nonneg_int("eval_every", self.eval_every)
    validation.check_nonneg_int("checkpoint_every", self.checkpoint_every)
    validation.check_nonneg_int("early_stopping_patience", self.early_stopping_patience)
    if self.best_mode not in ("max", "min"):
      raise ValueError(f"best_mode must be 'max' or 'min', got {self.best_mode!r}")
    if not self.early_stopping_min_delta >= 0:
      raise ValueError("early_stopping_min_delta must be >= 0, got "
                       f"{self.early_stopping_min_delta!r}")
    if not isinstance(self.best_metric, str) or not self.best_metric:
      raise ValueError(f"best_metric must be a metric name, got {self.best_metric!r}")

  @classmethod
  def from_config(cls, config: Mapping[str, Any] | Any) -> "LoopConfig":
    """Takes the fields it knows from a dict or ml_collections.ConfigDict, ignoring the rest."""
    get = config.get if hasattr(config, "get") else lambda k, d=None: getattr(config, k, d)
    fields = {f.name: get(f.name) for f in dataclasses.fields(cls) if get(f.name) is not None}
    return cls(**fields)


class NonFiniteError(FloatingPointError):
  """Training produced a NaN or an infinity; the run stops, saving nothing after it.

  Attributes: what (e.g. 'train/loss (nan)'), step (the first step at which it was seen),
  last_checkpoint (the step of the last checkpoint, all of whose values are finite; None if none)
  and its directory.
  """

  def __init__(self, what: str, step: int, last_checkpoint: int | None,
               checkpoint_dir: pathlib.Path | None):
    self.what, self.step, self.last_checkpoint = what, step, last_checkpoint
    where = ("no checkpoint was saved before it" if last_checkpoint is None else
             f"the last finite checkpoint is step {last_checkpoint} ({checkpoint_dir})")
    super().__init__(f"non-finite {what} at step {step}; {where}")


class FitResult(NamedTuple):
  state: TrainState           # the state after the last step
  best_state: TrainState | None  # restored from the best dev checkpoint (None without dev)
  summary: dict[str, Any]     # also written to <workdir>/summary.json


def _new_loop_state(es_init: Callable[[], early_stopping.EarlyStoppingState]) -> dict[str, Any]:
  return {"step": 0, "data": None, "early_stopping": early_stopping.to_json(es_init()), "best_dev": None,
          "train_seconds": 0.0, "examples_seen": 0.0}


def fit(config: LoopConfig | Mapping[str, Any] | Any, *, workdir: str | os.PathLike[str],
        train_step: TrainStep, init_state: TrainState, train_iter: ResumableIterator,
        key: jax.Array, eval_step: EvalStep | None = None, dev_batches: Batches | None = None,
        test_batches: Batches | None = None,
        should_stop: interrupt.ShouldStop | None = None) -> FitResult:
  """Trains, evaluating on dev, checkpointing and logging; resumes if `workdir` has a checkpoint.

  Args:
    config: a LoopConfig, or a dict/ConfigDict with its fields (others are ignored).
    workdir: run directory: `checkpoints/`, `metrics.jsonl`, `tensorboard/`, `summary.json`.
    train_step: `(state, batch, key) -> (state, metrics)`; may donate `state`.
    init_state: the TrainState to start from when there is no checkpoint (also the template
      restored checkpoints must match).
    train_iter: iterator of training batches with `get_state()`/`set_state()` (JSON state); it
      must not run out before `num_steps`.
    key: base PRNG key; step s uses `fold_in(key, s)`.
    eval_step: `(state, batch, key) -> metric sums and 'count'` (`step.make_eval_step`); its key
      is fixed, `fold_in(key, EVAL_KEY_DATA)`.
    dev_batches, test_batches: a re-iterable of batches or a function returning a fresh one.
    should_stop: polled after every step (e.g. `interrupt.StopRequest`, which answers SIGTERM
      and a time limit); when it returns True before the last step, the state is checkpointed
      and `interrupt.Interrupted` is raised: the same call again resumes from there.

  Returns:
    FitResult(state, best_state, summary); the summary has 'steps', 'best_step', 'best_dev',
    'test' (metrics of the best checkpoint, or of the final state without dev), 'stopped_early',
    'resumed_from', 'train_seconds' (summed over resumed runs), 'examples_per_second'.
  """
  cfg = config if isinstance(config, LoopConfig) else LoopConfig.from_config(config)
  if (dev_batches is not None or test_batches is not None) and eval_step is None:
    raise ValueError("eval_step is required when dev_batches or test_batches is given")
  for method in ("get_state", "set_state"):
    if not callable(getattr(train_iter, method, None)):
      raise TypeError(f"train_iter must provide {method}() so that a resumed run continues from "
                      f"the same batch; got {type(train_iter).__name__}")
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  # With several processes (jax.distributed) process 0 holds the lock and writes the files; all
  # of them train, save checkpoints together and stop at the same points (multihost).
  lock = workdir_lib.WorkdirLock(workdir)
  multihost.primary_decides(lock.acquire, f"taking the lock of {workdir}")
  try:
    best_metric = cfg.best_metric if dev_batches is not None else None
    manager = checkpoint_lib.CheckpointManager(workdir / "checkpoints",
                                               keep=cfg.keep_checkpoints,
                                               best_metric=best_metric, best_mode=cfg.best_mode)
    try:
      return _fit(cfg, workdir, manager, train_step=train_step, init_state=init_state,
                  train_iter=train_iter, key=key, eval_step=eval_step, dev_batches=dev_batches,
                  test_batches=test_batches, full_config=config_dict(config),
                  should_stop=should_stop)
    finally:
      manager.close()
  finally:
    if multihost.is_primary():
      lock.release()


config_dict = metrics_log.config_dict  # the config fit was given, as JSON-able data


def _first_non_finite(tree: Any) -> str | None:
  """The key path of the first float leaf of `tree` holding a NaN or an infinity, else None."""
  for path, leaf in jax.tree_util.tree_flatten_with_path(jax.device_get(tree))[0]:
    leaf = np.asarray(leaf)
    if np.issubdtype(leaf.dtype, np.inexact) and not np.all(np.isfinite(leaf)):
      return jax.tree_util.keystr(path)
  return None


@jax.jit
def _all_finite(tree: Any) -> jax.Array:
  flags = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
           if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]
  return jnp.all(jnp.stack(flags)) if flags else jnp.bool_(True)


def _fit(cfg: LoopConfig, workdir: pathlib.Path, manager: checkpoint_lib.CheckpointManager, *,
         train_step: TrainStep, init_state: TrainState, train_iter: ResumableIterator,
         key: jax.Array, eval_step: EvalStep | None, dev_batches: Batches | None,
         test_batches: Batches | None, full_config: dict[str, Any],
         should_stop: interrupt.ShouldStop | None = None) -> FitResult:
  t_start = time.perf_counter()
  # Abstract template taken before the first step can donate init_state's buffers.
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  template = jax.tree.map(ocp.utils.to_shape_dtype_struct, init_state)

  # patience 0 (no early stopping) still tracks the best evaluation.
  es_init, es_update = early_stopping.early_stopping(
      cfg.early_stopping_patience or 2**31 - 1, cfg.best_mode, cfg.early_stopping_min_delta)
  eval_key = jax.random.fold_in(key, EVAL_KEY_DATA)

  restored = manager.restore_latest(template)
  if restored is None:
    state, loop = init_state, _new_loop_state(es_init)
    resumed_from = None
    if manager.quarantined:
      print(f"starting from scratch: all {len(manager.quarantined)} checkpoints were unreadable "
            f"(moved to {manager.quarantined[0].parent})", file=sys.stderr)
  else:
    state, loop, resumed_from = restored.state, restored.loop, restored.step
    if int(state.step) != restored.step:
      raise ValueError(f"checkpoint {manager.step_dir(restored.step)} holds a state at step "
                       f"{int(state.step)}")
    if loop["data"] is not None:
      train_iter.set_state(loop["data"])
    manager.delete_after(restored.step)
    print(f"resumed from step {restored.step} (checkpoint {manager.step_dir(restored.step)})",
          file=sys.stderr)
  step = int(state.step)
  es = early_stopping.from_json(loop["early_stopping"], cfg.best_mode)

  # A run starting from scratch replaces any log left by an earlier attempt (whose checkpoints
  # are gone), as a resumed one replaces the records after its checkpoint.
  writer = (metrics_log.MetricsWriter(workdir, resume_step=0 if resumed_from is None
                                      else resumed_from, tensorboard=cfg.tensorboard)
            if multihost.is_primary() else metrics_log.NullMetricsWriter())
  if writer.new_tensorboard_run:
    shown = ["train/loss"] + ([f"dev/{cfg.best_metric}"] if dev_batches is not None else [])
    if test_batches is not None and isinstance(full_config.get("metric"), str):
      shown.append(f"test/{full_config['metric']}")
    writer.write_config(full_config, metrics=shown)
  bar = metrics_log.Progress(cfg.num_steps, initial=min(step, cfg.num_steps),
                             enabled=cfg.progress and multihost.is_primary())
  seconds_before = float(loop["train_seconds"])
  examples_before = float(loop["examples_seen"])
  examples_now = 0.0
  # (step, metrics) of the steps since the last log; metrics stay on device until a log,
  # evaluation or save point fetches them (`check_finite`): no per-step host sync.
  window: list[tuple[int, Metrics]] = []
  checked = 0  # window[:checked] is on host and finite
  last_saved = resumed_from

  def non_finite(what: str, at_step: int) -> NonFiniteError:
    return NonFiniteError(what, at_step, last_saved,
                          None if last_saved is None else manager.step_dir(last_saved))

  def check_finite() -> None:
    """Fetches the unchecked window; raises NonFiniteError at the first non-finite loss or
    gradient norm."""
    nonlocal checked
    fetched = jax.device_get([m for _, m in window[checked:]])
    for (at_step, _), metrics in zip(window[checked:], fetched):
      for name in FINITE_METRICS:
        if name in metrics and not np.all(np.isfinite(metrics[name])):
          raise non_finite(f"train/{name} ({float(np.mean(metrics[name]))})", at_step)
    window[checked:] = [(s, m) for (s, _), m in zip(window[checked:], fetched)]
    checked = len(window)

  def save(new_best: bool = False) -> None:
    nonlocal last_saved
    check_finite()
    if not bool(_all_finite(state)):
      raise non_finite(f"value in the state, {_first_non_finite(state)} (found before saving)",
                       step)
    loop["step"] = step
    loop["data"] = train_iter.get_state()
    loop["train_seconds"] = seconds_before + time.perf_counter() - t_start
    loop["examples_seen"] = examples_before + examples_now
    loop["early_stopping"] = early_stopping.to_json(es)
    # Only a new best carries metrics: the ranked values then strictly improve, so orbax's
    # keep-best keeps exactly the early-stopping best step (no ties broken differently).
    ranked = {cfg.best_metric: float(es.best)} if new_best else None
    manager.save(step, state, loop, metrics=ranked)
    last_saved = step

  try:
    while step < cfg.num_steps and not bool(es.should_stop):
      try:
        batch = next(train_iter)
      except StopIteration:
        raise ValueError(f"train_iter ran out of batches after step {step}; fit needs "
                         f"{cfg.num_steps} (use a repeating iterator)") from None
      state, metrics = train_step(state, batch, jax.random.fold_in(key, step))
      step += 1
      weight = batch_weight(batch)
      examples_now += weight
      window.append((step, metrics))
      bar.update(1, weight)

      record: dict[str, float] = {}
      if step % cfg.log_every == 0 or step == cfg.num_steps:
        check_finite()
        means = {k: float(np.mean([float(m[k]) for _, m in window]))
                 for k in window[0][1] if k != "count"}
        window, checked = [], 0
        bar.set_metrics({k: means[k] for k in ("loss", "accuracy") if k in means})
        record.update(prefixed("train", means))
        record["train/examples_per_second"] = bar.examples_per_second

      evaluated = None
      new_best = False
      if dev_batches is not None and (step == cfg.num_steps or
                                      (cfg.eval_every and step % cfg.eval_every == 0)):
        check_finite()
        evaluated = evaluate(eval_step, state, dev_batches, eval_key, desc=f"dev@{step}",
                             show_progress=cfg.progress)
        if cfg.best_metric not in evaluated:
          raise ValueError(f"best_metric {cfg.best_metric!r} is not among the dev metrics "
                           f"{sorted(evaluated)}")
        if not math.isfinite(evaluated[cfg.best_metric]):
          raise non_finite(f"dev/{cfg.best_metric} ({evaluated[cfg.best_metric]})", step)
        es = es_update(es, evaluated[cfg.best_metric], step)
        new_best = bool(es.improved)
        if new_best:
          loop["best_dev"] = evaluated
        if bool(es.should_stop):
          bar.write(f"early stopping at step {step}: dev {cfg.best_metric} has not improved "
                    f"for {int(es.num_bad)} evaluations (best {float(es.best):.4f} at step "
                    f"{int(es.best_step)})")
        record.update(prefixed("dev", evaluated))
        bar.write(f"step {step}: " + ", ".join(f"dev/{k}={v:.4f}" for k, v in evaluated.items()
                                               if k != "count"))
      if record:
        writer.write(step, record)

      if (evaluated is not None or step == cfg.num_steps or bool(es.should_stop) or
          (cfg.checkpoint_every and step % cfg.checkpoint_every == 0)):
        save(new_best)
      if (step < cfg.num_steps and not bool(es.should_stop) and
          interrupt.stop_now(should_stop, step, cfg.log_every)):
        if last_saved != step:
          save()
        bar.write(f"stopping at step {step}: {interrupt.reason_of(should_stop)}")
        raise interrupt.Interrupted(step, manager.step_dir(step),
                                    interrupt.reason_of(should_stop))
    if last_saved != step:  # e.g. init_state already at num_steps
      save()
  except BaseException:
    writer.close()
    raise
  finally:
    bar.close()
  writer.flush()

  best_step = int(es.best_step) if int(es.best_step) >= 0 else None
  summary: dict[str, Any] = {
      "steps": step, "resumed_from": resumed_from, "stopped_early": bool(es.should_stop),
      "best_metric": cfg.best_metric if dev_batches is not None else None,
      "best_step": best_step, "best_dev": loop["best_dev"],
      "train_seconds": loop["train_seconds"], "examples_seen": loop["examples_seen"],
      "examples_per_second": (loop["examples_seen"] / loop["train_seconds"]
                              if loop["train_seconds"] > 0 else None),
      "test": None, "test_step": None}
  best_state = None
  try:
    if best_step is not None:
      if best_step == step:
        best_state = state
      else:
        best = manager.restore_latest(template, max_step=best_step)
        if best is None:
          raise checkpoint_lib.CorruptCheckpointError(
              f"no readable checkpoint at or before the best step {best_step}")
        best_state = best.state
    if test_batches is not None:
      eval_state = best_state if best_state is not None else state
      summary["test"] = evaluate(eval_step, eval_state, test_batches, eval_key, desc="test",
                                 show_progress=cfg.progress)
      summary["test_step"] = int(eval_state.step)
      writer.write(step, prefixed("test", summary["test"]))
  finally:
    writer.close()
  summary["total_seconds_this_run"] = time.perf_counter() - t_start
  if multihost.is_primary():
    workdir_lib.write_json_atomic(workdir / SUMMARY_NAME, workdir_lib.json_safe(summary))
  return FitResult(state=state, best_state=best_state, summary=summary)

