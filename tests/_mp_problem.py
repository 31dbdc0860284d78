"""The tiny training problem shared by the multi-device tests and their subprocess scripts.

Not a test module: the scripts `_mp_*.py` import it (their own folder is on sys.path) and so do
the tests, so the subprocesses and the single-device reference train exactly the same thing.
"""

import functools

import jax
import numpy as np

from skipjax import classifier
from skipjax.train import optim
from skipjax.train import step as step_lib

GLOBAL_BATCH = 16
NUM_STEPS = 3
# Padded entries, unevenly spread over 8 slices of 2 (and over 2 processes of 8 rows).
PADDED = (3, 9, 10, 11)


def make_problem():
  """(params, optimizer, loss_fn, list of global batches, list of keys)."""
  params = classifier.init(jax.random.PRNGKey(0), vocab_size=7, embed_dim=4, hidden_dim=8,
                           num_classes=3, cell_init="torch")
  optimizer = optim.make_optimizer("adam", 0.05, clip_norm=1.0)
  rng = np.random.default_rng(0)
  batches = []
  for _ in range(NUM_STEPS):
    mask = np.ones(GLOBAL_BATCH, bool)
    mask[list(PADDED)] = False
    batches.append({"inputs": rng.integers(0, 7, (GLOBAL_BATCH, 6)).astype(np.int32),
                    "lengths": rng.integers(1, 7, (GLOBAL_BATCH,)).astype(np.int32),
                    "labels": rng.integers(0, 3, (GLOBAL_BATCH,)).astype(np.int32),
                    "mask": mask})
  keys = [jax.random.fold_in(jax.random.PRNGKey(1), i) for i in range(NUM_STEPS)]
  return params, optimizer, classifier.loss_fn, batches, keys


@functools.lru_cache(maxsize=1)  # shared by test_parallel and test_multiprocess (do not mutate)
def train_single_device():
  """Reference: the plain jitted train step on whole global batches.

  Returns (flat final params, last step's metrics with 'eval_<name>' added: the summed eval
  metrics of the final state on the first batch).
  """
  params, optimizer, loss_fn, batches, keys = make_problem()
  state = step_lib.init_train_state(params, optimizer)
  train_step = step_lib.jit_train_step(step_lib.make_train_step(loss_fn, optimizer))
  for batch, key in zip(batches, keys):
    state, metrics = train_step(state, batch, key)
  sums = jax.jit(step_lib.make_eval_step(loss_fn))(state, batches[0], keys[0])
  metrics = dict(metrics, **{f"eval_{k}": v for k, v in sums.items()})
  return flat(state.params), {k: float(v) for k, v in metrics.items()}


def flat(tree):
  """Leaves as a dict of host arrays keyed by position (for np.savez)."""
  return {f"p{i}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(tree))}
