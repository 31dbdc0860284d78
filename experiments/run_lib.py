"""The machinery of `experiments.run` (its command line is there): validating a config,
resuming or refusing a workdir, training and evaluating one run, and its result record.

`experiments.run` (one run) and `experiments.sweep` (a vmapped study) both build on this module;
neither imports the other's internals.
"""

from __future__ import annotations

import datetime
import json
import math
import numbers
import os
import pathlib
import platform
import re
import shlex
import subprocess
import sys
import time
from typing import Any


CONFIGS_DIR = pathlib.Path(__file__).resolve().parent / "configs"
RESULT_NAME = "result.json"
CONFIG_NAME = "config.json"
# Config fields that may differ from the workdir's config.json when a run is resumed:
# - num_steps, raised (never lowered): "train this run longer". A resumed N-step run continued to
#   2N reaches the parameters of a 2N-step run; refused when the learning-rate schedule spans
#   num_steps (a cosine schedule without optimizer.total_steps), as the rates would change;
# - what is only shown or kept (skipjax.train.workdir.OBSERVATION_FIELDS): progress,
#   tensorboard, log_every, checkpoint_every, keep_checkpoints;
# - annotations of the record that training does not read: paper, paper_value, speedup_batch1
#   (a finished run's result.json takes the new values).
# Everything else must match, eval_every included: it decides which checkpoint is the best one
# (the tested one) and when early stopping fires, so a run whose evaluations changed midway
# would match no single command.
ANNOTATION_FIELDS = ("paper", "paper_value", "speedup_batch1")

TOP_LEVEL_KEYS = frozenset({
    "experiment", "paper", "paper_value", "model", "net", "hparams", "dataset", "data",
    "optimizer", "num_steps", "eval_every", "log_every", "checkpoint_every", "keep_checkpoints",
    "best_metric", "best_mode", "early_stopping_patience", "early_stopping_min_delta", "metric",
    "speedup_batch1", "seed", "progress", "tensorboard"})
# Config fields (at any depth) that are sizes: positive integers (or None where optional).
_POSITIVE_INT_SUFFIXES = ("_dim", "_size", "_steps", "_examples", "num_layers", "max_len",
                          "length")
# Raw files each real dataset reads: skipjax.data.files.RAW_FILES groups.
RAW_FILE_GROUP = {"imdb": "imdb", "rotten_tomatoes": "rotten_tomatoes", "sst2_glue": "sst_glue",
                   "sst2_trees": "sst_trees", "sst5": "sst_trees", "ag_news": "ag_news",
                   "mnist": "mnist", "pmnist": "mnist", "conll2003": "conll2003", "ptb": "ptb"}


class ConfigError(ValueError):
  """A config value is wrong; the message names the field."""


def resume_differences(saved: dict[str, Any], config: Any) -> list[str]:
  """The fields of `config` that a run resumed from a workdir whose config.json holds `saved`
  may not change, as 'config.name: old -> new' (empty: resuming is fine). A key present on one
  side only counts unless its value is null/empty there (a field added to the configs since,
  left unset, changes nothing)."""
  from skipjax.train import optim  # pylint: disable=g-import-not-at-top
  from skipjax.train import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  new = json.loads(config.to_json_best_effort(sort_keys=True))
  optimizer = new.get("optimizer", {})
  schedule_spans_run = (optimizer.get("schedule") in optim.SCHEDULES_USING_TOTAL_STEPS and
                        optimizer.get("total_steps") is None)

  def may_change(name: str, old: Any, cur: Any) -> bool:
    if name in workdir_lib.OBSERVATION_FIELDS or name in ANNOTATION_FIELDS:
      return True
    if name == "num_steps":
      return (isinstance(old, int) and isinstance(cur, int) and cur >= old and
              not schedule_spans_run)
    return False

  return workdir_lib.config_differences(saved, new, may_change=may_change)


def _walk(config: Any, prefix: str = "config"):
  for key, value in config.items():
    name = f"{prefix}.{key}"
    if hasattr(value, "items"):
      yield from _walk(value, name)
    else:
      yield name, key, value


