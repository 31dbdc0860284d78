"""experiments.predict: a trained workdir classifies new text without the training data (issue
16 item 9), and every text model's `predict_fn` agrees with its evaluation loss."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from experiments import exit_codes
from experiments import predict
from experiments import registry
from experiments import run
from skipjax import layers
from skipjax.data import datasets
from skipjax.data import text
from skipjax.train import workdir as workdir_lib

REPO = pathlib.Path(run.__file__).resolve().parents[1]
CONFIGS = REPO / "experiments" / "configs"

VOCAB, T = 30, 9
SPEC = registry.DataSpec(task="classification", num_classes=3, vocab_size=VOCAB, input_dim=None,
                         max_len=T, num_train=100)
NETS = {
    "lstm": {"hidden_dim": 6, "embed_dim": 5},
    "bag_of_words": {"embed_dim": 5, "hidden_dim": 4},
    "skip_lstm": {"hidden_dim": 6, "embed_dim": 5},
    "skim_lstm": {"hidden_dim": 6, "small_dim": 2, "embed_dim": 5, "eval_threshold": 0.5},
    "lstm_jump": {"hidden_dim": 6, "embed_dim": 5, "read_size": 2, "num_jumps": 2,
                  "max_jump": 3},
    "dynamic_skip": {"hidden_dim": 6, "embed_dim": 5, "num_skips": 3, "agent_dim": 4},
}
HPARAMS = {"skip_lstm": {"budget_lambda": 1e-3}, "skim_lstm": {"skim_gamma": 0.01},
           "dynamic_skip": {"lam": 0.5}}


def _batch(seed=0, n=7):
  rng = np.random.default_rng(seed)
  lengths = rng.integers(1, T + 1, size=n).astype(np.int32)
  inputs = rng.integers(2, VOCAB, size=(n, T)).astype(np.int32)
  inputs[np.arange(T)[None, :] >= lengths[:, None]] = 0
  return {"inputs": inputs, "lengths": lengths,
          "labels": rng.integers(0, 3, size=n).astype(np.int32)}


def _task_loss(metrics):
  """The classification cross-entropy among a model's evaluation metrics (the 'loss' itself where
  the model has no other term)."""
  for key in ("task_loss", "cross_entropy"):
    if key in metrics:
      return metrics[key]
  return metrics["loss"]


@pytest.mark.parametrize("name", sorted(NETS))
def test_predict_fn_agrees_with_the_evaluation_loss(name):
  """The accuracy and computed fraction of predict_fn's outputs are the evaluation metrics."""
  model = registry.MODELS[name](jax.random.key(1), ml_collections.ConfigDict(NETS[name]), SPEC)
  assert model.predict_fn is not None
  batch = _batch()
  hparams = {k: jnp.float32(v) for k, v in HPARAMS.get(name, {}).items()}
  out = jax.device_get(jax.jit(model.predict_fn)(model.params, model.model_state, batch,
                                                  hparams))
  assert out["outputs"].shape == (7, 3)
  _, (_, metrics) = model.eval_loss_fn(model.params, model.model_state, batch,
                                       jax.random.key(0), hparams)
  accuracy = np.mean(np.argmax(out["outputs"], -1) == batch["labels"])
  assert float(metrics["accuracy"]) == pytest.approx(accuracy, abs=1e-6)
  np.testing.assert_allclose(
      float(jnp.mean(layers.softmax_cross_entropy(out["outputs"], batch["labels"]))),
      float(_task_loss(metrics)), rtol=1e-5)
  if "fraction_computed" in out:
    assert out["fraction_computed"].shape == (7,)
    assert float(metrics["fraction_computed"]) == pytest.approx(
        float(np.mean(out["fraction_computed"])), abs=1e-6)


def test_encode_texts_matches_the_prepared_split():
  vocab = text.Vocab([text.PAD, text.UNK, "good", "film", "!"])
  got = datasets.encode_texts("imdb", ["Good film!<br />GOOD", "bad"], vocab, max_len=3)
  np.testing.assert_array_equal(got["inputs"], [[2, 3, 4], [1, 0, 0]])
  np.testing.assert_array_equal(got["lengths"], [3, 1])
  np.testing.assert_array_equal(got["original_lengths"], [4, 1])
  rt = datasets.encode_texts("rotten_tomatoes", ["good-film !"], vocab)  # whitespace tokens
  np.testing.assert_array_equal(rt["inputs"], [[1, 4]])
  with pytest.raises(ValueError, match="not a text-classification dataset"):
    datasets.encode_texts("ptb", ["a"], vocab)
  with pytest.raises(TypeError, match="one string"):
    datasets.encode_texts("imdb", "good film", vocab)


# ------------------------------------------------------------------- a trained workdir


