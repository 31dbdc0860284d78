"""Result records: one JSON file per finished run, and the RESULTS.md table built from them.

Every run of `experiments/run.py` ends by writing its record into its own work directory,
`<workdir>/result.json`; publishing it into `experiments/results/<run-name>.json` (what
RESULTS.md is built from) is a separate, explicit act (`publish_result`, `experiments.run
--publish`), which never replaces a different record silently:

    {"experiment", "model", "dataset", "split", "metric", "value", "paper_value",
     "fraction_computed", "speedup_batch1", "train_steps", "train_minutes", "seed", "command",
     "finished", ...}

(null where a field does not apply), plus optional context: "paper" (the paper and table the
number belongs to, used to group RESULTS.md), "workdir", "hardware", "best_step", "metrics" (all
test metrics), "config". `render_markdown` turns a set of records into tables grouped by paper, with
the command and training time beside each number and the paper's figure in its own column, so
every number in RESULTS.md traces back to a run.

Records are strict JSON: a NaN or infinite `value` (or other required number) is refused, and a
non-finite number elsewhere (e.g. one test metric) is written as its name ('nan', 'inf').
"""

from __future__ import annotations

import json
import math
import os
import pathlib
import re
from typing import Any, Iterable, Mapping, NamedTuple

from skipjax.train import workdir as workdir_lib

REQUIRED_FIELDS = ("experiment", "model", "dataset", "split", "metric", "value", "paper_value",
                   "fraction_computed", "speedup_batch1", "train_steps", "train_minutes", "seed",
                   "command", "finished")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Fields that differ between two runs of one command without the result differing: when, where
# and how fast it ran. publish_result treats records that differ only in these as the same result.
VOLATILE_FIELDS = frozenset({"finished", "train_minutes", "examples_per_second", "hardware",
                             "workdir", "command"})


class PublishConflictError(FileExistsError):
  """The published record of a run name holds another result (the message says what differs)."""


def check_result(result: Mapping[str, Any], where: str = "result") -> None:
  """Raises ValueError if a record lacks a required field or has a malformed one."""
  missing = [f for f in REQUIRED_FIELDS if f not in result]
  if missing:
    raise ValueError(f"{where} lacks the fields {missing} (null where a field does not apply)")
  for name in ("value", "paper_value", "fraction_computed", "speedup_batch1", "train_minutes"):
    value = result[name]
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
      raise ValueError(f"{where}: {name} must be a number or null, got {value!r}")
    if value is not None and not math.isfinite(value):
      raise ValueError(f"{where}: {name} is {value}: a result must be a finite number (a run "
                       "whose loss diverged has no result)")
  for name in ("experiment", "model", "dataset", "metric"):
    if not isinstance(result[name], str) or not result[name]:
      raise ValueError(f"{where}: {name} must be a non-empty string, got {result[name]!r}")


def make_result(**fields: Any) -> dict[str, Any]:
  """A result record: the given fields, every missing required field set to None (null)."""
  result = {name: None for name in REQUIRED_FIELDS}
  result.update(fields)
  check_result(result)
  return result


def _check_name(run_name: str) -> None:
  if not _NAME_RE.match(run_name):
    raise ValueError(f"run_name must be a plain file name (letters, digits, '.', '_', '-'), got "
                     f"{run_name!r}")


