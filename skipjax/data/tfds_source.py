"""The raw examples of a dataset split, through tfds: `load_examples(name, split)`.

The first half of `skipjax.data.datasets.load` (which tokenises what this module returns). Where
the data comes from (`source`):
- 'local': from the raw files under the data dir (`data_dir`, $SKIPJAX_DATA_DIR, or
  <repo>/../shared/data), each checked against the digest in its SOURCE.md. MNIST uses tfds's own
  `mnist` builder with `manual_dir` (tfds verifies its registered checksums); the others use
  skipjax's builders (`skipjax.data.builders`). The prepared dataset records the digests of the
  raw files it came from (`files.PREPARED_RECORD`), and every process that loads it again hashes
  the raw files and compares: a raw file changed since raises DataFileError naming it.
- 'catalog': tfds's standard dataset (downloads; needs internet).
- 'arrays': splits exported as .npz under the cache dir (`skipjax.data.arrays`: `python -m
  skipjax.data export`), read with NumPy alone: no tfds or TensorFlow on this machine.
- 'auto' (default): 'local' when the dataset's raw files are in the data dir, else 'arrays'
  when the cache dir holds them, else 'catalog' where tfds has the dataset, else the
  missing-file error.

tensorflow_datasets is imported only inside functions (`tfds_import.import_tfds`). Each split is
read once per process (memoised; `clear_memo` forgets).
"""

from __future__ import annotations

import os
import pathlib
import sys
import threading
from typing import Any

import numpy as np

from skipjax.data import arrays
from skipjax.data import files
from skipjax.data import tfds_import

ENV_TFDS_DIR = "SKIPJAX_TFDS_DIR"

CLASSIFICATION = ("imdb", "rotten_tomatoes", "sst2_glue", "sst2_trees", "sst5", "ag_news")
NAMES = CLASSIFICATION + ("mnist", "pmnist", "ptb", "conll2003")

# Which skipjax builder / raw-file group serves each name, and tfds's standard dataset for it.
BUILDER_KEY = {"imdb": "imdb", "rotten_tomatoes": "rotten_tomatoes", "sst2_glue": "sst_glue",
               "sst2_trees": "sst_trees", "sst5": "sst_trees", "ag_news": "ag_news",
               "ptb": "ptb", "conll2003": "conll2003", "mnist": "mnist", "pmnist": "mnist"}
CATALOG = {"imdb": "imdb_reviews", "sst2_glue": "glue/sst2", "ag_news": "ag_news_subset",
           "conll2003": "conll2003", "mnist": "mnist", "pmnist": "mnist"}
SPLIT_ALIASES = {"dev": "validation", "valid": "validation"}


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> pathlib.Path:
  """Where tfds keeps prepared data: cache_dir, $SKIPJAX_TFDS_DIR, $TFDS_DATA_DIR, or
  `files.cache_root()`/tfds (<repo>/.cache/tfds in a checkout, beside the word vectors)."""
  if cache_dir is None:
    cache_dir = (os.environ.get(ENV_TFDS_DIR) or os.environ.get("TFDS_DATA_DIR")
                 or files.cache_root() / "tfds")
  return pathlib.Path(cache_dir).expanduser().resolve()


_lock = threading.Lock()
_split_memo: dict[tuple, dict[str, Any]] = {}


def normalise_split(split: str) -> str:
  """'dev' / 'valid' -> 'validation' (a tfds slice such as 'dev[:100]' keeps its slice)."""
  if not isinstance(split, str) or not split:
    raise ValueError(f"split must be a non-empty string, got {split!r}")
  base = split.split("[")[0]
  return SPLIT_ALIASES.get(base, base) + split[len(base):]


def raw_present(name: str, data_dir: pathlib.Path) -> bool:
  """Whether the data dir holds every raw file of `name` (AG News: its test file suffices)."""
  groups = files.RAW_FILES[BUILDER_KEY[name]]
  roles = [r for r in groups if not (name == "ag_news" and r == "train")]
  return all(files.has_file(BUILDER_KEY[name], r, data_dir) for r in roles)


SOURCES = ("auto", "local", "catalog", "arrays")


