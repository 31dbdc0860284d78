"""Regenerates experiments/RESULTS.md from the result records in experiments/results/*.json.

    python -m experiments.make_results [--results_dir experiments/results]
                                       [--out experiments/RESULTS.md] [--check]
                                       [--notes experiments/results_notes.md]

The tables come from the records; the notes file (hand-written: how each number falls short of
the paper and why, plots, the commands of derived figures) is appended after them.

--check exits with status 1 (writing nothing) if RESULTS.md is not up to date with the records.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from skipjax import results as results_lib

HERE = pathlib.Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m experiments.make_results",
                                   description=__doc__.split("\n")[0])
  parser.add_argument("--results_dir", default=str(HERE / "results"))
  parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
  parser.add_argument("--notes", default=str(HERE / "results_notes.md"),
                      help="markdown appended after the tables, if the file exists")
  parser.add_argument("--check", action="store_true",
                      help="fail if --out differs from what the records give")
  args = parser.parse_args(argv)
  text = results_lib.render_markdown(results_lib.load_results(args.results_dir))
  notes = pathlib.Path(args.notes)
  if notes.is_file():  # hand-written analysis: shortfalls against the papers, plots, commands
    text = text.rstrip("\n") + "\n\n" + notes.read_text().strip() + "\n"
  out = pathlib.Path(args.out)
  if args.check:
    if not out.exists() or out.read_text() != text:
      print(f"{out} is out of date: run python -m experiments.make_results", file=sys.stderr)
      return 1
    return 0
  out.write_text(text)
  print(out)
  return 0


if __name__ == "__main__":
  sys.exit(main())
