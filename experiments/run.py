r"""The one entry point for training runs.

    python -m experiments.run --config experiments/configs/<name>.py [--config.FIELD=VALUE ...] \
        --workdir DIR [--restart] [--run_name NAME] [--publish experiments/results
        [--replace_published]] [--noplot] [--mesh data=N] [--sweep FIELD=V1,V2,... ...]
        [--coordinator_address HOST:PORT --num_processes P --process_id I] [--stop_after SECONDS]

Checks the config (unknown keys, non-positive sizes, unknown model or dataset, missing data files
fail here, before anything is built), takes DIR's lock, loads the data, builds the model from
`experiments.registry`, trains with `skipjax.train.loop.fit` (resuming if DIR holds a
checkpoint), evaluates the best checkpoint on test, and writes into DIR:

- checkpoints/, tensorboard/, metrics.jsonl, summary.json, config.json, curves.png;
- result.json: the result record (`skipjax.results`).

Nothing is written outside DIR unless asked: `--publish RESULTS_DIR` copies the record to
RESULTS_DIR/<run_name>.json (run_name defaults to DIR's name), from which `python -m
experiments.make_results` rebuilds experiments/RESULTS.md. A published file that holds another
result is not replaced (exit 6, naming both files and what differs) unless
`--replace_published` is given; one holding the same result is left as it is.

`--sweep FIELD=V1,V2,...` (repeatable: a grid) trains a hyperparameter study instead, every
setting in one vmapped program, with one record per setting (experiments/sweep.py).

Several processes (`jax.distributed`): the same command in each, with `--coordinator_address
--num_processes --process_id`; the mesh spans all their devices and process 0 alone writes DIR's
files (experiments/README.md). Exit 7 on the others when a check on process 0 failed.

Stopping: SIGTERM (a scheduler's, `kill PID`), a first Ctrl-C, or `--stop_after SECONDS` stops
the run cleanly at the end of the step in flight: a checkpoint of that step is saved, nothing is
tested or written as a result, and the exit status is 8. Rerunning the same command continues from
that step exactly (a short GPU lease, a session that must end by a given time).

Resuming: rerun the same command. DIR's config.json must match the new config except in
RESUMABLE_FIELDS (see `resume_differences`); otherwise the run refuses (exit 3, naming the
fields). `--restart` starts over instead, first moving DIR's contents into
DIR/previous-<UTC time>/ (nothing is deleted). A finished run (DIR/result.json reached
num_steps, or stopped early) is not trained or tested again: "already finished: DIR/result.json"
(with --publish it is published); raising `--config.num_steps` trains it on.

A bad command line or config (a config path that names no file: the closest config is named; a
config file that fails to load; an unknown flag or field; a bad value) is one `FATAL ...` line and
exit 2, before anything is built; `--help` prints this text and the flags and exits 0.

Exit statuses (`experiments/exit_codes.py`), each non-zero one but 1 with a one-line `FATAL ...`:
  0 done (or already finished); 1 unexpected error (traceback); 2 bad command line or config;
  3 DIR holds a run of another config, or checkpoints that do not fit the model;
  4 DIR is locked by a live run (pid, host named; a dead run's lock is taken over);
  5 a NaN/Inf loss, gradient or metric (the step and the last finite checkpoint are named; no
    result is written); 6 --publish found another result in the published file;
  7 (several processes) process 0 failed at a check, and this process stopped with it;
  8 stopped on request (SIGTERM, a first Ctrl-C, --stop_after) with a checkpoint of its last
    step: rerun to go on.
"""

from __future__ import annotations

import os
import pathlib
import re
import signal
import sys
import traceback
from typing import Any, NoReturn

from absl import app
from absl import flags
from absl import logging as absl_logging
from ml_collections import config_flags

from experiments import configs
from experiments import exit_codes
from experiments import run_lib
from experiments import sweep
from skipjax import cli

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (checkpoints, logs).")
_RUN_NAME = flags.DEFINE_string("run_name", None,
                                 "Name of the published record (default: workdir's name).")
_PUBLISH = flags.DEFINE_string("publish", None,
                               "Also copy the result record to PUBLISH/<run_name>.json "
                               "(e.g. experiments/results); refused if a different record is "
                               "there, unless --replace_published.")
