"""The top-level package: public API present, and importing it never imports TensorFlow."""

import subprocess
import sys


def test_import_skipjax_does_not_import_tensorflow():
  code = ("import sys, skipjax, skipjax.train.loop, skipjax.data, skipjax.bench.harness;"
          "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
          "('tensorflow', 'tensorflow_datasets'));"
          "print(bad); sys.exit(1 if bad else 0)")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stdout + proc.stderr


def test_public_api():
  import skipjax
  for name in ("cells", "recurrence", "nn", "estimators", "classifier", "skip_rnn", "skim_rnn",
               "lstm_jump", "dynamic_skip", "conlleval", "lstm_init", "lstm_step", "gru_step",
               "lstm_layer", "gru_layer", "scan_rnn", "masked_update", "lstm_params_from_torch",
               "gru_params_from_torch"):
    assert hasattr(skipjax, name), name


def test_pyproject_license_is_an_spdx_string():
  """A TOML-table license makes setuptools (>= 77) warn 'project.license as a TOML table is
  deprecated' on every install (issue 16); the SPDX string needs setuptools >= 77 to build."""
  import pathlib  # pylint: disable=g-import-not-at-top
  import tomllib  # pylint: disable=g-import-not-at-top
  pyproject = tomllib.loads(
      (pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
  assert pyproject["project"]["license"] == "Apache-2.0"
  assert "setuptools>=77" in pyproject["build-system"]["requires"]


def test_tensorboard_viewer_is_pinned():
  import pathlib  # pylint: disable=g-import-not-at-top
  lines = (pathlib.Path(__file__).resolve().parents[1] / "requirements.txt").read_text()
  assert "tensorboard==2.21.0" in lines.splitlines()  # `tensorboard --logdir ...` (README)
