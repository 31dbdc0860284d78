"""How the command lines of skipjax and experiments fail: one `FATAL ...` line, exit status 2.

A bad command line (unknown option, bad value, missing file) prints one line on stderr starting
with `FATAL`, names what is wrong and, where it can, suggests the fix; it prints no usage text and
no traceback, and exits with BAD_USAGE (`experiments.exit_codes.BAD_CONFIG`). `--help` prints
the help on stdout and exits 0. A traceback (exit 1) means a bug.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from typing import Iterable, NoReturn

BAD_USAGE = 2


def one_line(message: str) -> str:
  """`message` on one line: its lines joined with ' / ' (blank ones dropped)."""
  return " / ".join(line.strip() for line in str(message).splitlines() if line.strip())


def fatal(message: str, code: int = BAD_USAGE) -> NoReturn:
  """Prints `FATAL <message>` (on one line) to stderr and exits with `code`."""
  print(f"FATAL {one_line(message)}", file=sys.stderr, flush=True)
  sys.exit(code)


def closest(word: str, choices: Iterable[str], cutoff: float = 0.5) -> str | None:
  """The closest of `choices` to `word` (difflib's ratio), or None if none is that close."""
  close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
  return close[0] if close else None


class ArgumentParser(argparse.ArgumentParser):
  """argparse with `error()` as a FATAL line (exit 2) instead of the usage text."""

  def error(self, message: str) -> NoReturn:
    fatal(f"{self.prog}: {message} (--help lists the options)")