_REPLACE_PUBLISHED = flags.DEFINE_bool("replace_published", False,
                                       "With --publish: replace a published record that holds "
                                       "another result (the message says what it held).")
_RESTART = flags.DEFINE_bool("restart", False,
                             "Start over: move the workdir's contents into "
                             "WORKDIR/previous-<UTC time>/ first (nothing is deleted).")
_RESULTS_DIR = flags.DEFINE_string("results_dir", None,
                                   "Removed: the record goes to WORKDIR/result.json; use "
                                   "--publish DIR to copy it into a results directory.")
_PLOT = flags.DEFINE_bool("plot", True, "Draw DIR/curves.png at the end.")
_SWEEP = flags.DEFINE_multi_string("sweep", None,
                                   "A hyperparameter study as one vmapped program: "
                                   "FIELD=V1,V2,... (several flags form a grid; sweepable: seed, "
                                   "optimizer.learning_rate, optimizer.weight_decay, hparams.*). "
                                   "See experiments/sweep.py.")
_SWEEP_SETTINGS_PER_CALL = flags.DEFINE_string(
    "sweep_settings_per_call", "auto",
    "With --sweep: 'vmap' (every setting in one batched program), N (N settings at a time, in a "
    "loop inside the program) or 'auto' (1 on a CPU, where vmap is slower; vmap elsewhere).")
_MESH = flags.DEFINE_string("mesh", None,
                            "Data-parallel training over N devices: 'data=N' (default: every "
                            "local device when there are several; 'data=1' turns it off).")

_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None,
    "Multi-process training (jax.distributed): process 0's 'host:port'; give the same command "
    "to every process with its --process_id. On managed clusters (SLURM, TPU pods) "
    "--num_processes alone may do.")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None,
                                      "Multi-process training: how many processes take part.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None,
                                   "Multi-process training: this process's index, 0 .. "
                                   "num_processes - 1 (process 0 writes the run's files).")
_STOP_AFTER = flags.DEFINE_float(
    "stop_after", None, "Stop cleanly (checkpoint, exit 8) once this many seconds have passed "
    "since the start, at the end of the step in flight; rerun the same command to continue. "
    "SIGTERM does the same at any time.")

# The machinery lives in experiments/run_lib.py; these names are the runner's API.
CONFIGS_DIR = run_lib.CONFIGS_DIR
RESULT_NAME = run_lib.RESULT_NAME
CONFIG_NAME = run_lib.CONFIG_NAME
ConfigError = run_lib.ConfigError
validate_config = run_lib.validate_config
resume_differences = run_lib.resume_differences
train_and_evaluate = run_lib.train_and_evaluate
build_state = run_lib.build_state
make_record = run_lib.make_record
check_test_metric = run_lib.check_test_metric
save_data_spec = run_lib.save_data_spec
git_commit = run_lib.git_commit
parse_mesh = run_lib.parse_mesh
command_line = run_lib.command_line


def _fatal(code: int, message: str) -> NoReturn:
  cli.fatal(message, code)


