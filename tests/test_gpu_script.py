"""experiments/gpu/run_long_rows.sh, run on the CPU (`--platform cpu`) with a tiny queue: the
path a GPU machine takes, apart from the device."""

import json
import os
import pathlib
import subprocess
import sys

from test_reproduce import _TINY  # pylint: disable=g-bad-import-order

REPO = pathlib.Path(__file__).resolve().parent.parent
SCRIPT = REPO / "experiments" / "gpu" / "run_long_rows.sh"


def _queue(tmp_path):
  path = tmp_path / "queue_tiny.py"
  path.write_text("from experiments.queue import Row\nROWS = (\n"
                  f'    Row("t/adding/a", "experiments/configs/lstm_adding.py", ({_TINY}, '
                  '"--config.experiment=a"), sec_per_step=0.01),\n)\n')
  return path


def _run(tmp_path, *args):
  env = dict(os.environ, XLA_FLAGS="--xla_cpu_multi_thread_eigen=false "
             "intra_op_parallelism_threads=1")
  return subprocess.run(["bash", str(SCRIPT), "--platform", "cpu", "--python", sys.executable,
                         "--queue", str(_queue(tmp_path)), "--root", str(tmp_path / "root"),
                         "--results_dir", str(tmp_path / "results"), *args],
                        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_the_script_runs_the_queue_and_reports_each_row(tmp_path):
  proc = _run(tmp_path, "--budget", "500")
  assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
  assert "run_long_rows: python 3." in proc.stdout and ", cpu cpu" in proc.stdout
  record = json.loads((tmp_path / "results" / "a_cpu.json").read_text())
  assert record["train_steps"] == 40 and "on cpu" in record["hardware"]
  assert record["reproduce_row"] == "t/adding/a"
  assert (tmp_path / "root" / "cpu" / "t" / "adding" / "a" / "result.json").is_file()
  assert "  a_cpu: mse " in proc.stdout and "after 40 steps" in proc.stdout
  assert "reproduce exited 0" in proc.stdout


def test_a_spent_budget_starts_nothing_and_exits_8(tmp_path):
  proc = _run(tmp_path, "--budget", "0")
  assert proc.returncode == 8, proc.stdout[-3000:] + proc.stderr[-3000:]
  assert "t/adding/a and the rows after it not started" in proc.stdout
  assert not (tmp_path / "root" / "cpu" / "t").exists()


def test_bad_arguments_are_one_fatal_line(tmp_path):
  for args, want in ((["--bogus"], "unknown argument --bogus"),
                     (["--budget", "ten"], "--budget ten: give whole seconds"),
                     (["--platform", "tpu"], "--platform tpu: gpu or cpu")):
    proc = _run(tmp_path, *args)
    assert proc.returncode == 2 and want in proc.stderr, proc.stderr


def test_the_gpu_queue_is_well_formed_and_reads_data_without_tensorflow_when_it_must():
  from experiments import queue as queue_lib  # pylint: disable=g-import-not-at-top
  from experiments import reproduce  # pylint: disable=g-import-not-at-top
  rows = reproduce.load_queue(str(REPO / "experiments" / "gpu" / "queue.py"))
  queue_lib.check_rows(rows)
  steps = {}
  for row in rows:
    config = row.load_config()
    steps[row.name] = int(config.num_steps)
    if config.dataset in ("ptb", "mnist"):
      assert config.data.source == "auto", row.id
  # The papers' lengths: Zaremba's 39 PTB epochs, the Skip RNN configs' 20,000 steps.
  assert steps["lstm_ptb_39ep"] == steps["dynamic_skip_ptb_39ep"] == 39 * 1328
  assert steps["skip_lstm_mnist_lam1e4"] == 20000
