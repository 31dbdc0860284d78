"""Where the raw dataset files are, and their expected digests.

The digests are the sha256 of the stored files as given in each dataset's SOURCE.md (shared/data).
Every reader checks the file it reads before using it: a missing or corrupt file raises a
`DataFileError` naming the file and the expected digest, never a checksum made up to please tfds.

Raw files are looked for in, first to last: the `data_dir` argument, $SKIPJAX_DATA_DIR, and
`<repo>/../shared/data` (the layout of this project's checkout; tests and CI use it).

A dataset prepared by tfds from raw files records which files it came from: `PREPARED_RECORD`
(a small JSON beside the prepared tfrecords) holds each raw file's path, size and sha256.
Every later load (once per process and split) hashes the raw files again and compares them with
the record (`check_prepared`), so a raw file flipped, truncated or swapped after the preparation
is reported, not silently ignored because tfds found the prepared copy. Hashing is cheap next to
a load: 0.09 s for IMDB's 37 MB archive (the original 84 MB .tar.gz would take about 0.2 s),
0.02 s for MNIST's train images, a few ms for the others (sha256 on one core of this project's
CPU machine); a size + mtime shortcut would miss a byte flipped in place.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import pathlib
import warnings
from typing import Iterable

ENV_DATA_DIR = "SKIPJAX_DATA_DIR"
# skipjax/data/files.py -> repo root is parents[2]; shared/data sits beside the repo.
REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data"


def cache_root() -> pathlib.Path:
  """Where skipjax keeps what it prepares (tfds datasets, word vectors): <repo>/.cache in a
  checkout (git-ignored), else ~/.cache/skipjax for an installed package."""
  if (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "skipjax").is_dir():
    return REPO_ROOT / ".cache"
  return pathlib.Path("~/.cache/skipjax").expanduser()


class DataFileError(FileNotFoundError):
  """A raw dataset file is missing, or its content does not match the expected digest."""


@dataclasses.dataclass(frozen=True)
class RawFile:
  """One raw file: its path relative to the data dir, and its digest(s) (any one may match)."""
  path: str
  sha256: tuple[str, ...] = ()
  md5: tuple[str, ...] = ()
  size: int | None = None

  def describe_digest(self) -> str:
    parts = [f"sha256 {d}" for d in self.sha256] + [f"md5 {d}" for d in self.md5]
    return " or ".join(parts) if parts else "(no published digest)"


# The files each dataset reads. Alternatives (a list of RawFile) are tried in order; the first one
# present is used.
RAW_FILES: dict[str, dict[str, list[RawFile]]] = {
    "mnist": {
        "train_images": [RawFile(
            "mnist/train-images-idx3-ubyte.gz",
            ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",), size=9912422)],
        "train_labels": [RawFile(
            "mnist/train-labels-idx1-ubyte.gz",
            ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",), size=28881)],
        "test_images": [RawFile(
            "mnist/t10k-images-idx3-ubyte.gz",
            ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",), size=1648877)],
        "test_labels": [RawFile(
            "mnist/t10k-labels-idx1-ubyte.gz",
            ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",), size=4542)],
    },
    "imdb": {
        # Our rebuilt .tar.xz, or the original archive (same member layout).
        "archive": [
            RawFile("imdb/aclImdb_v1_rebuilt.tar.xz",
                    ("532986d1af24e1caeec74702ee17f989e259f61bcc771f561eb609e791006766",)),
            RawFile("imdb/aclImdb_v1.tar.gz",
                    ("c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",),
                    size=84125825),
        ],
    },
    "rotten_tomatoes": {
        "pos": [RawFile("rotten_tomatoes/rt-polarity.pos.xz",
                        ("36f99670b9ac5e102e7981c28ae66ccfa5edde7ba08068109a9c29758b7c782c",))],
        "neg": [RawFile("rotten_tomatoes/rt-polarity.neg.xz",
                        ("6f0ac18fa4044fe9ccb12943d367ba2955d2bb123c639c5b18294d598b8f41c2",))],
    },
    "sst_glue": {
        "train": [RawFile("sst/glue_sst2/train.tsv.xz",
                          ("d9ce70a15cd9544d2a035fa9639d404314f0c7d95fa4a737ae6c2b62162fd402",))],
        "validation": [RawFile(
            "sst/glue_sst2/dev.tsv.xz",
            ("10259db6f6ebc89c4872544e51d2406e30362b6a231e535f30e801a1ce7ef072",))],
        "test": [RawFile("sst/glue_sst2/test.tsv.xz",
                         ("08102b175eedff39ea605f2bb92ca4284ccd44c5eb376474a52f7ccd3e84081e",))],
    },
    "sst_trees": {
        "train": [RawFile("sst/trees/train.txt.xz",
                          ("a573e480e375c372c08f11a061270348dba9de7a0a1a4783dfca07fef429d9ba",))],
        "validation": [RawFile(
            "sst/trees/dev.txt.xz",
            ("2e9becf86972939f4d72bdf97d6233f5ec50268c6132f8147041987d49e71022",))],
        "test": [RawFile("sst/trees/test.txt.xz",
                         ("e5e3538665f91eddb38d6d788388e7d957bbd3d90d9ce3cd4c74edc5a31e869c",))],
    },
    "ag_news": {
        "test": [RawFile("ag_news/test.csv.xz",
                         ("b797f846079c25565eab8e6f9e407ee94f385662d04fd9d0c3b9f6008d0d022a",))],
        # Not in shared/data: only torchtext's md5 of the original train.csv is published.
        "train": [RawFile("ag_news/train.csv", md5=("b1a00f826fdfbd249f79597b59e1dc12",))],
    },
    "ptb": {
        "train": [RawFile("ptb/ptb.train.txt.xz",
                          ("aa7c7ac769e4614f02494a5c0426d7fc5226ba2c96cec8f897d7af9ff5d6945b",))],
        "validation": [RawFile(
            "ptb/ptb.valid.txt.xz",
            ("db806f69dbaa34525f88b45b027965d4acf3e8ae3e238fe856b0802d75799a6e",))],
        "test": [RawFile("ptb/ptb.test.txt.xz",
                         ("a97f11d96f2e0690356d55a720f1c01d1745586cbc687fc4f609d6cd49ea4930",))],
    },
    "conll2003": {
        "train": [RawFile("conll2003/eng.train.xz",
                          ("1a667773d9b53ac6babef11f957e9c483d448439b97d6e119f9c597327a47e84",))],
        "validation": [RawFile(
            "conll2003/eng.testa.xz",
            ("4b8590e1c41a4da250adbec876c2d5cc76728b5826ec2a99112e83de75f4bcff",))],
        "test": [RawFile("conll2003/eng.testb.xz",
                         ("4bd006f5dcb7b432583400cf2f4b9e496fe13e909315ebe9bf185fe6fd185154",))],
    },
}


# IMDB per-directory content digests (imdb/SOURCE.md, split_digests.tsv): sha256 over the lines
# "<dir>/<file>\t<sha256 of file>\n" sorted by file name; independent of the archive's bytes.
IMDB_DIR_DIGESTS = {
    "train/pos": "dfb9548b1b24f3c6ef344451af9c4d3df931aaea3b547c69190df60e2e73d395",
    "train/neg": "9cfd6931c80b68e94facfb4ffe93a7c00c5c3ca240dd37450fd0047081bdae10",
    "train/unsup": "6c10ea70099056940a23e108a0b72d133f1e3b29f7766faea44853363384ac97",
    "test/pos": "9213bbe5ca27860fbfe26ee34a6f4c077f2a333055a81491569aca112c9cf4be",
    "test/neg": "612454b98aeae40aaac7ab7f36907b29c12b918f290880cac8ee22ac60186c33",
}


def check_content_digest(archive: str | os.PathLike, directory: str,
                         entries: list[tuple[str, bytes]], expected: str) -> None:
  """Raises DataFileError unless the (file name, bytes) entries of `directory` in `archive` have
  the content digest `expected` (the scheme of IMDB_DIR_DIGESTS)."""
  entries = sorted(entries)
  manifest = "".join(f"{directory}/{name}\t{hashlib.sha256(data).hexdigest()}\n"
                     for name, data in entries)
  got = hashlib.sha256(manifest.encode()).hexdigest()
  if got != expected:
    raise DataFileError(f"{archive}: the content of aclImdb/{directory} ({len(entries)} files) "
                        f"has digest {got}, expected {expected} (imdb/split_digests.tsv)")


def resolve_data_dir(data_dir: str | os.PathLike | None = None) -> pathlib.Path:
  """The raw-data root: `data_dir`, else $SKIPJAX_DATA_DIR, else <repo>/../shared/data."""
  if data_dir is None:
    data_dir = os.environ.get(ENV_DATA_DIR) or DEFAULT_DATA_DIR
  return pathlib.Path(data_dir).expanduser().resolve()


def file_digest(path: str | os.PathLike, algorithm: str = "sha256") -> str:
  """Hex digest of a file's bytes (read in 1 MiB chunks)."""
  h = hashlib.new(algorithm)
  with open(path, "rb") as f:
    for chunk in iter(lambda: f.read(1 << 20), b""):
      h.update(chunk)
  return h.hexdigest()


