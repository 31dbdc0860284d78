"""Classify new text with a trained run: no training data needed.

    python -m experiments.predict --workdir DIR --text "A gripping, funny film." [--text ...]
    python -m experiments.predict --workdir DIR --file reviews.txt   # one text per line; - = stdin

DIR is an `experiments.run` workdir of a text-classification run (IMDB, Rotten Tomatoes, SST,
AG News). It holds everything needed: config.json (the model), data_spec.json and vocab.json
(the dataset's classes and word vocabulary, written by the run) and checkpoints/. The texts are
tokenised, lower-cased and cropped to the run's `max_len` as its dataset was; words outside the
vocabulary become `<unk>`. The checkpoint is the run's best on dev (summary.json's best step)
unless `--step` picks one; the model reads in evaluation mode (no dropout; hard skip, skim and
jump decisions), as at test time.

Prints one JSON line per text: `label` (class name), `label_id`, `probabilities` (one per
class), `tokens` (read into the model after cropping), `cropped` (tokens beyond max_len that
were dropped) and, for the skipping models, `fraction_computed` (the fraction of the tokens the
model updated, read with its big cell, or read).

Exit statuses as `experiments.run`'s: 2 bad command line or workdir contents (one `FATAL` line).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from typing import Any, Sequence

from experiments import exit_codes


class PredictError(Exception):
  """The workdir cannot be used for prediction (the message names the missing or bad file)."""


def _read_json(path: pathlib.Path, what: str) -> Any:
  if not path.is_file():
    raise PredictError(f"{path} is missing: {what}")
  try:
    return json.loads(path.read_text())
  except json.JSONDecodeError as e:
    raise PredictError(f"{path} is not valid JSON ({e})") from None


def _checkpoint_step(workdir: pathlib.Path, step: int | None, steps: list[int]) -> int:
  if not steps:
    raise PredictError(f"{workdir / 'checkpoints'} holds no checkpoint: train the run first")
  if step is not None:
    if step not in steps:
      raise PredictError(f"--step {step}: no such checkpoint in {workdir / 'checkpoints'} "
                         f"(steps: {steps})")
    return step
  summary_path = workdir / "summary.json"
  if summary_path.is_file():
    best = json.loads(summary_path.read_text()).get("best_step")
    if best in steps:
      return best
  return steps[-1]


class Predictor:
  """A trained run loaded from its workdir: `predictor(texts)` -> one dict per text."""

  def __init__(self, workdir: str | pathlib.Path, *, step: int | None = None):
    import jax  # pylint: disable=g-import-not-at-top
    from ml_collections import config_dict  # pylint: disable=g-import-not-at-top
    from experiments import registry  # pylint: disable=g-import-not-at-top
    from skipjax.data import text  # pylint: disable=g-import-not-at-top
    from skipjax.train import checkpoint  # pylint: disable=g-import-not-at-top
    from skipjax.train import optim  # pylint: disable=g-import-not-at-top
    from skipjax.train import step as step_lib  # pylint: disable=g-import-not-at-top

    self.workdir = workdir = pathlib.Path(workdir)
    if not workdir.is_dir():
      raise PredictError(f"--workdir {workdir}: no such directory")
    config = config_dict.ConfigDict(_read_json(workdir / "config.json",
                                               "not an experiments.run workdir"))
    fields = _read_json(workdir / registry.SPEC_NAME,
                        "the run predates saved data specs; resume or rerun it with this "
                        "version of experiments.run to write it")
    vocab_path = workdir / registry.VOCAB_NAME
    if not vocab_path.is_file():
      raise PredictError(f"{vocab_path} is missing: the run's dataset has no word vocabulary "
                         "(prediction reads raw text)")
    spec = registry.spec_from_json(fields, text.Vocab.load(vocab_path))
    from skipjax.data import datasets  # pylint: disable=g-import-not-at-top
    if config.dataset not in datasets.CLASSIFICATION or spec.task != "classification":
      raise PredictError(f"{workdir} is a {config.dataset} run (task {spec.task}); prediction "
                         f"reads raw text for {', '.join(datasets.CLASSIFICATION)}")
    self.config, self.spec = config, spec
    net = config_dict.ConfigDict(config.net.to_dict())
    if "pretrained_embedding" in net:
      net.pretrained_embedding = None  # the trained table comes from the checkpoint
    model = registry.MODELS[config.model](jax.random.key(0), net, spec)
    if model.predict_fn is None:
      raise PredictError(f"model {config.model!r} has no prediction function")
    opt_kwargs = config.optimizer.to_dict()
    if opt_kwargs.get("schedule", "constant") != "constant":
      opt_kwargs.setdefault("total_steps", config.num_steps)
    template = step_lib.init_train_state(model.params, optim.make_optimizer(**opt_kwargs),
                                         model.model_state, hparams=config.hparams.to_dict())
    manager = checkpoint.CheckpointManager(workdir / "checkpoints")
    try:
      self.step = _checkpoint_step(workdir, step, manager.all_steps())
      state = manager.restore_step(self.step, template).state
    finally:
      manager.close()
    self._state = state
    self._predict = jax.jit(model.predict_fn)

  def __call__(self, texts: Sequence[str]) -> list[dict[str, Any]]:
    import jax  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top
    from skipjax.data import datasets  # pylint: disable=g-import-not-at-top
    if not texts:
      return []
    arrays = datasets.encode_texts(self.config.dataset, list(texts), self.spec.vocab,
                                   max_len=self.spec.max_len,
                                   keep=self.config.data.get("keep", "first"))
    batch = {"inputs": arrays["inputs"], "lengths": arrays["lengths"]}
    out = jax.device_get(self._predict(self._state.params, self._state.model_state, batch,
                                       self._state.hparams))
    probs = np.asarray(jax.nn.softmax(np.asarray(out["outputs"], np.float32), axis=-1))
    names = self.spec.label_names or tuple(str(i) for i in range(probs.shape[-1]))
    rows = []
    for i in range(len(texts)):
      label = int(np.argmax(probs[i]))
      row = {"label": names[label], "label_id": label,
             "probabilities": [round(float(p), 6) for p in probs[i]],
             "tokens": int(arrays["lengths"][i]),
             "cropped": int(arrays["original_lengths"][i] - arrays["lengths"][i])}
      if "fraction_computed" in out:
        row["fraction_computed"] = round(float(out["fraction_computed"][i]), 6)
      rows.append(row)
    return rows


def _read_texts(args: argparse.Namespace) -> list[str]:
  texts = list(args.text or [])
  if args.file is not None:
    if args.file == "-":
      lines = sys.stdin.read().splitlines()
    else:
      path = pathlib.Path(args.file)
      if not path.is_file():
        raise PredictError(f"--file {path}: no such file")
      lines = path.read_text(encoding="utf-8").splitlines()
    texts.extend(line for line in lines if line.strip())
  if not texts:
    raise PredictError("nothing to classify: give --text TEXT (repeatable) or --file FILE")
  return texts


def main(argv: Sequence[str] | None = None) -> int:
  parser = argparse.ArgumentParser(
      prog="python -m experiments.predict",
      description="Classify new text with a trained experiments.run workdir.")
  parser.add_argument("--workdir", required=True, help="the run's directory")
  parser.add_argument("--text", action="append", help="a text to classify (repeatable)")
  parser.add_argument("--file", help="a file with one text per line ('-': stdin)")
  parser.add_argument("--step", type=int, default=None,
                      help="checkpoint step (default: the best on dev, else the latest)")
  parser.add_argument("--batch_size", type=int, default=64, help="texts per forward pass")
  args = parser.parse_args(argv)
  try:
    if args.batch_size < 1:
      raise PredictError(f"--batch_size must be >= 1, got {args.batch_size}")
    texts = _read_texts(args)
    predictor = Predictor(args.workdir, step=args.step)
  except PredictError as e:
    print(f"FATAL {e}", file=sys.stderr)
    return exit_codes.BAD_CONFIG
  print(f"{predictor.workdir}: {predictor.config.model} on {predictor.config.dataset}, "
        f"checkpoint of step {predictor.step}", file=sys.stderr)
  for start in range(0, len(texts), args.batch_size):
    for row in predictor(texts[start:start + args.batch_size]):
      print(json.dumps(row))
  return 0


if __name__ == "__main__":
  sys.exit(main())
