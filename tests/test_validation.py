"""Tests for skipjax.validation: value checks raise when concrete and report under checkify when
traced (a plain jitted call is unchanged)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from skipjax import validation as v


def test_interval_text_and_membership():
  assert [str(i) for i in (v.UNIT, v.RATE, v.NONNEG, v.POSITIVE)] == [
      "[0, 1]", "[0, 1)", "[0, inf)", "(0, inf)"]
  np.testing.assert_array_equal(
      v.RATE.contains(np.array([0.0, 0.5, 1.0, -0.1, np.nan, np.inf])),
      [True, True, False, False, False, False])
  assert not v.NONNEG.contains(math.inf)  # finite only, whatever the ends


@pytest.mark.parametrize("value,error,match", [
    (1.5, ValueError, r"lam must lie in \[0, 1\] \(a weight\), got 1\.5"),
    (float("nan"), ValueError, r"lam must lie in \[0, 1\] \(a weight\), got nan"),
    (np.array([0.25, 3.0], np.float32), ValueError, r"got values in \[0\.25, 3\.0\]"),
    (np.array([0.5, np.nan]), ValueError, r"got NaN among them"),
    (True, TypeError, r"lam must be a number, got True"),
    ("0.5", TypeError, r"lam must be a number"),
    (None, TypeError, r"lam must be a number, got None"),
])
def test_check_in_concrete(value, error, match):
  with pytest.raises(error, match=match):
    v.check_in("lam", value, v.UNIT, "(a weight)")


def test_check_in_traced_is_free_unless_checkified():
  def f(lam):
    v.check_in("lam", lam, v.UNIT)
    return 2.0 * lam

  assert float(jax.jit(f)(1.5)) == 3.0   # a plain jitted call cannot raise; it runs unchanged
  err, out = checkify.checkify(jax.jit(f))(1.5)
  assert float(out) == 3.0
  with pytest.raises(checkify.JaxRuntimeError, match=r"lam must lie in \[0, 1\]"):
    err.throw()
  err, _ = checkify.checkify(jax.jit(f))(0.5)
  assert err.get() is None
  # Under vmap and grad too.
  err, _ = checkify.checkify(jax.vmap(f))(jnp.array([0.5, 1.5]))
  assert "lam must lie in [0, 1]" in err.get()
  v.check_in("lam", 1.0, v.UNIT)


def test_token_ids_and_lengths():
  v.check_token_ids("ids", np.array([[0, 9]]), 10)
  v.check_token_ids("ids", np.zeros((0, 3), np.int32), 10)
  with pytest.raises(ValueError, match=r"ids must be token ids in \[0, 10\) \(the embedding's "
                                       r"vocabulary\), got values in \[0, 10\]"):
    v.check_token_ids("ids", np.array([[0, 10]]), 10)
  with pytest.raises(TypeError, match="ids must be integer token ids"):
    v.check_token_ids("ids", np.array([0.5]), 10)
  err, _ = checkify.checkify(jax.jit(lambda i: v.check_token_ids("ids", i, 10)))(jnp.array([-1]))
  assert "ids must be token ids in [0, 10)" in err.get()
  err, _ = checkify.checkify(jax.jit(lambda n: v.check_lengths(n, 2, 5)))(jnp.array([5, 6]))
  assert "lengths must lie in [0, 5] (the padded length)" in err.get()
  with pytest.raises(ValueError, match=r"lengths must lie in \[0, 5\] \(the padded length\), "
                                       r"got values in \[0, 6\]"):
    v.check_lengths(np.array([0, 6]), 2, 5)


def test_check_hparams_skips_absent_and_unknown_names():
  spec = {"lam": v.UNIT, "dropout": v.RATE}
  v.check_hparams({"lam": 0.5, "step": 10, "other": -3.0}, spec)
  with pytest.raises(ValueError, match=r"hparams\['dropout'\] must lie in \[0, 1\), got 1\.0"):
    v.check_hparams({"dropout": 1.0}, spec)
  with pytest.raises(ValueError, match=r"config\.hparams\.lam must lie"):
    v.check_hparams({"lam": -1.0}, spec, lambda k: f"config.hparams.{k}")
  with pytest.raises(ValueError, match=r"forced \(K\)"):
    v.require(np.array([True, False]), "forced (K)")
