"""Regenerates experiments/RESULTS.md from the result records in experiments/results/*.json.

    python -m experiments.make_results [--results_dir experiments/results]
                                       [--out experiments/RESULTS.md] [--check]
                                       [--notes experiments/results_notes.md]

The tables come from the records; the notes file (hand-written: how each number falls short of
the paper and why, plots, the commands of derived figures) is appended after them.

--check exits with status 1 (writing nothing) if RESULTS.md is not up to date with the records.
A bad command line (a missing --results_dir, an unreadable record, --out in a missing directory)
exits with status 2 and one `FATAL` line.
"""

from __future__ import annotations

import pathlib
import sys

from skipjax import cli
from skipjax import results as results_lib

HERE = pathlib.Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
  parser = cli.ArgumentParser(prog="python -m experiments.make_results",
                              description=__doc__.split("\n")[0])
  parser.add_argument("--results_dir", default=str(HERE / "results"))
  parser.add_argument("--out", default=str(HERE / "RESULTS.md"))
  parser.add_argument("--notes", default=str(HERE / "results_notes.md"),
                      help="markdown appended after the tables, if the file exists")
  parser.add_argument("--check", action="store_true",
                      help="fail if --out differs from what the records give")
  args = parser.parse_args(argv)
  if not pathlib.Path(args.results_dir).is_dir():
    cli.fatal(f"make_results: --results_dir {args.results_dir}: no such directory")
  try:
    records = results_lib.load_results(args.results_dir)
  except (OSError, ValueError) as e:
    cli.fatal(f"make_results: a record in {args.results_dir} is unreadable: {e}")
  text = results_lib.render_markdown(records)
  notes = pathlib.Path(args.notes)
  if notes.is_file():  # hand-written analysis: shortfalls against the papers, plots, commands
    text = text.rstrip("\n") + "\n\n" + notes.read_text().strip() + "\n"
  out = pathlib.Path(args.out)
  if not out.parent.is_dir():
    cli.fatal(f"make_results: --out {out}: no such directory {out.parent}")
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