def validate_config(config: Any) -> None:
  """Raises ConfigError naming the first bad field. Runs before any data or model is built."""
  from experiments import registry  # pylint: disable=g-import-not-at-top
  from skipjax.train import loop  # pylint: disable=g-import-not-at-top

  unknown = sorted(set(config.keys()) - TOP_LEVEL_KEYS)
  if unknown:
    raise ConfigError(f"unknown config keys {unknown}; known: {sorted(TOP_LEVEL_KEYS)}")
  missing = sorted(TOP_LEVEL_KEYS - set(config.keys()))
  if missing:
    raise ConfigError(f"config lacks the keys {missing} (start from "
                      "experiments.configs.base_config())")
  if not config.experiment:
    raise ConfigError("config.experiment must name the experiment")
  if config.model not in registry.MODELS:
    raise ConfigError(f"config.model={config.model!r} is not a registered model; known: "
                      f"{sorted(registry.MODELS)} (see experiments/registry.py to add one)")
  if config.dataset not in registry.DATASETS:
    raise ConfigError(f"config.dataset={config.dataset!r} is not a registered dataset; known: "
                      f"{sorted(registry.DATASETS)}")
  for name, key, value in _walk(config):
    if key.endswith(_POSITIVE_INT_SUFFIXES) and key != "warmup_steps" and value is not None:
      if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
  for name, key, value in _walk(config.hparams, "config.hparams"):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
      raise ConfigError(f"{name} must be a number (hparams are float32 scalars), got {value!r}")
  try:  # names and ranges per model: traced inside the jitted step, they can't be checked there
    registry.check_hparams(config.model, config.dataset, config.hparams)
  except ValueError as e:
    raise ConfigError(str(e)) from None
  if config.seed < 0:
    raise ConfigError(f"config.seed must be >= 0, got {config.seed}")
  if config.optimizer.learning_rate <= 0:
    raise ConfigError(f"config.optimizer.learning_rate must be positive, got "
                      f"{config.optimizer.learning_rate}")
  check_pretrained(config)
  if config.net.get("freeze_embedding") and config.optimizer.get("weight_decay", 0.0):
    raise ConfigError(f"config.net.freeze_embedding=True stops the embedding's gradient, but "
                      f"config.optimizer.weight_decay={config.optimizer.weight_decay} would still "
                      "move it: set weight_decay=0 or do not freeze")
  try:
    loop.LoopConfig.from_config(config)
  except ValueError as e:
    raise ConfigError(f"config: {e}") from None
  if config.paper_value is not None and config.metric in ("accuracy", "f1") and not (
      0 <= config.paper_value <= 1):
    raise ConfigError(f"config.paper_value must be a fraction in [0, 1] for {config.metric}, got "
                      f"{config.paper_value} (write 82.5% as 0.825)")
  check_data_files(config)


def check_pretrained(config: Any) -> None:
  """config.net's pretrained-vector fields, before the data is loaded (the rest of the checks,
  which need the model and the vocabulary, are `experiments.pretrained`'s)."""
  from experiments import pretrained  # pylint: disable=g-import-not-at-top
  source = config.net.get("pretrained_embedding")
  try:
    pretrained.check_fields(source, config.net.get("pretrained_format") or "auto",
                            config.net.get("freeze_embedding", False), None)
  except ValueError as e:
    raise ConfigError(str(e)) from None
  if source is not None and source != "word2vec_imdb" and not os.path.isfile(
      os.path.expanduser(source)):
    raise ConfigError(f"config.net.pretrained_embedding={source!r}: no such file (give "
                      "'word2vec_imdb' or the path of a GloVe / word2vec file)")


def check_data_files(config: Any) -> None:
  """A real dataset read from local raw files: every file must be present (digests are checked
  when it is read)."""
  group = RAW_FILE_GROUP.get(config.dataset)
  if group is None or config.data.get("source", "local") != "local":
    return
  from skipjax.data import files  # pylint: disable=g-import-not-at-top
  data_dir = files.resolve_data_dir(config.data.get("data_dir"))
  splits = [config.data.get(f"{r}_split") for r in ("train", "dev", "test")]
  for role, alternatives in files.RAW_FILES[group].items():
    if group == "ag_news" and role == "train" and not any(s and s.startswith("train")
                                                          for s in splits):
      continue  # AG News' train.csv is absent from shared/data; test-only runs do not need it
    if not files.has_file(group, role, data_dir):
      raise ConfigError(
          f"config.dataset={config.dataset!r}: data file {data_dir / alternatives[0].path} is "
          f"missing (set config.data.data_dir or ${files.ENV_DATA_DIR}; see "
          f"{data_dir / group / 'SOURCE.md'})")


