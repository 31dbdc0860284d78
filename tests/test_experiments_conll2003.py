"""CoNLL-2003 NER in the experiments: the dynamic-skip and plain bi-LSTM taggers with entity F1
(experiments/configs/{dynamic_skip,lstm}_conll2003.py, experiments/registry.py)."""

from __future__ import annotations

import importlib.util
import json
import os
import pathlib

import jax
import ml_collections
import numpy as np
import pytest

from experiments import build_dynamic_skip
from experiments import registry
from experiments import run
from skipjax import conlleval
from skipjax import dynamic_skip
from skipjax.data import builders
from skipjax.data import datasets
from skipjax.data import files
from skipjax.train import optim
from skipjax.train import step as step_lib

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "experiments" / "configs"
TFDS_CACHE = pathlib.Path(os.environ.get("SKIPJAX_TEST_TFDS_DIR", REPO / ".cache" / "tfds"))
TAGS = tuple(builders.CONLL_NER_TAGS)
SPEC = registry.DataSpec("sequence", len(TAGS), 20, None, 7, None, tag_names=TAGS)
TINY_NET = {"dynamic_skip": dict(embed_dim=4, hidden_dim=6, bidirectional=True, num_skips=3,
                                 agent_dim=4, pretrained_embedding=None),
            "lstm": dict(embed_dim=4, hidden_dim=6, bidirectional=True)}


