r"""`experiments.run --sweep`: a hyperparameter study trained as one vmapped program (issue 14).

    python -m experiments.run --config experiments/configs/skip_lstm_adding.py:1e-5 \
        --workdir experiments/workdirs/adding_lambdas \
        --sweep hparams.budget_lambda=0,1e-5,1e-4 [--sweep seed=0,1]

Several `--sweep` flags form a grid (the first flag's values vary slowest). Every setting is
trained by `skipjax.train.sweep_loop.fit_sweep` as the single run of its config would be: the
same batches, keys, dev evaluations, early stopping, best checkpoint and test, but all settings
in one compiled program. A setting whose loss goes non-finite stops alone (reported, no record);
the others go on.

Sweepable fields (`SWEEPABLE`): `seed`, `optimizer.learning_rate`, `optimizer.weight_decay` and
every `hparams.<name>` of the config. Everything else (net.*, data.*, optimizer.name, ...)
changes the program's shapes or structure and cannot be vmapped: train those as separate runs.
A seed sweep varies the initialisation and the training noise (dropout, Gumbel, sampling) of
each setting; the batches (and a synthetic dataset itself) follow the config's own `seed`,
which each record keeps as 'data_seed'.

WORKDIR holds config.json (the base config), sweep.json (the study), checkpoints/ (each holds
every setting), summary.json (the study's), curves.png and tradeoff.png (the metric against the
fraction computed, or against the first swept field), and per setting `settings/<label>/`:
metrics.jsonl, tensorboard/ (`tensorboard --logdir WORKDIR/settings` compares them, hparams
included), summary.json and result.json (the record: the setting's config, plus 'sweep': the
study's name, fields and this setting's index). `--publish DIR` copies each record to
`DIR/<run_name>.<label>.json`. Resuming, --restart, "already finished" and the exit statuses are
those of a single run (experiments/run.py).

With `--mesh data=N` (default: every local device when there are several) the study trains over
a data mesh: every setting replicated on each device, every batch split over them, so that each
setting gives what its own `--mesh data=N` run gives (`sweep_loop.fit_sweep`'s `mesh`).
"""

from __future__ import annotations

import itertools
import json
import math
import pathlib
import sys
import time
from typing import Any

import ml_collections

from experiments import run_lib

ConfigError = run_lib.ConfigError
SWEEP_NAME = "sweep.json"
# Fields a sweep may vary: each is an array of the TrainState (hparams, the optimiser's injected
# hyperparameters) or only changes keys and the initial parameters (seed).
OPTIMIZER_FIELDS = ("optimizer.learning_rate", "optimizer.weight_decay")


def sweepable_fields(config: Any) -> list[str]:
  """The fields of `config` that `--sweep` may vary."""
  return ["seed", *OPTIMIZER_FIELDS, *(f"hparams.{k}" for k in sorted(config.hparams))]


def _value(flag: str, field: str, text: str) -> float | int:
  try:
    value = float(text)
  except ValueError:
    raise ConfigError(f"--sweep {flag}: {text!r} is not a number") from None
  if not math.isfinite(value):
    raise ConfigError(f"--sweep {flag}: {text!r} is not a finite number")
  if field == "seed":
    if not value.is_integer() or value < 0:
      raise ConfigError(f"--sweep {flag}: a seed is an integer >= 0, got {text!r}")
    return int(value)
  return value


def parse_sweep(flags: list[str], config: Any) -> list[tuple[str, list[Any]]]:
  """[(field, values)] from `--sweep FIELD=V1,V2,...` flags, checked against `config`."""
  from skipjax import cli  # pylint: disable=g-import-not-at-top
  allowed = sweepable_fields(config)
  axes, seen = [], set()
  for flag in flags:
    field, sep, values = flag.partition("=")
    field = field.strip()
    if not sep or not field:
      raise ConfigError(f"--sweep {flag!r}: expected FIELD=V1,V2,... (e.g. --sweep "
                        "hparams.budget_lambda=0,1e-5,1e-4)")
    if field not in allowed:
      known = _has_field(config, field)
      close = cli.closest(field, allowed)
      why = ("changes the model's shapes or structure and cannot be vmapped (train it as "
             "separate runs)" if known else "is not a field of the config")
      hint = f"; did you mean {close!r}?" if close and not known else ""
      raise ConfigError(f"--sweep {flag}: {field} {why}{hint}; sweepable fields: "
                        f"{', '.join(allowed)}")
    if field in seen:
      raise ConfigError(f"--sweep {flag}: {field} is swept twice; give its values in one flag")
    seen.add(field)
    items = [v.strip() for v in values.split(",")]
    if not values.strip() or any(not v for v in items):
      raise ConfigError(f"--sweep {flag}: the value list is empty or has an empty entry")
    parsed = [_value(flag, field, v) for v in items]
    if len(set(parsed)) != len(parsed):
      raise ConfigError(f"--sweep {flag}: a value is given twice")
    axes.append((field, parsed))
  if not axes:
    raise ConfigError("--sweep: no field given")
  return axes