def git_commit(repo: pathlib.Path | None = None) -> str:
  """HEAD of the checkout this code runs from, '-dirty' if tracked files differ ('unknown' out
  of a git checkout). Every result record carries it. The published records and RESULTS.md are
  outputs, not code: the reproduce queue writes them into its own checkout between rows, and
  they do not make the next row's code dirty."""
  repo = repo or pathlib.Path(__file__).resolve().parent.parent
  try:
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                            "--untracked-files=no", "--", ".", ":(exclude)experiments/results",
                            ":(exclude)experiments/RESULTS.md"], check=True,
                           capture_output=True, text=True).stdout.strip()
  except (OSError, subprocess.CalledProcessError):
    return "unknown"
  return head + ("-dirty" if dirty else "")


def hardware(num_devices: int = 1) -> str:
  import jax  # pylint: disable=g-import-not-at-top
  device = jax.devices()[0]
  mesh = f", data parallel over {num_devices} devices" if num_devices > 1 else ""
  if jax.process_count() > 1:
    mesh += f" in {jax.process_count()} processes"
  return (f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores visible, "
          f"jax {jax.__version__} on {device.platform} ({device.device_kind}){mesh}")


def parse_mesh(mesh: str | None, config: Any) -> int:
  """The number of devices of `--mesh data=N` (None: every local device; with several processes
  every device of every process), checked against the devices present and the config's batch
  sizes (ConfigError naming the flag)."""
  import jax  # pylint: disable=g-import-not-at-top
  available = len(jax.devices())
  if mesh is None:
    num = jax.local_device_count() if jax.process_count() == 1 else available
  else:
    match = re.fullmatch(r"\s*data\s*=\s*(\d+)\s*", mesh)
    if match is None or int(match.group(1)) < 1:
      raise ConfigError(f"--mesh {mesh!r}: expected 'data=N' with N >= 1 (the only mesh axis is "
                        "'data': data parallelism)")
    num = int(match.group(1))
    if num > available:
      raise ConfigError(f"--mesh {mesh!r}: only {available} device(s) present "
                        f"({jax.devices()[0].platform})")
    if jax.process_count() > 1 and num != available:
      raise ConfigError(f"--mesh {mesh!r}: with {jax.process_count()} processes the mesh spans "
                        f"all {available} devices (data={available}, or leave --mesh out)")
  if num > 1:
    for field in ("batch_size", "eval_batch_size"):
      size = config.data.get(field)
      if size is not None and size % num:
        raise ConfigError(f"--mesh data={num}: config.data.{field}={size} does not divide over "
                          f"{num} devices")
  return num


# Flags that change when a run stops, not what it computes: left out of the recorded command.
_NOT_RECORDED = ("stop_after",)


def command_line(argv: list[str]) -> str:
  """The command a record names, without the flags of `_NOT_RECORDED` (a run stopped and
  resumed records the command that reproduces it)."""
  args, skip = [], False
  for a in argv[1:]:
    name = a.lstrip("-").split("=", 1)[0] if a.startswith("-") else None
    if skip:
      skip = False
      continue
    if name in _NOT_RECORDED:
      skip = "=" not in a
      continue
    args.append(a)
  return "python -m experiments.run " + " ".join(shlex.quote(a) for a in args)


def mismatch_message(workdir: pathlib.Path, differences: list[str]) -> str:
  hints = []
  if any(d.startswith("config.num_steps:") for d in differences):
    hints.append("num_steps may only be raised, and not when the learning-rate schedule spans "
                 "the run")
  hints.append("to train this config, start over with --restart (the old run is moved to "
               f"{workdir}/previous-<time>/) or use another --workdir")
  return (f"{workdir} holds a run of another config ({workdir / CONFIG_NAME}): "
          f"{'; '.join(differences)}; {'; '.join(hints)}")


def has_checkpoints(workdir: pathlib.Path) -> bool:
  ckpt_dir = workdir / "checkpoints"
  return ckpt_dir.is_dir() and any(p.name.isdigit() for p in ckpt_dir.iterdir())


def finished_record(workdir: pathlib.Path, config: Any) -> dict[str, Any] | None:
  """DIR/result.json if it is the record of a run that needs no more training, else None."""
  from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
  path = workdir / RESULT_NAME
  if not path.is_file():
    return None
  record = results_lib.read_record(path)
  steps = record.get("train_steps")
  if record.get("stopped_early") or (isinstance(steps, int) and steps >= config.num_steps):
    return record
  return None


