"""`fit` for a hyperparameter sweep: S settings trained as one vmapped program.

    carry = init_carry(stacked_state)               # leaves [S, ...] (e.g. from stack_states)
    result = fit_sweep(config, workdir=W, train_step=make_train_step(loss_fn, optimizer),
                       eval_step=make_eval_step(eval_loss_fn), init_carry=carry,
                       train_iter=batches, keys=keys, labels=labels,
                       dev_batches=dev, test_batches=test)
    result.summaries[s]['test']                     # setting s's test metrics

Setting s trains as `loop.fit` would train it alone: the same batches, the step key
`fold_in(keys[s], step)`, its own dev evaluations, early stopping and best state, and its own
`metrics.jsonl`, TensorBoard run (config and hparams included) and `summary.json` under
`W/settings/<labels[s]>/`; its test metrics are those of its best dev state. What differs:

- one compiled program over the settings: `vmap` of the train step, or on a CPU (where that is
  slower) a loop over the settings inside the program (`settings_per_call`); every setting
  sees the same batch, so a seed sweep varies initialisation and training noise, not the data
  order;
- a setting that stops early, or whose loss, gradient norm or updated state is non-finite, is
  frozen from that step on (the step's update is dropped: its state stays the last finite one)
  and reported in its summary ('failed'); the others go on. The loop ends at `num_steps` or
  when every setting is frozen. A failed setting is not tested (a single run would have raised
  `loop.NonFiniteError`);
- each setting's best state lives in the checkpointed carry (`SweepCarry.best`), so every
  checkpoint (W/checkpoints/<step>, orbax, keep-latest) holds the whole study.

Resumption is exact, as for `fit`: the carry and the iterator position are saved together, and
a study killed at any moment and rerun reaches the same parameters. vmap turns `lax.cond` into
`select`, so a model's skipping saves no time inside a sweep; the numbers are unchanged.
"""

from __future__ import annotations

import os
import pathlib
import sys
import time
from typing import Any, Mapping, NamedTuple, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from skipjax.train import checkpoint as checkpoint_lib
from skipjax.train import interrupt
from skipjax.train import loop as loop_lib
from skipjax.train import metrics_log
from skipjax.train import step as step_lib
from skipjax.train import sweep_step as steps
from skipjax.train import workdir as workdir_lib

Array = jax.Array
SETTINGS_DIR = "settings"
# The carry and its constructors (skipjax.train.sweep_step), here for callers of fit_sweep.
SweepCarry = steps.SweepCarry
stack_states = steps.stack_states
init_carry = steps.init_carry
default_settings_per_call = steps.default_settings_per_call

class SweepFitResult(NamedTuple):
  carry: SweepCarry                 # after the last step
  summaries: list[dict[str, Any]]   # per setting, as `loop.fit`'s summary plus 'label', 'failed'
  summary: dict[str, Any]           # the study's: W/summary.json


def _new_loop_state(size: int) -> dict[str, Any]:
  return {"step": 0, "data": None, "train_seconds": 0.0, "examples_seen": 0.0,
          "best_dev": [None] * size, "failed": [None] * size}