def _json_safe(value: Any) -> Any:
  """numpy/jax scalars and arrays as lists, non-finite floats as their names."""
  if hasattr(value, "tolist"):
    value = value.tolist()
  if isinstance(value, float) and not math.isfinite(value):
    return str(value)
  if isinstance(value, Mapping):
    return {str(k): _json_safe(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_json_safe(v) for v in value]
  return value


def record_json(result: Mapping[str, Any]) -> str:
  """The record as strict JSON text (what `write_record` writes)."""
  return json.dumps(_json_safe(dict(result)), indent=1, sort_keys=True, allow_nan=False) + "\n"


def write_record(result: Mapping[str, Any], path: str | os.PathLike[str]) -> pathlib.Path:
  """Checks `result` and writes it to `path` atomically (a temporary file, then a rename)."""
  path = pathlib.Path(path)
  check_result(result, where=f"result {str(path)!r}")
  path.parent.mkdir(parents=True, exist_ok=True)
  tmp = path.with_name(path.name + ".tmp")
  tmp.write_text(record_json(result))
  os.replace(tmp, path)
  return path


def read_record(path: str | os.PathLike[str]) -> dict[str, Any]:
  """Reads and checks one record; a file that is not strict JSON (NaN, Infinity) is refused."""
  path = pathlib.Path(path)

  def refuse(constant: str) -> None:
    raise ValueError(f"{path} holds {constant}, which is not valid JSON (a diverged run?)")

  try:
    result = json.loads(path.read_text(), parse_constant=refuse)
  except json.JSONDecodeError as e:
    raise ValueError(f"{path} is not valid JSON: {e}") from None
  check_result(result, where=str(path))
  return result


def write_result(result: Mapping[str, Any], results_dir: str | os.PathLike[str],
                 run_name: str) -> pathlib.Path:
  """Writes `<results_dir>/<run_name>.json`, replacing what is there.

  For editing a record that is already published (e.g. `experiments/speedup.py` adding a
  measured speed-up to it). To put a run's record into the results directory use
  `publish_result`, which refuses to replace another result.
  """
  _check_name(run_name)
  return write_record(result, pathlib.Path(results_dir) / f"{run_name}.json")


def _short(value: Any) -> str:
  text = json.dumps(_json_safe(value), sort_keys=True)
  return text if len(text) <= 40 else text[:37] + "..."


def record_differences(old: Mapping[str, Any], new: Mapping[str, Any], *,
                       ignore: Iterable[str] = VOLATILE_FIELDS,
                       ignore_config: Iterable[str] = workdir_lib.OBSERVATION_FIELDS
                       ) -> list[str]:
  """'field: old -> new' for each top-level field (except `ignore`) in which two records differ,
  the headline fields (value, train_steps, seed, ...) first; the configs are compared field by
  field ('config.net.hidden_dim: 32 -> 64'), except the fields `ignore_config` (progress bars,
  log and checkpoint intervals: they do not change the result)."""
  ignore = set(ignore) | {"_file"}
  ignore_config = frozenset(ignore_config)
  first = [f for f in REQUIRED_FIELDS if f not in ignore]
  rest = sorted((set(old) | set(new)) - set(first) - ignore)
  missing = object()
  out = []
  for name in first + rest:
    a, b = old.get(name, missing), new.get(name, missing)
    if _json_safe(a) == _json_safe(b):
      continue
    if name == "config" and isinstance(a, Mapping) and isinstance(b, Mapping):
      out += workdir_lib.config_differences(_json_safe(a), _json_safe(b),
                                            may_change=lambda n, *_: n in ignore_config)
      continue
    out.append(f"{name}: {'(absent)' if a is missing else _short(a)} -> "
               f"{'(absent)' if b is missing else _short(b)}")
  return out


class Published(NamedTuple):
  path: pathlib.Path
  action: str          # 'written', 'unchanged' (same result there already), 'replaced'
  differences: list[str]  # what the replaced record held otherwise ([] unless 'replaced')
  message: str         # one line saying what happened


def publish_result(result: Mapping[str, Any], results_dir: str | os.PathLike[str],
                   run_name: str, *, replace: bool = False,
                   source: str | os.PathLike[str] | None = None) -> Published:
  """Copies a run's record into `<results_dir>/<run_name>.json`, never replacing silently.

  If that file holds a record that differs only in VOLATILE_FIELDS (the same result, run again
  or elsewhere), it is kept ('unchanged'). If it holds another result, raises
  PublishConflictError naming both files and the fields that differ, unless `replace` is True
  ('replaced', and the message lists what the old record held). `source`: where `result` came
  from (e.g. `<workdir>/result.json`), for the messages.
  """
  _check_name(run_name)
  check_result(result, where=f"result {run_name!r}")
  path = pathlib.Path(results_dir) / f"{run_name}.json"
  origin = f"{source}" if source is not None else f"the record of {run_name!r}"
  if path.exists():
    try:
      old = read_record(path)
    except ValueError as e:
      old, unreadable = None, str(e)
    if old is not None:
      differences = record_differences(old, json.loads(record_json(result)))
      if not differences:
        return Published(path, "unchanged", [],
                         f"{path} already holds this result (not rewritten)")
    else:
      differences = [f"the published file is unreadable ({unreadable})"]
    if not replace:
      raise PublishConflictError(
          f"{path} already holds another result than {origin} ({'; '.join(differences)}); "
          "not replacing it (pass --replace_published to replace it, or publish under "
          "another --run_name)")
    write_record(result, path)
    return Published(path, "replaced", differences,
                     f"replaced {path} with {origin} (it held: {'; '.join(differences)})")
  write_record(result, path)
  return Published(path, "written", [], f"published {origin} -> {path}")


def load_results(results_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
  """Every `<results_dir>/*.json` record, each with '_file' (its file name), sorted by name."""
  results = []
  for path in sorted(pathlib.Path(results_dir).glob("*.json")):
    result = read_record(path)
    result["_file"] = path.name
    results.append(result)
  return results


def _fmt_number(value: Any, metric: str | None = None) -> str:
  if value is None:
    return "—"
  if isinstance(value, float) and not math.isfinite(value):
    return str(value)
  if metric is not None and metric.lower() in ("accuracy", "acc", "f1") and abs(value) <= 1:
    return f"{100 * value:.1f}%"
  if isinstance(value, int):
    return str(value)
  return f"{value:.4g}"


def _fmt_fraction(value: Any) -> str:
  return "—" if value is None else f"{100 * value:.1f}%"


def _fmt_speedup(value: Any) -> str:
  return "—" if value is None else f"{value:.2f}x"


def _fmt_minutes(value: Any) -> str:
  return "—" if value is None else f"{value:.1f} min"  # one unit in every row


_POINT_METRICS = ("accuracy", "acc", "f1")


def _fmt_gap(value: Any, paper_value: Any, metric: str) -> str:
  """How far a value stands from the paper's: points for accuracy-like metrics (+ above the
  paper), the ratio value / paper for the others (perplexity, MSE: above 1 is worse)."""
  if value is None or paper_value is None or not math.isfinite(value):
    return "—"
  if metric.lower() in _POINT_METRICS and abs(value) <= 1 and abs(paper_value) <= 1:
    return f"{100 * (value - paper_value):+.1f} pts"
  if paper_value == 0:
    return "—"
  return f"{value / paper_value:.2f}x"


def _fmt_commit(value: Any) -> str:
  if not value or value == "unknown":
    return "—"
  text = str(value)
  return text[:8] + ("-dirty" if text.endswith("-dirty") else "")


# What `embedding_source` writes for config.net.pretrained_embedding names.
_PRETRAINED_NAMES = {"word2vec_imdb": "word2vec (ours: IMDB train+unsup)"}


def embedding_source(result: Mapping[str, Any]) -> str:
  """How the run's token embedding was initialised, from its recorded config.net: 'random init'
  (trained from scratch), the pretrained vectors (`word2vec_imdb`: ours, trained on IMDB train +
  unsup; a file: its name) with ', frozen' if frozen, or '—' (no token embedding, or a record
  without a config); ' + character CNN' when the run read characters (config.data.char_len)."""
  config = result.get("config") or {}
  net = config.get("net") or {}
  chars = " + character CNN" if (config.get("data") or {}).get("char_len") else ""
  source = net.get("pretrained_embedding")
  if source is None:
    return ("random init" + chars) if net.get("embed_dim") is not None else "—"
  text = _PRETRAINED_NAMES.get(source, os.path.basename(str(source)))
  return text + (", frozen" if net.get("freeze_embedding") else "") + chars


def row_name(result: Mapping[str, Any]) -> str:
  """A record's name in the tables: its experiment, or for a setting of a sweep its run name
  (`<study>.<setting>`), since the settings of one study share the experiment."""
  if isinstance(result.get("sweep"), dict) and result.get("run_name"):
    return str(result["run_name"])
  return str(result["experiment"])


def dev_selected(results: Iterable[Mapping[str, Any]]) -> set[str]:
  """The run names of the sweep settings chosen on dev: in each study (records sharing a sweep
  name), the setting with the best dev value of the config's `best_metric` (by its `best_mode`,
  ties to the first label). This is the study's honest single figure; the test column of the
  others is shown but never used to choose. Studies whose records lack a dev value are skipped."""
  studies: dict[str, list[tuple[int, float, str, str]]] = {}
  for r in results:
    sweep, config = r.get("sweep"), r.get("config") or {}
    metric, best_dev = config.get("best_metric"), r.get("best_dev") or {}
    if not isinstance(sweep, dict) or metric not in best_dev or not r.get("run_name"):
      continue
    studies.setdefault(str(sweep.get("name")), []).append(
        (int(sweep.get("index", 0)), float(best_dev[metric]), str(config.get("best_mode", "max")),
         str(r["run_name"])))
  chosen = set()
  for settings in studies.values():
    settings.sort()
    sign = -1.0 if settings[0][2] == "min" else 1.0
    best = max(settings, key=lambda s: (sign * s[1], -s[0]))
    chosen.add(best[3])
  return chosen


def _cell(text: str) -> str:
  return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(results: Iterable[Mapping[str, Any]], *, title: str = "Results",
                    generator: str = "python -m experiments.make_results") -> str:
  """RESULTS.md: one table per paper/table group (the record's 'paper', else 'other').

  Accuracy-like metrics in [0, 1] are shown as percentages (paper figures are stored as the same
  fractions). Unfinished runs are listed with their status so nothing is silently dropped.
  """
  groups: dict[str, list[Mapping[str, Any]]] = {}
  results = list(results)
  for result in results:
    groups.setdefault(result.get("paper") or "Other runs", []).append(result)
  selected = dev_selected(results)
  lines = [f"# {title}", "",
           f"Generated by `{generator}` from `experiments/results/*.json`; do not edit by hand.",
           "Each number comes from the run whose command is listed under its table. Accuracy is on",
           "the split shown; the paper column is the figure the paper reports for the same setting.",
           "Speed-ups are measured against a plain LSTM of the same size in the same benchmark run",
           "(— where not measured). 'vs paper': points above (+) or below (-) the paper for",
           "accuracy and F1, the ratio to the paper's figure for perplexity and MSE (above 1 is",
           "worse). 'commit': the code the run trained at (— for runs recorded before commits were",
           "kept).",
           "The adding task has no reported MSE: the papers call a run solved below 1/100 of",
           "the target variance (MSE < 1.67e-3), so its paper cell is '—'. Each table's",
           "commands, commits and seeds are in the foldable section below it.",
           "The embedding column says how the token embedding was initialised: random init",
           "(learned from scratch) or pretrained vectors. Our pretrained vectors differ from the",
           "papers' (Skim-RNN: GloVe; Skip RNN and LSTM-Jump: word2vec), which cannot be obtained",
           "here: word2vec_imdb is skip-gram word2vec trained by us on the IMDB train + unsup",
           "reviews only (`python -m skipjax.data vectors`). '+ character CNN': the tagger also",
           "read each word's characters (Ma & Hovy's CNN, as Gui et al.'s CoNLL tagger).",
           "A study (`<study>.<setting>` rows, one program for all settings) marks the setting",
           "with the best dev figure '(chosen on dev)': that is the study's figure.", ""]
  header = ("| row | metric | paper | ours | vs paper | computed | speed-up (batch 1) | "
            "train time | steps | model | dataset (split) | embedding |")
  detail_header = "| row | seed | commit | finished | command |"
  for group in sorted(groups):
    rows = sorted(groups[group], key=lambda r: (r["dataset"], r["model"], row_name(r)))
    lines += [f"## {group}", "", header, "|" + "---|" * 12]
    for r in rows:
      metric = r["metric"]
      name = row_name(r) + (" (chosen on dev)" if row_name(r) in selected else "")
      cells = [name, metric, _fmt_number(r["paper_value"], metric),
               _fmt_number(r["value"], metric),
               _fmt_gap(r["value"], r["paper_value"], metric),
               _fmt_fraction(r["fraction_computed"]), _fmt_speedup(r["speedup_batch1"]),
               _fmt_minutes(r["train_minutes"]),
               "—" if r["train_steps"] is None else str(r["train_steps"]),
               r["model"], f"{r['dataset']} ({r['split'] or '—'})", embedding_source(r)]
      lines.append("| " + " | ".join(_cell(str(c)) for c in cells) + " |")
    lines += ["", f"<details><summary>Commands, commits and seeds ({len(rows)} "
              f"run{'s' if len(rows) != 1 else ''})</summary>", "", detail_header,
              "|" + "---|" * 5]
    for r in rows:
      finished = r["finished"]
      finished_text = "—" if finished is None else (
          str(finished) if not isinstance(finished, bool) else ("yes" if finished else "no"))
      cells = [row_name(r), "—" if r["seed"] is None else str(r["seed"]),
               _fmt_commit(r.get("git_commit")), finished_text,
               f"`{r['command']}`" if r["command"] else "—"]
      lines.append("| " + " | ".join(_cell(str(c)) for c in cells) + " |")
    lines += ["", "</details>", ""]
  if not groups:
    lines += ["No runs recorded yet.", ""]
  return "\n".join(lines)
