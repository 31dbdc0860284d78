"""Prepared splits as plain NumPy files, readable without TensorFlow: the 'arrays' source.

    python -m skipjax.data export ptb mnist --out DIR

reads each dataset's splits as `tfds_source.split_examples` gives them (through tfds, once, on a
machine that has it) and writes `DIR/arrays/<dataset>/<split>.npz`, with `manifest.json` beside
them: the split sizes, the sha256 of every .npz, and the digests of the raw files they came from.
A machine without TensorFlow (an accelerator image with JAX alone) then loads them with
`source='arrays'` (or 'auto', which takes them when the raw files are absent), using DIR as its
cache dir (`cache_dir=` or $SKIPJAX_TFDS_DIR). Every file is checked against the manifest when
read: a changed or truncated file is a DataFileError naming it.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
from typing import Any

import numpy as np

from skipjax.data import files

SUBDIR = "arrays"
MANIFEST = "manifest.json"


def directory(key: str, cache_dir: pathlib.Path) -> pathlib.Path:
  """Where the exported splits of builder group `key` live under a cache dir."""
  return pathlib.Path(cache_dir) / SUBDIR / key


def present(key: str, cache_dir: pathlib.Path) -> bool:
  return (directory(key, cache_dir) / MANIFEST).is_file()


def read_manifest(key: str, cache_dir: pathlib.Path) -> dict[str, Any]:
  path = directory(key, cache_dir) / MANIFEST
  try:
    manifest = json.loads(path.read_text())
  except FileNotFoundError:
    raise files.DataFileError(
        f"{path} is missing: no exported arrays of {key!r} under {cache_dir} (make them with "
        f"`python -m skipjax.data export {key} --out DIR` where tfds and the raw files are)"
    ) from None
  except (OSError, ValueError) as e:
    raise files.DataFileError(f"{path} is not a readable manifest: {e}") from None
  if not isinstance(manifest, dict) or not {"sizes", "splits"} <= set(manifest):
    raise files.DataFileError(f"{path} is not an arrays manifest (no 'sizes' / 'splits')")
  return manifest


_SLICE = re.compile(r"(\w+)\[(-?\d*):(-?\d*)\]")


def parse_split(split: str) -> tuple[str, slice]:
  """'train' -> ('train', [:]); 'train[:55000]' / 'train[55000:]' (tfds's absolute slices) ->
  the split and its slice. Percent slices are refused (tfds rounds them its own way)."""
  if "[" not in split:
    return split, slice(None)
  match = _SLICE.fullmatch(split)
  if match is None:
    raise ValueError(f"split {split!r}: the arrays source takes a split name or an absolute "
                     "slice such as 'train[:55000]' (no percentages)")
  bound = lambda text: int(text) if text else None
  return match.group(1), slice(bound(match.group(2)), bound(match.group(3)))


def load_split(key: str, split: str, cache_dir: pathlib.Path
               ) -> tuple[dict[str, Any], dict[str, int]]:
  """(examples, split sizes) of one exported split, or of an absolute slice of it
  ('train[:55000]'); text fields come back as lists of str."""
  split, part = parse_split(split)
  manifest = read_manifest(key, cache_dir)
  folder = directory(key, cache_dir)
  if split not in manifest["splits"]:
    raise files.DataFileError(f"{folder} has no split {split!r}; exported: "
                              f"{', '.join(sorted(manifest['splits']))}")
  path = folder / f"{split}.npz"
  if not path.is_file():
    raise files.DataFileError(f"{path} is missing (listed in {folder / MANIFEST})")
  expected = manifest["splits"][split]
  got = files.file_sha256(path)
  if got != expected:
    raise files.DataFileError(f"{path} has sha256 {got}, the manifest says {expected}: the file "
                              "changed or is damaged; export it again")
  with np.load(path, allow_pickle=False) as data:
    examples = {k: (data[k][part].tolist() if data[k].dtype.kind == "U" else data[k][part])
                for k in data.files}
  return examples, {k: int(v) for k, v in manifest["sizes"].items()}


def export(key: str, splits: dict[str, dict[str, Any]], sizes: dict[str, int],
           raw_record: dict[str, Any] | None, out_dir: pathlib.Path) -> pathlib.Path:
  """Writes `splits` ({split: examples}) of group `key` under `out_dir`; returns the folder.

  Each field must be an array or a list of str (one per example); nested lists are refused."""
  folder = directory(key, out_dir)
  folder.mkdir(parents=True, exist_ok=True)
  digests = {}
  for split, examples in splits.items():
    fields = {}
    for field, values in examples.items():
      if isinstance(values, np.ndarray) and values.dtype != object:
        fields[field] = values
      elif all(isinstance(v, str) for v in values):
        fields[field] = np.asarray(list(values), dtype=str)
      else:
        raise ValueError(f"{key} {split}: field {field!r} is neither an array nor one string "
                         "per example; the arrays format cannot hold it")
    tmp = folder / f".{split}.npz.tmp"
    with open(tmp, "wb") as f:
      np.savez_compressed(f, **fields)
    os.replace(tmp, folder / f"{split}.npz")
    digests[split] = files.file_sha256(folder / f"{split}.npz")
  manifest = {"dataset": key, "sizes": sizes, "splits": digests, "raw_files": raw_record}
  tmp = folder / f".{MANIFEST}.tmp"
  tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
  os.replace(tmp, folder / MANIFEST)
  return folder
