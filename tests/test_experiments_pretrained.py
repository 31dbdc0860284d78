"""Tests for experiments.pretrained: config.net.pretrained_embedding / freeze_embedding initialise
(and freeze) the token embedding of every model family's registry builder."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import pretrained
from experiments import registry
from experiments import run
from experiments.configs import base_config
from skipjax.data import text
from skipjax.data import vectors as vec

VOCAB = text.Vocab(["<pad>", "<unk>", "good", "bad", "film", "zzz"])
DIM = 4
VECTORS = {"good": [1.0, 2.0, 3.0, 4.0], "bad": [-1.0, -2.0, -3.0, -4.0],
           "film": [0.5, 0.25, 0.125, 0.0], "unused": [9.0, 9.0, 9.0, 9.0]}
SPEC = registry.DataSpec("classification", 2, len(VOCAB), None, 6, 100, vocab=VOCAB)

# One small token-input net per model family (the builders the registry wraps).
NETS = {
    "lstm": dict(embed_dim=DIM, hidden_dim=3),
    "gru": dict(embed_dim=DIM, hidden_dim=3),
    "bag_of_words": dict(embed_dim=DIM),
    "skip_lstm": dict(embed_dim=DIM, hidden_dim=3),
    "random_skip_gru": dict(embed_dim=DIM, hidden_dim=3),
    "skim_lstm": dict(embed_dim=DIM, hidden_dim=3, small_dim=2),
    "lstm_jump": dict(embed_dim=DIM, hidden_dim=3, max_jump=2, read_size=2, num_jumps=1),
    "dynamic_skip": dict(embed_dim=DIM, hidden_dim=3, num_skips=2, agent_dim=2),
    "fixed_skip_lstm": dict(embed_dim=DIM, hidden_dim=3, num_skips=2, fixed_skip=2),
}


@pytest.fixture(scope="module")
def glove(tmp_path_factory):
  path = tmp_path_factory.mktemp("vectors") / "glove.4d.txt"
  path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()))
  return str(path)


def _batch():
  return {"inputs": jnp.asarray([[2, 3, 4, 5, 0, 0], [4, 2, 2, 0, 0, 0]], jnp.int32),
          "lengths": jnp.asarray([4, 3], jnp.int32), "labels": jnp.asarray([1, 0], jnp.int32),
          "mask": jnp.ones((2,), jnp.float32)}


HPARAMS = {"budget_lambda": 0.0, "skim_gamma": 0.01, "entropy_beta": 0.0,
           "step": jnp.asarray(0, jnp.int32)}


def _build(name, glove=None, **extra):
  net = {**NETS[name], **extra}
  if glove is not None:
    net["pretrained_embedding"] = glove
  return registry.MODELS[name](jax.random.key(0), net, SPEC)


@pytest.mark.parametrize("name", sorted(NETS))
def test_every_family_initialises_its_embedding(name, glove, capsys):
  plain, model = _build(name), _build(name, glove)
  init = np.asarray(pretrained.get_embedding(plain.params))
  table = np.asarray(pretrained.get_embedding(model.params))
  for i, word in enumerate(VOCAB.tokens):
    expected = VECTORS[word] if word in VECTORS else init[i]  # pad, unk, zzz keep the init
    np.testing.assert_array_equal(table[i], expected, err_msg=f"{name}: row {i} ({word})")
  assert "3 of 4 vocabulary words (75.0%)" in capsys.readouterr().err
  # Everything else is the plain build's.
  rest = lambda p: jax.tree.leaves(pretrained.set_embedding(p, jnp.zeros(1)))
  for a, b in zip(rest(plain.params), rest(model.params), strict=True):
    np.testing.assert_array_equal(a, b)
  assert not hasattr(model.loss_fn, "__wrapped__")  # not frozen: the builder's own loss


def _loss_and_grads(model):
  fn = lambda p: model.loss_fn(p, model.model_state, _batch(), jax.random.key(1), HPARAMS)[0]
  loss, grads = jax.value_and_grad(fn)(model.params)
  return (float(loss), pretrained.get_embedding(grads),
          jax.tree.leaves(pretrained.set_embedding(grads, jnp.zeros(1))))


@pytest.mark.parametrize("name", ["lstm", "dynamic_skip"])  # NamedTuple and dict parameters
def test_freeze_embedding_stops_its_gradient_only(name, glove):
  model, frozen = _build(name, glove), _build(name, glove, freeze_embedding=True)
  np.testing.assert_array_equal(pretrained.get_embedding(frozen.params),
                                pretrained.get_embedding(model.params))
  loss, embedding_grad, rest = _loss_and_grads(model)
  frozen_loss, frozen_embedding_grad, frozen_rest = _loss_and_grads(frozen)
  assert float(jnp.abs(embedding_grad).sum()) > 0  # trained by default
  assert float(jnp.abs(frozen_embedding_grad).sum()) == 0.0
  assert frozen_loss == pytest.approx(loss)  # the same loss; only the gradient stops
  for a, b in zip(rest, frozen_rest, strict=True):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_errors_name_the_config_field(glove, tmp_path):
  net = dict(NETS["bag_of_words"], pretrained_embedding=glove)  # the cheapest build
  build = lambda spec=SPEC, **extra: registry.MODELS["bag_of_words"](
      jax.random.key(0), {**net, **extra}, spec)
  with pytest.raises(ValueError, match=r"config.net.pretrained_embedding=.*dimension 4, "
                     r"expected 6 \(config.net.embed_dim=6"):
    build(embed_dim=6)
  with pytest.raises(ValueError, match="gives no word vocabulary"):
    build(SPEC._replace(vocab=None))
  with pytest.raises(ValueError, match="has no token embedding"):
    registry.MODELS["skip_lstm"](jax.random.key(0), {"hidden_dim": 3,
                                                     "pretrained_embedding": glove},
                                 registry.DataSpec("classification", 2, None, 3, 6, 100))
  with pytest.raises(ValueError, match="freeze_embedding=True freezes a pretrained"):
    build(pretrained_embedding=None, freeze_embedding=True)
  with pytest.raises(ValueError, match="freeze_embedding must be True or False"):
    build(freeze_embedding="yes")
  broken = tmp_path / "broken.txt"
  broken.write_text("good 1 2 3 4\nbad 1 2 3\n")
  with pytest.raises(ValueError, match=r"pretrained_embedding=.*broken.txt:2: 3 values"):
    build(pretrained_embedding=str(broken))
  with pytest.raises(FileNotFoundError, match="no such file"):
    build(pretrained_embedding="nope.txt")
  with pytest.raises(ValueError, match="pretrained_format must be one of"):
    build(pretrained_format="fasttext")


def test_word2vec_imdb_uses_the_dataset_data_dir(monkeypatch):
  calls = []

  def fake(settings, **kwargs):
    calls.append((settings, kwargs))
    words = ("good", "film")
    return vec.CachedVectors(vec.WordVectors(words, np.ones((2, settings.dim))), None, {}, False)

  monkeypatch.setattr(vec, "imdb_word2vec", fake)
  model = registry.MODELS["lstm"](jax.random.key(0), {**NETS["lstm"],
                                                      "pretrained_embedding": "word2vec_imdb"},
                                  SPEC._replace(data_dir="/data/here"))
  (settings, kwargs), = calls
  assert settings == vec.Word2VecSettings(dim=DIM) and kwargs["data_dir"] == "/data/here"
  np.testing.assert_array_equal(model.params.embedding[2], np.ones(DIM))


def test_config_fields_exist_and_weight_decay_is_rejected_when_frozen():
  config = base_config()
  assert config.net.pretrained_embedding is None
  assert (config.net.pretrained_format, config.net.freeze_embedding) == ("auto", False)
  config.experiment, config.dataset = "x", "adding"
  config.data.update(dict(batch_size=2, dev_examples=2, test_examples=2))
  config.net.freeze_embedding = True
  with pytest.raises(run.ConfigError, match="freeze_embedding=True freezes a pretrained"):
    run.validate_config(config)
  config.net.pretrained_embedding = "/no/such/glove.txt"
  with pytest.raises(run.ConfigError, match="glove.txt'?: no such file"):
    run.validate_config(config)
  config.net.pretrained_embedding = "word2vec_imdb"
  config.optimizer.weight_decay = 1e-4
  with pytest.raises(run.ConfigError,
                     match=r"freeze_embedding=True .*config.optimizer.weight_decay=0.0001"):
    run.validate_config(config)
  config.optimizer.weight_decay = 0.0
  run.validate_config(config)
