"""Flax modules of Skim-RNN: the layers and step cells give what the pure functions give."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import cells
from skipjax import skim_rnn

B, T, D, H, S = 3, 7, 5, 6, 2


def _inputs():
  xs = jax.random.normal(jax.random.PRNGKey(1), (B, T, D))
  lengths = jnp.array([7, 4, 0])
  return xs, lengths


def _close(a, b, tol=1e-5):
  for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)):
    np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=tol, atol=tol)


@pytest.mark.parametrize("layer", [skim_rnn.SkimLSTM, skim_rnn.SkimGRU])
def test_layer_equals_the_pure_functions(layer):
  xs, lengths = _inputs()
  module = layer(features=H, small_features=S)
  key = jax.random.PRNGKey(3)
  variables = module.init(jax.random.PRNGKey(0), xs, lengths, key=key)
  params = variables["params"]["skim"]
  assert isinstance(params, skim_rnn.SkimParams)
  assert skim_rnn.dims(params) == (D, H, S)
  got = module.apply(variables, xs, lengths, key=key, tau=0.7, hard=1.0)
  want = skim_rnn.gumbel_layer(params, xs, key, 0.7, lengths, hard=1.0)
  _close(got, want)
  for path in ("masked", "cond"):
    got = module.apply(variables, xs, lengths, 0.4, path=path, method="infer")
    want = skim_rnn.infer(params, xs, lengths, 0.4, path=path)
    _close(got, want)
    assert got.skim_mask.shape == (B, T)


@pytest.mark.parametrize("cell,layer", [(skim_rnn.SkimLSTMCell, skim_rnn.SkimLSTM),
                                        (skim_rnn.SkimGRUCell, skim_rnn.SkimGRU)])
def test_hard_cell_in_nn_rnn_equals_the_masked_layer(cell, layer):
  xs, _ = _inputs()
  lengths = jnp.array([7, 4, 1])  # nn.RNN reads the carry at step length - 1: no length 0
  params = layer(features=H, small_features=S).init(
      jax.random.PRNGKey(0), xs, key=jax.random.PRNGKey(3))["params"]
  rnn = nn.RNN(cell(features=H, small_features=S, threshold=0.45), return_carry=True)
  final, steps = rnn.apply({"params": {"cell": params}}, xs, seq_lengths=lengths)
  want = skim_rnn.masked_layer(params["skim"], xs, lengths, 0.45)
  _close(final, want.final)
  valid = np.arange(T)[None, :] < np.asarray(lengths)[:, None]
  np.testing.assert_allclose(np.asarray(steps.h)[valid], np.asarray(want.hs)[valid], atol=1e-5)
  skimmed = np.asarray(steps.r[..., skim_rnn.SKIM]) == 1.0
  np.testing.assert_array_equal(skimmed & valid, np.asarray(want.skim_mask))
  assert skimmed[valid].any() and (~skimmed[valid]).any()  # both decisions occur


@pytest.mark.parametrize("cell,layer", [(skim_rnn.SkimLSTMCell, skim_rnn.SkimLSTM),
                                        (skim_rnn.SkimGRUCell, skim_rnn.SkimGRU)])
def test_training_cell_with_the_layers_noise_equals_the_gumbel_layer(cell, layer):
  xs, _ = _inputs()
  key = jax.random.PRNGKey(3)
  params = layer(features=H, small_features=S).init(jax.random.PRNGKey(0), xs, key=key)
  noise = jax.random.gumbel(key, (B, T, 2), jnp.float32)  # as gumbel_layer draws it
  module = cell(features=H, small_features=S, tau=0.8)
  variables = {"params": params["params"]}
  carry = module.initialize_carry(None, xs[:, 0].shape)
  hs, log_ps = [], []
  for t in range(T):
    carry, out = module.apply(variables, carry, xs[:, t], noise[:, t])
    hs.append(out.h)
    log_ps.append(out.log_p)
  want_final, want_hs, want_log_p, _ = skim_rnn.gumbel_layer(
      params["params"]["skim"], xs, key, 0.8)
  _close(carry, want_final)
  _close(jnp.stack(hs, 1), want_hs)
  _close(jnp.stack(log_ps, 1), want_log_p)


def test_training_cell_draws_noise_from_the_gumbel_stream():
  xs, lengths = _inputs()
  rnn = nn.RNN(skim_rnn.SkimLSTMCell(features=H, small_features=S),
               split_rngs={"params": False, "gumbel": True})
  variables = rnn.init({"params": jax.random.PRNGKey(0), "gumbel": jax.random.PRNGKey(1)}, xs,
                       seq_lengths=lengths)
  a = rnn.apply(variables, xs, seq_lengths=lengths, rngs={"gumbel": jax.random.PRNGKey(2)})
  b = rnn.apply(variables, xs, seq_lengths=lengths, rngs={"gumbel": jax.random.PRNGKey(5)})
  assert a.r.shape == (B, T, 2) and a.h.shape == (B, T, H)
  assert not np.allclose(np.asarray(a.r), np.asarray(b.r))  # the noise follows the key
  np.testing.assert_allclose(np.asarray(a.r.sum(-1)), 1.0, rtol=1e-6)
  with pytest.raises(Exception, match="gumbel"):
    rnn.apply(variables, xs, seq_lengths=lengths)  # no "gumbel" RNG given


def test_cell_carry_is_the_cells_state():
  carry = skim_rnn.SkimLSTMCell(features=H, small_features=S).initialize_carry(None, (B, D))
  assert isinstance(carry, cells.LSTMState) and carry.h.shape == (B, H)
  carry = skim_rnn.SkimGRUCell(features=H, small_features=S).initialize_carry(None, (B, D))
  assert carry.shape == (B, H)


def test_mask_and_weights_multiply_in_the_skim_losses():
  """One weighting rule (`layers.example_weights`): with both keys, mask x weights."""
  params = skim_rnn.classifier_init(jax.random.PRNGKey(0), 20, 2, embed_dim=4, hidden_dim=H,
                                    small_dim=S)
  ids = jax.random.randint(jax.random.PRNGKey(1), (4, T), 1, 20)
  batch = {"inputs": ids, "lengths": jnp.array([7, 5, 3, 2]), "labels": jnp.array([0, 1, 1, 0]),
           "mask": jnp.array([1, 1, 1, 0]), "weights": jnp.array([1.0, 2.0, 0.0, 5.0])}
  hparams = {"skim_gamma": jnp.float32(0.1)}
  key = jax.random.PRNGKey(2)
  # Only examples 0 and 1 count, example 1 twice: the same as a batch of [0, 1, 1].
  alone = {k: (v[jnp.array([0, 1, 1])] if k != "mask" and k != "weights" else None)
           for k, v in batch.items()}
  alone = {k: v for k, v in alone.items() if v is not None}
  for loss_fn in (skim_rnn.make_eval_loss(0.5),):
    got = loss_fn(params, {}, batch, key, hparams)[1][1]
    want = loss_fn(params, {}, alone, key, hparams)[1][1]
    for name in ("loss", "accuracy", "skim_rate", "flops"):
      np.testing.assert_allclose(float(got[name]), float(want[name]), rtol=1e-5)
  # Training loss (same batch shape, so the same Gumbel noise): mask x weights is the product.
  product = {k: v for k, v in batch.items() if k != "mask"}
  product["weights"] = jnp.array([1.0, 2.0, 0.0, 0.0])
  got = skim_rnn.classifier_loss(params, {}, batch, key, hparams)[1][1]
  want = skim_rnn.classifier_loss(params, {}, product, key, hparams)[1][1]
  unweighted = skim_rnn.classifier_loss(params, {}, {k: v for k, v in batch.items()
                                                     if k not in ("mask", "weights")},
                                        key, hparams)[1][1]
  np.testing.assert_allclose(float(got["loss"]), float(want["loss"]), rtol=1e-6)
  assert abs(float(got["loss"]) - float(unweighted["loss"])) > 1e-6
