"""Tests of skipjax.cells against a float64 NumPy loop and torch.nn.LSTM / GRU."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import test_util as jtu

from conftest import np_gru_step, np_lstm_step
from skipjax import cells
from skipjax import recurrence

D, H = 3, 5
# Jitted once per module: an eager lax.scan re-traces and re-compiles on every call.
lstm_layer = jax.jit(recurrence.lstm_layer, static_argnames=("reverse", "unroll", "hoist_input"))
gru_layer = jax.jit(recurrence.gru_layer, static_argnames=("reverse", "unroll"))


def _lstm(seed=0, **kw):
  return cells.lstm_init(jax.random.key(seed), D, H, init="torch", **kw)


def _gru(seed=0, **kw):
  return cells.gru_init(jax.random.key(seed), D, H, init="torch", **kw)


def _normal(seed, shape):
  return np.random.default_rng(seed).normal(size=shape).astype(np.float32)


@pytest.mark.parametrize("batch_shape", [(), (4,), (2, 3)])
def test_lstm_step_matches_numpy(batch_shape):
  p = _lstm()
  x, c, h = (_normal(i, batch_shape + (n,)) for i, n in ((1, D), (2, H), (3, H)))
  state, out = cells.lstm_step(p, cells.LSTMState(c=jnp.asarray(c), h=jnp.asarray(h)), x)
  want_c, want_h = np_lstm_step(p.w_i, p.w_h, p.b, c, h, x)
  np.testing.assert_allclose(state.c, want_c, atol=1e-5)
  np.testing.assert_allclose(state.h, want_h, atol=1e-5)
  np.testing.assert_array_equal(out, state.h)
  assert state.c.dtype == state.h.dtype == jnp.float32


@pytest.mark.parametrize("batch_shape", [(), (4,)])
def test_gru_step_matches_numpy(batch_shape):
  p = _gru()
  x, h = _normal(1, batch_shape + (D,)), _normal(2, batch_shape + (H,))
  new_h, out = cells.gru_step(p, jnp.asarray(h), x)
  np.testing.assert_allclose(new_h, np_gru_step(p.w_i, p.w_h, p.b_i, p.b_h, h, x), atol=1e-5)
  np.testing.assert_array_equal(out, new_h)


def test_lstm_hand_value():
  """All-zero weights and bias b: gates are constants, so c, h follow by hand."""
  b = np.zeros(4 * H, np.float32)
  b[:H], b[H:2 * H], b[2 * H:3 * H], b[3 * H:] = 0.0, np.log(3.0), 0.5, 0.0  # i=f=.5/.75, g, o
  p = cells.LSTMParams(jnp.zeros((D, 4 * H)), jnp.zeros((H, 4 * H)), jnp.asarray(b))
  state = cells.LSTMState(c=jnp.full((H,), 2.0), h=jnp.zeros(H))
  state, _ = cells.lstm_step(p, state, jnp.ones(D))
  want_c = 0.75 * 2.0 + 0.5 * np.tanh(0.5)
  np.testing.assert_allclose(state.c, np.full(H, want_c), rtol=1e-6)
  np.testing.assert_allclose(state.h, np.full(H, 0.5 * np.tanh(want_c)), rtol=1e-6)


def test_fused_and_stacked_steps_equal_unfused():
  p = _lstm()
  state = cells.LSTMState(c=jnp.asarray(_normal(2, (4, H))), h=jnp.asarray(_normal(3, (4, H))))
  x = _normal(1, (4, D))
  want_state, want_h = cells.lstm_step(p, state, x)
  for got_state, got_h in [cells.lstm_step(p, state, x, fused=True),
                           cells.lstm_step_stacked(cells.lstm_stack_weights(p), p.b, state, x),
                           cells.lstm_step_projected(p, state, cells.lstm_input_projection(p, x))]:
    chex.assert_trees_all_close((got_state, got_h), (want_state, want_h), atol=1e-6)


def test_bf16_params_keep_float32_state():
  """bf16 storage: outputs and c stay float32 and close to the float32 run over 20 steps.

  Tolerance: bf16 keeps 8 mantissa bits (relative rounding 2^-9 ~ 2e-3 per weight); with D+H = 8
  terms per gate and 20 steps the observed error is ~1e-2, so 3e-2 absolute on values in [-1, 1].
  """
  p32 = _lstm()
  p16 = _lstm(param_dtype=jnp.bfloat16)
  assert p16.w_i.dtype == p16.w_h.dtype == p16.b.dtype == jnp.bfloat16
  xs = jnp.asarray(_normal(1, (2, 20, D)))
  (s32, hs32), (s16, hs16) = (lstm_layer(p, xs) for p in (p32, p16))
  assert hs16.dtype == s16.c.dtype == s16.h.dtype == jnp.float32
  np.testing.assert_allclose(hs16, hs32, atol=3e-2)
  np.testing.assert_allclose(s16.c, s32.c, atol=3e-2)
  # c accumulates in float32: forget and input gates saturated at 1 and g = 0.01 add 0.01 per
  # step, 0.3 after 30 steps; a bf16 sum would be off by ~1e-3 (0.01 is not a bf16 number and
  # bf16's spacing near 0.3 is 2^-10 ~ 1e-3).
  b = np.zeros(4 * H, np.float32)
  b[:H], b[H:2 * H], b[2 * H:3 * H] = 30.0, 30.0, np.arctanh(0.01)
  p = cells.LSTMParams(jnp.zeros((D, 4 * H), jnp.bfloat16), jnp.zeros((H, 4 * H), jnp.bfloat16),
                       jnp.asarray(b))
  state = cells.lstm_zero_state((), H)
  for _ in range(30):
    state, _ = cells.lstm_step(p, state, jnp.ones(D, jnp.bfloat16))
  assert state.c.dtype == jnp.float32
  np.testing.assert_allclose(state.c, np.full(H, 0.3), rtol=1e-5)


def test_init_shapes_and_forget_bias():
  p = cells.lstm_init(jax.random.key(0), D, H, forget_bias=1.0)
  chex.assert_shape([p.w_i, p.w_h, p.b], [(D, 4 * H), (H, 4 * H), (4 * H,)])
  np.testing.assert_array_equal(p.b, np.r_[np.zeros(H), np.ones(H), np.zeros(2 * H)])
  for k in range(4):  # default init: each recurrent gate block is orthogonal
    blk = np.asarray(p.w_h[:, k * H:(k + 1) * H])
    np.testing.assert_allclose(blk.T @ blk, np.eye(H), atol=1e-5)
  g = cells.gru_init(jax.random.key(0), D, H)
  chex.assert_shape([g.w_i, g.w_h, g.b_i, g.b_h], [(D, 3 * H), (H, 3 * H), (3 * H,), (3 * H,)])
  t = cells.lstm_init(jax.random.key(0), D, H, init="torch", forget_bias=0.0)
  assert np.abs(t.w_i).max() <= 1 / np.sqrt(H)
  with pytest.raises(ValueError, match="init"):
    cells.lstm_init(jax.random.key(0), D, H, init="glorot")


@pytest.mark.parametrize("fn", [cells.lstm_init, cells.gru_init])
@pytest.mark.parametrize("bad", [0, -2, 2.5, True])
def test_init_rejects_bad_sizes(fn, bad):
  with pytest.raises(ValueError, match="hidden_dim"):
    fn(jax.random.key(0), D, bad)
  with pytest.raises(ValueError, match="input_dim"):
    fn(jax.random.key(0), bad, H)


def test_step_rejects_mismatched_input_dim():
  with pytest.raises(ValueError, match="x has last dimension 4"):
    cells.lstm_step(_lstm(), cells.lstm_zero_state((), H), jnp.ones(4))
  with pytest.raises(ValueError, match="x has last dimension 4"):
    cells.gru_step(_gru(), cells.gru_zero_state((), H), jnp.ones(4))


def test_flops_hand_counted():
  # D=3, H=5: matmuls 2*(3+5)*20 = 320, bias 20, element-wise 8*5 = 40.
  assert cells.lstm_step_flops(3, 5) == 380
  # GRU: 2*(3+5)*15 = 240, biases 2*15 = 30, element-wise 8*5 = 40.
  assert cells.gru_step_flops(3, 5) == 310


def test_gradients():
  p = _lstm()
  state = cells.LSTMState(c=jnp.asarray(_normal(2, (2, H))), h=jnp.asarray(_normal(3, (2, H))))
  x = jnp.asarray(_normal(1, (2, D)))
  with jax.enable_x64(True):
    p64, s64, x64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), (p, state, x))
    f = jax.jit(lambda p, s, x: cells.lstm_step(p, s, x)[0])
    jtu.check_grads(f, (p64, s64, x64), order=1, modes=["rev"])
    g = _gru()
    g64, h64 = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), (g, state.h))
    jtu.check_grads(jax.jit(lambda p, h, x: cells.gru_step(p, h, x)[0]), (g64, h64, x64),
                    order=1, modes=["rev"])


# ----------------------------------------------------------------------------------------------
# torch reference
# ----------------------------------------------------------------------------------------------


def test_lstm_matches_torch_two_layers_and_bidirectional():
  torch = pytest.importorskip("torch")
  torch.manual_seed(0)
  batch, steps = 3, 7
  net = torch.nn.LSTM(D, H, num_layers=2, batch_first=True, bidirectional=True)
  xs = _normal(1, (batch, steps, D))
  with torch.no_grad():
    want, (h_n, c_n) = net(torch.from_numpy(xs))
  sd = net.state_dict()
  inputs = jnp.asarray(xs)
  for layer in range(2):
    fwd = cells.lstm_params_from_torch(sd, layer)
    bwd = cells.lstm_params_from_torch(sd, layer, suffix="_reverse")
    s_f, hs_f = lstm_layer(fwd, inputs)
    s_b, hs_b = lstm_layer(bwd, inputs, reverse=True)
    for k, s in enumerate((s_f, s_b)):
      np.testing.assert_allclose(s.h, h_n[2 * layer + k].numpy(), atol=1e-5)
      np.testing.assert_allclose(s.c, c_n[2 * layer + k].numpy(), atol=1e-5)
    inputs = jnp.concatenate([hs_f, hs_b], axis=-1)
  np.testing.assert_allclose(inputs, want.numpy(), atol=1e-5)


def test_gru_matches_torch_multi_step():
  torch = pytest.importorskip("torch")
  torch.manual_seed(1)
  net = torch.nn.GRU(D, H, num_layers=2, batch_first=True)
  xs = _normal(1, (3, 6, D))
  with torch.no_grad():
    want, h_n = net(torch.from_numpy(xs))
  inputs = jnp.asarray(xs)
  for layer in range(2):
    h, inputs = gru_layer(cells.gru_params_from_torch(net.state_dict(), layer), inputs)
    np.testing.assert_allclose(h, h_n[layer].numpy(), atol=1e-5)
  np.testing.assert_allclose(inputs, want.numpy(), atol=1e-5)


def test_cells_match_torch_cell_modules():
  torch = pytest.importorskip("torch")
  torch.manual_seed(2)
  lstm, gru = torch.nn.LSTMCell(D, H), torch.nn.GRUCell(D, H)
  x, h, c = _normal(1, (4, D)), _normal(2, (4, H)), _normal(3, (4, H))
  with torch.no_grad():
    want_h, want_c = lstm(torch.from_numpy(x), (torch.from_numpy(h), torch.from_numpy(c)))
    want_g = gru(torch.from_numpy(x), torch.from_numpy(h))
  p = cells.lstm_params_from_torch(lstm.state_dict(), layer=None)
  state, _ = cells.lstm_step(p, cells.LSTMState(c=jnp.asarray(c), h=jnp.asarray(h)), x)
  np.testing.assert_allclose(state.h, want_h.numpy(), atol=1e-5)
  np.testing.assert_allclose(state.c, want_c.numpy(), atol=1e-5)
  g = cells.gru_params_from_torch(gru.state_dict(), layer=None)
  np.testing.assert_allclose(cells.gru_step(g, jnp.asarray(h), x)[0], want_g.numpy(), atol=1e-5)
  with pytest.raises(ValueError, match="not LSTM weights"):
    cells.lstm_params_from_torch(gru.state_dict(), layer=None)
  with pytest.raises(ValueError, match="not GRU weights"):
    cells.gru_params_from_torch(lstm.state_dict(), layer=None)
