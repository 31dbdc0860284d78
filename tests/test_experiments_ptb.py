"""The Penn Treebank language model in the experiment registry (issue #7): the "ptb" loader,
language-model builds of dynamic_skip / lstm, the two configs, and a smoke run of
experiments.run (tiny sizes, real PTB slices)."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import jax
import numpy as np
import pytest

from experiments import build_dynamic_skip
from experiments import registry
from experiments import run
from skipjax import cells
from skipjax import dynamic_skip
from skipjax.data import files
from skipjax.train import optim

CONFIG_DIR = pathlib.Path(run.__file__).parent / "configs"
LM_SPEC = registry.DataSpec("language_model", 30, 30, None, 5, 1000, batch_size=4)

needs_ptb = pytest.mark.skipif(not files.has_file("ptb", "train", files.resolve_data_dir(None)),
                               reason="PTB raw files are not in shared/data")


def _config(name):
  spec = importlib.util.spec_from_file_location(name, CONFIG_DIR / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  assert f"--config experiments/configs/{name}.py" in module.__doc__.replace("\\\n", "")
  return module.get_config()


def _tiny_data(**overrides):
  data = _config("lstm_ptb").data
  data.update(batch_size=4, eval_batch_size=4, bptt=5, train_split="train[:30]",
              dev_split="validation[:10]", test_split="validation[:10]")
  data.update(overrides)
  return data


def _build_shapes(name, net, spec):
  """The registry's Model with params as shapes (nothing compiled)."""
  built = []

  def build(key):
    built.append(registry.MODELS[name](key, net, spec))
    return built[-1].params

  shapes = jax.eval_shape(build, jax.random.key(0))
  return built[0]._replace(params=shapes)


@needs_ptb
def test_ptb_loader_gives_consecutive_windows():
  data = registry.DATASETS["ptb"](_tiny_data(), 0)
  assert data.spec.task == "language_model" and data.spec.batch_size == 4
  assert data.spec.vocab_size == data.spec.num_classes == 10000 and data.spec.max_len == 5
  batches = [next(data.train) for _ in range(3)]
  for b in batches:
    assert b["inputs"].shape == b["labels"].shape == (4, 5)
    np.testing.assert_array_equal(b["labels"][:, :-1], b["inputs"][:, 1:])   # shifted by one
  for prev, nxt in zip(batches, batches[1:]):                                 # per row
    np.testing.assert_array_equal(nxt["inputs"][:, 0], prev["labels"][:, -1])
  np.testing.assert_array_equal([b["reset"][0] for b in batches], [1.0, 0.0, 0.0])
  # Resumable: a fresh iterator set to the saved state continues with the same window.
  state = json.loads(json.dumps(data.train.get_state()))
  want = next(data.train)
  again = registry.DATASETS["ptb"](_tiny_data(), 0).train
  again.set_state(state)
  np.testing.assert_array_equal(next(again)["inputs"], want["inputs"])
  # Dev and test: one batch each, the split's consecutive windows in stream order.
  assert len(data.dev) == len(data.test) == 1
  dev = data.dev[0]
  assert dev["inputs"].ndim == 3 and dev["inputs"].shape[1:] == (4, 5)
  np.testing.assert_array_equal(dev["inputs"][1:, :, 0], dev["labels"][:-1, :, -1])
  assert int((dev["lengths"] * dev["mask"]).sum()) > 0
  with pytest.raises(ValueError, match="bptt"):
    registry.DATASETS["ptb"](_tiny_data(bptt=None), 0)


def test_language_model_builds():
  net = {"hidden_dim": 6, "embed_dim": 4, "num_layers": 2, "skip_layers": (1,), "num_skips": 3,
         "agent_dim": 4, "init_scale": 0.05}
  model = _build_shapes("dynamic_skip", net, LM_SPEC)
  carries = model.model_state["carries"]
  assert isinstance(carries[0], cells.LSTMState) and carries[0].h.shape == (4, 6)
  assert isinstance(carries[1], dynamic_skip.SkipBuffer) and carries[1].h.shape == (4, 3, 6)
  assert model.eval_loss_fn is not model.loss_fn                      # the stream loss
  plain = {k: v for k, v in net.items() if k not in ("skip_layers", "num_skips", "agent_dim")}
  lstm = _build_shapes("lstm", plain, LM_SPEC)
  assert all(isinstance(c, cells.LSTMState) for c in lstm.model_state["carries"])
  assert isinstance(lstm.params["forward"][1], cells.LSTMParams)
  with pytest.raises(ValueError, match="'gru'"):
    _build_shapes("gru", plain, LM_SPEC)
  classification = registry.DataSpec("classification", 3, 30, None, 5, 100)
  with pytest.raises(ValueError, match="carry_state.*language-model dataset"):
    _build_shapes("dynamic_skip", {**net, "carry_state": True}, classification)
  with pytest.raises(ValueError, match="config.net.init_scale"):
    registry.MODELS["dynamic_skip"](jax.random.key(0), {**net, "init_scale": -1.0}, LM_SPEC)
  with pytest.raises(ValueError, match="batch_size"):
    _build_shapes("dynamic_skip", net, LM_SPEC._replace(batch_size=None))


