"""Every family's architecture is a hashable config with an init (issue 15): Skim-RNN's
`ClassifierConfig` -> `model_init` and LSTM-Jump's `ModelConfig` -> `model_init` give the
parameters of the keyword initialisers; LSTM-Jump's reading settings are a `LossConfig` apart
from the architecture; bad values are errors naming the field."""

import dataclasses

import jax
import numpy as np
import pytest

from skipjax import lstm_jump
from skipjax import skim_rnn


def _assert_trees_equal(a, b):
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(x, y)


def test_skim_config_init_equals_the_keyword_init():
  config = skim_rnn.ClassifierConfig(num_classes=3, vocab_size=50, embed_dim=6, hidden_dim=8,
                                     small_dim=2, cell="gru")
  hash(config)
  key = jax.random.key(0)
  _assert_trees_equal(skim_rnn.model_init(key, config), skim_rnn.classifier_init(
      key, 50, 3, embed_dim=6, hidden_dim=8, small_dim=2, cell="gru"))
  features = skim_rnn.model_init(key, dataclasses.replace(config, vocab_size=None))
  assert features.embedding is None and skim_rnn.dims(features.rnn) == (6, 8, 2)


@pytest.mark.parametrize("fields,match", [
    (dict(num_classes=0), "num_classes"),
    (dict(num_classes=2, small_dim=9, hidden_dim=8), "small_dim must be at most hidden_dim=8"),
    (dict(num_classes=2, cell="rnn"), "cell must be 'lstm' or 'gru'"),
    (dict(num_classes=2, vocab_size=-1), "vocab_size"),
])
def test_bad_skim_config_names_the_field(fields, match):
  with pytest.raises(ValueError, match=match):
    skim_rnn.ClassifierConfig(**fields)


def test_jump_config_init_equals_the_keyword_init_and_reading_is_apart():
  config = lstm_jump.ModelConfig(num_classes=2, hidden_dim=8, max_jump=5, vocab_size=40,
                                 embed_dim=6)
  hash(config)
  key = jax.random.key(1)
  params = lstm_jump.model_init(key, config)
  _assert_trees_equal(params, lstm_jump.init(key, vocab_size=40, embed_dim=6, hidden_dim=8,
                                             num_classes=2, max_jump=5))
  assert lstm_jump.max_jump(params) == 5
  assert not {f.name for f in dataclasses.fields(lstm_jump.ModelConfig)} & {
      f.name for f in dataclasses.fields(lstm_jump.LossConfig)}
  reading = lstm_jump.LossConfig(read_size=2, num_jumps=3)
  batch = {"inputs": np.arange(24, dtype=np.int32).reshape(2, 12) % 40,
           "labels": np.array([0, 1], np.int32), "lengths": np.array([12, 7], np.int32)}
  loss, (_, metrics) = reading.loss_fn(greedy=True)(params, {}, batch, key, {})
  want, (_, want_metrics) = lstm_jump.make_loss_fn(read_size=2, num_jumps=3, greedy=True)(
      params, {}, batch, key, {})
  assert float(loss) == float(want) and float(metrics["fraction_computed"]) == float(
      want_metrics["fraction_computed"]) < 1.0


@pytest.mark.parametrize("fields,match", [
    (dict(num_classes=2, hidden_dim=8, max_jump=5), "exactly one of vocab_size"),
    (dict(num_classes=2, hidden_dim=8, max_jump=5, vocab_size=9), "embed_dim is required"),
    (dict(num_classes=2, hidden_dim=8, max_jump=5, input_dim=3, embed_dim=4),
     "embed_dim only applies to token inputs"),
    (dict(num_classes=2, hidden_dim=8, max_jump=0, input_dim=3), "max_jump"),
])
def test_bad_jump_config_names_the_field(fields, match):
  with pytest.raises(ValueError, match=match):
    lstm_jump.ModelConfig(**fields)
  with pytest.raises(ValueError, match="read_size"):
    lstm_jump.LossConfig(read_size=0, num_jumps=1)