def publish(record: dict[str, Any], workdir: pathlib.Path, publish_dir: Any, run_name: str,
             replace: bool) -> None:
  from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
  published = results_lib.publish_result(record, publish_dir, run_name, replace=replace,
                                         source=workdir / RESULT_NAME)
  print(published.message, file=sys.stderr)


def save_data_spec(workdir: pathlib.Path, spec: Any) -> None:
  """Keeps what the model was built from in the workdir, so that a checkpoint can be used on new
  inputs without the training data (`experiments.predict`): WORKDIR/data_spec.json and, for
  token inputs, WORKDIR/vocab.json. A resumed run whose data gives another spec or vocabulary
  (the data files changed) is refused: its checkpoints' embedding rows would mean other words.
  """
  from experiments import registry  # pylint: disable=g-import-not-at-top
  from skipjax.data import text  # pylint: disable=g-import-not-at-top
  from skipjax.train import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  fields = registry.spec_to_json(spec)
  spec_path, vocab_path = workdir / registry.SPEC_NAME, workdir / registry.VOCAB_NAME
  if spec_path.is_file():
    saved = json.loads(spec_path.read_text())
    keys = sorted((set(saved) | set(fields)) - {"data_dir"})
    changed = [f"{k}: {saved.get(k)!r} -> {fields.get(k)!r}" for k in keys
               if saved.get(k) != fields.get(k)]
    if changed:
      raise workdir_lib.ConfigMismatchError(
          f"{workdir} holds a run trained on other data ({spec_path}): {'; '.join(changed)}; "
          "start over with --restart or use another --workdir")
  if vocab_path.is_file() and spec.vocab is not None and text.Vocab.load(vocab_path) != spec.vocab:
    raise workdir_lib.ConfigMismatchError(
        f"{workdir} holds a run trained with another vocabulary ({vocab_path}; the data files "
        "changed?): its embedding rows would mean other words; start over with --restart or use "
        "another --workdir")
  workdir_lib.write_json_atomic(spec_path, fields)
  if spec.vocab is not None and not vocab_path.is_file():
    tmp = vocab_path.with_suffix(".tmp")
    spec.vocab.save(tmp)
    os.replace(tmp, vocab_path)