def fit_sweep(config: loop_lib.LoopConfig | Mapping[str, Any] | Any, *,
              workdir: str | os.PathLike[str], train_step: step_lib.TrainStep,
              init_carry: SweepCarry, train_iter: loop_lib.ResumableIterator, keys: Array,
              labels: Sequence[str], eval_step: loop_lib.EvalStep | None = None,
              dev_batches: loop_lib.Batches | None = None,
              test_batches: loop_lib.Batches | None = None,
              setting_configs: Sequence[Mapping[str, Any]] | None = None,
              settings_per_call: int | None | str = "auto", mesh: Any = None,
              should_stop: interrupt.ShouldStop | None = None) -> SweepFitResult:
  """Trains a sweep; resumes if `workdir` has a checkpoint. See the module docstring.

  Args:
    config: a LoopConfig or a dict/ConfigDict with its fields, as for `loop.fit`.
    train_step: the single-run `(state, batch, key) -> (state, metrics)`, unjitted (it is
      vmapped here).
    init_carry: `init_carry(stacked_state, ...)`'s carry (the template checkpoints must match).
    keys: [S] base PRNG keys, one per setting (a single run's `key`); step s of setting i uses
      `fold_in(keys[i], s)`, its evaluations `fold_in(keys[i], loop.EVAL_KEY_DATA)`.
    labels: S distinct names, each a directory under `workdir/settings/`.
    eval_step: the single-run eval step, unjitted.
    setting_configs: per setting, the config to show in its TensorBoard run (default: `config`).
    settings_per_call: None vmaps every setting at once; k >= 1 runs k at a time in a loop
      inside the one program (`lax.map`); 'auto': `default_settings_per_call()`. The numbers
      are the same either way (up to float summation order).
    mesh: train over a data mesh (`parallel.make_mesh`): the settings are replicated on every
      device and each batch is split over the devices, so that a setting gives what its own
      data-parallel run gives, for any number of settings. (Sharding the settings instead would
      spare the gradient all-reduce but needs S divisible by the devices and gives each device
      whole batches.) Pass `train_iter` and the evaluation batches as for a data-parallel `fit`
      (`parallel.ShardedIterator`, `parallel.sharded_batches`).
    should_stop: as for `loop.fit`: checked after every step; True checkpoints the sweep and
      raises `interrupt.Interrupted` (the same call again resumes).
  """
  if settings_per_call == "auto":
    settings_per_call = default_settings_per_call()
  cfg = config if isinstance(config, loop_lib.LoopConfig) else loop_lib.LoopConfig.from_config(
      config)
  size = steps.num_settings(init_carry.state)
  labels = list(labels)
  if len(labels) != size or len(set(labels)) != size:
    raise ValueError(f"labels must be {size} distinct names, got {labels}")
  bad = [label for label in labels if not label or "/" in label or label.startswith(".")]
  if bad:
    raise ValueError(f"labels {bad} cannot be directory names")
  if np.shape(keys)[:1] != (size,):
    raise ValueError(f"keys must have one key per setting ({size}), got shape {np.shape(keys)}")
  if (dev_batches is not None or test_batches is not None) and eval_step is None:
    raise ValueError("eval_step is required when dev_batches or test_batches is given")
  full_configs = list(setting_configs) if setting_configs is not None else [
      loop_lib.config_dict(config)] * size
  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  with workdir_lib.WorkdirLock(workdir):
    manager = checkpoint_lib.CheckpointManager(workdir / "checkpoints",
                                               keep=cfg.keep_checkpoints)
    try:
      return _fit_sweep(cfg, workdir, manager, train_step=train_step, init_carry=init_carry,
                        train_iter=train_iter, keys=keys, labels=labels, eval_step=eval_step,
                        dev_batches=dev_batches, test_batches=test_batches,
                        full_configs=full_configs, settings_per_call=settings_per_call,
                        mesh=mesh, should_stop=should_stop)
    finally:
      manager.close()