def choose_source(name: str, source: str, data_dir: pathlib.Path,
                  cache_dir: pathlib.Path | None = None) -> str:
  """'auto' -> 'local', 'arrays' or 'catalog' (module docstring); a bad or impossible source
  raises."""
  if source not in SOURCES:
    raise ValueError(f"source must be one of {', '.join(map(repr, SOURCES))}, got {source!r}")
  if source == "catalog" and name not in CATALOG:
    raise ValueError(f"tfds has no standard dataset for {name!r}; use source='local' with the "
                     "raw files")
  if source != "auto":
    return source
  if raw_present(name, data_dir):
    return "local"
  if arrays.present(BUILDER_KEY[name], resolve_cache_dir(cache_dir)):
    return "arrays"
  return "local" if name not in CATALOG else "catalog"


def prepared_builder(name: str, source: str, data_dir: pathlib.Path, cache_dir: pathlib.Path):
  """A prepared tfds builder for `name`; from local raw files, checked against the record of
  the files it was prepared from (`_prepare_local`)."""
  tfds = tfds_import.import_tfds()
  key = BUILDER_KEY[name]
  if source == "catalog":
    builder = tfds.builder(CATALOG[name], data_dir=str(cache_dir))
    builder.download_and_prepare()
    return builder
  roles = list(files.RAW_FILES[key])
  if key == "mnist":
    builder = tfds.builder("mnist", data_dir=str(cache_dir))
    manual_dir = data_dir / "mnist"
  else:
    from skipjax.data import builders  # pylint: disable=g-import-not-at-top
    kwargs = {}
    if key == "ag_news":
      full = files.has_file("ag_news", "train", data_dir)
      kwargs["config"] = "full" if full else "test_only"
      roles = ["train", "test"] if full else ["test"]
    builder = builders.BUILDERS[key](data_dir=str(cache_dir), **kwargs)
    manual_dir = data_dir
  _prepare_local(builder, key, roles, data_dir,
                 tfds.download.DownloadConfig(manual_dir=str(manual_dir)))
  return builder


def _prepare_local(builder, key: str, roles: list[str], data_dir: pathlib.Path,
                   download_config) -> None:
  """Prepares `builder` from the raw files `roles` of group `key`, or checks a prepared one.

  A prepared dataset with a record (`files.PREPARED_RECORD`) must have been built from the raw
  files now in the data dir, byte for byte (`files.check_prepared` raises DataFileError
  otherwise). Without a record (a fresh preparation, or one made before records existed) the raw
  files are checked against SOURCE.md's digests first, and the record is written after.
  """
  current = files.raw_file_record(key, roles, data_dir)
  record = files.read_prepared_record(builder.data_dir) if builder.is_prepared() else None
  # tfds prints "Downloading and preparing dataset Unknown size (download: Unknown size, ...)"
  # and "... downloaded and prepared" to stdout: wrong for local files. One line instead.
  builder._log_download_bytes = lambda: print(  # pylint: disable=protected-access
      f"preparing {builder.name} from the raw files in {data_dir} into {builder.data_dir} "
      "(once; later runs read it from there)", file=sys.stderr, flush=True)
  builder._log_download_done = lambda: None  # pylint: disable=protected-access
  if record is not None:
    files.check_prepared(builder.data_dir, key, record, current, data_dir)
  else:
    for role in roles:
      files.find_file(key, role, data_dir)  # the digest of SOURCE.md, before anything is read
  builder.download_and_prepare(download_config=download_config)
  if record is None:
    files.write_prepared_record(builder.data_dir, key, current)


def _as_numpy(builder, split: str) -> dict[str, np.ndarray]:
  tfds = tfds_import.import_tfds()
  return tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1, shuffle_files=False))


def decode(values: np.ndarray) -> list[str]:
  return [v.decode("utf-8") for v in values]


def catalog_examples(name: str, builder, split: str) -> dict[str, Any]:
  """tfds catalog features -> the same raw form as the local builders give."""
  tfds = tfds_import.import_tfds()
  if name == "conll2003":
    split = {"validation": "dev"}.get(split, split)
    names = builder.info.features["ner"].feature.names
    tokens, tags = [], []
    for ex in tfds.as_numpy(builder.as_dataset(split=split, shuffle_files=False)):
      tokens.append(decode(ex["tokens"]))
      tags.append([names[t] for t in ex["ner"]])
    return {"tokens": tokens, "ner": tags}
  data = _as_numpy(builder, split)
  if name == "ag_news":
    from skipjax.data import builders  # pylint: disable=g-import-not-at-top
    text = [builders.clean_ag_news(f"{t} {d}") for t, d in
            zip(decode(data["title"]), decode(data["description"]))]
    return {"text": text, "label": data["label"].astype(np.int32)}
  if name == "sst2_glue":
    return {"text": [t.strip() for t in decode(data["sentence"])],
            "label": data["label"].astype(np.int32)}
  # imdb_reviews ('text', 'label'), mnist ('image', 'label').
  return {k: decode(v) if v.dtype == object else v for k, v in data.items()}


