"""Tests for skipjax.char_features: the character CNN against a NumPy loop, padding, gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import test_util

from skipjax import char_features as cf

V, E, F = 12, 4, 5


def _params(kernel=3, key=0):
  p = cf.char_cnn_init(jax.random.PRNGKey(key), V, E, F, kernel)
  return p._replace(b=jnp.linspace(-0.3, 0.3, F))  # a nonzero bias, so that it is checked too


def _np_char_cnn(p, chars, lengths):
  """One word at a time: zero-padded window around each real character, tanh, max."""
  embed, w, b = (np.asarray(a, np.float64) for a in p)
  kernel = w.shape[0]
  r = kernel // 2
  out = np.zeros(chars.shape[:-1] + (F,))
  for idx in np.ndindex(chars.shape[:-1]):
    n = int(lengths[idx])
    if n == 0:
      continue
    e = embed[chars[idx][:n]]                               # [n, E]: only the real characters
    e = np.concatenate([np.zeros((r, E)), e, np.zeros((r, E))])
    z = np.stack([sum(e[j + i] @ w[i] for i in range(kernel)) + b for j in range(n)])
    out[idx] = np.tanh(z).max(axis=0)
  return out


def _chars(key=1, shape=(2, 3), width=6):
  rng = np.random.default_rng(key)
  lengths = rng.integers(0, width + 1, shape).astype(np.int32)
  lengths[0, 0] = width  # a word filling the whole axis
  lengths[0, 1] = 0      # an empty word (a padded token)
  lengths[1, 0] = 1
  chars = rng.integers(1, V, shape + (width,)).astype(np.int32)
  chars = np.where(np.arange(width) < lengths[..., None], chars, 0)
  return chars, lengths


@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_matches_numpy_reference(kernel):
  p = _params(kernel)
  chars, lengths = _chars()
  got = cf.char_cnn(p, jnp.asarray(chars), jnp.asarray(lengths))
  assert got.shape == (2, 3, F) and got.dtype == jnp.float32
  np.testing.assert_allclose(got, _np_char_cnn(p, chars, lengths), atol=1e-5)
  np.testing.assert_array_equal(got[0, 1], 0.0)  # no characters: zero features


def test_character_padding_never_changes_a_result():
  """More padding columns, and garbage ids (even valid characters) beyond each word's length,
  give the same features."""
  p = _params()
  chars, lengths = _chars(width=6)
  base = cf.char_cnn(p, jnp.asarray(chars), jnp.asarray(lengths))
  wider = np.concatenate([chars, np.zeros(chars.shape[:-1] + (5,), np.int32)], axis=-1)
  np.testing.assert_allclose(cf.char_cnn(p, jnp.asarray(wider), jnp.asarray(lengths)), base,
                             atol=1e-6)
  rng = np.random.default_rng(3)
  garbage = np.where(np.arange(11) < lengths[..., None], wider,
                     rng.integers(0, V, wider.shape)).astype(np.int32)
  assert (garbage != wider).any()
  np.testing.assert_allclose(cf.char_cnn(p, jnp.asarray(garbage), jnp.asarray(lengths)), base,
                             atol=1e-6)
  # The PAD row of the embedding table is never read either.
  p2 = p._replace(embed=p.embed.at[0].set(100.0))
  np.testing.assert_allclose(cf.char_cnn(p2, jnp.asarray(wider), jnp.asarray(lengths)), base,
                             atol=1e-6)


def test_gradients():
  p = _params()
  chars, lengths = _chars()
  lengths_j = jnp.asarray(lengths)
  embedded = cf.char_embed(p, jnp.asarray(chars))

  def f(params, emb):
    return cf.char_cnn_features(params, emb, lengths_j)

  test_util.check_grads(f, (p, embedded), order=1, modes=("rev",), eps=1e-3, atol=1e-2,
                        rtol=1e-2)
  grads = jax.grad(lambda params: jnp.sum(cf.char_cnn(params, jnp.asarray(chars),
                                                      lengths_j)))(p)
  assert all(bool(jnp.all(jnp.isfinite(g))) for g in grads)
  # Only characters that occur at real positions get an embedding gradient (PAD = 0 none).
  used = np.unique(chars[np.arange(chars.shape[-1]) < lengths[..., None]])
  has_grad = np.abs(np.asarray(grads.embed)).sum(axis=1) > 0
  assert set(np.flatnonzero(has_grad)) <= set(used.tolist()) and not has_grad[0]
  assert has_grad.any()


def test_flops():
  assert cf.char_cnn_flops(10, E, F, 3) == 2 * 10 * 3 * E * F


def test_bad_input():
  p = _params()
  chars, lengths = _chars()
  with pytest.raises(ValueError, match="odd"):
    cf.char_cnn_init(jax.random.PRNGKey(0), V, E, F, 2)
  with pytest.raises(ValueError, match="num_chars"):
    cf.char_cnn_init(jax.random.PRNGKey(0), 0, E, F, 3)
  with pytest.raises(TypeError, match="chars must be integer"):
    cf.char_cnn(p, jnp.asarray(chars, jnp.float32), jnp.asarray(lengths))
  with pytest.raises(ValueError, match=r"chars must be ids in \[0, 12\)"):
    cf.char_cnn(p, jnp.asarray(chars).at[0, 0, 0].set(V), jnp.asarray(lengths))
  with pytest.raises(ValueError, match=r"char_lengths must lie in \[0, 6\]"):
    cf.char_cnn(p, jnp.asarray(chars), jnp.asarray(lengths).at[0, 0].set(7))
  with pytest.raises(ValueError, match="char_lengths must have shape"):
    cf.char_cnn(p, jnp.asarray(chars), jnp.asarray(lengths)[:, :2])
  with pytest.raises(TypeError, match="char_lengths must be integers"):
    cf.char_cnn(p, jnp.asarray(chars), jnp.asarray(lengths, jnp.float32))
  with pytest.raises(ValueError, match="at least one position"):
    cf.char_cnn(p, jnp.zeros((2, 3, 0), jnp.int32), jnp.zeros((2, 3), jnp.int32))
  with pytest.raises(ValueError, match="character embedding size"):
    cf.char_cnn_features(p, jnp.zeros((2, 3, 6, E + 1)), jnp.asarray(lengths))


def test_a_constant_batch_inside_jit():
  """Concrete ids closed over by a jitted function are checked with NumPy (jnp ops on them inside
  the trace give tracers, which cannot be tested with bool)."""
  p = _params()
  chars, lengths = _chars()
  got = jax.jit(lambda p: cf.char_cnn(p, jnp.asarray(chars), jnp.asarray(lengths)))(p)
  np.testing.assert_allclose(got, _np_char_cnn(p, chars, lengths), atol=1e-5)
  bad = chars.copy()
  bad[0, 0, 0] = V
  with pytest.raises(ValueError, match=r"chars must be ids in \[0, 12\)"):
    jax.jit(lambda p: cf.char_cnn(p, bad, lengths))(p)