def file_sha256(path: str | os.PathLike) -> str:
  """sha256 of a file's bytes (hex), read afresh on every call (no size/mtime shortcut)."""
  return file_digest(path, "sha256")


@functools.lru_cache(maxsize=64)
def _verified(path: str, size: int, mtime_ns: int, raw: RawFile) -> None:
  """Checks one file's digest; cached per (path, size, mtime) so a process hashes a file once."""
  del size, mtime_ns  # only part of the cache key
  p = pathlib.Path(path)
  if raw.sha256:
    got = file_digest(p, "sha256")
    if got not in raw.sha256:
      raise DataFileError(f"{p} is corrupt: its sha256 is {got}, expected "
                          f"{raw.describe_digest()} (see SOURCE.md beside it)")
  elif raw.md5:
    got = file_digest(p, "md5")
    if got not in raw.md5:
      raise DataFileError(f"{p} is corrupt: its md5 is {got}, expected {raw.describe_digest()}")


def verify_file(path: pathlib.Path, raw: RawFile) -> pathlib.Path:
  """Raises DataFileError unless `path` exists and matches one of raw's digests."""
  if not path.is_file():
    raise DataFileError(f"missing data file {path} (expected {raw.describe_digest()}); set "
                        f"--data_dir or ${ENV_DATA_DIR} to the directory holding "
                        f"{pathlib.PurePath(raw.path).parts[0]}/")
  stat = path.stat()
  if raw.size is not None and stat.st_size != raw.size:
    raise DataFileError(f"{path} is corrupt: {stat.st_size} bytes, expected {raw.size} bytes "
                        f"with {raw.describe_digest()}")
  _verified(str(path), stat.st_size, stat.st_mtime_ns, raw)
  return path


