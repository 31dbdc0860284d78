"""Tests for skipjax.classifier against torch.nn.LSTM/GRU and hand-worked losses."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

try:
  import torch
except ImportError:  # torch is a test-only reference; the Makefile installs it where it can
  torch = None

from skipjax import cells
from skipjax import classifier
from skipjax import layers

VOCAB, EMBED, HIDDEN, CLASSES, T = 11, 5, 8, 3, 6

requires_torch = pytest.mark.skipif(torch is None, reason="torch (reference) not installed")

# Jitted once per shape: far fewer compilations than op-by-op eager calls.
apply = jax.jit(classifier.apply, static_argnames="per_step")
loss_fn = jax.jit(classifier.loss_fn)
regression_loss_fn = jax.jit(classifier.regression_loss_fn)
sequence_loss_fn = jax.jit(classifier.sequence_loss_fn)


def _torch_model(cell, num_layers, seed=0):
  torch.manual_seed(seed)
  emb = torch.nn.Embedding(VOCAB, EMBED)
  rnn_cls = torch.nn.LSTM if cell == "lstm" else torch.nn.GRU
  rnn = rnn_cls(EMBED, HIDDEN, num_layers=num_layers, batch_first=True)
  head = torch.nn.Linear(HIDDEN, CLASSES)
  return emb, rnn, head


def _params_from_torch(emb, rnn, head, cell, num_layers):
  sd = rnn.state_dict()
  port = cells.lstm_params_from_torch if cell == "lstm" else cells.gru_params_from_torch
  return classifier.ClassifierParams(
      embedding=jnp.asarray(emb.weight.detach().numpy()),
      rnn=tuple(port(sd, layer=l) for l in range(num_layers)),
      head=layers.DenseParams(w=jnp.asarray(head.weight.detach().numpy().T),
                              b=jnp.asarray(head.bias.detach().numpy())))


def _batch(seed=0, batch=4):
  rng = np.random.default_rng(seed)
  return {"inputs": rng.integers(0, VOCAB, (batch, T)).astype(np.int32),
          "lengths": np.array([6, 3, 1, 4][:batch], np.int32),
          "labels": rng.integers(0, CLASSES, (batch,)).astype(np.int32)}


@requires_torch
@pytest.mark.parametrize("cell,num_layers", [("lstm", 1), ("gru", 1), ("lstm", 2)])
def test_final_state_logits_match_torch(cell, num_layers):
  emb, rnn, head = _torch_model(cell, num_layers)
  params = _params_from_torch(emb, rnn, head, cell, num_layers)
  b = _batch()
  with torch.no_grad():
    x = emb(torch.as_tensor(b["inputs"], dtype=torch.long))
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, torch.as_tensor(b["lengths"]), batch_first=True, enforce_sorted=False)
    _, hidden = rnn(packed)
    h_n = hidden[0] if cell == "lstm" else hidden
    want = head(h_n[-1]).numpy()
  got = apply(params, jnp.asarray(b["inputs"]), jnp.asarray(b["lengths"]))
  np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)
  np.testing.assert_array_equal(
      np.asarray(jax.jit(classifier.predict)(params, b["inputs"], b["lengths"])),
      want.argmax(-1))


@requires_torch
def test_per_step_logits_match_torch():
  emb, rnn, head = _torch_model("lstm", 1, seed=1)
  params = _params_from_torch(emb, rnn, head, "lstm", 1)
  b = _batch(1)
  with torch.no_grad():
    out, _ = rnn(emb(torch.as_tensor(b["inputs"], dtype=torch.long)))
    want = head(out).numpy()  # unmasked torch run: real steps agree, padding is ours to zero
  got = np.asarray(apply(params, b["inputs"], b["lengths"], per_step=True))
  assert got.shape == (4, T, CLASSES)
  for i, n in enumerate(b["lengths"]):
    np.testing.assert_allclose(got[i, :n], want[i, :n], atol=1e-5)
    np.testing.assert_allclose(got[i, n:], np.broadcast_to(params.head.b, (T - n, CLASSES)),
                               atol=1e-6)


def _zero_head(params, bias):
  return params._replace(head=layers.DenseParams(w=jnp.zeros_like(params.head.w),
                                                 b=jnp.asarray(bias, jnp.float32)))


def test_loss_hand_worked_and_mask_excludes_padding():
  params = classifier.init(jax.random.PRNGKey(0), vocab_size=VOCAB, embed_dim=EMBED,
                           hidden_dim=HIDDEN, num_classes=CLASSES)
  params = _zero_head(params, [0.0, np.log(2.0), np.log(5.0)])  # softmax = (1, 2, 5) / 8
  b = _batch()
  b["labels"] = np.array([2, 1, 2, 0], np.int32)
  b["mask"] = np.array([1, 1, 1, 0], np.float32)
  loss, (state, m) = loss_fn(params, {}, b, jax.random.PRNGKey(1), {})
  want = -(np.log(5 / 8) + np.log(2 / 8) + np.log(5 / 8)) / 3
  np.testing.assert_allclose(loss, want, rtol=1e-6)
  np.testing.assert_allclose(m["loss"], want, rtol=1e-6)
  np.testing.assert_allclose(m["accuracy"], 2 / 3, rtol=1e-6)  # predicts class 2 everywhere
  assert float(m["fraction_computed"]) == 1.0 and float(m["count"]) == 3.0
  assert state == {}


def test_masked_entry_changes_neither_loss_nor_gradient():
  params = classifier.init(jax.random.PRNGKey(2), vocab_size=VOCAB, embed_dim=EMBED,
                           hidden_dim=HIDDEN, num_classes=CLASSES, cell="gru")
  b = _batch(3)
  small = {k: v[:3] for k, v in b.items()}
  padded = dict(b, mask=np.array([True, True, True, False]))
  padded["inputs"] = padded["inputs"].copy()
  padded["inputs"][3] = 0
  grad = jax.jit(jax.grad(lambda p, bb: classifier.loss_fn(p, {}, bb, None, {})[0]))
  g_small, g_padded = grad(params, small), grad(params, padded)
  for a, c in zip(jax.tree.leaves(g_small), jax.tree.leaves(g_padded)):
    np.testing.assert_allclose(a, c, atol=1e-6)


def test_regression_loss_is_mse():
  params = classifier.init(jax.random.PRNGKey(0), input_dim=2, hidden_dim=HIDDEN, num_classes=1)
  params = _zero_head(params, [0.5])
  x = np.random.default_rng(0).normal(size=(3, T, 2)).astype(np.float32)
  batch = {"inputs": x, "lengths": np.array([6, 2, 0], np.int32),
           "labels": np.array([1.5, 0.0, 0.5], np.float32), "mask": np.array([1, 1, 0])}
  loss, (_, m) = regression_loss_fn(params, {}, batch, None, {})
  np.testing.assert_allclose(loss, (1.0 + 0.25) / 2, rtol=1e-6)
  np.testing.assert_allclose(m["mse"], (1.0 + 0.25) / 2, rtol=1e-6)


def test_sequence_loss_counts_real_tokens_only():
  params = classifier.init(jax.random.PRNGKey(0), vocab_size=VOCAB, embed_dim=EMBED,
                           hidden_dim=HIDDEN, num_classes=CLASSES)
  b = _batch(4)
  b["labels"] = np.random.default_rng(5).integers(0, CLASSES, (4, T)).astype(np.int32)
  b["mask"] = np.array([1, 1, 0, 1], np.float32)
  loss, (_, m) = sequence_loss_fn(params, {}, b, None, {})
  logits = np.asarray(apply(params, b["inputs"], b["lengths"], per_step=True))
  terms, hits = [], []
  for i in range(4):
    for t in range(b["lengths"][i] if b["mask"][i] else 0):
      z = logits[i, t] - logits[i, t].max()
      terms.append(np.log(np.exp(z).sum()) - z[b["labels"][i, t]])
      hits.append(logits[i, t].argmax() == b["labels"][i, t])
  np.testing.assert_allclose(loss, np.mean(terms), rtol=1e-5)
  np.testing.assert_allclose(m["accuracy"], np.mean(hits), rtol=1e-6)
  assert float(m["count"]) == len(terms) == 6 + 3 + 4


@pytest.mark.parametrize("which", ["classification", "regression", "sequence"])
def test_dropout_only_in_training(which):
  """hparams['dropout']: off in evaluation (the default train=False), on in training (a
  deterministic function of the key), and rate 0 is no dropout."""
  b = _batch(4)
  if which == "classification":
    fn = classifier.loss_fn
    params = classifier.init(jax.random.PRNGKey(0), vocab_size=VOCAB, embed_dim=EMBED,
                             hidden_dim=HIDDEN, num_classes=CLASSES)
  elif which == "regression":
    fn = classifier.regression_loss_fn
    params = classifier.init(jax.random.PRNGKey(0), input_dim=2, hidden_dim=HIDDEN, num_classes=1)
    b = {"inputs": np.random.default_rng(1).normal(size=(4, T, 2)).astype(np.float32),
         "lengths": b["lengths"], "labels": np.array([1.5, 0.0, 0.5, -1.0], np.float32)}
  else:
    fn = classifier.sequence_loss_fn
    params = classifier.init(jax.random.PRNGKey(0), vocab_size=VOCAB, embed_dim=EMBED,
                             hidden_dim=HIDDEN, num_classes=CLASSES)
    b = dict(b, labels=np.random.default_rng(2).integers(0, CLASSES, (4, T)).astype(np.int32))
  loss = jax.jit(lambda p, k, hp, train: fn(p, {}, b, k, hp, train=train)[0],
                 static_argnames="train")
  k1, k2 = jax.random.PRNGKey(1), jax.random.PRNGKey(2)
  plain = float(loss(params, k1, {}, False))
  drop = {"dropout": 0.5}
  assert float(loss(params, k1, drop, False)) == plain            # evaluation: never dropped
  # ... and needs no key (unjitted: equal up to the last bit of float rounding)
  assert float(fn(params, {}, b, None, drop)[0]) == pytest.approx(plain, rel=1e-6)
  assert float(loss(params, k1, {}, True)) == plain                # no hparam: no dropout
  assert float(loss(params, k1, {"dropout": 0.0}, True)) == plain  # rate 0 = no dropout
  trained = float(loss(params, k1, drop, True))
  assert trained != plain
  assert float(loss(params, k1, drop, True)) == trained            # deterministic per key
  assert float(loss(params, k2, drop, True)) != trained
  with pytest.raises(ValueError, match="needs a PRNG key"):
    fn(params, {}, b, None, drop, train=True)


def test_bad_inputs_raise_clear_errors():
  key = jax.random.PRNGKey(0)
  with pytest.raises(ValueError, match="exactly one of vocab_size"):
    classifier.init(key, hidden_dim=4, num_classes=2)
  with pytest.raises(ValueError, match="cell"):
    classifier.init(key, input_dim=3, hidden_dim=4, num_classes=2, cell="rnn")
  with pytest.raises(ValueError, match="embed_dim"):
    classifier.init(key, vocab_size=5, hidden_dim=4, num_classes=2)
  params = classifier.init(key, vocab_size=VOCAB, embed_dim=EMBED, hidden_dim=4, num_classes=2)
  with pytest.raises(ValueError, match="inputs"):
    classifier.apply(params, jnp.zeros((2, T, 3)))
  with pytest.raises(ValueError, match="lengths"):
    classifier.apply(params, jnp.zeros((2, T), jnp.int32), jnp.array([7, 1]))
  with pytest.raises(ValueError, match="labels"):
    classifier.loss_fn(params, {}, {"inputs": jnp.zeros((2, T), jnp.int32),
                                    "labels": jnp.zeros((3,), jnp.int32)}, key, {})
  with pytest.raises(ValueError, match="mask"):
    classifier.loss_fn(params, {}, {"inputs": jnp.zeros((2, T), jnp.int32),
                                    "labels": jnp.zeros((2,), jnp.int32),
                                    "mask": jnp.ones((3,))}, key, {})