def train_and_evaluate(config: Any, workdir: str | os.PathLike[str], *, command: str,
                       run_name: str | None = None,
                       publish_dir: str | os.PathLike[str] | None = None,
                       replace_published: bool = False, restart: bool = False,
                       plot: bool = True, mesh: str | None = None,
                       should_stop: Any = None) -> dict[str, Any]:
  """Validates `config`, trains (or resumes), tests, writes WORKDIR/result.json; returns it.

  `should_stop`: `loop.fit`'s (e.g. `interrupt.StopRequest`): when it asks, the run is
  checkpointed and `interrupt.Interrupted` raised, with no result written.

  `mesh`: 'data=N' trains data-parallel over the first N devices (`skipjax.train.parallel`:
  state replicated, every batch split along its rows, the gradient all-reduced by XLA), which
  gives the single-device run's parameters up to float summation order; None: every local
  device when there are several. A checkpoint resumes on any mesh.

  `publish_dir`: also publish the record as `publish_dir/<run_name>.json`
  (`skipjax.results.publish_result`; `replace_published` replaces another result there).
  `restart`: move the workdir's contents to WORKDIR/previous-<UTC time>/ and start over.

  Raises ConfigError (bad config), workdir.ConfigMismatchError or
  checkpoint.CheckpointMismatchError (the workdir holds another run), workdir.WorkdirLockedError,
  loop.NonFiniteError (NaN/Inf; no record is written), results.PublishConflictError.
  """
  validate_config(config)
  num_devices = parse_mesh(mesh, config)
  import jax  # pylint: disable=g-import-not-at-top
  from experiments import registry  # pylint: disable=g-import-not-at-top
  from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
  from skipjax.train import loop  # pylint: disable=g-import-not-at-top
  from skipjax.train import optim  # pylint: disable=g-import-not-at-top
  from skipjax.train import multihost  # pylint: disable=g-import-not-at-top
  from skipjax.train import step as step_lib  # pylint: disable=g-import-not-at-top
  from skipjax.train import workdir as workdir_lib  # pylint: disable=g-import-not-at-top

  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  run_name = run_name or workdir.resolve().name
  primary = multihost.is_primary()
  lock = workdir_lib.WorkdirLock(workdir)
  # Process 0 takes the lock and checks the workdir; the others follow its outcome (multihost).
  finished = multihost.primary_decides(
      lambda: take_workdir(lock, workdir, config, restart=restart),
      f"checking the workdir {workdir}")
  try:
    if multihost.broadcast_int(finished is not None):
      multihost.barrier("skipjax run: already finished")
      if not primary:
        return results_lib.read_record(workdir / RESULT_NAME)
      if publish_dir is not None:
        publish(finished, workdir, publish_dir, run_name, replace_published)
      return finished

    init_key, train_key = jax.random.split(jax.random.key(config.seed))
    t0 = time.perf_counter()
    # Each process reads its own rows of every training batch.
    data = registry.DATASETS[config.dataset](config.data, config.seed,
                                             process_index=jax.process_index(),
                                             process_count=jax.process_count())
    if primary:
      save_data_spec(workdir, data.spec)
    model, optimizer, state = build_state(config, data.spec, init_key)
    train_fn = step_lib.make_train_step(model.loss_fn, optimizer)
    eval_fn = step_lib.make_eval_step(model.eval_loss_fn)
    train_iter, dev_batches, test_batches = data.train, data.dev, data.test
    if num_devices > 1:
      from skipjax.train import parallel  # pylint: disable=g-import-not-at-top
      device_mesh = parallel.make_mesh(jax.devices()[:num_devices])
      state = parallel.replicate(state, device_mesh)
      train_step = parallel.data_parallel_train_step(train_fn, device_mesh)
      eval_step = parallel.data_parallel_eval_step(eval_fn, device_mesh)
      train_iter = parallel.ShardedIterator(data.train, device_mesh, local=True)
      dev_batches, test_batches = (None if b is None else parallel.sharded_batches(b, device_mesh)
                                   for b in (data.dev, data.test))
      print(f"data parallel over {num_devices} {jax.devices()[0].platform} devices (mesh "
            f"data={num_devices}{multihost.describe()})", file=sys.stderr)
    else:
      train_step = step_lib.jit_train_step(train_fn)
      eval_step = jax.jit(eval_fn)
    print(f"{config.experiment}: {config.model} on {config.dataset}, "
          f"{optim.num_params(model.params):,} parameters; data ready in "
          f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)

    fit = loop.fit(config, workdir=workdir, train_step=train_step, init_state=state,
                   train_iter=train_iter, key=train_key, eval_step=eval_step,
                   dev_batches=dev_batches, test_batches=test_batches,
                   should_stop=should_stop)
    summary = fit.summary
    check_test_metric(config, summary, data.test is not None, workdir)
    result = make_record(config, summary, command=command, run_name=run_name, workdir=workdir,
                         num_devices=num_devices)
    if not primary:  # process 0 writes the record, the plot and the published copy
      return json.loads(json.dumps(workdir_lib.json_safe(result)))
    path = results_lib.write_record(result, workdir / RESULT_NAME)
    result = results_lib.read_record(path)  # as stored (strict JSON)
    print(f"result: test {config.metric} = {result['value']} (best dev step "
          f"{summary['best_step']}), {result['train_minutes']:.1f} min -> {path}",
          file=sys.stderr)
    if plot:
      from skipjax import plots  # pylint: disable=g-import-not-at-top
      png = plots.plot_training_curves([workdir], workdir / "curves.png")
      print(f"curves: {png}", file=sys.stderr)
    if publish_dir is not None:
      publish(result, workdir, publish_dir, run_name, replace_published)
    return result
  finally:
    if primary:
      lock.release()


