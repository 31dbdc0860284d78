"""fit(): exact evaluation over padded batches, early stopping, best-checkpoint test, logging."""

from __future__ import annotations

import pathlib
import struct

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax.train import loop
from skipjax.train import metrics_log
from skipjax.train.state import TrainState

from test_checkpoint import toy_data, toy_eval_step, toy_fit  # pylint: disable=g-bad-import-order


# A scripted stand-in: the "model" is just the step counter, and dev accuracy at step s is
# DEV_CURVE[s], so the expected best step and early-stopping point can be worked out by hand.
DEV_CURVE = {2: 0.5, 4: 0.7, 6: 0.6, 8: 0.7, 10: 0.65, 12: 0.9}


class CountingIterator:
  def __init__(self):
    self.pos = 0

  def __next__(self):
    self.pos += 1
    return {"inputs": np.zeros((3, 1), np.float32), "labels": np.zeros(3, np.int32)}

  def get_state(self):
    return {"pos": self.pos}

  def set_state(self, state):
    self.pos = state["pos"]


def counting_step(state, batch, key):
  del batch, key
  step = int(state.step)
  return state._replace(step=jnp.int32(step + 1),
                        params={"x": state.params["x"] + 1.0}), {"loss": float(step)}


def scripted_eval(state, batch, key):
  """Sums and count, as skipjax.train.step.make_eval_step returns them (5 examples a batch)."""
  del key
  step = int(state.step)
  # Test accuracy reveals which checkpoint was evaluated.
  accuracy = DEV_CURVE[step] if batch["split"] == "dev" else step / 100.0
  return {"accuracy": 5 * accuracy, "count": 5.0}


def counting_state():
  return TrainState(step=jnp.int32(0), params={"x": jnp.float32(0.0)}, opt_state={},
                    model_state={}, hparams={})


def counting_fit(workdir, train_step=counting_step, **config):
  config = dict(dict(num_steps=12, eval_every=2, log_every=2, progress=False), **config)
  return loop.fit(config, workdir=workdir, train_step=train_step, init_state=counting_state(),
                  train_iter=CountingIterator(), key=jax.random.key(0), eval_step=scripted_eval,
                  dev_batches=[{"split": "dev", "labels": np.zeros(5)}],
                  test_batches=[{"split": "test", "labels": np.zeros(5)}])


def test_evaluate_counts_padded_last_batch_exactly():
  x, y = toy_data(seed=3, n=10)
  params = {"w": jnp.array([[1.0, -1.0], [0.5, 0.0], [0.0, 0.3]]), "b": jnp.array([0.1, -0.1])}
  state = TrainState(jnp.int32(0), params, {}, {}, {})
  batches = []
  for start in range(0, 10, 4):  # 4, 4, then 2 real + 2 padding rows full of garbage
    xb, yb = x[start:start + 4], y[start:start + 4]
    pad = 4 - len(xb)
    batches.append({"inputs": np.concatenate([xb, np.full((pad, 3), 50.0, np.float32)]),
                    "labels": np.concatenate([yb, np.ones(pad, np.int32)]),
                    "weights": np.array([1.0] * len(xb) + [0.0] * pad, np.float32)})
  got = loop.evaluate(toy_eval_step, state, batches, jax.random.key(0), show_progress=False)
  # Independent reference: NumPy over the 10 real examples at once.
  logits = x @ np.asarray(params["w"]) + np.asarray(params["b"])
  logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
  want_loss = -logp[np.arange(10), y].mean()
  want_acc = (logits.argmax(-1) == y).mean()
  assert got["count"] == 10
  np.testing.assert_allclose(got["loss"], want_loss, rtol=1e-6)
  np.testing.assert_allclose(got["accuracy"], want_acc, rtol=1e-6)


def test_evaluate_rejects_one_shot_iterator_and_empty_set():
  key = jax.random.key(0)
  with pytest.raises(TypeError, match="re-iterable"):
    loop.evaluate(toy_eval_step, None, iter([{"labels": np.zeros(1)}]), key, show_progress=False)
  with pytest.raises(ValueError, match="'dev' has no batches"):
    loop.evaluate(scripted_eval, None, [], key, desc="dev", show_progress=False)
  # A function returning a fresh iterator per pass is accepted.
  got = loop.evaluate(scripted_eval, counting_state()._replace(step=jnp.int32(4)),
                      lambda: iter([{"split": "dev"}] * 2), key, show_progress=False)
  assert got == {"accuracy": 0.7, "count": 10.0}


