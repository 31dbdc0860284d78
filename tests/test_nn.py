"""Tests of the Flax wrappers in skipjax.nn against the pure layers and a NumPy loop."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import np_lstm_sequence
import skipjax
from skipjax import cells
from skipjax import nn as snn
from skipjax import recurrence

B, T, D, H = 2, 5, 3, 4
LENGTHS = np.array([5, 2], np.int32)


def _xs():
  return jnp.asarray(np.random.default_rng(0).normal(size=(B, T, D)).astype(np.float32))


def test_lstm_cell_in_flax_rnn_equals_lstm_layer():
  rnn = nn.RNN(snn.LSTMCell(H, init_scheme="torch"), return_carry=True)
  xs = _xs()
  variables = jax.jit(rnn.init)(jax.random.key(0), xs)
  carry, hs = jax.jit(rnn.apply)(variables, xs)
  p = cells.LSTMParams(**variables["params"]["cell"]["cell"])
  state, want = recurrence.lstm_layer(p, xs)
  np.testing.assert_allclose(hs, want, atol=1e-6)
  np.testing.assert_allclose(carry.h, state.h, atol=1e-6)
  np.testing.assert_allclose(carry.c, state.c, atol=1e-6)
  _, _, ref = np_lstm_sequence(p, xs[1], np.zeros(H), np.zeros(H))  # independent check
  np.testing.assert_allclose(hs[1], ref, atol=1e-5)


def test_gru_cell_in_flax_rnn_equals_gru_layer():
  rnn = nn.RNN(snn.GRUCell(H), return_carry=True)
  xs = _xs()
  variables = jax.jit(rnn.init)(jax.random.key(1), xs)
  carry, hs = jax.jit(rnn.apply)(variables, xs)
  h, want = recurrence.gru_layer(cells.GRUParams(**variables["params"]["cell"]["cell"]), xs)
  np.testing.assert_allclose(hs, want, atol=1e-6)
  np.testing.assert_allclose(carry, h, atol=1e-6)


def test_sequence_modules_equal_layers():
  xs, reverse = _xs(), True  # reverse=True also checks the flag reaches the layer

  lstm = snn.LSTM(H, reverse=reverse, forget_bias=0.5)
  variables = jax.jit(lstm.init)(jax.random.key(2), xs, LENGTHS)
  p = cells.LSTMParams(**variables["params"]["cell"])
  np.testing.assert_allclose(p.b[H:2 * H], 0.5)  # forget_bias reaches the params
  got = jax.jit(lstm.apply)(variables, xs, LENGTHS)
  want = recurrence.lstm_layer(p, xs, LENGTHS, reverse=reverse)
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), got, want)

  gru = snn.GRU(H, reverse=reverse)
  variables = jax.jit(gru.init)(jax.random.key(3), xs, LENGTHS)
  got = jax.jit(gru.apply)(variables, xs, LENGTHS)
  want = recurrence.gru_layer(cells.GRUParams(**variables["params"]["cell"]), xs, LENGTHS,
                              reverse=reverse)
  jax.tree_util.tree_map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-6), got, want)


def test_param_dtype_and_init_scheme():
  module = snn.LSTM(H, param_dtype=jnp.bfloat16, init_scheme="torch")
  variables = jax.jit(module.init)(jax.random.key(0), _xs())
  p = variables["params"]["cell"]
  assert p["w_i"].dtype == p["w_h"].dtype == jnp.bfloat16
  assert float(jnp.abs(p["w_h"].astype(jnp.float32)).max()) <= 1 / np.sqrt(H) + 1e-2


def test_bad_config_and_inputs():
  xs = _xs()
  for module in (snn.LSTM(0), snn.GRU(-1)):
    with pytest.raises(ValueError, match="features must be a positive integer"):
      module.init(jax.random.key(0), xs)
  with pytest.raises(ValueError, match="features must be a positive integer"):
    nn.RNN(snn.LSTMCell(0)).init(jax.random.key(0), xs)
  with pytest.raises(ValueError, match="xs must have rank 3"):
    snn.LSTM(H).init(jax.random.key(0), xs[0])
  with pytest.raises(ValueError, match="init must be"):
    snn.GRU(H, init_scheme="bogus").init(jax.random.key(0), xs)


# flax.linen.LSTMCell conversion

def _flax_cell_params(key, input_dim, hidden):
  cell = nn.LSTMCell(hidden, bias_init=nn.initializers.normal(0.5))
  carry = cell.initialize_carry(key, (1, input_dim))
  return cell, cell.init(key, carry, jnp.zeros((1, input_dim)))["params"]


def test_from_flax_matches_flax_lstm_cell_over_a_sequence():
  key = jax.random.key(0)
  cell, flax_params = _flax_cell_params(key, 3, 5)
  xs = jax.random.normal(jax.random.key(1), (2, 7, 3))
  carry = cell.initialize_carry(key, (2, 3))
  (c_flax, h_flax), hs_flax = nn.RNN(cell).apply({"params": {"cell": flax_params}}, xs,
                                                  initial_carry=carry, return_carry=True)
  params = snn.lstm_params_from_flax(flax_params)
  final, hs = skipjax.lstm_layer(params, xs)
  np.testing.assert_allclose(hs, hs_flax, atol=1e-5)
  np.testing.assert_allclose(final.h, h_flax, atol=1e-5)
  np.testing.assert_allclose(final.c, c_flax, atol=1e-5)
  assert float(jnp.abs(hs).max()) > 0.05   # a non-trivial sequence was compared


def test_to_flax_round_trip_and_flax_cell_runs_skipjax_weights():
  key = jax.random.key(2)
  params = skipjax.lstm_init(key, 4, 6, forget_bias=1.0)
  params = params._replace(b=jax.random.normal(key, params.b.shape))
  flax_params = snn.lstm_params_to_flax(params)
  back = snn.lstm_params_from_flax(flax_params)
  for a, b in zip(params, back):
    np.testing.assert_array_equal(a, b)
  x = jax.random.normal(jax.random.key(3), (2, 4))
  state = cells.LSTMState(c=jax.random.normal(jax.random.key(4), (2, 6)),
                          h=jax.random.normal(jax.random.key(5), (2, 6)))
  (c, h), out = nn.LSTMCell(6).apply({"params": flax_params}, (state.c, state.h), x)
  new_state, h_ref = skipjax.lstm_step(params, state, x)
  np.testing.assert_allclose(h, h_ref, atol=1e-6)
  np.testing.assert_allclose(c, new_state.c, atol=1e-6)


def test_bad_flax_params_are_named():
  _, flax_params = _flax_cell_params(jax.random.key(0), 3, 5)
  missing = {k: v for k, v in flax_params.items() if k != "hg"}
  with pytest.raises(ValueError, match="not flax.linen.LSTMCell parameters"):
    snn.lstm_params_from_flax(missing)
  wrong = dict(flax_params, io={"kernel": jnp.zeros((3, 4))})
  with pytest.raises(ValueError, match="inconsistent flax.linen.LSTMCell shapes"):
    snn.lstm_params_from_flax(wrong)
  biased = dict(flax_params, ii={"kernel": flax_params["ii"]["kernel"], "bias": jnp.zeros(5)})
  with pytest.raises(ValueError, match="input bias"):
    snn.lstm_params_from_flax(biased)
  with pytest.raises(TypeError, match="cells.LSTMParams"):
    snn.lstm_params_to_flax(skipjax.gru_init(jax.random.key(0), 3, 5))
