"""The one entry point for training runs.

    python -m experiments.run --config experiments/configs/<name>.py [--config.FIELD=VALUE ...] \
        --workdir DIR [--run_name NAME] [--results_dir experiments/results] [--noplot]

Checks the config (unknown keys, non-positive sizes, unknown model or dataset, missing data files
fail here, before anything is built), loads the data, builds the model from
`experiments.registry`, trains with `skipjax.train.loop.fit` (resuming if DIR holds a
checkpoint), evaluates the best checkpoint on test, and writes:

- DIR/: checkpoints/, tensorboard/, metrics.jsonl, summary.json, config.json, curves.png;
- <results_dir>/<run_name>.json: the result record (`skipjax.results`); run_name defaults to
  DIR's name. `python -m experiments.make_results` rebuilds experiments/RESULTS.md from them.
"""

from __future__ import annotations

import datetime
import numbers
import os
import pathlib
import platform
import re
import shlex
import sys
import time
from typing import Any

from absl import app
from absl import flags
from absl import logging as absl_logging
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (checkpoints, logs).")
_RUN_NAME = flags.DEFINE_string("run_name", None, "Result file name (default: workdir's name).")
_RESULTS_DIR = flags.DEFINE_string("results_dir", "experiments/results",
                                   "Where the result record is written.")
_PLOT = flags.DEFINE_bool("plot", True, "Draw DIR/curves.png at the end.")

TOP_LEVEL_KEYS = frozenset({
    "experiment", "paper", "paper_value", "model", "net", "hparams", "dataset", "data",
    "optimizer", "num_steps", "eval_every", "log_every", "checkpoint_every", "keep_checkpoints",
    "best_metric", "best_mode", "early_stopping_patience", "early_stopping_min_delta", "metric",
    "speedup_batch1", "seed", "progress", "tensorboard"})
# Config fields (at any depth) that are sizes: positive integers (or None where optional).
_POSITIVE_INT_SUFFIXES = ("_dim", "_size", "_steps", "_examples", "num_layers", "max_len",
                          "length")
# Raw files each real dataset reads: skipjax.data.files.RAW_FILES groups.
_RAW_FILE_GROUP = {"imdb": "imdb", "rotten_tomatoes": "rotten_tomatoes", "sst2_glue": "sst_glue",
                   "sst2_trees": "sst_trees", "sst5": "sst_trees", "ag_news": "ag_news",
                   "mnist": "mnist", "pmnist": "mnist", "conll2003": "conll2003", "ptb": "ptb"}


class ConfigError(ValueError):
  """A config value is wrong; the message names the field."""


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
  try:
    loop.LoopConfig.from_config(config)
  except ValueError as e:
    raise ConfigError(f"config: {e}") from None
  if config.paper_value is not None and config.metric in ("accuracy", "f1") and not (
      0 <= config.paper_value <= 1):
    raise ConfigError(f"config.paper_value must be a fraction in [0, 1] for {config.metric}, got "
                      f"{config.paper_value} (write 82.5% as 0.825)")
  check_data_files(config)


def check_data_files(config: Any) -> None:
  """A real dataset read from local raw files: every file must be present (digests are checked
  when it is read)."""
  group = _RAW_FILE_GROUP.get(config.dataset)
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


def _hardware() -> str:
  import jax  # pylint: disable=g-import-not-at-top
  device = jax.devices()[0]
  return (f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores visible, "
          f"jax {jax.__version__} on {device.platform} ({device.device_kind})")


def command_line(argv: list[str]) -> str:
  return "python -m experiments.run " + " ".join(shlex.quote(a) for a in argv[1:])


