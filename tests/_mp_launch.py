"""Starting and bounding the multi-device test scripts (`tests/_mp_*.py`) in subprocesses."""

import os
import pathlib
import subprocess
import sys
import tempfile

import pytest

TESTS = pathlib.Path(__file__).resolve().parent


def start_script(script, *args, devices=8):
  """Starts `tests/<script> args` with `devices` fake CPU devices; returns the Popen.

  Output goes to a temporary file, not a pipe, so a chatty process never blocks while another is
  being waited on.
  """
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
             JAX_PLATFORMS="cpu",
             PYTHONPATH=os.pathsep.join(filter(None, [str(TESTS.parent),
                                                       os.environ.get("PYTHONPATH")])))
  log = tempfile.TemporaryFile(mode="w+")
  proc = subprocess.Popen([sys.executable, str(TESTS / script), *map(str, args)], env=env,
                          stdout=log, stderr=subprocess.STDOUT, text=True, cwd=TESTS.parent)
  proc.log = log
  return proc


def finish_script(proc, timeout):
  """Waits (bounded) for a started script; kills it on timeout; fails with its output."""
  try:
    proc.wait(timeout=timeout)
  except subprocess.TimeoutExpired:
    proc.kill()
    proc.wait()
  proc.log.seek(0)
  output = proc.log.read()
  proc.log.close()
  if proc.returncode == -9:
    pytest.fail(f"{proc.args[1]} was killed (timeout {timeout} s):\n{output[-3000:]}")
  assert proc.returncode == 0, output[-3000:]