def test_best_checkpoint_and_logged_means(tmp_path):
  result = counting_fit(tmp_path)
  s = result.summary
  assert s["steps"] == 12 and not s["stopped_early"]
  assert s["best_step"] == 12 and s["best_dev"]["accuracy"] == 0.9
  assert s["test"]["accuracy"] == pytest.approx(0.12)
  records = metrics_log.read_jsonl(tmp_path / metrics_log.JSONL_NAME)
  assert [r["step"] for r in records] == [2, 4, 6, 8, 10, 12, 12]
  # Training loss logged at step 4 is the mean over steps 2 and 3 (loss = step index).
  assert records[1]["train/loss"] == 2.5
  assert records[1]["dev/accuracy"] == 0.7
  assert records[-1]["test/accuracy"] == pytest.approx(0.12)


def test_early_stopping_tests_best_checkpoint(tmp_path):
  # Best 0.7 at step 4; step 6 (0.6), 8 (0.7, not strictly better) -> patience 2 stops at 8.
  result = counting_fit(tmp_path, early_stopping_patience=2)
  s = result.summary
  assert s["stopped_early"] and s["steps"] == 8
  assert s["best_step"] == 4 and s["best_dev"]["accuracy"] == 0.7
  assert s["test"]["accuracy"] == pytest.approx(0.04)  # evaluated on the step-4 checkpoint
  assert float(result.best_state.params["x"]) == 4.0
  assert float(result.state.params["x"]) == 8.0

  def must_not_train(*args):
    raise AssertionError("a finished run must not train again")

  again = counting_fit(tmp_path, train_step=must_not_train, early_stopping_patience=2)
  assert again.summary["resumed_from"] == 8 and again.summary["best_step"] == 4
  assert again.summary["test"]["accuracy"] == pytest.approx(0.04)


def _read_tfrecords(path: pathlib.Path) -> list[bytes]:
  data, records, i = path.read_bytes(), [], 0
  while i < len(data):
    (length,) = struct.unpack("<Q", data[i:i + 8])
    records.append(data[i + 12:i + 12 + length])
    i += 12 + length + 4
  return records


def test_tensorboard_events_hold_scalars(tmp_path):
  counting_fit(tmp_path, num_steps=4)
  from tensorboardX.proto import event_pb2  # pylint: disable=g-import-not-at-top
  files = list((tmp_path / metrics_log.TENSORBOARD_DIR).glob("events.out.tfevents.*"))
  assert len(files) == 1
  scalars = {}
  for raw in _read_tfrecords(files[0]):
    event = event_pb2.Event.FromString(raw)
    for value in event.summary.value:
      scalars[(value.tag, event.step)] = value.simple_value
  assert scalars[("train/loss", 2)] == 0.5
  assert scalars[("dev/accuracy", 4)] == pytest.approx(0.7)
  assert scalars[("test/accuracy", 4)] == pytest.approx(0.04)
  assert not [tag for tag, _ in scalars if tag.endswith("/count")]  # not a curve


def _tensorboard_summaries(workdir):
  """(tag, step, plugin name, value) of every summary value in the run's event files."""
  from tensorboardX.proto import event_pb2  # pylint: disable=g-import-not-at-top
  values = []
  for path in sorted((workdir / metrics_log.TENSORBOARD_DIR).glob("events.out.tfevents.*")):
    for raw in _read_tfrecords(path):
      event = event_pb2.Event.FromString(raw)
      for value in event.summary.value:
        values.append((value.tag, event.step, value.metadata.plugin_data.plugin_name, value))
  return values


def test_tensorboard_gets_the_config_and_hparams_once(tmp_path):
  counting_fit(tmp_path, num_steps=4, metric="accuracy", net={"hidden_dim": 8})
  counting_fit(tmp_path, num_steps=6, metric="accuracy", net={"hidden_dim": 8})  # resumed
  values = _tensorboard_summaries(tmp_path)
  texts = [v for tag, _, plugin, v in values if plugin == "text"]
  assert len(texts) == 1 and texts[0].tag == "config/text_summary"  # once, not per resume
  text = b"".join(texts[0].tensor.string_val).decode()
  assert '"hidden_dim": 8' in text and '"num_steps": 4' in text
  from tensorboardX.proto import plugin_hparams_pb2  # pylint: disable=g-import-not-at-top
  hparams = {tag: plugin_hparams_pb2.HParamsPluginData.FromString(v.metadata.plugin_data.content)
             for tag, _, plugin, v in values if plugin == "hparams"}
  assert sorted(hparams) == ["_hparams_/experiment", "_hparams_/session_start_info"]
  start = hparams["_hparams_/session_start_info"].session_start_info.hparams
  assert start["net.hidden_dim"].number_value == 8 and start["metric"].string_value == (
      "accuracy")
  metrics = [m.name.tag for m in hparams["_hparams_/experiment"].experiment.metric_infos]
  assert metrics == ["train/loss", "dev/accuracy", "test/accuracy"]


