"""Prepares datasets through tfds and prints their split sizes and label counts.

    python -m skipjax.data [NAME ...] [--data_dir DIR] [--cache_dir DIR] \
        [--source auto|local|catalog]

With no NAME, every dataset whose raw files are in the data dir ($SKIPJAX_DATA_DIR or
<repo>/../shared/data). Useful to prepare the cache once (e.g. before a CI test run).

    python -m skipjax.data vectors [--data_dir DIR] [--cache_dir DIR] [--dim 100] ...

trains (or reads from its cache) the IMDB word2vec (train + unsup reviews) of
`config.net.pretrained_embedding="word2vec_imdb"`, printing time, vocabulary size and coverage
(`skipjax.data.vectors.main`; `--help` lists the word2vec settings).

    python -m skipjax.data export NAME [NAME ...] --out DIR [--data_dir DIR] [--cache_dir DIR]

writes every split of each dataset as NumPy files under DIR/arrays/ (`skipjax.data.arrays`), for
a machine without TensorFlow: there, give DIR as the cache dir ($SKIPJAX_TFDS_DIR) and the
datasets load from it (source 'arrays', or 'auto' without the raw files).

A bad command line or a missing / damaged raw file exits with status 2 and one `FATAL` line.
"""

from __future__ import annotations

import sys
import time

from skipjax import cli
from skipjax.data import datasets
from skipjax.data import files
from skipjax.data import tfds_source

_SPLITS = {"imdb": ("train", "test"), "ag_news": ("test",), "mnist": ("train", "test"),
           "pmnist": ("train", "test")}


def main(argv: list[str] | None = None) -> int:
  argv = sys.argv[1:] if argv is None else list(argv)
  if argv[:1] == ["vectors"]:
    from skipjax.data import vectors  # pylint: disable=g-import-not-at-top
    return vectors.main(argv[1:])
  if argv[:1] == ["export"]:
    return _export_main(argv[1:])
  parser = cli.ArgumentParser(prog="python -m skipjax.data",
                              description=__doc__.split("\n")[0],
                              epilog="python -m skipjax.data vectors --help: the IMDB "
                              "word2vec vectors")
  parser.add_argument("names", nargs="*", metavar="NAME",
                      help=f"datasets to prepare, of {', '.join(datasets.NAMES)} (default: all "
                      "whose raw files are present)")
  parser.add_argument("--data_dir", default=None, help=f"raw files (default ${files.ENV_DATA_DIR} "
                      "or <repo>/../shared/data)")
  parser.add_argument("--cache_dir", default=None, help="tfds prepared data (default "
                      f"${datasets.ENV_TFDS_DIR}, $TFDS_DATA_DIR or <repo>/.cache/tfds)")
  parser.add_argument("--source", default="auto", choices=list(tfds_source.SOURCES))
  args = parser.parse_args(argv)
  _check_names(parser, args.names)
  data_dir = files.resolve_data_dir(args.data_dir)
  if not data_dir.is_dir():
    cli.fatal(f"python -m skipjax.data: no data directory {data_dir} (give --data_dir or set "
              f"${files.ENV_DATA_DIR})")
  present = tfds_source.raw_present
  names = args.names or [n for n in datasets.NAMES if present(n, data_dir)]
  if not names:
    cli.fatal(f"python -m skipjax.data: no dataset's raw files are in {data_dir} (give "
              f"--data_dir or set ${files.ENV_DATA_DIR})")
  try:
    _prepare(names, data_dir, args.cache_dir, args.source)
  except (files.DataFileError, ValueError) as e:  # a missing or damaged raw file
    cli.fatal(f"python -m skipjax.data: {e}")
  return 0


def _check_names(parser, names: list[str]) -> None:
  unknown = sorted(set(names) - set(datasets.NAMES))
  if unknown:
    close = cli.closest(unknown[0], datasets.NAMES)
    hint = f"did you mean {close}? " if close else ""
    parser.error(f"unknown dataset(s) {unknown}; {hint}known: {', '.join(datasets.NAMES)}")


def _export_main(argv: list[str]) -> int:
  parser = cli.ArgumentParser(prog="python -m skipjax.data export",
                              description="Write datasets' splits as NumPy files (readable "
                              "without TensorFlow) under OUT/arrays/.")
  parser.add_argument("names", nargs="+", metavar="NAME", help="datasets to export")
  parser.add_argument("--out", required=True, help="the cache dir to write (give it as the "
                      f"cache dir, ${datasets.ENV_TFDS_DIR}, where the arrays are read)")
  parser.add_argument("--data_dir", default=None, help="raw files (as for preparing)")
  parser.add_argument("--cache_dir", default=None, help="tfds prepared data (as for preparing)")
  parser.add_argument("--source", default="auto", choices=["auto", "local", "catalog"])
  args = parser.parse_args(argv)
  _check_names(parser, args.names)
  for name in args.names:
    start = time.perf_counter()
    try:
      folder = tfds_source.export_arrays(name, args.out, data_dir=args.data_dir,
                                         cache_dir=args.cache_dir, source=args.source)
    except (files.DataFileError, ValueError) as e:
      cli.fatal(f"python -m skipjax.data export: {e}")
    size = sum(p.stat().st_size for p in folder.iterdir())
    print(f"{name:16s} -> {folder} ({size / 2**20:.1f} MiB, "
          f"{time.perf_counter() - start:.1f}s)", flush=True)
  return 0


def _prepare(names: list[str], data_dir, cache_dir: str | None, source: str) -> None:
  for name in names:
    for split in _SPLITS.get(name, ("train", "validation", "test")):
      start = time.perf_counter()
      arrays, info = datasets.load(name, split, data_dir=data_dir, cache_dir=cache_dir,
                                   source=source, max_len=400 if name == "imdb" else None)
      shapes = {k: v.shape for k, v in arrays.items()}
      counts = None if info.label_counts is None else info.label_counts.tolist()
      print(f"{name:16s} {split:10s} n={info.num_examples:<7d} vocab={info.vocab_size} "
            f"labels={counts} {shapes} [{info.source}, {time.perf_counter() - start:.1f}s]",
            flush=True)


if __name__ == "__main__":
  sys.exit(main())
