"""tensorflow_datasets, imported quietly: one place that both `datasets` (which reads prepared
data) and `builders` (the tfds builders, which import tfds at import time) use, so neither
imports the other for it.

TensorFlow starts without its oneDNN banner and INFO lines; tfds's progress bars are off when
stderr is not a terminal (in a log file they are lines of carriage returns).
"""

from __future__ import annotations

import os
import sys
from typing import Any

# Read by TensorFlow when tfds first imports it: no oneDNN banner (printed twice per process
# otherwise) and no INFO lines from its C++ logging. TensorFlow only reads and writes tfrecords
# here, so oneDNN's different float round-off never matters. A value set by the user wins.
TF_QUIET_ENV = {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_CPP_MIN_LOG_LEVEL": "1"}
_tfds_configured = False


def import_tfds() -> Any:
  """tensorflow_datasets, imported with TF_QUIET_ENV and, when stderr is not a terminal, with its
  progress bars off."""
  global _tfds_configured
  for name, value in TF_QUIET_ENV.items():
    os.environ.setdefault(name, value)
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  if not _tfds_configured:
    _tfds_configured = True
    isatty = getattr(sys.stderr, "isatty", None)
    if not (isatty and isatty()):
      tfds.disable_progress_bar()
  return tfds