def _progress_lines(capsys, **kwargs):
  bar = metrics_log.Progress(4, initial=1, desc="train", plain=True, interval=0.0, **kwargs)
  for _ in range(3):
    bar.update(1, examples=8)
  bar.set_metrics({"loss": 0.25})
  bar.write("step 4: dev/accuracy=0.5000")
  bar.close()
  return capsys.readouterr().err


def test_progress_is_plain_lines_off_a_terminal(capsys, monkeypatch):
  err = _progress_lines(capsys)
  lines = err.splitlines()
  assert "\r" not in err and len(lines) == 5
  assert lines[0].startswith("train: step 2/4 (50%), ") and "steps/s, ETA " in lines[0]
  assert lines[3] == "step 4: dev/accuracy=0.5000"
  assert lines[4].startswith("train: step 4/4 (100%), ") and "elapsed" in lines[4]
  assert lines[4].endswith("loss=0.25")
  assert _progress_lines(capsys, enabled=False) == ""
  # The default (plain=None) looks at stderr: a pipe or file gets lines, a terminal a bar.
  monkeypatch.setattr(metrics_log, "stderr_is_terminal", lambda: False)
  bar = metrics_log.Progress(2, interval=0.0)
  bar.update(1)
  bar.close()
  assert capsys.readouterr().err.startswith("train: step 1/2 (50%)")
  items = list(metrics_log.progress(range(3), desc="dev@4", interval=0.0))
  assert items == [0, 1, 2]
  assert capsys.readouterr().err.splitlines()[-1].startswith("dev@4: 3/3 batches in ")
  monkeypatch.setattr(metrics_log, "stderr_is_terminal", lambda: True)
  bar = metrics_log.Progress(2, interval=0.0)
  bar.update(1)
  bar.close()
  assert "\r" in capsys.readouterr().err  # tqdm


def test_real_training_improves_toy(tmp_path):
  result, _ = toy_fit(tmp_path, 12)
  dev_losses = [r["dev/loss"] for r in metrics_log.read_jsonl(tmp_path / metrics_log.JSONL_NAME)
                if "dev/loss" in r]
  assert len(dev_losses) == 3 and dev_losses[-1] < dev_losses[0]
  assert result.summary["examples_seen"] == 48
  assert result.summary["train_seconds"] > 0


@pytest.mark.parametrize("field,value,match", [
    ("num_steps", 0, "num_steps"), ("eval_every", -1, "eval_every"),
    ("log_every", 0, "log_every"), ("best_mode", "up", "best_mode"),
    ("keep_checkpoints", 0, "keep_checkpoints"), ("early_stopping_patience", 1.5, "patience")])
def test_bad_loop_config(field, value, match):
  config = {"num_steps": 10, field: value}
  with pytest.raises(ValueError, match=match):
    loop.LoopConfig.from_config(config)


def test_iterator_requirements(tmp_path):
  with pytest.raises(TypeError, match="get_state"):
    loop.fit({"num_steps": 2, "progress": False}, workdir=tmp_path, train_step=counting_step,
             init_state=counting_state(), train_iter=iter([]), key=jax.random.key(0))

  class Finite(CountingIterator):
    def __next__(self):
      if self.pos == 3:
        raise StopIteration
      return super().__next__()

  with pytest.raises(ValueError, match="ran out of batches after step 3"):
    loop.fit({"num_steps": 5, "progress": False}, workdir=tmp_path / "f", train_step=counting_step,
             init_state=counting_state(), train_iter=Finite(), key=jax.random.key(0))


def test_best_metric_must_exist(tmp_path):
  with pytest.raises(ValueError, match="best_metric 'f1'"):
    counting_fit(tmp_path, best_metric="f1")