def train_and_evaluate(config: Any, workdir: str | os.PathLike[str], *, command: str,
                       run_name: str | None = None,
                       results_dir: str | os.PathLike[str] = "experiments/results",
                       plot: bool = True) -> dict[str, Any]:
  """Validates `config`, trains, tests, writes the result record; returns it."""
  validate_config(config)
  import jax  # pylint: disable=g-import-not-at-top
  from experiments import registry  # pylint: disable=g-import-not-at-top
  from skipjax import results as results_lib  # pylint: disable=g-import-not-at-top
  from skipjax.train import loop  # pylint: disable=g-import-not-at-top
  from skipjax.train import optim  # pylint: disable=g-import-not-at-top
  from skipjax.train import step as step_lib  # pylint: disable=g-import-not-at-top

  workdir = pathlib.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  run_name = run_name or workdir.resolve().name
  (workdir / "config.json").write_text(config.to_json_best_effort(indent=1, sort_keys=True))

  init_key, train_key = jax.random.split(jax.random.key(config.seed))
  t0 = time.perf_counter()
  data = registry.DATASETS[config.dataset](config.data, config.seed)
  model = registry.MODELS[config.model](init_key, config.net, data.spec)
  opt_kwargs = config.optimizer.to_dict()
  if opt_kwargs.get("schedule", "constant") != "constant":
    opt_kwargs.setdefault("total_steps", config.num_steps)
  optimizer = optim.make_optimizer(**opt_kwargs)
  state = step_lib.init_train_state(model.params, optimizer, model.model_state,
                                    hparams=config.hparams.to_dict())
  train_step = step_lib.jit_train_step(step_lib.make_train_step(model.loss_fn, optimizer))
  eval_step = jax.jit(step_lib.make_eval_step(model.eval_loss_fn))
  print(f"{config.experiment}: {config.model} on {config.dataset}, "
        f"{optim.num_params(model.params):,} parameters; data ready in "
        f"{time.perf_counter() - t0:.1f} s", file=sys.stderr)

  fit = loop.fit(config, workdir=workdir, train_step=train_step, init_state=state,
                 train_iter=data.train, key=train_key, eval_step=eval_step,
                 dev_batches=data.dev, test_batches=data.test)
  summary = fit.summary
  test = summary["test"] or {}
  if data.test is not None and config.metric not in test:
    raise ConfigError(f"config.metric={config.metric!r} is not among the test metrics "
                      f"{sorted(test)}")
  result = results_lib.make_result(
      experiment=config.experiment, model=config.model, dataset=config.dataset,
      split=config.data.get("test_split", "test"), metric=config.metric,
      value=test.get(config.metric), paper_value=config.paper_value,
      fraction_computed=test.get("fraction_computed"), speedup_batch1=config.speedup_batch1,
      train_steps=summary["steps"], train_minutes=summary["train_seconds"] / 60.0,
      seed=config.seed, command=command,
      finished=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
      paper=config.paper or None, run_name=run_name, workdir=str(workdir),
      hardware=_hardware(), best_step=summary["best_step"], best_dev=summary["best_dev"],
      stopped_early=summary["stopped_early"], metrics=test,
      examples_per_second=summary["examples_per_second"], config=config.to_dict())
  path = results_lib.write_result(result, results_dir, run_name)
  print(f"result: test {config.metric} = {result['value']} (best dev step "
        f"{summary['best_step']}), {result['train_minutes']:.1f} min -> {path}", file=sys.stderr)
  if plot:
    from skipjax import plots  # pylint: disable=g-import-not-at-top
    png = plots.plot_training_curves([workdir], workdir / "curves.png")
    print(f"curves: {png}", file=sys.stderr)
  return result


def main(argv: list[str]) -> None:
  if not flags.FLAGS["verbosity"].present:
    absl_logging.set_verbosity(absl_logging.WARNING)  # orbax logs every save at INFO
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments {argv[1:]}")
  if _CONFIG.value is None:
    raise app.UsageError("--config is required")
  if not _WORKDIR.value:
    raise app.UsageError("--workdir is required")
  try:
    train_and_evaluate(_CONFIG.value, _WORKDIR.value, command=command_line(sys.argv),
                       run_name=_RUN_NAME.value, results_dir=_RESULTS_DIR.value,
                       plot=_PLOT.value)
  except ConfigError as e:
    raise app.UsageError(str(e)) from None


def _unknown_override_message(argv: list[str], error: Exception) -> str | None:
  """For `--config.<path>=...` naming a field the config lacks: a message saying which."""
  text = str(error)
  suggestion = re.search(r'Did you mean "(\w+)"', text)
  hint = f"; did you mean {suggestion.group(1)!r}?" if suggestion else ""
  for arg in argv:
    if arg.startswith(("--config.", "-config.")):
      path = arg.split("=", 1)[0].split(".", 1)[1]
      for field in path.split("."):
        if f"'{field}\\'" in text or f"'{field}'" in text:
          return (f"{arg.split('=', 1)[0]}: the config has no field {field!r}{hint} (see "
                  "experiments/README.md for the fields)")
  return None


def run_cli(argv: list[str]) -> None:
  """app.run(main), turning an override of a non-existent config field into a one-line error."""
  try:
    app.run(main, argv=argv)
  except (AttributeError, KeyError) as e:
    message = _unknown_override_message(argv, e)
    if message is None:
      raise
    print(f"FATAL {message}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  run_cli(sys.argv)
