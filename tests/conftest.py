"""Shared test helpers: float64 NumPy reference cells (independent of skipjax's code).

Tests never write outside the checkout: prepared tfds data and word vectors go to
<repo>/.cache unless $SKIPJAX_TFDS_DIR / $SKIPJAX_VECTORS_DIR say otherwise (a user's
$TFDS_DATA_DIR is not used by the tests)."""

import os
import pathlib

import numpy as np

_REPO = pathlib.Path(__file__).resolve().parent.parent
os.environ.setdefault("SKIPJAX_TFDS_DIR", str(_REPO / ".cache" / "tfds"))
os.environ.setdefault("SKIPJAX_VECTORS_DIR", str(_REPO / ".cache" / "vectors"))


def np_sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def np_lstm_step(w_i, w_h, b, c, h, x):
  """torch.nn.LSTM equations, gate order (i, f, g, o), in float64. Shapes [..., D] / [..., H]."""
  w_i, w_h, b, c, h, x = (np.asarray(a, np.float64) for a in (w_i, w_h, b, c, h, x))
  hidden = w_h.shape[0]
  z = x @ w_i + h @ w_h + b
  i, f = np_sigmoid(z[..., :hidden]), np_sigmoid(z[..., hidden:2 * hidden])
  g, o = np.tanh(z[..., 2 * hidden:3 * hidden]), np_sigmoid(z[..., 3 * hidden:])
  c = f * c + i * g
  return c, o * np.tanh(c)


def np_gru_step(w_i, w_h, b_i, b_h, h, x):
  """torch.nn.GRU equations, gate order (r, z, n), in float64."""
  w_i, w_h, b_i, b_h, h, x = (np.asarray(a, np.float64) for a in (w_i, w_h, b_i, b_h, h, x))
  hidden = w_h.shape[0]
  gx, gh = x @ w_i + b_i, h @ w_h + b_h
  r = np_sigmoid(gx[..., :hidden] + gh[..., :hidden])
  z = np_sigmoid(gx[..., hidden:2 * hidden] + gh[..., hidden:2 * hidden])
  n = np.tanh(gx[..., 2 * hidden:] + r * gh[..., 2 * hidden:])
  return (1.0 - z) * n + z * h


def np_lstm_sequence(p, xs, c, h):
  """Runs np_lstm_step over xs [T, D] (one example); returns (c, h, hs [T, H])."""
  hs = []
  for x in np.asarray(xs):
    c, h = np_lstm_step(p.w_i, p.w_h, p.b, c, h, x)
    hs.append(h)
  return c, h, np.stack(hs) if hs else np.zeros((0, np.shape(h)[-1]))


def np_gru_sequence(p, xs, h):
  hs = []
  for x in np.asarray(xs):
    h = np_gru_step(p.w_i, p.w_h, p.b_i, p.b_h, h, x)
    hs.append(h)
  return h, np.stack(hs) if hs else np.zeros((0, np.shape(h)[-1]))
