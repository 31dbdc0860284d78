"""The Flax `LSTMJump` module: its parameters are the pure functions' pytree, and its two paths
equal `lstm_jump.apply` / `lstm_jump.infer` on them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import lstm_jump

VOCAB, EMBED, HIDDEN, CLASSES, K = 13, 4, 6, 3, 4
R, N = 2, 3


def _assert_trees_equal(a, b):
  jax.tree.map(lambda x, y: np.testing.assert_array_equal(np.asarray(x), np.asarray(y)), a, b)


def test_module_paths_equal_the_functions():
  module = lstm_jump.LSTMJump(features=HIDDEN, num_classes=CLASSES, max_jump=K,
                              vocab_size=VOCAB, embed_dim=EMBED)
  ids = jax.random.randint(jax.random.key(1), (3, 11), 1, VOCAB)
  lengths = jnp.array([11, 7, 2])
  variables = module.init(jax.random.key(0), ids, lengths, read_size=R, num_jumps=N)
  params = variables["params"]["lstm_jump"]
  assert isinstance(params, lstm_jump.LSTMJumpParams)
  assert params.embedding.shape == (VOCAB, EMBED) and lstm_jump.max_jump(params) == K
  key = jax.random.key(5)
  _assert_trees_equal(
      module.apply(variables, ids, lengths, read_size=R, num_jumps=N, key=key),
      lstm_jump.apply(params, ids, lengths, read_size=R, num_jumps=N, key=key))
  greedy = module.apply(variables, ids, lengths, read_size=R, num_jumps=N,
                        method=lstm_jump.LSTMJump.infer)
  _assert_trees_equal(greedy, lstm_jump.infer(params, ids, lengths, read_size=R, num_jumps=N))
  # The real-skipping path reads what the masked path reads with the same (greedy) decisions.
  masked = module.apply(variables, ids, lengths, read_size=R, num_jumps=N)
  np.testing.assert_array_equal(greedy.read_mask, masked.read_mask)
  np.testing.assert_allclose(greedy.logits, masked.logits, rtol=1e-5, atol=1e-6)


def test_module_with_float_inputs_and_bad_ranks():
  module = lstm_jump.LSTMJump(features=HIDDEN, num_classes=CLASSES, max_jump=K)
  xs = jax.random.normal(jax.random.key(2), (2, 9, 5))
  variables = module.init(jax.random.key(0), xs, read_size=R, num_jumps=N)
  params = variables["params"]["lstm_jump"]
  assert params.embedding is None and params.lstm.w_i.shape[0] == 5
  forced = jnp.array([[2, 0, 1], [1, 1, 1]], jnp.int32)
  _assert_trees_equal(
      module.apply(variables, xs, read_size=R, num_jumps=N, forced_jumps=forced,
                   method=lstm_jump.LSTMJump.infer),
      lstm_jump.infer(params, xs, read_size=R, num_jumps=N, forced_jumps=forced))
  with pytest.raises(ValueError, match="inputs"):
    module.init(jax.random.key(0), xs[0], read_size=R, num_jumps=N)