def find_file(dataset: str, role: str, data_dir: str | os.PathLike | None = None,
              verify: bool = True) -> pathlib.Path:
  """Path of the raw file `role` of `dataset` under the data dir, checked against its digest.

  Alternatives are tried in order and the first present one is used; if none is present the
  error names the first (the file shipped in shared/data) and its digest.
  """
  if dataset not in RAW_FILES or role not in RAW_FILES[dataset]:
    raise KeyError(f"no raw file {role!r} registered for dataset {dataset!r}")
  root = resolve_data_dir(data_dir)
  alternatives = RAW_FILES[dataset][role]
  for raw in alternatives:
    path = root / raw.path
    if path.is_file():
      return verify_file(path, raw) if verify else path
  return verify_file(root / alternatives[0].path, alternatives[0])


def has_file(dataset: str, role: str, data_dir: str | os.PathLike | None = None) -> bool:
  """Whether any alternative of the raw file is present (not verified)."""
  root = resolve_data_dir(data_dir)
  return any((root / raw.path).is_file() for raw in RAW_FILES[dataset][role])


# ----- what a prepared dataset was built from -----

PREPARED_RECORD = "skipjax_raw_files.json"
_RECORD_FORMAT = 1


def _registered(dataset: str, role: str, relative: str) -> RawFile | None:
  return next((raw for raw in RAW_FILES[dataset][role] if raw.path == relative), None)


