"""The reproduce queue: skips finished rows, resumes after kill -9, reports a failing row and
goes on. Rows are tiny adding-task runs (real `experiments.run` children)."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from experiments import queue as queue_lib
from experiments import reproduce

REPO = pathlib.Path(__file__).resolve().parent.parent

_TINY = ('"--config.num_steps=40", "--config.eval_every=20", "--config.checkpoint_every=5", '
         '"--config.log_every=5", "--config.net.hidden_dim=8", "--config.data.batch_size=16", '
         '"--config.data.eval_batch_size=64", "--config.data.dev_examples=64", '
         '"--config.data.test_examples=64", "--config.tensorboard=False"')


def _write_queue(tmp_path, *, bad_second=False):
  second = ('"--config.net.no_such_field=3"' if bad_second
            else '"--config.seed=1"')
  row_a = (f'Row("t/adding/a", "experiments/configs/lstm_adding.py", ({_TINY}, '
           '"--config.experiment=a"), sec_per_step=0.01)')
  row_b = (f'Row("t/adding/b", "experiments/configs/lstm_adding.py", ({_TINY}, '
           f'"--config.experiment=b", {second}), sec_per_step=0.01)')
  rows = (row_b, row_a) if bad_second else (row_a, row_b)  # the failing row first
  text = "from experiments.queue import Row\nROWS = (\n" + "".join(
      f"    {r},\n" for r in rows) + ")\n"
  path = tmp_path / "queue_def.py"
  path.write_text(text)
  return path


def _cmd(queue, tmp_path, *extra):
  return [sys.executable, "-m", "experiments.reproduce", "--queue", str(queue), "--root",
          str(tmp_path / "root"), "--results_dir", str(tmp_path / "results"),
          "--status_every", "1", *extra]


def _env():
  env = dict(os.environ)
  env.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                 "intra_op_parallelism_threads=1")
  return env


def _run(cmd, **kwargs):
  return subprocess.run(cmd, cwd=REPO, env=_env(), capture_output=True, text=True, timeout=600,
                        **kwargs)


def _record(tmp_path, name):
  return json.loads((tmp_path / "results" / f"{name}.json").read_text())


def test_the_real_queue_is_well_formed():
  queue_lib.check_rows()
  for row in queue_lib.ROWS:
    assert row.num_steps() > 0, row.id
  tables = {"/".join(r.id.split("/")[:2]) for r in queue_lib.ROWS}
  assert {"skip_rnn/table1", "skim_rnn/table2", "dynamic_skip/number_prediction"} <= tables


def test_row_overrides_reach_the_config():
  row = queue_lib.Row("x/y/z", "experiments/configs/lstm_adding.py",
                      ("--config.num_steps=17", "--config.optimizer.learning_rate=0.5"))
  config = row.load_config()
  assert config.num_steps == 17 and config.optimizer.learning_rate == 0.5
  assert row.name == "z"
  with pytest.raises(ValueError, match="must be"):
    queue_lib.Row("bad-id", "experiments/configs/lstm_adding.py")


def test_only_names_an_unknown_table(tmp_path):
  queue = _write_queue(tmp_path)
  out = _run(_cmd(queue, tmp_path, "--only", "t/nope", "--list"))
  assert out.returncode != 0 and "matches no row" in out.stderr


def test_cpus_is_a_list_within_the_process_cpus(tmp_path):
  """--cpus is a taskset CPU list: parsed, and refused (before anything runs) when it names a CPU
  this process may not use (`taskset -c 0 ... --cpus 1` would put the rows on CPU 1)."""
  assert reproduce.parse_cpu_list("1") == {1}
  assert reproduce.parse_cpu_list("0-2,5") == {0, 1, 2, 5}
  for bad in ("two", "2-1", "1-", ""):
    with pytest.raises(ValueError, match="not a CPU or a range"):
      reproduce.parse_cpu_list(bad)
  reproduce.check_cpus("0", {0, 1})
  with pytest.raises(ValueError, match=r"CPU\(s\) \[1\] outside this process's CPUs \[0\]"):
    reproduce.check_cpus("1", {0})
  queue = _write_queue(tmp_path)
  outside = max(os.sched_getaffinity(0)) + 1
  out = _run(_cmd(queue, tmp_path, "--cpus", str(outside), "--dry_run"))
  assert out.returncode != 0 and "not a count" in out.stderr
  assert not (tmp_path / "root").exists()


def test_dry_run_runs_nothing_and_prints_the_plan(tmp_path):
  queue = _write_queue(tmp_path)
  out = _run(_cmd(queue, tmp_path, "--dry_run"))
  assert out.returncode == 0, out.stderr
  assert "2 left" in out.stdout and "experiments.run" in out.stdout
  assert not (tmp_path / "root").exists()


def test_failing_row_is_reported_and_the_rest_go_on_then_finished_rows_are_skipped(tmp_path):
  queue = _write_queue(tmp_path, bad_second=True)
  out = _run(_cmd(queue, tmp_path))  # b fails first, a still runs
  assert out.returncode == 1, out.stdout + out.stderr
  assert "t/adding/b FAILED" in out.stdout
  assert (tmp_path / "root/t/adding/b/FAILED").exists()
  record = _record(tmp_path, "a")
  assert record["train_steps"] == 40 and record["git_commit"]
  assert record["reproduce_row"] == "t/adding/a"
  # Beside the records: row a once in the comparison table and once in the commands table.
  results_md = (tmp_path / "RESULTS.md").read_text().splitlines()
  rows_a = [line for line in results_md if line.startswith("| a |")]
  assert len(rows_a) == 2, rows_a
  assert "| mse |" in rows_a[0], rows_a[0]
  assert "experiments.run" in rows_a[1], rows_a[1]
  # Again: a is finished (skipped, no new log section), b failed (not retried by default).
  log_a = (tmp_path / "root/t/adding/a/train.log").read_text()
  out = _run(_cmd(queue, tmp_path))
  assert (tmp_path / "root/t/adding/a/train.log").read_text() == log_a
  assert "1 done" in out.stdout and "1 failed" in out.stdout


def test_kill_9_then_rerun_ends_equal_to_an_uninterrupted_queue(tmp_path):
  queue = _write_queue(tmp_path)
  straight = tmp_path / "straight"
  straight.mkdir()
  out = _run(_cmd(queue, straight, "--only", "t/adding/a"))
  assert out.returncode == 0, out.stdout + out.stderr

  killed = tmp_path / "killed"
  killed.mkdir()
  proc = subprocess.Popen(_cmd(queue, killed, "--only", "t/adding/a"), cwd=REPO, env=_env(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  ckpt = killed / "root/t/adding/a/checkpoints"
  deadline = time.time() + 300
  while time.time() < deadline:  # kill once the child has saved a checkpoint or two
    if ckpt.is_dir() and len([p for p in ckpt.iterdir() if p.name.isdigit()]) >= 1:
      break
    time.sleep(0.2)
  os.kill(proc.pid, signal.SIGKILL)
  proc.wait()
  time.sleep(1.0)  # the child dies with its parent (PR_SET_PDEATHSIG)
  assert not (killed / "results/a.json").exists()
  out = _run(_cmd(queue, killed, "--only", "t/adding/a"))
  assert out.returncode == 0, out.stdout + out.stderr
  a, b = _record(straight, "a"), _record(killed, "a")
  assert a["value"] == b["value"] and a["metrics"] == b["metrics"]
  assert a["best_step"] == b["best_step"]


def _long_queue(tmp_path):
  """Row a trains (almost) forever; row b is tiny."""
  long = _TINY.replace('"--config.num_steps=40"', '"--config.num_steps=1000000"').replace(
      '"--config.checkpoint_every=5"', '"--config.checkpoint_every=0"').replace(
          '"--config.eval_every=20"', '"--config.eval_every=0"')
  path = tmp_path / "queue_long.py"
  path.write_text("from experiments.queue import Row\nROWS = (\n"
                  f'    Row("t/adding/a", "experiments/configs/lstm_adding.py", ({long}, '
                  '"--config.experiment=a"), sec_per_step=0.01),\n'
                  f'    Row("t/adding/b", "experiments/configs/lstm_adding.py", ({_TINY}, '
                  '"--config.experiment=b"), sec_per_step=0.01),\n)\n')
  return path


def _saved_steps(workdir):
  ckpt = workdir / "checkpoints"
  return sorted(int(p.name) for p in ckpt.iterdir() if p.name.isdigit()) if ckpt.is_dir() else []


def test_stop_after_stops_the_row_with_a_checkpoint_and_starts_no_other(tmp_path):
  out = _run(_cmd(_long_queue(tmp_path), tmp_path, "--stop_after", "20"))
  assert out.returncode == 8, out.stdout + out.stderr
  a = tmp_path / "root/t/adding/a"
  (line,) = [l for l in out.stdout.splitlines() if "stopped before its end" in l]
  step = int(line.split("stopped at step ")[1].split(" ")[0])
  assert "time limit of" in line and "the same command continues it" in line
  assert _saved_steps(a) == [step]  # checkpoint_every=0: the stop alone saved it
  assert "--stop_after=" in out.stdout  # the row was told its budget
  assert not (a / "FAILED").exists() and not (tmp_path / "root/t/adding/b").exists()
  listed = _run(_cmd(_long_queue(tmp_path), tmp_path, "--list"))
  assert "1 running" not in listed.stdout and "t/adding/a" in listed.stdout
  assert "0 failed" in listed.stdout
  # Spent before a row starts: nothing runs.
  out = _run(_cmd(_long_queue(tmp_path), tmp_path, "--stop_after", "0"))
  assert out.returncode == 8 and "t/adding/a and the rows after it not started" in out.stdout
  assert _saved_steps(a) == [step]


def test_sigterm_to_the_queue_stops_its_row_cleanly(tmp_path):
  proc = subprocess.Popen(_cmd(_long_queue(tmp_path), tmp_path), cwd=REPO, env=_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  metrics = tmp_path / "root/t/adding/a/metrics.jsonl"
  try:
    deadline = time.time() + 300
    while not (metrics.exists() and metrics.stat().st_size):
      assert proc.poll() is None and time.time() < deadline
      time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, _ = proc.communicate(timeout=300)
  finally:
    proc.kill()
  assert proc.returncode == 8, stdout
  assert "reproduce: stopped by SIGTERM" in stdout
  log = (tmp_path / "root/t/adding/a/train.log").read_text()
  assert "FATAL stopped at step" in log and "(SIGTERM)" in log
  assert len(_saved_steps(tmp_path / "root/t/adding/a")) == 1
  assert not (tmp_path / "root/t/adding/a/FAILED").exists()


def test_a_platform_jax_cannot_start_is_one_fatal_line(tmp_path):
  env = dict(_env())
  env.pop("JAX_PLATFORMS", None)
  import jax  # pylint: disable=g-import-not-at-top
  if any(d.platform == "gpu" for d in jax.devices()):
    pytest.skip("this machine has a GPU")
  out = subprocess.run(_cmd(_write_queue(tmp_path), tmp_path, "--platform", "gpu"), cwd=REPO,
                       env=env, capture_output=True, text=True, timeout=600)
  assert out.returncode == 2, out.stdout + out.stderr
  (line,) = [l for l in out.stderr.splitlines() if l.startswith("FATAL")]
  assert "--platform gpu: JAX cannot use it here (JAX_PLATFORMS=cuda)" in line
  assert not (tmp_path / "root").exists()


def test_a_platform_row_has_its_own_workdir_and_record(tmp_path):
  out = _run(_cmd(_write_queue(tmp_path), tmp_path, "--platform", "cpu", "--only", "t/adding/a"))
  assert out.returncode == 0, out.stdout + out.stderr
  assert "reproduce: --platform cpu: cpu cpu" in out.stdout
  assert _record(tmp_path, "a_cpu")["run_name"] == "a_cpu"
  assert (tmp_path / "root/cpu/t/adding/a/result.json").is_file()
  assert not (tmp_path / "results/a.json").exists()
  listed = _run(_cmd(_write_queue(tmp_path), tmp_path, "--platform", "cpu", "--list"))
  assert "1 done" in listed.stdout  # its own published record counts for it
  listed = _run(_cmd(_write_queue(tmp_path), tmp_path, "--list"))
  assert "0 done" in listed.stdout  # but not for the rows without --platform


_TINY_JUMP = ('"--config.num_steps=4", "--config.eval_every=2", "--config.log_every=2", '
              '"--config.data.batch_size=4", "--config.data.eval_batch_size=8", '
              '"--config.data.train_examples=16", "--config.data.dev_examples=8", '
              '"--config.data.test_examples=12", "--config.data.length=8", '
              '"--config.net.embed_dim=4", "--config.net.hidden_dim=8", '
              '"--config.net.max_jump=3", "--config.net.read_size=2", '
              '"--config.net.num_jumps=1", "--config.tensorboard=False"')


def test_a_jump_row_gets_its_measured_speedup_and_a_failed_measurement_is_reported(tmp_path):
  good = (f'Row("t/jump/good", "experiments/configs/lstm_jump_number_prediction.py", '
          f'({_TINY_JUMP}, "--config.experiment=good"), speedup=True, '
          'speedup_args=("--sequences", "4", "--rounds", "2"))')
  bad = (f'Row("t/jump/bad", "experiments/configs/lstm_jump_number_prediction.py", '
         f'({_TINY_JUMP}, "--config.experiment=bad"), speedup=True, '
         'speedup_args=("--rounds", "0"))')
  queue = tmp_path / "queue_def.py"
  queue.write_text(f"from experiments.queue import Row\nROWS = (\n    {good},\n    {bad},\n)\n")
  out = _run(_cmd(queue, tmp_path))
  assert out.returncode == 1, out.stdout + out.stderr
  record = _record(tmp_path, "good")
  assert record["speedup_batch1"] > 0
  detail = record["speedup_batch1_detail"]
  assert detail["setting"] == {"read_size": 2, "num_jumps": 1} and detail["rounds"] == 2
  assert "--own_only" in detail["tool"]
  # The bad row trained and was published; its measurement failed and says so.
  bad_record = _record(tmp_path, "bad")
  assert bad_record["train_steps"] == 4 and bad_record["speedup_batch1"] is None
  assert (tmp_path / "root/t/jump/bad/SPEEDUP_FAILED").exists()
  assert "speed-up measurement failed for t/jump/bad" in out.stdout
  assert not (tmp_path / "root/t/jump/good/speedup.png").exists()  # --noplot
  # Rerun: nothing is trained or measured again; --retry_failed measures the bad row again.
  out = _run(_cmd(queue, tmp_path))
  assert out.returncode == 0 and "batch-1 speed-up" not in out.stdout, out.stdout
  out = _run(_cmd(queue, tmp_path, "--retry_failed"))
  assert "row t/jump/bad: batch-1 speed-up" in out.stdout
  assert "row t/jump/good: batch-1 speed-up" not in out.stdout


def test_a_rows_speedup_is_a_bool():
  with pytest.raises(ValueError, match="speedup is True"):
    queue_lib.Row("x/y/z", "experiments/configs/lstm_adding.py", speedup="nope")


@pytest.mark.parametrize("args,want", [
    (["--only", "t/adding/aa", "--list"], "FATAL reproduce: --only 't/adding/aa' matches no row; "
     "did you mean t/adding/a?"),
    (["--max_rows", "x"], "FATAL python -m experiments.reproduce: argument --max_rows: invalid "
     "int value: 'x'"),
    (["--bogus"], "FATAL python -m experiments.reproduce: unrecognized arguments: --bogus"),
    (["--stop_after", "-5"], "FATAL reproduce: --stop_after=-5.0: must be >= 0 seconds"),
    (["--platform", "tpu"], "FATAL python -m experiments.reproduce: argument --platform: invalid "
     "choice: 'tpu'"),
])
def test_command_line_errors_are_one_fatal_line(tmp_path, args, want):
  queue = _write_queue(tmp_path)
  out = _run(_cmd(queue, tmp_path, *args))
  assert out.returncode == 2, out.stdout + out.stderr
  (line,) = out.stderr.splitlines()
  assert line.startswith(want), line
  out = _run(_cmd(tmp_path / "nope.py", tmp_path, "--list"))
  assert out.returncode == 2
  assert out.stderr == f"FATAL reproduce: --queue {tmp_path / 'nope.py'}: no such file\n"


def test_rows_log_plain_progress_lines():
  row = queue_lib.Row("x/y/z", "experiments/configs/lstm_adding.py")
  cmd = reproduce.row_command(row, REPO / "w", cpus=None)
  assert not [a for a in cmd if "progress" in a]  # the child's log gets plain progress lines


def test_a_sweep_row_publishes_a_record_per_setting_and_is_then_done(tmp_path):
  row = (f'Row("t/adding/study", "experiments/configs/skip_lstm_adding.py:1e-5", ({_TINY}, '
         '"--config.num_steps=10", "--config.eval_every=5"), '
         'sweep=("hparams.budget_lambda=0,0.3",), sec_per_step=0.01, '
         'paper_values=(("budget_lambda-0.3", 0.123),))')
  queue = tmp_path / "queue_def.py"
  queue.write_text(f"from experiments.queue import Row\nROWS = (\n    {row},\n)\n")
  out = _run(_cmd(queue, tmp_path))
  assert out.returncode == 0, out.stdout + out.stderr
  for lam in ("0", "0.3"):
    record = _record(tmp_path, f"study.budget_lambda-{lam}")
    assert record["reproduce_row"] == "t/adding/study" and record["train_steps"] == 10
    assert record["sweep"]["setting"] == {"hparams.budget_lambda": float(lam)}
    assert "--sweep=hparams.budget_lambda=0,0.3" in record["command"]
  # The setting named in paper_values gets its paper figure; the other keeps the config's.
  assert _record(tmp_path, "study.budget_lambda-0.3")["paper_value"] == 0.123
  assert _record(tmp_path, "study.budget_lambda-0")["paper_value"] != 0.123
  log = (tmp_path / "root/t/adding/study/train.log").read_text()
  out = _run(_cmd(queue, tmp_path, "--list"))
  assert "1 done" in out.stdout, out.stdout
  published = next(tmp_path.glob("**/study.budget_lambda-0.json"))
  published.unlink()
  out = _run(_cmd(queue, tmp_path))
  assert (tmp_path / "root/t/adding/study/train.log").read_text() == log  # skipped
  assert published.is_file(), out.stdout  # a done row's missing record is published again


def test_paper_values_name_settings_by_their_label_parts():
  row = queue_lib.Row("x/y/z", "experiments/configs/lstm_adding.py", sweep=("seed=0,1",),
                      paper_values=(("skim_gamma-0.01", 0.842), ("skim_gamma-0.02", 0.818)))
  assert row.paper_value("skim_gamma-0.01.seed-1") == 0.842
  assert row.paper_value("skim_gamma-0.02.seed-0") == 0.818
  assert row.paper_value("skim_gamma-0.015.seed-0") is None
  with pytest.raises(ValueError, match="paper_values names settings of a sweep"):
    queue_lib.Row("x/y/z", "experiments/configs/lstm_adding.py", paper_values=(("a", 1.0),))


def test_a_sweep_row_with_a_bad_sweep_is_refused():
  row = queue_lib.Row("x/y/z", "experiments/configs/lstm_adding.py",
                      sweep=("net.hidden_dim=4,8",))
  with pytest.raises(ValueError, match="row x/y/z: --sweep net.hidden_dim=4,8"):
    queue_lib.check_rows([row])


def _published(results_dir, row, **changes):
  """Writes a record of `row` into results_dir as the queue publishes it, its config changed by
  `changes` (dotted field -> value)."""
  config = row.load_config()
  for field, value in changes.items():
    *parents, leaf = field.split(".")
    node = config
    for p in parents:
      node = node[p]
    node[leaf] = value
  results_dir.mkdir(exist_ok=True)
  record = {"reproduce_row": row.id, "config": config.to_dict(), "git_commit": "0123456789ab",
            "train_steps": int(config.num_steps)}
  (results_dir / f"{row.name}.json").write_text(json.dumps(record))


def test_a_row_published_at_its_current_config_is_done_on_a_machine_without_its_workdir(tmp_path):
  row = queue_lib.Row("t/adding/a", "experiments/configs/lstm_adding.py",
                      ("--config.num_steps=40",), speedup=True)
  results = tmp_path / "results"
  assert reproduce.row_status(row, tmp_path / "root", results).state == "todo"  # no record
  _published(results, row)
  status = reproduce.row_status(row, tmp_path / "root", results)
  assert status.state == "done" and status.detail == "published at 01234567", status
  # Nothing to publish or time from a workdir that is not here.
  assert not reproduce.needs_publish(status, results)
  assert not reproduce.needs_speedup(status, results, retry_failed=True)
  # Without results_dir (--ignore_published) the workdir alone decides.
  assert reproduce.row_status(row, tmp_path / "root").state == "todo"
  # Display-only fields may differ.
  _published(results, row, progress=True, log_every=7)
  assert reproduce.row_status(row, tmp_path / "root", results).state == "done"


def test_a_published_record_of_another_config_or_row_does_not_count(tmp_path):
  row = queue_lib.Row("t/adding/a", "experiments/configs/lstm_adding.py",
                      ("--config.num_steps=40",))
  results = tmp_path / "results"
  _published(results, row, **{"optimizer.learning_rate": 0.5, "net.hidden_dim": 3})
  status = reproduce.row_status(row, tmp_path / "root", results)
  assert status.state == "todo"
  assert status.detail.startswith("published record is stale: ")
  assert "net.hidden_dim 3 -> " in status.detail and "optimizer.learning_rate 0.5 -> " in status.detail
  other = queue_lib.Row("t/other/a", "experiments/configs/lstm_adding.py",
                        ("--config.num_steps=40",))
  _published(results, other)  # same name, another row's record
  assert reproduce.row_status(row, tmp_path / "root", results).state == "todo"


def test_config_changes_treat_a_field_added_later_and_off_as_unchanged():
  old = {"net": {"hidden_dim": 8}, "data": {"bucket_boundaries": [16, 32]}}
  new = {"net": {"hidden_dim": 8, "pretrained_embedding": None, "freeze_embedding": False},
         "data": {"bucket_boundaries": (16, 32)}}
  assert reproduce.config_changes(old, new) == {}
  new["net"]["dropout_new"] = 0.3  # a field added later, and on: the run differs
  assert reproduce.config_changes(old, new) == {"net.dropout_new": ("<absent>", 0.3)}
  assert reproduce.config_changes({"seed": 1}, {"seed": 0}, ignore=["seed"]) == {}


def test_the_commit_is_dirty_for_code_changes_not_for_published_results(tmp_path):
  """The queue publishes records and RESULTS.md into its own checkout between rows: the next
  row's commit stays clean; a changed code file makes it dirty."""
  from experiments import run_lib  # pylint: disable=g-import-not-at-top
  repo = tmp_path / "repo"
  (repo / "experiments" / "results").mkdir(parents=True)
  for path in ("experiments/RESULTS.md", "experiments/results/a.json", "code.py"):
    (repo / path).write_text("0\n")
  git = lambda *args: subprocess.run(["git", "-C", str(repo), *args], check=True,
                                     capture_output=True, text=True).stdout.strip()
  git("init", "-q")
  git("-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
  git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x")
  head = git("rev-parse", "HEAD")
  assert run_lib.git_commit(repo) == head
  (repo / "experiments/RESULTS.md").write_text("1\n")
  (repo / "experiments/results/a.json").write_text("1\n")
  assert run_lib.git_commit(repo) == head
  (repo / "code.py").write_text("1\n")
  assert run_lib.git_commit(repo) == head + "-dirty"
