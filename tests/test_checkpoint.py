"""Checkpoints: round trip, keep-N + best, damaged checkpoints, and exact resumption of fit().

The toy problem defined here (a softmax regression trained by skipjax.train.step with Adam, plus
per-step gradient noise drawn from the step key, fed by a small shuffling iterator with
get_state/set_state standing in for skipjax.data) is reused by test_loop.py.
"""

from __future__ import annotations

import json
import os
import pathlib

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import layers
from skipjax.train import checkpoint as ckpt
from skipjax.train import loop
from skipjax.train import metrics_log
from skipjax.train import optim
from skipjax.train import state as state_lib
from skipjax.train import step as step_lib
from skipjax.train.state import TrainState

NUM_EXAMPLES, DIM, CLASSES, BATCH = 10, 3, 2, 4


def toy_data(seed: int = 0, n: int = NUM_EXAMPLES):
  rng = np.random.default_rng(seed)
  x = rng.normal(size=(n, DIM)).astype(np.float32)
  y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int32)
  return x, y


class ToyIterator:
  """Infinite shuffled batches; epoch e uses permutation default_rng([seed, e]). State is JSON."""

  def __init__(self, x, y, batch_size=BATCH, seed=0):
    self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
    self.epoch, self.pos = 0, 0

  def __iter__(self):
    return self

  def __next__(self):
    idx = []
    while len(idx) < self.batch_size:
      perm = np.random.default_rng([self.seed, self.epoch]).permutation(len(self.x))
      take = min(self.batch_size - len(idx), len(self.x) - self.pos)
      idx.extend(perm[self.pos:self.pos + take])
      self.pos += take
      if self.pos == len(self.x):
        self.epoch, self.pos = self.epoch + 1, 0
    idx = np.asarray(idx)
    return {"inputs": self.x[idx], "labels": self.y[idx]}

  def get_state(self):
    return {"epoch": self.epoch, "pos": self.pos}

  def set_state(self, state):
    self.epoch, self.pos = state["epoch"], state["pos"]


def toy_loss_fn(params, model_state, batch, key, hparams):
  """Softmax regression following the loss protocol, plus a noise term drawn from `key`."""
  del hparams
  logits = batch["inputs"] @ params["w"] + params["b"]
  nll = layers.softmax_cross_entropy(logits, batch["labels"])
  w = state_lib.example_weights(batch, logits.shape[0])
  loss = state_lib.weighted_mean(nll, w)
  acc = state_lib.weighted_mean(layers.accuracy(logits, batch["labels"]), w)
  # Gradient noise 0.5 * N(0, 1) from the step key: a resumed run that used other keys would end
  # elsewhere.
  leaves, treedef = jax.tree.flatten(params)
  keys = jax.random.split(key, len(leaves))
  noise = [jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)]
  noisy = loss + 0.5 * sum(jnp.vdot(n, p) for n, p in zip(noise, leaves))
  return noisy, (model_state, {"loss": loss, "accuracy": acc, "count": jnp.sum(w)})


OPTIMIZER = optim.make_optimizer("adam", 0.1)
toy_train_step = step_lib.jit_train_step(step_lib.make_train_step(toy_loss_fn, OPTIMIZER))
toy_eval_step = jax.jit(step_lib.make_eval_step(toy_loss_fn))


def toy_init_state():
  params = {"w": jnp.zeros((DIM, CLASSES)), "b": jnp.zeros((CLASSES,))}
  return step_lib.init_train_state(params, OPTIMIZER, hparams={"scale": 1.0})


def toy_fit(workdir, num_steps, *, train_step=toy_train_step, seed=1, dev=None, **config):
  x, y = toy_data()
  config = dict(dict(num_steps=num_steps, eval_every=4, log_every=2, checkpoint_every=0,
                     keep_checkpoints=2, progress=False), **config)
  train_iter = ToyIterator(x, y)
  result = loop.fit(config, workdir=workdir, train_step=train_step, init_state=toy_init_state(),
                    train_iter=train_iter, key=jax.random.key(seed), eval_step=toy_eval_step,
                    dev_batches=dev if dev is not None else [{"inputs": x, "labels": y}])
  return result, train_iter


class Killed(Exception):
  pass


def killed_at(step_to_die):
  def step_fn(state, batch, key):
    if int(state.step) == step_to_die:
      raise Killed()
    return toy_train_step(state, batch, key)
  return step_fn