def _fit_sweep(cfg, workdir, manager, *, train_step, init_carry, train_iter, keys, labels,
               eval_step, dev_batches, test_batches, full_configs,
               settings_per_call, mesh, should_stop=None) -> SweepFitResult:
  t_start = time.perf_counter()
  import orbax.checkpoint as ocp  # pylint: disable=g-import-not-at-top
  template = jax.tree.map(ocp.utils.to_shape_dtype_struct, init_carry)
  size = len(labels)
  sweep_step = steps.make_sweep_train_step(train_step, settings_per_call, mesh)
  sweep_eval = (None if eval_step is None else
                steps.make_sweep_eval_step(eval_step, settings_per_call, mesh))
  eval_keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, loop_lib.EVAL_KEY_DATA)
  es_args = (jnp.int32(cfg.early_stopping_patience or 2**31 - 1),
             jnp.float32(1.0 if cfg.best_mode == "max" else -1.0),
             jnp.float32(cfg.early_stopping_min_delta))

  restored = manager.restore_latest(template)
  if restored is None:
    carry, loop, resumed_from = init_carry, _new_loop_state(size), None
  else:
    carry, loop, resumed_from = restored.state, restored.loop, restored.step
    if int(carry.step) != restored.step:
      raise ValueError(f"checkpoint {manager.step_dir(restored.step)} holds a sweep at step "
                       f"{int(carry.step)}")
    if loop["data"] is not None:
      train_iter.set_state(loop["data"])
    manager.delete_after(restored.step)
    print(f"sweep of {size} settings resumed from step {restored.step} (checkpoint "
          f"{manager.step_dir(restored.step)})", file=sys.stderr)
  if mesh is not None:
    from skipjax.train import parallel  # pylint: disable=g-import-not-at-top
    carry, keys, eval_keys = jax.device_put((carry, keys, eval_keys),
                                            parallel.replicated_sharding(mesh))
  step = int(carry.step)
  dirs = [workdir / SETTINGS_DIR / label for label in labels]
  writers = [metrics_log.MetricsWriter(d, resume_step=0 if resumed_from is None else resumed_from,
                                       tensorboard=cfg.tensorboard) for d in dirs]
  shown = ["train/loss"] + ([f"dev/{cfg.best_metric}"] if dev_batches is not None else [])
  for writer, full in zip(writers, full_configs):
    if writer.new_tensorboard_run:
      metric = full.get("metric")
      writer.write_config(full, metrics=shown + ([f"test/{metric}"] if test_batches is not None
                                                 and isinstance(metric, str) else []))
  bar = metrics_log.Progress(cfg.num_steps, initial=min(step, cfg.num_steps),
                             enabled=cfg.progress)
  seconds_before, examples_before = float(loop["train_seconds"]), float(loop["examples_seen"])
  examples_now = 0.0
  window: list[tuple[Any, Any]] = []  # (metrics [S], updated [S]) of the steps since the last log
  reported = np.asarray(jax.device_get(carry.failed_step))  # failures already reported
  any_active = bool(np.any(jax.device_get(carry.active)))
  # Settings stopped early: as `fit` ends there, their train steps since the last log are not
  # logged.
  unlogged = np.zeros(size, bool)

  def report_failures() -> None:
    """Names, once, each setting that went non-finite since the last report."""
    nonlocal reported
    failed_step = np.asarray(jax.device_get(carry.failed_step))
    first = step - len(window) + 1  # the loop step of window[0]
    for s in np.flatnonzero((failed_step >= 0) & (reported < 0)):
      if loop["failed"][s] is None:  # a train step: which value, from the window
        what = "a value in the updated state"
        index = int(failed_step[s]) - first
        if 0 <= index < len(window):
          metrics = jax.device_get(window[index][0])
          for name in loop_lib.FINITE_METRICS:
            if name in metrics and not np.isfinite(metrics[name][s]):
              what = f"train/{name} ({float(metrics[name][s])})"
              break
        loop["failed"][s] = what
      message = (f"setting {labels[s]}: non-finite {loop['failed'][s]} at step "
                 f"{failed_step[s]}; it stops there (its last finite state is kept), the others "
                 "go on")
      if cfg.progress:
        bar.write(message)
      else:  # shown even without progress, as `fit`'s NonFiniteError would be
        print(message, file=sys.stderr, flush=True)
    reported = failed_step

  def save() -> None:
    nonlocal last_saved
    loop.update(step=step, data=train_iter.get_state(),
                train_seconds=seconds_before + time.perf_counter() - t_start,
                examples_seen=examples_before + examples_now)
    manager.save(step, carry, loop)
    last_saved = step

  last_saved = resumed_from
  try:
    # Which settings are active is read back at logs and evaluations only (no per-step sync):
    # a setting frozen in between is computed, and its update dropped, until then.
    while step < cfg.num_steps and any_active:
      try:
        batch = next(train_iter)
      except StopIteration:
        raise ValueError(f"train_iter ran out of batches after step {step}; fit_sweep needs "
                         f"{cfg.num_steps} (use a repeating iterator)") from None
      carry, metrics, updated = sweep_step(carry, batch, keys)
      step += 1
      weight = loop_lib.batch_weight(batch)
      examples_now += weight
      window.append((metrics, updated))
      bar.update(1, weight)

      records: list[dict[str, float]] = [{} for _ in range(size)]
      if step % cfg.log_every == 0 or step == cfg.num_steps:
        report_failures()
        fetched = jax.device_get(window)
        took = np.stack([u for _, u in fetched])  # [steps, S]: the setting took the step
        for s in np.flatnonzero(took.any(axis=0) & ~unlogged):
          means = {k: float(np.mean([m[k][s] for (m, _), t in zip(fetched, took[:, s]) if t]))
                   for k in fetched[0][0] if k != "count"}
          records[s].update(loop_lib.prefixed("train", means))
        window = []
        any_active = bool(np.any(jax.device_get(carry.active)))

      evaluated = None
      if dev_batches is not None and (step == cfg.num_steps or
                                      (cfg.eval_every and step % cfg.eval_every == 0)):
        report_failures()
        active = np.asarray(jax.device_get(carry.active))
        evaluated = steps.evaluate_settings(sweep_eval, carry.state, dev_batches, eval_keys,
                                      desc=f"dev@{step}", show_progress=cfg.progress)
        if cfg.best_metric not in evaluated[0]:
          raise ValueError(f"best_metric {cfg.best_metric!r} is not among the dev metrics "
                           f"{sorted(evaluated[0])}")
        values = np.asarray([e[cfg.best_metric] for e in evaluated], np.float32)
        valid = np.isfinite(values)
        for s in np.flatnonzero(active & ~valid):
          loop["failed"][s] = f"dev/{cfg.best_metric} ({values[s]})"
        carry = steps.update_early_stopping(carry, jnp.asarray(np.where(valid, values, 0.0)),
                                       jnp.asarray(valid), *es_args)
        es = jax.device_get(carry.early_stopping)
        for s in np.flatnonzero(active & valid):
          if es.improved[s]:
            loop["best_dev"][s] = evaluated[s]
          records[s].update(loop_lib.prefixed("dev", evaluated[s]))
          if es.should_stop[s]:
            unlogged[s] = True
            bar.write(f"setting {labels[s]}: early stopping at step {step}: dev "
                      f"{cfg.best_metric} has not improved for {int(es.num_bad[s])} evaluations "
                      f"(best {float(es.best[s]):.4f} at step {int(es.best_step[s])})")
        report_failures()
        bar.write(f"step {step}: dev/{cfg.best_metric} " + ", ".join(
            f"{label}={v:.4f}" for label, v, a in zip(labels, values, active) if a))
        any_active = bool(np.any(jax.device_get(carry.active)))
      for writer, record in zip(writers, records):
        if record:
          writer.write(step, record)
      if (evaluated is not None or step == cfg.num_steps or not any_active or
          (cfg.checkpoint_every and step % cfg.checkpoint_every == 0)):
        save()
      if (step < cfg.num_steps and any_active and
          interrupt.stop_now(should_stop, step, cfg.log_every)):
        report_failures()
        if last_saved != step:
          save()
        bar.write(f"stopping at step {step}: {interrupt.reason_of(should_stop)}")
        raise interrupt.Interrupted(step, manager.step_dir(step),
                                    interrupt.reason_of(should_stop))
    if last_saved != step:
      report_failures()
      save()
  except BaseException:
    for writer in writers:
      writer.close()
    raise
  finally:
    bar.close()

  es = jax.device_get(carry.early_stopping)
  failed_step = np.asarray(jax.device_get(carry.failed_step))
  has_best = np.asarray(es.best_step) >= 0
  tested = None
  try:
    if test_batches is not None:
      eval_states = steps.select(jnp.asarray(has_best), carry.best, carry.state)
      tested = steps.evaluate_settings(sweep_eval, eval_states, test_batches, eval_keys,
                                       desc="test", show_progress=cfg.progress)
    summaries = []
    train_seconds = loop["train_seconds"]
    for s, (label, writer, folder) in enumerate(zip(labels, writers, dirs)):
      failed = loop["failed"][s] if failed_step[s] >= 0 else None
      state_step = int(np.asarray(jax.device_get(carry.state.step))[s])
      best_step = int(es.best_step[s]) if has_best[s] else None
      summary: dict[str, Any] = {
          "label": label, "steps": state_step, "resumed_from": resumed_from,
          "stopped_early": bool(es.should_stop[s]),
          "failed": failed, "failed_step": int(failed_step[s]) if failed else None,
          "best_metric": cfg.best_metric if dev_batches is not None else None,
          "best_step": best_step, "best_dev": loop["best_dev"][s],
          "train_seconds": train_seconds, "examples_seen": loop["examples_seen"],
          "examples_per_second": (loop["examples_seen"] / train_seconds if train_seconds > 0
                                  else None),
          "test": None, "test_step": None}
      if tested is not None and failed is None:
        summary["test"] = tested[s]
        summary["test_step"] = best_step if best_step is not None else state_step
        writer.write(state_step, loop_lib.prefixed("test", tested[s]))
      workdir_lib.write_json_atomic(folder / loop_lib.SUMMARY_NAME,
                                    workdir_lib.json_safe(summary))
      summaries.append(summary)
  finally:
    for writer in writers:
      writer.close()
  study = {"settings": labels, "steps": step, "resumed_from": resumed_from,
           "train_seconds": loop["train_seconds"],
           "failed": {s["label"]: s["failed"] for s in summaries if s["failed"]},
           "total_seconds_this_run": time.perf_counter() - t_start}
  workdir_lib.write_json_atomic(workdir / loop_lib.SUMMARY_NAME, workdir_lib.json_safe(study))
  return SweepFitResult(carry=carry, summaries=summaries, summary=study)