def split_examples(name: str, split: str, data_dir: pathlib.Path, cache_dir: pathlib.Path,
                    source: str) -> tuple[dict[str, Any], dict[str, int], str]:
  """(raw examples of a split, split sizes, source used), memoised per process."""
  source = choose_source(name, source, data_dir, cache_dir)
  check_available(name, split, data_dir, source)
  key = (BUILDER_KEY[name], split, str(data_dir), str(cache_dir), source)
  with _lock:
    if key not in _split_memo and source == "arrays":
      examples, sizes = arrays.load_split(BUILDER_KEY[name], split, cache_dir)
      _split_memo[key] = {"examples": examples, "sizes": sizes}
    if key not in _split_memo:
      builder = prepared_builder(name, source, data_dir, cache_dir)
      sizes = {k: v.num_examples for k, v in builder.info.splits.items()}
      if source == "catalog":
        examples = catalog_examples(name, builder, split)
      else:
        data = _as_numpy(builder, split)
        examples = {k: decode(v) if v.dtype == object else v for k, v in data.items()}
      _split_memo[key] = {"examples": examples, "sizes": sizes}
    entry = _split_memo[key]
  return entry["examples"], entry["sizes"], source


def check_available(name: str, split: str, data_dir: pathlib.Path, source: str) -> None:
  if name == "ag_news" and split.startswith("train") and source == "local" and not \
      files.has_file("ag_news", "train", data_dir):
    raw = files.RAW_FILES["ag_news"]["train"][0]
    raise files.DataFileError(
        f"AG News has no train split here: {data_dir / raw.path} is missing (the original "
        f"train.csv, 120,000 rows, {raw.describe_digest()}). shared/data holds the test split "
        "only (7,600 rows); place train.csv there to train, or use source='catalog' online.")


def load_examples(name: str, split: str, *, data_dir: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  source: str = "auto") -> tuple[dict[str, Any], dict[str, int]]:
  """The untokenised examples of a split: ({'text': [str], 'label': int32 [N], ...} or, for
  mnist, {'image': uint8 [N, 28, 28, 1], 'label'}; ptb {'text'}; conll2003 {'tokens', 'ner',
  ...} as space-joined str), and the split sizes of the prepared dataset."""
  name, split = check_name(name), normalise_split(split)
  key_name = "sst5" if name == "sst2_trees" else ("mnist" if name == "pmnist" else name)
  examples, sizes, _ = split_examples(key_name, split, files.resolve_data_dir(data_dir),
                                       resolve_cache_dir(cache_dir), source)
  return examples, sizes


def export_arrays(name: str, out_dir: str | os.PathLike, *,
                  data_dir: str | os.PathLike | None = None,
                  cache_dir: str | os.PathLike | None = None,
                  source: str = "auto") -> pathlib.Path:
  """Writes every split of `name`'s raw examples as .npz under `out_dir` (the 'arrays' source,
  `skipjax.data.arrays`); returns their folder."""
  name = check_name(name)
  key_name = "sst5" if name == "sst2_trees" else ("mnist" if name == "pmnist" else name)
  data_dir, cache_dir = files.resolve_data_dir(data_dir), resolve_cache_dir(cache_dir)
  source = choose_source(key_name, source, data_dir, cache_dir)
  if source == "arrays":
    raise ValueError(f"{name}: export reads the raw files or tfds's catalog, not exported "
                     "arrays (give the data dir that holds the raw files)")
  builder = prepared_builder(key_name, source, data_dir, cache_dir)
  sizes = {k: v.num_examples for k, v in builder.info.splits.items()}
  splits = {split: split_examples(key_name, split, data_dir, cache_dir, source)[0]
            for split in sorted(sizes)}
  key = BUILDER_KEY[key_name]
  record = (files.read_prepared_record(builder.data_dir) if source == "local" else
            {"catalog": CATALOG[key_name]})
  return arrays.export(key, splits, sizes, record, pathlib.Path(out_dir).expanduser().resolve())


def check_name(name: str) -> str:
  if name not in NAMES:
    raise ValueError(f"unknown dataset {name!r}; known: {', '.join(NAMES)}")
  return name


def clear_memo() -> None:
  """Forget the splits read so far in this process."""
  with _lock:
    _split_memo.clear()