def raw_file_record(dataset: str, roles: Iterable[str],
                    data_dir: str | os.PathLike | None = None) -> dict[str, dict[str, object]]:
  """{role: {'path' (relative to the data dir), 'size', 'sha256'}} of the raw files of `roles`
  present in the data dir (the alternative `find_file` picks); a missing file raises
  DataFileError. The files are not checked against SOURCE.md here (`verify_file` does that)."""
  root = resolve_data_dir(data_dir)
  record = {}
  for role in roles:
    path = find_file(dataset, role, root, verify=False)
    record[role] = {"path": path.relative_to(root).as_posix(), "size": path.stat().st_size,
                    "sha256": file_sha256(path)}
  return record


def read_prepared_record(prepared_dir: str | os.PathLike) -> dict[str, object] | None:
  """The record in a prepared dataset's directory, or None if it has none (prepared before
  records existed, or from tfds's catalog)."""
  path = pathlib.Path(prepared_dir) / PREPARED_RECORD
  if not path.is_file():
    return None
  try:
    record = json.loads(path.read_text())
    if record.get("format") != _RECORD_FORMAT or not isinstance(record.get("files"), dict):
      raise ValueError(f"unknown format {record.get('format')!r}")
  except (ValueError, AttributeError) as e:
    raise DataFileError(f"{path} is unreadable ({e}); delete {prepared_dir} to prepare the "
                        "dataset again from the raw files") from None
  return record


def write_prepared_record(prepared_dir: str | os.PathLike, dataset: str,
                          files: dict[str, dict[str, object]]) -> None:
  """Writes the record of the raw files a dataset was just prepared from (or, for a prepared
  dataset without one, just verified against SOURCE.md). A read-only cache only warns: its
  raw files are then checked against SOURCE.md on every load instead."""
  path = pathlib.Path(prepared_dir) / PREPARED_RECORD
  text = json.dumps({"format": _RECORD_FORMAT, "dataset": dataset, "files": files}, indent=1,
                    sort_keys=True)
  try:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n")
    tmp.replace(path)
  except OSError as e:
    warnings.warn(f"could not record the raw files of {prepared_dir} ({e}); they are checked "
                  "against SOURCE.md on every load instead")


def check_prepared(prepared_dir: str | os.PathLike, dataset: str, record: dict[str, object],
                   current: dict[str, dict[str, object]],
                   data_dir: str | os.PathLike | None = None) -> None:
  """Raises DataFileError unless the raw files now in the data dir (`current`, from
  `raw_file_record`) are those the prepared dataset was built from (`record`).

  The message names the file, both digests, whether the file still matches SOURCE.md, and how
  to rebuild: restore the file, or delete the prepared directory to prepare it again.
  """
  root = resolve_data_dir(data_dir)
  recorded = record["files"]
  for role, now in current.items():
    was = recorded.get(role)
    if was is not None and was.get("path") == now["path"] and was.get("sha256") == now["sha256"]:
      continue
    path = root / str(now["path"])
    raw = _registered(dataset, role, str(now["path"]))
    if was is None:
      history = f"its record {PREPARED_RECORD} does not list this file"
    else:
      moved = f" (then {was.get('path')})" if was.get("path") != now["path"] else ""
      history = (f"recorded sha256 {was.get('sha256')} ({was.get('size')} bytes){moved}, now "
                 f"sha256 {now['sha256']} ({now['size']} bytes)")
    if raw is not None and now["sha256"] in raw.sha256:
      advice = (f"The file is another valid copy (its digest is in SOURCE.md): delete "
                f"{prepared_dir} to prepare the dataset again from it.")
    else:
      expected = raw.describe_digest() if raw is not None else "no registered file"
      advice = (f"It matches no published digest (expected {expected}): the file is corrupt "
                f"or truncated. Restore it (see {path.parent / 'SOURCE.md'}); the prepared "
                f"data came from the intact file, and is used again once it is back (to "
                f"rebuild from other files, delete the prepared directory {prepared_dir}).")
    raise DataFileError(f"{path} has changed since the prepared dataset {prepared_dir} was "
                        f"built from it: {history}. {advice}")