def main(argv: list[str]) -> None:
  # pylint: disable=g-import-not-at-top
  from skipjax import results as results_lib
  from skipjax.train import checkpoint as checkpoint_lib
  from skipjax.train import interrupt
  from skipjax.train import loop
  from skipjax.train import multihost
  from skipjax.train import workdir as workdir_lib
  # pylint: enable=g-import-not-at-top
  if not flags.FLAGS["verbosity"].present:
    absl_logging.set_verbosity(absl_logging.WARNING)  # orbax logs every save at INFO
  bad = exit_codes.BAD_CONFIG
  if len(argv) > 1:
    _fatal(bad, f"unexpected arguments {argv[1:]}: flags are --name=value (--help lists them)")
  if _CONFIG.value is None:
    _fatal(bad, "--config is required (e.g. --config experiments/configs/lstm_adding.py)")
  if not _WORKDIR.value:
    _fatal(bad, "--workdir is required (e.g. --workdir experiments/workdirs/lstm_adding)")
  if _RESULTS_DIR.value is not None:
    _fatal(bad, "--results_dir is gone: the record is written to WORKDIR/result.json; "
           "--publish DIR copies it to DIR/<run_name>.json")
  if _REPLACE_PUBLISHED.value and not _PUBLISH.value:
    _fatal(bad, "--replace_published needs --publish DIR")
  if _STOP_AFTER.value is not None and not _STOP_AFTER.value >= 0:
    _fatal(bad, f"--stop_after={_STOP_AFTER.value}: must be >= 0 seconds")
  distributed = _distributed_args()
  if distributed is not None:
    from skipjax.train import parallel  # pylint: disable=g-import-not-at-top
    parallel.initialize_distributed(**distributed)
  kwargs = dict(command=command_line(sys.argv), run_name=_RUN_NAME.value,
                publish_dir=_PUBLISH.value, replace_published=_REPLACE_PUBLISHED.value,
                restart=_RESTART.value, plot=_PLOT.value, mesh=_MESH.value)
  try:
    # A first Ctrl-C also stops cleanly (a second one interrupts at once).
    with interrupt.StopRequest(seconds=_STOP_AFTER.value,
                               signals=(signal.SIGTERM, signal.SIGINT)) as stop:
      if _SWEEP.value:
        sweep.train_and_evaluate_sweep(_CONFIG.value, _WORKDIR.value, _SWEEP.value,
                                       settings_per_call=_SWEEP_SETTINGS_PER_CALL.value,
                                       should_stop=stop, **kwargs)
      else:
        train_and_evaluate(_CONFIG.value, _WORKDIR.value, should_stop=stop, **kwargs)
  except interrupt.Interrupted as e:
    _fatal(exit_codes.INTERRUPTED, str(e))
  except ConfigError as e:
    _fatal(bad, str(e))
  except (workdir_lib.ConfigMismatchError, checkpoint_lib.CheckpointMismatchError) as e:
    _fatal(exit_codes.CONFIG_MISMATCH, f"config mismatch: {e}")
  except workdir_lib.WorkdirLockedError as e:
    _fatal(exit_codes.WORKDIR_LOCKED, f"workdir locked: {e}")
  except loop.NonFiniteError as e:
    _fatal(exit_codes.NON_FINITE, f"{e}; stopped, no result written")
  except results_lib.PublishConflictError as e:
    _fatal(exit_codes.PUBLISH_CONFLICT, f"publish refused: {e}")
  except multihost.PrimaryFailedError as e:
    _fatal(exit_codes.OTHER_PROCESS_FAILED, str(e))


def _distributed_args() -> dict[str, Any] | None:
  """jax.distributed's arguments from --coordinator_address/--num_processes/--process_id (None
  when none is given: one process); a bad combination is one FATAL line."""
  given = {"coordinator_address": _COORDINATOR.value, "num_processes": _NUM_PROCESSES.value,
           "process_id": _PROCESS_ID.value}
  if all(v is None for v in given.values()):
    return None
  count, index = given["num_processes"], given["process_id"]
  if count is not None and count < 1:
    _fatal(exit_codes.BAD_CONFIG, f"--num_processes={count}: must be >= 1")
  if index is not None and (index < 0 or (count is not None and index >= count)):
    _fatal(exit_codes.BAD_CONFIG, f"--process_id={index}: must be in 0 .. "
           f"{'num_processes - 1' if count is None else count - 1}")
  if given["coordinator_address"] is not None and (count is None or index is None):
    _fatal(exit_codes.BAD_CONFIG, "--coordinator_address needs --num_processes and --process_id")
  return given


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


def _shown(path: pathlib.Path) -> str:
  """`path` relative to the current directory where it lies under it, else absolute."""
  try:
    return str(path.resolve().relative_to(pathlib.Path.cwd().resolve()))
  except ValueError:
    return str(path.resolve())