def test_configs_are_the_paper_setting_and_differ_only_in_layer_two():
  dyn, lstm = _config("dynamic_skip_ptb"), _config("lstm_ptb")
  for c in (dyn, lstm):
    run.validate_config(c)
    assert (c.net.hidden_dim, c.net.embed_dim, c.net.num_layers) == (650, 650, 2)
    assert (c.data.batch_size, c.data.bptt, c.hparams.dropout, c.net.init_scale) == \
        (20, 35, 0.5, 0.05)
    assert (c.optimizer.name, c.optimizer.learning_rate, c.optimizer.clip_norm) == \
        ("sgd", 1.0, 5.0)
    assert (c.best_metric, c.best_mode, c.metric) == ("perplexity", "min", "perplexity")
  assert (dyn.paper_value, lstm.paper_value) == (78.5, 82.7)
  assert tuple(dyn.net.skip_layers) == (1,) and dyn.net.num_skips == 5 and dyn.hparams.lam == 1.0
  # Same schedule, data and shared architecture: only the second layer differs.
  for field in ("data", "optimizer", "num_steps", "eval_every", "seed"):
    assert dyn[field] == lstm[field], field
  extra = {k for k in dyn.net.keys() if k not in lstm.net} | \
      {k for k in dyn.hparams.keys() if k not in lstm.hparams}
  assert extra == {"skip_layers", "num_skips", "agent_dim", "lam", "entropy_weight",
                   "reinforce_weight"}
  # Zaremba's medium schedule: lr 1 for epochs 1-6, then x0.8 per epoch.
  epoch = 1328
  assert dyn.optimizer.transition_steps == epoch
  schedule = optim.make_schedule(
      dyn.optimizer.schedule, decay_rate=dyn.optimizer.decay_rate,
      transition_steps=dyn.optimizer.transition_steps,
      transition_begin=dyn.optimizer.transition_begin, staircase=dyn.optimizer.staircase)
  lr = [float(schedule(count)) for count in (0, 6 * epoch - 1, 6 * epoch, 7 * epoch - 1,
                                             7 * epoch, 38 * epoch)]
  np.testing.assert_allclose(lr, [1.0, 1.0, 0.8, 0.8, 0.64, 0.8 ** 33], rtol=1e-5)


@needs_ptb
def test_smoke_run_trains_evaluates_and_resumes(tmp_path):
  config = _config("dynamic_skip_ptb")
  config.net.update(hidden_dim=8, embed_dim=4, num_skips=3, agent_dim=4)
  config.data = _tiny_data()
  config.update(num_steps=2, eval_every=2, log_every=1, progress=False, tensorboard=False)
  workdir = tmp_path / "work" / "ptb"
  first = run.train_and_evaluate(config, workdir, command="test", plot=False)
  assert first["metric"] == "perplexity" and first["train_steps"] == 2
  dev, test = first["best_dev"], first["metrics"]
  assert 1.0 < test["perplexity"] < 1e5 and np.isfinite(dev["perplexity"])
  np.testing.assert_allclose(test["perplexity"], np.exp(test["nll"]), rtol=1e-6)
  assert test["count"] == dev["count"] > 0               # dev and test: the same slice here
  config.num_steps = 3
  second = run.train_and_evaluate(config, workdir, command="test", plot=False)
  assert second["train_steps"] == 3
  summary = json.loads((workdir / "summary.json").read_text())
  assert summary["resumed_from"] == 2
  record = json.loads((workdir / "result.json").read_text())
  assert record["value"] == second["value"] and record["dataset"] == "ptb"