def parse_settings_per_call(value: str | int | None) -> str | int | None:
  """'auto', None for 'vmap', or a positive int, from `--sweep_settings_per_call`."""
  if value in (None, "vmap"):
    return None
  if value == "auto":
    return "auto"
  try:
    number = int(value)
  except (TypeError, ValueError):
    number = 0
  if number < 1:
    raise ConfigError(f"--sweep_settings_per_call={value!r}: expected 'auto', 'vmap' or a "
                      "positive integer")
  return number


def _has_field(config: Any, path: str) -> bool:
  node = config
  for part in path.split("."):
    if not hasattr(node, "keys") or part not in node:
      return False
    node = node[part]
  return True


def _fmt(value: Any) -> str:
  return str(value) if isinstance(value, int) else f"{value:g}".replace("+", "")


def grid(axes: list[tuple[str, list[Any]]]) -> list[dict[str, Any]]:
  """Every combination of the axes' values, the first axis varying slowest."""
  fields = [f for f, _ in axes]
  return [dict(zip(fields, combo)) for combo in itertools.product(*(v for _, v in axes))]


def label(setting: dict[str, Any]) -> str:
  """A setting's name (a directory and a record name): 'budget_lambda-1e-05.seed-1'."""
  return ".".join(f"{field.rsplit('.', 1)[-1]}-{_fmt(v)}" for field, v in setting.items())


def setting_config(config: Any, setting: dict[str, Any]) -> ml_collections.ConfigDict:
  """`config` with the setting's values (a copy; the values' types replace the fields')."""
  tree = config.to_dict()
  for field, value in setting.items():
    node = tree
    *parents, leaf = field.split(".")
    for p in parents:
      node = node[p]
    node[leaf] = value
  return ml_collections.ConfigDict(tree)


def _study(axes, settings, labels, run_name) -> dict[str, Any]:
  return {"name": run_name, "fields": {f: v for f, v in axes}, "labels": labels,
          "size": len(settings)}


def _finished(workdir: pathlib.Path, config: Any, labels: list[str], dirs: list[pathlib.Path]
              ) -> bool:
  """The study needs no more training and every setting but the failed ones has its record."""
  from skipjax.train import loop  # pylint: disable=g-import-not-at-top
  path = workdir / loop.SUMMARY_NAME
  if not path.is_file():
    return False
  study = json.loads(path.read_text())
  failed = study.get("failed") or {}
  return (study.get("settings") == labels and
          (study.get("steps", 0) >= config.num_steps or study.get("all_stopped", False)) and
          all(name in failed or (d / run_lib.RESULT_NAME).is_file()
              for name, d in zip(labels, dirs)))