def _tiny_rt_config(model="lstm_rotten_tomatoes"):
  from test_config import _load  # pylint: disable=g-import-not-at-top
  config = _load(CONFIGS / f"{model}.py").get_config()
  config.net.pretrained_embedding = None
  config.net.embed_dim = config.net.hidden_dim = 8
  config.num_steps, config.eval_every, config.log_every = 6, 3, 3
  config.progress, config.tensorboard = False, False
  config.data.max_len = 12
  return config


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("rt") / "run"
  config = _tiny_rt_config()
  record = run.train_and_evaluate(config, workdir, command="test", plot=False)
  return workdir, config, record


def test_workdir_keeps_spec_and_vocabulary(trained):
  workdir, config, _ = trained
  fields = json.loads((workdir / registry.SPEC_NAME).read_text())
  assert fields["task"] == "classification" and fields["num_classes"] == 2
  assert fields["label_names"] == ["neg", "pos"] and fields["max_len"] == 12
  vocab = text.Vocab.load(workdir / registry.VOCAB_NAME)
  assert len(vocab) == fields["vocab_size"]
  train, _ = datasets.load("rotten_tomatoes", "train", max_len=12, source="local")
  del train
  assert vocab == datasets._train_vocab(  # pylint: disable=protected-access
      "rotten_tomatoes", datasets.files.resolve_data_dir(None),
      datasets.resolve_cache_dir(None), "local", config.data.min_freq, None)


def test_predictions_on_raw_test_text_reproduce_the_test_accuracy(trained):
  """Raw test sentences through the saved vocabulary and the best checkpoint give exactly the
  accuracy the run recorded on its prepared test split."""
  workdir, _, record = trained
  examples, _ = datasets.load_examples("rotten_tomatoes", "test", source="local")
  predictor = predict.Predictor(workdir)
  assert predictor.step == record["best_step"]
  rows = []
  for start in range(0, len(examples["text"]), 256):
    rows += predictor(examples["text"][start:start + 256])
  labels = np.asarray(examples["label"])
  accuracy = np.mean([r["label_id"] for r in rows] == labels)
  assert accuracy == pytest.approx(record["value"], abs=1e-6)
  assert all(r["label"] in ("neg", "pos") and abs(sum(r["probabilities"]) - 1) < 1e-4
             for r in rows)
  assert max(r["tokens"] for r in rows) == 12 and any(r["cropped"] > 0 for r in rows)


def test_resume_with_another_vocabulary_is_refused(trained, tmp_path):
  workdir, config, _ = trained
  copy = tmp_path / "run"
  subprocess.run(["cp", "-r", str(workdir), str(copy)], check=True)
  (copy / "result.json").unlink()
  vocab = text.Vocab.load(copy / registry.VOCAB_NAME)
  text.Vocab(vocab.tokens[:2] + vocab.tokens[3:] + [vocab.tokens[2]]).save(
      copy / registry.VOCAB_NAME)
  with pytest.raises(workdir_lib.ConfigMismatchError, match="another vocabulary"):
    run.train_and_evaluate(config, copy, command="test", plot=False)


def _cli(*args):
  return subprocess.run([sys.executable, "-m", "experiments.predict", *args], cwd=REPO,
                        env=dict(os.environ, PYTHONPATH=str(REPO), JAX_PLATFORMS="cpu"),
                        capture_output=True, text=True, timeout=180)


def test_cli_prints_one_json_line_per_text(trained, tmp_path):
  workdir, _, _ = trained
  texts = tmp_path / "t.txt"
  texts.write_text("a tedious , joyless film .\n\nan utterly charming delight .\n")
  proc = _cli("--workdir", str(workdir), "--text", "what a film !", "--file", str(texts))
  assert proc.returncode == 0, proc.stderr
  rows = [json.loads(line) for line in proc.stdout.splitlines()]
  assert len(rows) == 3  # the blank line is not a text
  assert {tuple(sorted(r)) for r in rows} == {
      ("cropped", "label", "label_id", "probabilities", "tokens")}
  assert rows[0]["tokens"] == 4


@pytest.mark.parametrize("args,match", [
    (["--workdir", "/nonexistent/run", "--text", "x"], "no such directory"),
    (["--workdir", "."], "nothing to classify"),
])
def test_cli_errors_are_one_fatal_line(args, match):
  proc = _cli(*args)
  assert proc.returncode == exit_codes.BAD_CONFIG
  fatal = [line for line in proc.stderr.splitlines() if line.startswith("FATAL")]
  assert len(fatal) == 1 and match in fatal[0], proc.stderr
  assert "Traceback" not in proc.stderr


def test_workdir_without_spec_names_the_file(tmp_path):
  (tmp_path / "config.json").write_text(json.dumps({"model": "lstm"}))
  with pytest.raises(predict.PredictError, match="data_spec.json is missing"):
    predict.Predictor(tmp_path)