def _without_time(records):
  return [{k: v for k, v in r.items() if k not in ("time", "train/examples_per_second")}
          for r in records]


# ---------------------------------------------------------------- CheckpointManager


def test_round_trip_preserves_state_and_loop(tmp_path):
  state = toy_init_state()
  state = state._replace(step=jnp.int32(7), params={"w": jnp.arange(6.).reshape(3, 2),
                                                     "b": jnp.array([1., -2.])})
  template = toy_init_state()
  manager = ckpt.CheckpointManager(tmp_path / "c", keep=2)
  manager.save(7, state, {"data": {"epoch": 2, "pos": 3}, "best_value": None})
  restored = manager.restore_latest(template)
  manager.close()
  assert restored.step == 7
  assert isinstance(restored.state, TrainState)
  assert restored.loop == {"data": {"epoch": 2, "pos": 3}, "best_value": None}
  np.testing.assert_array_equal(restored.state.params["w"], np.arange(6.).reshape(3, 2))
  np.testing.assert_array_equal(restored.state.params["b"], [1., -2.])
  assert int(restored.state.step) == 7
  chex.assert_trees_all_equal_structs(restored.state, state)


def test_save_is_asynchronous_and_survives_deleted_arrays(tmp_path):
  # save() returns once orbax holds host copies: the caller may donate or delete the arrays at
  # once (the train step donates its state) and the written checkpoint is still the saved one.
  state = toy_init_state()._replace(step=jnp.int32(3),
                                    params={"w": jnp.arange(6.).reshape(3, 2) + 0.5,
                                            "b": jnp.array([4., 5.])})
  manager = ckpt.CheckpointManager(tmp_path / "c", keep=2)
  manager.save(3, state, {"pos": 1})
  assert manager._pending == 3  # pylint: disable=protected-access
  for leaf in jax.tree.leaves(state):
    leaf.delete()
  assert manager.all_steps() == [3]  # waits for the write and records the manifest
  assert manager._pending is None  # pylint: disable=protected-access
  assert ckpt.verify_manifest(manager.step_dir(3)) is None
  restored = manager.restore_latest(toy_init_state())
  manager.close()
  np.testing.assert_array_equal(restored.state.params["w"], np.arange(6.).reshape(3, 2) + 0.5)
  np.testing.assert_array_equal(restored.state.params["b"], [4., 5.])


def test_unfinished_background_save_is_not_restored(tmp_path):
  # A process killed before a background save finished leaves a step without a manifest: the
  # next run falls back to the previous checkpoint with a warning instead of trusting it.
  manager = ckpt.CheckpointManager(tmp_path / "c", keep=3)
  manager.save(1, toy_init_state()._replace(step=jnp.int32(1)), {"pos": 1})
  manager.save(2, toy_init_state()._replace(step=jnp.int32(2)), {"pos": 2})
  manager._manager.wait_until_finished()  # pylint: disable=protected-access
  assert not (manager.step_dir(2) / ckpt.MANIFEST_NAME).exists()  # what a kill leaves
  manager._pending = None  # the process dies here: nothing finishes step 2  # pylint: disable=protected-access
  with pytest.warns(ckpt.CorruptCheckpointWarning, match="2"):
    restored = ckpt.CheckpointManager(tmp_path / "c", keep=3).restore_latest(toy_init_state())
  assert restored.step == 1 and restored.loop == {"pos": 1}


def test_keeps_latest_n_and_best(tmp_path):
  manager = ckpt.CheckpointManager(tmp_path / "c", keep=2, best_metric="accuracy")
  state = toy_init_state()
  # step: metrics (None = periodic save without metrics)
  for step, acc in [(1, 0.5), (2, 0.9), (3, None), (4, 0.6), (5, None), (6, None)]:
    manager.save(step, state, {"step": step}, metrics=None if acc is None else {"accuracy": acc})
  assert manager.all_steps() == [2, 5, 6]  # latest two + best (0.9 at step 2)
  manager.close()


def test_keep_best_min_mode(tmp_path):
  manager = ckpt.CheckpointManager(tmp_path / "c", keep=1, best_metric="loss", best_mode="min")
  for step, loss in [(1, 3.0), (2, 1.0), (3, 2.0), (4, 0.5), (5, 4.0)]:
    manager.save(step, toy_init_state(), {}, metrics={"loss": loss})
  assert manager.all_steps() == [4, 5]
  manager.close()