def take_workdir(lock: Any, workdir: pathlib.Path, config: Any, *,
                  restart: bool) -> dict[str, Any] | None:
  """Takes `lock` (released again if a check fails) and checks the workdir against `config`:
  moves an earlier run aside under `restart`, refuses another run's config or checkpoints,
  returns the finished record if this run is done (None otherwise), and writes config.json."""
  from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
  from skipjax.train import workdir as workdir_lib  # pylint: disable=g-import-not-at-top
  lock.acquire()
  try:
    if restart:
      moved = workdir_lib.archive_previous(workdir)
      if moved is not None:
        print(f"restart: moved the previous run to {moved}", file=sys.stderr)
    config_path = workdir / CONFIG_NAME
    if config_path.is_file():
      differences = resume_differences(json.loads(config_path.read_text()), config)
      if differences:
        raise workdir_lib.ConfigMismatchError(mismatch_message(workdir, differences))
    elif has_checkpoints(workdir):
      raise workdir_lib.ConfigMismatchError(
          f"{workdir} holds checkpoints but no {CONFIG_NAME}, so they cannot be checked against "
          "this config; start over with --restart (they are moved to previous-<time>/) or use "
          "another --workdir")

    finished = finished_record(workdir, config)
    if finished is not None:
      # Annotations given now (e.g. a measured --config.speedup_batch1) go into the record.
      updates = {k: config.get(k) or None for k in ANNOTATION_FIELDS
                 if finished.get(k) != (config.get(k) or None)}
      note = ""
      if updates:
        finished.update(updates)
        if isinstance(finished.get("config"), dict):
          finished["config"].update({k: config.get(k) for k in updates})
        results_lib.write_record(finished, workdir / RESULT_NAME)
        workdir_lib.write_json_atomic(config_path,
                                      json.loads(config.to_json_best_effort(sort_keys=True)))
        note = " (record updated: " + ", ".join(f"{k} = {v}" for k, v in updates.items()) + ")"
      print(f"already finished: {workdir / RESULT_NAME}{note}", file=sys.stderr)
      return finished
    workdir_lib.write_json_atomic(config_path,
                                  json.loads(config.to_json_best_effort(sort_keys=True)))
    return None
  except BaseException:
    lock.release()
    raise


def build_state(config: Any, spec: Any, init_key: Any) -> tuple[Any, Any, Any]:
  """(model, optimizer, TrainState at step 0) of `config` for data of `spec`."""
  from experiments import registry  # pylint: disable=g-import-not-at-top
  from skipjax.train import optim  # pylint: disable=g-import-not-at-top
  from skipjax.train import step as step_lib  # pylint: disable=g-import-not-at-top
  model = registry.MODELS[config.model](init_key, config.net, spec)
  opt_kwargs = config.optimizer.to_dict()
  if opt_kwargs.get("schedule", "constant") != "constant":
    opt_kwargs.setdefault("total_steps", config.num_steps)
  optimizer = optim.make_optimizer(**opt_kwargs)
  state = step_lib.init_train_state(model.params, optimizer, model.model_state,
                                    hparams=config.hparams.to_dict())
  return model, optimizer, state


def check_test_metric(config: Any, summary: dict[str, Any], has_test: bool,
                      workdir: pathlib.Path) -> None:
  """The test metric the record reports must exist and be finite (NonFiniteError if not)."""
  from skipjax.train import loop  # pylint: disable=g-import-not-at-top
  test = summary["test"] or {}
  if has_test and config.metric not in test:
    raise ConfigError(f"config.metric={config.metric!r} is not among the test metrics "
                      f"{sorted(test)}")
  value = test.get(config.metric)
  if value is not None and not math.isfinite(value):
    raise loop.NonFiniteError(f"test/{config.metric} ({value}) of the checkpoint of step "
                              f"{summary['test_step']}", summary["steps"], summary["steps"],
                              workdir / "checkpoints" / str(summary["steps"]))


def make_record(config: Any, summary: dict[str, Any], *, command: str, run_name: str,
                workdir: pathlib.Path, num_devices: int = 1, **extra: Any) -> dict[str, Any]:
  """The result record of a finished run of `config` (`loop.fit`'s summary)."""
  from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
  test = summary["test"] or {}
  return results_lib.make_result(
      experiment=config.experiment, model=config.model, dataset=config.dataset,
      split=config.data.get("test_split", "test"), metric=config.metric,
      value=test.get(config.metric), paper_value=config.paper_value,
      fraction_computed=test.get("fraction_computed"), speedup_batch1=config.speedup_batch1,
      train_steps=summary["steps"], train_minutes=summary["train_seconds"] / 60.0,
      seed=config.seed, command=command,
      finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
      paper=config.paper or None, run_name=run_name, workdir=str(workdir),
      hardware=hardware(num_devices), git_commit=git_commit(),
      best_step=summary["best_step"],
      best_dev=summary["best_dev"],
      stopped_early=summary["stopped_early"], metrics=test,
      examples_per_second=summary["examples_per_second"],
      config=json.loads(config.to_json_best_effort()), **extra)