# ---------------------------------------------------------------- NaN stops, restarts (issue 11)


def _diverging_step(bad_step, field="loss", params_only=False):
  """counting_step, except that the update producing step `bad_step` gives a non-finite `field`
  (or, params_only, non-finite parameters with a finite loss)."""
  def step_fn(state, batch, key):
    state, metrics = counting_step(state, batch, key)
    metrics = dict(metrics, grad_norm=1.0)
    if int(state.step) >= bad_step:
      if params_only:
        state = state._replace(params={"x": jnp.float32(jnp.inf)})
      else:
        metrics[field] = float("nan") if field == "loss" else float("inf")
    return state, metrics
  return step_fn


@pytest.mark.parametrize("field", ["loss", "grad_norm"])
def test_non_finite_loss_or_gradient_stops_the_run(tmp_path, field):
  with pytest.raises(loop.NonFiniteError,
                     match=rf"non-finite train/{field} \((nan|inf)\) at step 5; the last finite "
                           rf"checkpoint is step 4 \({tmp_path / 'checkpoints' / '4'}\)") as error:
    counting_fit(tmp_path, train_step=_diverging_step(5, field), log_every=3)
  assert (error.value.step, error.value.last_checkpoint) == (5, 4)
  # Nothing after the bad step was saved or summarised; the log stops before it.
  assert ckpt_steps(tmp_path) == [2, 4]
  assert not (tmp_path / loop.SUMMARY_NAME).exists()
  assert [r["step"] for r in metrics_log.read_jsonl(tmp_path / "metrics.jsonl")] == [2, 3, 4]


def test_non_finite_state_is_never_saved(tmp_path):
  # Found when saving step 4 (the loss stays finite): step 2 is the last checkpoint.
  with pytest.raises(loop.NonFiniteError, match=r"value in the state, .params\['x'\] .* at "
                                                r"step 4; the last finite checkpoint is step 2"):
    counting_fit(tmp_path, train_step=_diverging_step(3, params_only=True), eval_every=0,
                 checkpoint_every=2, log_every=100, num_steps=8)
  assert ckpt_steps(tmp_path) == [2]


def test_diverging_before_any_checkpoint_says_so(tmp_path):
  with pytest.raises(loop.NonFiniteError, match="at step 1; no checkpoint was saved before it"):
    counting_fit(tmp_path, train_step=_diverging_step(1), log_every=1)


def ckpt_steps(workdir):
  return sorted(int(p.name) for p in (workdir / "checkpoints").iterdir() if p.name.isdigit())


class Interrupted(Exception):
  pass


def test_restart_from_scratch_replaces_the_log_and_says_why(tmp_path, capsys):
  def dies_at_3(state, batch, key):
    if int(state.step) == 3:
      raise Interrupted()
    return counting_step(state, batch, key)

  # Killed before its first checkpoint (at 4), after logging steps 1-3.
  with pytest.raises(Interrupted):
    counting_fit(tmp_path, train_step=dies_at_3, eval_every=4, log_every=1)
  assert ckpt_steps(tmp_path) == []
  counting_fit(tmp_path, eval_every=4, log_every=1)
  steps = [r["step"] for r in metrics_log.read_jsonl(tmp_path / "metrics.jsonl")]
  assert steps == list(range(1, 13)) + [12]  # once each (+ the test record), not 1,2,3,1,2,...
  capsys.readouterr()

  # Every checkpoint damaged: the run starts over and says so.
  for step in ckpt_steps(tmp_path):
    (tmp_path / "checkpoints" / str(step) / "skipjax_files.json").unlink()
  with pytest.warns(Warning):
    result = counting_fit(tmp_path, eval_every=4, log_every=1)
  err = capsys.readouterr().err
  assert (f"starting from scratch: all 2 checkpoints were unreadable (moved to "
          f"{tmp_path / 'checkpoints_corrupt'})") in err
  assert result.summary["resumed_from"] is None
  steps = [r["step"] for r in metrics_log.read_jsonl(tmp_path / "metrics.jsonl")]
  assert steps == list(range(1, 13)) + [12]


def test_resume_is_reported(tmp_path, capsys):
  counting_fit(tmp_path, num_steps=4)
  capsys.readouterr()
  counting_fit(tmp_path, num_steps=6)
  assert (f"resumed from step 4 (checkpoint {tmp_path / 'checkpoints' / '4'})"
          in capsys.readouterr().err)