def test_save_rejects_missing_best_metric_and_bad_keep(tmp_path):
  with pytest.raises(ValueError, match="keep"):
    ckpt.CheckpointManager(tmp_path / "a", keep=0)
  with pytest.raises(ValueError, match="best_mode"):
    ckpt.CheckpointManager(tmp_path / "b", best_mode="up")
  manager = ckpt.CheckpointManager(tmp_path / "c", best_metric="accuracy")
  with pytest.raises(ValueError, match="accuracy"):
    manager.save(1, toy_init_state(), {}, metrics={"loss": 1.0})
  manager.close()


def _largest_file(step_dir: pathlib.Path) -> pathlib.Path:
  files = [p for p in step_dir.rglob("*") if p.is_file() and p.name != ckpt.MANIFEST_NAME]
  return max(files, key=lambda p: p.stat().st_size)


@pytest.mark.parametrize("damage", ["truncate", "delete", "no_manifest"])
def test_damaged_latest_falls_back_with_warning(tmp_path, damage):
  manager = ckpt.CheckpointManager(tmp_path / "c", keep=3)
  for step in (1, 2):
    state = toy_init_state()._replace(step=jnp.int32(step),
                                      params={"w": jnp.full((DIM, CLASSES), float(step)),
                                              "b": jnp.zeros(CLASSES)})
    manager.save(step, state, {"step": step})
  manager.close()
  step_dir = tmp_path / "c" / "2"
  victim = _largest_file(step_dir)
  if damage == "truncate":
    with open(victim, "r+b") as f:
      f.truncate(victim.stat().st_size // 2)
  elif damage == "delete":
    victim.unlink()
  else:
    (step_dir / ckpt.MANIFEST_NAME).unlink()

  manager = ckpt.CheckpointManager(tmp_path / "c", keep=3)
  with pytest.warns(ckpt.CorruptCheckpointWarning, match=str(step_dir)):
    restored = manager.restore_latest(toy_init_state())
  assert restored.step == 1
  np.testing.assert_array_equal(restored.state.params["w"], np.ones((DIM, CLASSES)))
  # The damaged step was moved aside, so it can be written again.
  assert manager.all_steps() == [1]
  assert len(list((tmp_path / "c_corrupt").iterdir())) == 1
  manager.close()


def test_restore_step_names_damaged_file(tmp_path):
  manager = ckpt.CheckpointManager(tmp_path / "c")
  manager.save(3, toy_init_state(), {})
  manager.finish()  # the files are written in the background until then
  victim = _largest_file(tmp_path / "c" / "3")
  victim.unlink()
  with pytest.raises(ckpt.CorruptCheckpointError, match=f"{victim} is missing"):
    manager.restore_step(3, toy_init_state())
  manager.close()


# ---------------------------------------------------------------- exact resumption through fit()


def _params(result):
  return jax.device_get(result.state.params)


def test_fit_killed_mid_run_resumes_to_identical_params(tmp_path):
  full, full_iter = toy_fit(tmp_path / "full", 12)
  # Killed before step 11's update; the last checkpoint is at step 8 (eval_every=4).
  with pytest.raises(Killed):
    toy_fit(tmp_path / "killed", 12, train_step=killed_at(10))
  assert ckpt.CheckpointManager(tmp_path / "killed" / "checkpoints").all_steps() == [4, 8]
  resumed, resumed_iter = toy_fit(tmp_path / "killed", 12)

  assert resumed.summary["resumed_from"] == 8
  chex.assert_trees_all_equal(_params(resumed), _params(full))
  chex.assert_trees_all_equal(jax.device_get(resumed.state.opt_state),
                              jax.device_get(full.state.opt_state))
  # 12 steps x 4 examples = 48 = 4 epochs of 10 + 8: the iterator resumed at the right position.
  assert full_iter.get_state() == resumed_iter.get_state() == {"epoch": 4, "pos": 8}
  assert resumed.summary["best_step"] == full.summary["best_step"]
  assert resumed.summary["best_dev"] == full.summary["best_dev"]
  # The log of steps 9-10 written before the kill was replaced, not duplicated.
  killed_log = metrics_log.read_jsonl(tmp_path / "killed" / metrics_log.JSONL_NAME)
  full_log = metrics_log.read_jsonl(tmp_path / "full" / metrics_log.JSONL_NAME)
  assert [r["step"] for r in killed_log] == [2, 4, 6, 8, 10, 12]
  assert _without_time(killed_log) == _without_time(full_log)


def test_fit_n_then_2n_equals_2n(tmp_path):
  full, _ = toy_fit(tmp_path / "full", 12)
  first, _ = toy_fit(tmp_path / "split", 6)
  assert int(first.state.step) == 6
  second, _ = toy_fit(tmp_path / "split", 12)
  assert second.summary["resumed_from"] == 6
  chex.assert_trees_all_equal(_params(second), _params(full))


def test_resume_depends_on_key_and_iterator(tmp_path):
  """Controls: the toy really uses the step key and the batch order, so the tests above bite."""
  full, _ = toy_fit(tmp_path / "full", 8)
  other_key, _ = toy_fit(tmp_path / "key", 8, seed=2)
  assert not np.array_equal(_params(full)["w"], _params(other_key)["w"])
  x, y = toy_data()
  it = ToyIterator(x, y)
  first = next(it)["labels"]
  it.set_state({"epoch": 0, "pos": 0})
  np.testing.assert_array_equal(next(it)["labels"], first)
  perm = np.random.default_rng([0, 0]).permutation(NUM_EXAMPLES)
  np.testing.assert_array_equal(first, y[perm[:BATCH]])


def test_fit_with_damaged_latest_checkpoint_resumes_from_previous(tmp_path):
  reference, _ = toy_fit(tmp_path / "ref", 12)
  toy_fit(tmp_path / "run", 8)  # checkpoints at 4 and 8
  victim = _largest_file(tmp_path / "run" / "checkpoints" / "8")
  with open(victim, "r+b") as f:
    f.truncate(1)
  damaged = str(tmp_path / "run" / "checkpoints" / "8")
  with pytest.warns(ckpt.CorruptCheckpointWarning, match=damaged):
    resumed, _ = toy_fit(tmp_path / "run", 12)
  assert resumed.summary["resumed_from"] == 4
  chex.assert_trees_all_equal(_params(resumed), _params(reference))


def test_manifest_lists_every_file(tmp_path):
  manager = ckpt.CheckpointManager(tmp_path / "c")
  manager.save(1, toy_init_state(), {"a": 1})
  manager.close()
  step_dir = tmp_path / "c" / "1"
  manifest = json.loads((step_dir / ckpt.MANIFEST_NAME).read_text())
  on_disk = {str(p.relative_to(step_dir)) for p in step_dir.rglob("*")
             if p.is_file() and p.name != ckpt.MANIFEST_NAME}
  assert set(manifest) == on_disk and on_disk
  assert ckpt.verify_manifest(step_dir) is None
  assert all(os.path.getsize(step_dir / k) == v["size"] for k, v in manifest.items())


def test_checkpoint_of_another_shape_is_a_mismatch_not_corrupt(tmp_path, recwarn):
  manager = ckpt.CheckpointManager(tmp_path / "c", keep=3)
  for step in (1, 2):
    manager.save(step, toy_init_state()._replace(step=jnp.int32(step)), {"step": step})
  manager.close()
  wider = toy_init_state()._replace(params={"w": jnp.zeros((DIM + 1, CLASSES)),
                                            "b": jnp.zeros((CLASSES,))})
  manager = ckpt.CheckpointManager(tmp_path / "c", keep=3)
  with pytest.raises(ckpt.CheckpointMismatchError,
                     match=r"params.w is \(3, 2\) float32 in the checkpoint, \(4, 2\) float32 in "
                           r"the model"):
    manager.restore_latest(wider)
  extra = toy_init_state()._replace(params={**toy_init_state().params, "c": jnp.zeros(2)})
  with pytest.raises(ckpt.CheckpointMismatchError, match="params.c .* is missing from the"):
    manager.restore_latest(extra)
  # Nothing was called corrupt or moved: the run that wrote them can still resume.
  assert not [w for w in recwarn if issubclass(w.category, ckpt.CorruptCheckpointWarning)]
  assert manager.all_steps() == [1, 2] and not (tmp_path / "c_corrupt").exists()
  assert manager.restore_latest(toy_init_state()).step == 2
  manager.close()