def _config(name: str) -> ml_collections.ConfigDict:
  spec = importlib.util.spec_from_file_location(name, CONFIG_DIR / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.get_config()


def test_eval_f1_over_batches_equals_conlleval():
  """Split-level F1 from the eval loss's chunk counts, summed over padded batches of different
  lengths, equals skipjax.conlleval on the model's greedy tags. The plain tagger ("lstm") is
  checked: the chunk counts are the same code for every cell of `dynamic_skip.make_loss_fn`, and
  the dynamic-skip tagger's eval runs in test_two_step_run_reports_test_f1 (kept fast: a
  dynamic-skip program takes ~4x as long to compile)."""
  net = ml_collections.ConfigDict(TINY_NET["lstm"])
  model = registry.MODELS["lstm"](jax.random.key(0), net, SPEC)
  config = build_dynamic_skip.model_config(net, SPEC, cell="lstm")
  assert config.cell == "lstm" and config.bidirectional
  rng = np.random.default_rng(0)
  inputs = rng.integers(1, 20, (11, 7)).astype(np.int32)
  lengths = rng.integers(1, 8, 11).astype(np.int32)
  hparams = {"lam": 0.5}
  predict = jax.jit(dynamic_skip.predict, static_argnums=(1, 2))
  logits, _ = predict(model.params, config, "tagging", inputs, lengths, hparams)
  pred = np.asarray(np.argmax(logits, -1))
  # Gold = the model's own tags with ~40% replaced: some chunks right, some wrong.
  labels = np.where(rng.random(pred.shape) < 0.6, pred, rng.integers(0, len(TAGS), pred.shape))
  labels = labels.astype(np.int32)
  # Batches of 4: the last holds 3 real rows and a masked copy of one of them.
  batches = []
  for start in range(0, 11, 4):
    idx = np.arange(start, min(start + 4, 11))
    mask = np.ones(4, np.float32)
    if len(idx) < 4:
      mask[len(idx):] = 0.0
      idx = np.concatenate([idx, idx[:4 - len(idx)]])
    batches.append({"inputs": inputs[idx], "lengths": lengths[idx], "labels": labels[idx],
                    "mask": mask})
  state = step_lib.init_train_state(model.params, optim.make_optimizer("adam", 1e-3),
                                    model.model_state, hparams=hparams)
  got = step_lib.evaluate(jax.jit(step_lib.make_eval_step(model.eval_loss_fn)), state, batches,
                          jax.random.key(1))
  want = conlleval.evaluate(conlleval.ids_to_tags(labels, lengths, TAGS),
                            conlleval.ids_to_tags(pred, lengths, TAGS))
  assert 0 < want.correct_chunks < min(want.found_guessed, want.found_correct)
  assert got["chunks_correct"] == pytest.approx(want.correct_chunks, rel=1e-5)
  assert got["chunks_guessed"] == pytest.approx(want.found_guessed, rel=1e-5)
  assert got["chunks_gold"] == pytest.approx(want.found_correct, rel=1e-5)
  assert got["f1"] == pytest.approx(want.f1 / 100, rel=1e-5)
  assert got["precision"] == pytest.approx(want.precision / 100, rel=1e-5)
  assert got["recall"] == pytest.approx(want.recall / 100, rel=1e-5)
  assert got["count"] == lengths.sum()  # weighted by tokens
  assert got["accuracy"] == pytest.approx(want.accuracy / 100, rel=1e-5)
  # Training reports no chunk counts (they need the argmax tags only at evaluation).
  _, (_, train_metrics) = jax.eval_shape(model.loss_fn, model.params, model.model_state,
                                         batches[0], jax.random.key(2), hparams)
  assert "count" in train_metrics and "chunks_correct" not in train_metrics


def test_tagger_losses_check_tag_names():
  config = build_dynamic_skip.model_config(ml_collections.ConfigDict(TINY_NET["lstm"]), SPEC,
                                           cell="lstm")
  with pytest.raises(ValueError, match="applies to task 'tagging'"):
    dynamic_skip.make_loss_fn(config, "classification", tag_names=TAGS)
  with pytest.raises(ValueError, match="tag_names has 3 tags but the model has num_outputs=9"):
    dynamic_skip.make_loss_fn(config, "tagging", tag_names=("O", "B-PER", "I-PER"))
  with pytest.raises(ValueError, match="IOB tags only"):
    dynamic_skip.make_loss_fn(config, "tagging", tag_names=("S-PER",) + TAGS[1:])


def test_configs_share_the_setting_and_rank_by_f1():
  dyn, lstm = _config("dynamic_skip_conll2003"), _config("lstm_conll2003")
  fixed = _config("fixed_skip3_conll2003")
  for c in (dyn, lstm, fixed):
    run.validate_config(c)
    assert c.dataset == "conll2003" and c.metric == c.best_metric == "f1"
    assert c.best_mode == "max" and c.net.bidirectional and c.net.num_layers == 1
    assert (c.net.hidden_dim, c.net.embed_dim, c.data.batch_size) == (200, 100, 32)
    assert c.optimizer.learning_rate == 1e-3 and c.hparams.dropout == 0.5
    # The paper's taggers read characters: Ma & Hovy's CNN over words of up to 64 characters.
    assert c.data.char_len == 64
    assert c.net.pretrained_embedding == "word2vec_imdb"
    assert (c.net.char_embed_dim, c.net.char_filters, c.net.char_kernel) == (30, 30, 3)
  assert (dyn.model, lstm.model, fixed.model) == ("dynamic_skip", "lstm", "fixed_skip_lstm")
  assert dyn.paper_value == 0.9156 and lstm.paper_value is None and fixed.paper_value == 0.9114
  assert (dyn.net.num_skips, dyn.hparams.lam, dyn.hparams.entropy_weight) == (5, 0.5, 1.0)
  attention = _config("attention_skip_conll2003")
  run.validate_config(attention)
  assert (attention.model, attention.paper_value) == ("attention_skip_lstm", 0.9123)
  assert (attention.net.num_skips, attention.hparams.lam) == (5, 0.5)
  assert attention.data.to_dict() == dyn.data.to_dict()
  assert (fixed.net.fixed_skip, fixed.hparams.lam) == (3, 0.5)
  # Same data, optimiser and budget; only the cell's own settings differ.
  for c in (lstm, fixed):
    assert dyn.data.to_dict() == c.data.to_dict() and dyn.num_steps == c.num_steps
    assert dyn.optimizer.to_dict() == c.optimizer.to_dict()


def test_the_dataset_gives_the_character_vocabulary():
  """A spec with char_vocab_size (config.data.char_len) builds a tagger with a character CNN of
  that vocabulary; config.net cannot set it."""
  net = ml_collections.ConfigDict(dict(TINY_NET["lstm"], char_filters=5))
  config = build_dynamic_skip.model_config(net, SPEC._replace(char_vocab_size=13), cell="lstm")
  assert (config.char_vocab_size, config.char_filters, config.token_dim) == (13, 5, 9)
  assert build_dynamic_skip.model_config(net, SPEC, cell="lstm").char_vocab_size == 0
  with pytest.raises(ValueError, match="config.net.char_vocab_size: comes from the dataset"):
    build_dynamic_skip.model_config(ml_collections.ConfigDict(dict(net, char_vocab_size=13)),
                                    SPEC, cell="lstm")


@pytest.mark.skipif(not files.DEFAULT_DATA_DIR.is_dir(),
                    reason=f"shared data dir {files.DEFAULT_DATA_DIR} is absent")
def test_two_step_run_reports_test_f1(tmp_path):
  config = _config("dynamic_skip_conll2003")
  config.net.update(TINY_NET["dynamic_skip"])
  config.data.update(train_split="train[:48]", dev_split="validation[:24]",
                     test_split="test[:24]", batch_size=16, eval_batch_size=24, max_len=20,
                     bucket_boundaries=None, cache_dir=str(TFDS_CACHE))
  config.update(num_steps=2, eval_every=2, log_every=1, progress=False, tensorboard=False)
  assert config.data.char_len == 64  # the run reads characters through the character CNN
  result = run.train_and_evaluate(config, tmp_path / "work" / "tiny", command="pytest",
                                  plot=False)
  record = json.loads((tmp_path / "work" / "tiny" / "result.json").read_text())
  spec = json.loads((tmp_path / "work" / "tiny" / "data_spec.json").read_text())
  assert spec["char_vocab_size"] > 2
  assert record["metric"] == "f1" and record["value"] == result["value"]
  assert 0.0 <= record["value"] <= 1.0 and record["best_step"] == 2
  assert 0.0 <= record["best_dev"]["f1"] <= 1.0
  # Gold chunks of the 24 test sentences (cropped to 20 tokens), counted by conlleval.
  _, info = datasets.load("conll2003", "test[:24]", cache_dir=TFDS_CACHE)
  tags = [s[:20] for s in info.extras["tags"]]
  assert record["metrics"]["chunks_gold"] == pytest.approx(
      conlleval.evaluate(tags, tags).found_correct)