def config_path_error(value: str) -> str | None:
  """The message for a `--config` value that names no file (None if the file exists), with the
  closest config's path: configs are looked up beside the given path, else in CONFIGS_DIR."""
  file = pathlib.Path(value.split(":", 1)[0])  # config_flags: 'file.py:argument'
  if file.is_file():
    return None
  folder = file.parent
  if not folder.is_dir() or not any(folder.glob("*.py")):
    folder = CONFIGS_DIR
  names = sorted(p.stem for p in folder.glob("*.py") if not p.name.startswith("_"))
  close = cli.closest(file.stem, names)
  variant = re.fullmatch(r"(\w+)_lam(0|[\d.]+e\d+)", file.stem)  # a per-lambda file of old
  renamed = configs.renamed_hint(file.stem)
  if renamed is not None:
    hint = renamed
  elif variant is not None and variant.group(1) in names:
    budget = variant.group(2).replace("e", "e-")
    hint = (f"the lambda is now the config's argument: "
            f"--config {_shown(folder / (variant.group(1) + '.py'))}:{budget}")
  elif close is not None:
    hint = f"did you mean {_shown(folder / (close + '.py'))}?"
  else:
    hint = f"the configs are {_shown(folder)}/*.py ({len(names)} of them)"
  where = "" if file.is_absolute() else f" (relative to the current directory {os.getcwd()})"
  return f"--config {value}: no such file{where}; {hint}"


_HELP_FLAGS = ("help", "helpshort", "helpfull", "helpxml", "?", "h")


def _flag_name(arg: str) -> str | None:
  return arg.lstrip("-").split("=", 1)[0] if arg.startswith("-") and arg != "--" else None


def _config_value(argv: list[str]) -> str | None:
  for i, arg in enumerate(argv[1:], start=1):
    if arg == "--":
      break
    if _flag_name(arg) == "config":
      if "=" in arg:
        return arg.split("=", 1)[1]
      return argv[i + 1] if i + 1 < len(argv) else None
  return None


def _config_load_message(value: str | None, error: BaseException) -> str:
  """One line for a config file that failed to load: the error and where in the file."""
  text = str(error)
  located = re.findall(r'File "([^"]+)", line (\d+)', text)
  lines = [line.strip() for line in text.splitlines() if line.strip()]
  if len(lines) > 2:  # config_flags puts the traceback into the message: first and last lines
    text = f"{lines[0]} {lines[-1]}"
  if isinstance(error, SyntaxError) and error.filename:
    located = [(error.filename, str(error.lineno))]
  elif not located and error.__traceback__ is not None:
    located = [(f.filename, str(f.lineno)) for f in traceback.extract_tb(error.__traceback__)]
  if value is not None:  # the innermost frame in the config file itself
    file = pathlib.Path(value.split(":", 1)[0]).resolve()
    located = [loc for loc in located if pathlib.Path(loc[0]).resolve() == file]
  where = f" (at {located[-1][0]}:{located[-1][1]})" if located else ""
  if isinstance(error, flags.Error):  # 'flag --config=...: ...' names the flag already
    return f"{text}{where}"
  return f"--config {value}: {type(error).__name__}: {text}{where}"


def _parse_flags(argv: list[str]) -> list[str]:
  """absl's flag parsing, every error of which is one FATAL line (exit 2); --help exits 0."""
  argv = ["--help" if a == "-h" else a for a in argv]
  asked_help = any(_flag_name(a) in _HELP_FLAGS for a in argv[1:])
  value = _config_value(argv)
  if value is not None and not asked_help:
    message = config_path_error(value)
    if message is not None:
      _fatal(exit_codes.BAD_CONFIG, message)
  try:
    return flags.FLAGS(argv)
  except SystemExit as e:
    if asked_help and e.code == 1:  # absl's --help prints the help, then exits with 1
      sys.exit(0)
    raise
  except flags.Error as e:
    if "config" in str(e).splitlines()[0] and "Traceback" in str(e):
      _fatal(exit_codes.BAD_CONFIG, _config_load_message(value, e))
    _fatal(exit_codes.BAD_CONFIG, f"{cli.one_line(e)} (--help lists the flags)")
  except (AttributeError, KeyError) as e:
    message = _unknown_override_message(argv, e)
    _fatal(exit_codes.BAD_CONFIG, message or _config_load_message(value, e))
  except Exception as e:  # pylint: disable=broad-except
    # Parsing runs the config file: a SyntaxError or NameError there is a bad config.
    _fatal(exit_codes.BAD_CONFIG, _config_load_message(value, e))


def run_cli(argv: list[str]) -> None:
  """app.run(main) with every command-line and config error as one FATAL line (exit 2)."""
  app.run(main, argv=argv, flags_parser=_parse_flags)


if __name__ == "__main__":
  run_cli(sys.argv)
