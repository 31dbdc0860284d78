"""A vmapped sweep trains every setting exactly as a single run with its values would."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import classifier
from skipjax.train import optim
from skipjax.train import step as step_lib
from skipjax.train import sweep as sweep_lib

NUM_STEPS = 3


def penalised_loss(params, model_state, batch, key, hparams):
  """Classifier cross-entropy + penalty * ||head.w||^2 (a loss hparam the sweep varies)."""
  loss, (model_state, metrics) = classifier.loss_fn(params, model_state, batch, key, hparams)
  loss = loss + hparams["penalty"] * jnp.sum(params.head.w ** 2)
  return loss, (model_state, dict(metrics, loss=loss))


def _problem():
  params = classifier.init(jax.random.PRNGKey(0), vocab_size=7, embed_dim=4, hidden_dim=8,
                           num_classes=3, cell="gru", cell_init="torch")
  rng = np.random.default_rng(0)
  batches = [{"inputs": rng.integers(0, 7, (4, 6)).astype(np.int32),
              "lengths": rng.integers(1, 7, (4,)).astype(np.int32),
              "labels": rng.integers(0, 3, (4,)).astype(np.int32)} for _ in range(NUM_STEPS)]
  return params, batches


def _optimizer(learning_rate):
  return optim.make_optimizer("adam", learning_rate, schedule="warmup_cosine", total_steps=4,
                              warmup_steps=1, clip_norm=1.0)


# One optimiser object for every sweep here: its rate is set per setting, and sweeps of the same
# shape reuse one compiled program.
OPTIMIZER = _optimizer(1.0)


def test_grid_is_the_cartesian_product():
  g = sweep_lib.grid(learning_rate=[0.1, 0.2], penalty=[0.0, 1.0, 2.0])
  np.testing.assert_allclose(g["learning_rate"], [0.1, 0.1, 0.1, 0.2, 0.2, 0.2])
  np.testing.assert_allclose(g["penalty"], [0.0, 1.0, 2.0, 0.0, 1.0, 2.0])
  assert g["penalty"].dtype == np.float32
  with pytest.raises(ValueError, match="same length"):
    sweep_lib.num_settings({"a": [1.0, 2.0], "b": [1.0]})


def test_sweep_matches_each_setting_trained_alone():
  params, batches = _problem()
  settings = sweep_lib.grid(learning_rate=[0.01, 0.05], penalty=[0.0, 0.5])
  key = jax.random.PRNGKey(3)
  state = sweep_lib.init_sweep_state(params, OPTIMIZER, settings)
  assert state.hparams["penalty"].shape == (4,)
  state, history = sweep_lib.sweep(penalised_loss, OPTIMIZER, state, batches, key)
  assert history["loss"].shape == (NUM_STEPS, 4)
  # One compiled single-run step; the rate lives in each run's opt_state (no recompiling).
  train_step = jax.jit(step_lib.make_train_step(penalised_loss, OPTIMIZER))
  for s in range(4):
    lr, penalty = float(settings["learning_rate"][s]), float(settings["penalty"][s])
    # Initialised by an optimiser built with this rate, not through set_hyperparam.
    alone = step_lib.init_train_state(params, _optimizer(lr), hparams={"penalty": penalty})
    for i, batch in enumerate(batches):
      alone, metrics = train_step(alone, batch, jax.random.fold_in(key, i))
      np.testing.assert_allclose(history["loss"][i, s], metrics["loss"], rtol=1e-5)
      np.testing.assert_allclose(history["learning_rate"][i, s], metrics["learning_rate"],
                                 rtol=1e-6)
    got = sweep_lib.select(state, s)
    for g, w in zip(jax.tree.leaves(got.params), jax.tree.leaves(alone.params)):
      np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    assert int(got.step) == NUM_STEPS
  # The settings really differ: every pair of final parameters is apart.
  heads = np.asarray(state.params.head.w).reshape(4, -1)
  assert min(np.abs(heads[i] - heads[j]).max() for i in range(4) for j in range(i)) > 1e-4


def test_settings_looped_in_chunks_match_vmapped():
  params, batches = _problem()
  settings = sweep_lib.grid(learning_rate=[0.01, 0.05], penalty=[0.0, 0.5])
  results = []
  for per_call in (None, 3):  # 3 does not divide S = 4: a chunk of 3, then the remainder
    state = sweep_lib.init_sweep_state(params, OPTIMIZER, settings)
    results.append(sweep_lib.sweep(penalised_loss, OPTIMIZER, state, batches[:2],
                                   jax.random.PRNGKey(3), settings_per_call=per_call))
  (vmapped, h_vmapped), (looped, h_looped) = results
  np.testing.assert_allclose(h_looped["loss"], h_vmapped["loss"], rtol=1e-5)
  for a, b in zip(jax.tree.leaves(looped.params), jax.tree.leaves(vmapped.params)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match="settings_per_call"):
    sweep_lib.make_sweep_step(lambda s, b, k: (s, {}), settings_per_call=0)


def test_stacked_params_one_init_per_seed():
  params, batches = _problem()
  keys = jax.random.split(jax.random.PRNGKey(1), 4)
  inits = [classifier.init(k, vocab_size=7, embed_dim=4, hidden_dim=8, num_classes=3, cell="gru",
                           cell_init="torch") for k in keys]
  stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *inits)
  with pytest.raises(ValueError, match="leading axis S=3"):
    sweep_lib.init_sweep_state(stacked, OPTIMIZER, {"penalty": [0.0, 0.0, 1.0]},
                               stacked_params=True)
  with pytest.raises(ValueError, match="both in settings and in hparams"):
    sweep_lib.init_sweep_state(params, OPTIMIZER, {"penalty": [0.0]},
                               hparams={"penalty": 1.0})
  state = sweep_lib.init_sweep_state(stacked, OPTIMIZER, {"penalty": [0.0] * 4,
                                                          "learning_rate": [0.01] * 4},
                                     stacked_params=True)
  state, history = sweep_lib.sweep(penalised_loss, OPTIMIZER, state, batches[:1],
                                   jax.random.PRNGKey(0))
  # Same settings, different initialisations: different losses.
  assert history["loss"].shape == (1, 4) and len(set(history["loss"][0].tolist())) == 4