def train_and_evaluate_sweep(config: Any, workdir: Any, sweep_flags: list[str], *, command: str,
                             run_name: str | None = None, publish_dir: Any = None,
                             replace_published: bool = False, restart: bool = False,
                             plot: bool = True, mesh: str | None = None,
                             settings_per_call: str | int | None = "auto",
                             should_stop: Any = None) -> list[dict[str, Any]]:
  """Validates, trains (or resumes) and tests the study; returns the settings' records (a
  failed setting has none). Raises what `run.train_and_evaluate` raises.

  settings_per_call: 'auto', 'vmap' (or None) or k >= 1 (as a string from the command line):
  see `skipjax.train.sweep_loop.fit_sweep`. It changes the speed, not the numbers.
  """
  run_lib.validate_config(config)
  per_call = parse_settings_per_call(settings_per_call)
  axes = parse_sweep(sweep_flags, config)
  settings = grid(axes)
  labels = [label(s) for s in settings]
  if len(set(labels)) != len(labels):
    raise ConfigError(f"--sweep: the settings' names {labels} collide (values equal to 6 "
                      "significant digits)")
  configs = [setting_config(config, s) for s in settings]
  for name, cfg in zip(labels, configs):
    try:
      run_lib.validate_config(cfg)
    except ConfigError as e:
      raise ConfigError(f"--sweep setting {name}: {e}") from None
  import jax  # pylint: disable=g-import-not-at-top
  if jax.process_count() > 1:
    raise ConfigError(f"--sweep with {jax.process_count()} processes: a study runs in one "
                      "process (its --mesh spans that process's devices); a single run trains "
                      "over several processes")
  num_devices = run_lib.parse_mesh(mesh, config)
  import jax.numpy as jnp  # pylint: disable=g-import-not-at-top
  from experiments import registry  # pylint: disable=g-import-not-at-top
  from skipjax import plots  # pylint: disable=g-import-not-at-top
  from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
  from skipjax.train import optim  # pylint: disable=g-import-not-at-top
  from skipjax.train import step as step_lib  # pylint: disable=g-import-not-at-top
  from skipjax.train import sweep_loop  # pylint: disable=g-import-not-at-top
  from skipjax.train import workdir as workdir_lib  # pylint: disable=g-import-not-at-top

  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  run_name = run_name or workdir.resolve().name
  study = _study(axes, settings, labels, run_name)
  dirs = [workdir / sweep_loop.SETTINGS_DIR / name for name in labels]
  with workdir_lib.WorkdirLock(workdir):
    if restart:
      moved = workdir_lib.archive_previous(workdir)
      if moved is not None:
        print(f"restart: moved the previous study to {moved}", file=sys.stderr)
    config_path, sweep_path = workdir / run_lib.CONFIG_NAME, workdir / SWEEP_NAME
    if config_path.is_file():
      differences = run_lib.resume_differences(json.loads(config_path.read_text()), config)
      saved = json.loads(sweep_path.read_text()) if sweep_path.is_file() else None
      if saved is None or {k: saved.get(k) for k in ("fields", "labels")} != {
          k: study[k] for k in ("fields", "labels")}:
        differences.append(f"--sweep: {saved and saved.get('fields')} -> {study['fields']}")
      if differences:
        raise workdir_lib.ConfigMismatchError(run_lib.mismatch_message(workdir, differences))
    elif run_lib.has_checkpoints(workdir):
      raise workdir_lib.ConfigMismatchError(
          f"{workdir} holds checkpoints but no {run_lib.CONFIG_NAME}; start over with --restart "
          "or use another --workdir")

    if _finished(workdir, config, labels, dirs):
      print(f"already finished: {workdir} (a study of {len(labels)} settings)", file=sys.stderr)
      records = [results_lib.read_record(d / run_lib.RESULT_NAME) for d in dirs
                 if (d / run_lib.RESULT_NAME).is_file()]
      _publish_all(records, workdir, publish_dir, run_name, replace_published)
      return records
    workdir_lib.write_json_atomic(config_path,
                                  json.loads(config.to_json_best_effort(sort_keys=True)))
    workdir_lib.write_json_atomic(sweep_path, study)

    t0 = time.perf_counter()
    data = registry.DATASETS[config.dataset](config.data, config.seed)
    run_lib.save_data_spec(workdir, data.spec)
    states, keys, built = [], [], {}
    for cfg in configs:
      init_key, train_key = jax.random.split(jax.random.key(cfg.seed))
      # A setting's learning rate and weight decay are arrays of its opt_state (injected), so
      # the first setting's optimizer (and model functions) serve every setting.
      model, optimizer, state = run_lib.build_state(cfg, data.spec, init_key)
      built.setdefault("model", model)
      built.setdefault("optimizer", optimizer)
      states.append(state)
      keys.append(train_key)
    model, optimizer = built["model"], built["optimizer"]
    carry = sweep_loop.init_carry(sweep_loop.stack_states(states),
                                  patience=config.early_stopping_patience,
                                  mode=config.best_mode,
                                  min_delta=config.early_stopping_min_delta)
    print(f"{config.experiment}: a sweep of {len(labels)} settings of {config.model} on "
          f"{config.dataset} ({', '.join(f'{f}: {len(v)}' for f, v in axes)}), "
          f"{optim.num_params(model.params):,} parameters each; data ready in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)
    train_iter, dev_batches, test_batches, device_mesh = data.train, data.dev, data.test, None
    if num_devices > 1:  # the settings replicated, every batch split over the devices
      from skipjax.train import parallel  # pylint: disable=g-import-not-at-top
      device_mesh = parallel.make_mesh(jax.devices()[:num_devices])
      train_iter = parallel.ShardedIterator(data.train, device_mesh)
      dev_batches, test_batches = (None if b is None else parallel.sharded_batches(b, device_mesh)
                                   for b in (data.dev, data.test))
      print(f"data parallel over {num_devices} {jax.devices()[0].platform} devices (mesh "
            f"data={num_devices}), every setting on each", file=sys.stderr)
    fit = sweep_loop.fit_sweep(
        config, workdir=workdir, train_step=step_lib.make_train_step(model.loss_fn, optimizer),
        init_carry=carry, train_iter=train_iter, keys=jnp.stack(keys), labels=labels,
        eval_step=step_lib.make_eval_step(model.eval_loss_fn), dev_batches=dev_batches,
        test_batches=test_batches, mesh=device_mesh,
        setting_configs=[json.loads(c.to_json_best_effort(sort_keys=True)) for c in configs],
        settings_per_call=per_call, should_stop=should_stop)

    records = []
    for index, (name, cfg, summary, folder) in enumerate(zip(labels, configs, fit.summaries,
                                                             dirs)):
      if summary["failed"]:
        print(f"setting {name}: no result (non-finite {summary['failed']} at step "
              f"{summary['failed_step']})", file=sys.stderr)
        continue
      run_lib.check_test_metric(cfg, summary, data.test is not None, folder)
      record = run_lib.make_record(
          cfg, summary, command=command, run_name=f"{run_name}.{name}", workdir=folder,
          num_devices=num_devices,
          data_seed=config.seed, sweep={**study, "index": index, "setting": settings[index]})
      path = results_lib.write_record(record, folder / run_lib.RESULT_NAME)
      records.append(results_lib.read_record(path))
      print(f"setting {name}: test {cfg.metric} = {record['value']} (best dev step "
            f"{summary['best_step']}) -> {path}", file=sys.stderr)
    fit.summary["all_stopped"] = not bool(jax.device_get(fit.carry.active).any())
    workdir_lib.write_json_atomic(workdir / "summary.json", workdir_lib.json_safe(fit.summary))
    if plot:
      png = plots.plot_training_curves(dirs, workdir / "curves.png", labels=labels)
      print(f"curves: {png}", file=sys.stderr)
      tradeoff = plot_study(records, axes, workdir / "tradeoff.png", run_name)
      if tradeoff is not None:
        print(f"trade-off: {tradeoff}", file=sys.stderr)
    _publish_all(records, workdir, publish_dir, run_name, replace_published)
  return records


def plot_study(records: list[dict[str, Any]], axes: list[tuple[str, list[Any]]],
               out: pathlib.Path, name: str) -> pathlib.Path | None:
  """The test metric of each setting against its fraction computed (skipping models) or else
  against the first swept field; one line per value of the other fields. None: no record."""
  from skipjax import plots  # pylint: disable=g-import-not-at-top
  if not records:
    return None
  metric = records[0]["metric"]
  by_fraction = all(r.get("fraction_computed") is not None for r in records)
  first = axes[0][0]
  points = []
  for r in records:
    setting = r["sweep"]["setting"]
    rest = ", ".join(f"{f.rsplit('.', 1)[-1]}={_fmt(v)}" for f, v in setting.items()
                     if f != first)
    x = r["fraction_computed"] if by_fraction else setting[first]
    text = f"{first.rsplit('.', 1)[-1]}={_fmt(setting[first])}" if by_fraction else ""
    points.append(plots.TradeoffPoint(rest or name, text, float(x), float(r["value"])))
  xlabel = "fraction of steps computed (test)" if by_fraction else first
  return plots.plot_tradeoff(points, out, xlabel=xlabel, ylabel=f"test {metric}",
                             title=f"{name}: test {metric} per setting")


def _publish_all(records, workdir, publish_dir, run_name, replace) -> None:
  if publish_dir is None:
    return
  for record in records:
    run_lib.publish(record, pathlib.Path(record["workdir"]), publish_dir,
                     record["run_name"], replace)
