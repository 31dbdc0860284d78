"""Tests of skipjax.estimators: exact gradients, hand values, and statistical checks.

Statistical tests use a fixed key and N samples; a mean passes if it lies within 4 standard errors
(computed from the same samples, or sqrt(p (1 - p) / N) for frequencies) of the exact value. For a
correct estimator a 4-sigma miss has probability ~6e-5 per component, and with the fixed key the
test is deterministic anyway.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import estimators as est

N = 20_000
Z = 4.0  # tolerance in standard errors


def _assert_frequencies(samples_one_hot, probs):
  freq = np.asarray(samples_one_hot).mean(axis=0)
  se = np.sqrt(probs * (1 - probs) / samples_one_hot.shape[0])
  assert np.all(np.abs(freq - probs) <= Z * se), (freq, probs, se)


def test_straight_through_round_forward_and_unit_gradient():
  x = jnp.array([-1.6, -0.4, 0.4, 0.5, 1.49, 2.5])
  np.testing.assert_array_equal(est.straight_through_round(x), [-2, 0, 0, 0, 1, 2])
  w = jnp.arange(1.0, 7.0)
  grad = jax.grad(lambda x: jnp.sum(w * est.straight_through_round(x)))(x)
  np.testing.assert_array_equal(grad, w)


def test_bernoulli_straight_through():
  probs = jnp.array([0.1, 0.5, 0.9])
  u = jax.jit(est.bernoulli_straight_through)(jax.random.key(0), jnp.broadcast_to(probs, (N, 3)))
  assert set(np.unique(np.asarray(u))) <= {0.0, 1.0}
  _assert_frequencies(u, np.asarray(probs))
  w = jnp.array([1.0, -2.0, 3.0])
  grad = jax.grad(lambda p: jnp.sum(w * est.bernoulli_straight_through(jax.random.key(1), p)))(
      probs)
  np.testing.assert_array_equal(grad, w)


def test_categorical_straight_through():
  logits = jnp.array([1.0, 0.0, -1.0, 2.0])
  probs = np.asarray(jax.nn.softmax(logits))
  y = jax.jit(est.categorical_straight_through)(jax.random.key(0),
                                               jnp.broadcast_to(logits, (N, 4)))
  np.testing.assert_allclose(np.asarray(y).sum(-1), 1.0)
  assert set(np.unique(np.asarray(y))) <= {0.0, 1.0}
  _assert_frequencies(y, probs)
  # Backward: the softmax Jacobian, d(w . softmax)/d logits = p * (w - p . w).
  w = np.array([1.0, -2.0, 0.5, 3.0])
  grad = jax.grad(lambda l: jnp.sum(w * est.categorical_straight_through(jax.random.key(1), l)))(
      logits)
  np.testing.assert_allclose(grad, probs * (w - probs @ w), rtol=1e-5, atol=1e-7)
  # axis=0 samples along the first axis
  y0 = est.categorical_straight_through(jax.random.key(2), jnp.zeros((3, 5)), axis=0)
  np.testing.assert_allclose(np.asarray(y0).sum(0), 1.0)


# ----------------------------------------------------------------------------------------------
# REINFORCE on a 4-armed bandit: pi = softmax(theta), fixed reward per action.
# ----------------------------------------------------------------------------------------------

THETA = jnp.array([0.2, -0.5, 1.0, 0.0])
REWARD = jnp.array([1.0, -2.0, 0.5, 3.0])


def _exact_grad_neg_expected_reward():
  """-d E[R] / d theta = -p * (R - p . R), by hand."""
  p = np.asarray(jax.nn.softmax(THETA), np.float64)
  r = np.asarray(REWARD, np.float64)
  return -p * (r - p @ r)


@jax.jit
def _reinforce_grads(key, baseline_params):
  """Per-sample gradients [N, 4] of reinforce_loss for actions drawn from pi, with the baseline
  `w . f + b` of features f drawn independently of the action (a constant when w = 0)."""
  _, apply = est.linear_baseline()
  actions = jax.random.categorical(key, THETA, shape=(N,))
  features = jax.random.normal(jax.random.fold_in(key, 1), (N, 2))

  def sample_loss(theta, action, feature):
    log_probs = jax.nn.log_softmax(theta)[action][None]  # a sequence of T=1 decision
    return est.reinforce_loss(log_probs, REWARD[action] - apply(baseline_params, feature))

  return jax.vmap(jax.grad(sample_loss), in_axes=(None, 0, 0))(THETA, actions, features)


def test_reinforce_unbiased_without_and_with_baselines():
  exact = _exact_grad_neg_expected_reward()
  ema_init, ema_update = est.ema_baseline(0.9)
  ema = ema_update(ema_init(), REWARD[jax.random.categorical(jax.random.key(9), THETA,
                                                             shape=(64,))])
  lin_init, _ = est.linear_baseline()
  zero = lin_init(2)
  baselines = {"none": zero, "ema": zero._replace(b=ema.value),
               "linear": zero._replace(w=jnp.array([0.5, -1.0]), b=jnp.array(0.8))}
  std_errors = {}
  for i, (name, params) in enumerate(baselines.items()):
    grads = np.asarray(_reinforce_grads(jax.random.key(i), params), np.float64)
    se = grads.std(axis=0) / np.sqrt(N)
    assert np.all(np.abs(grads.mean(axis=0) - exact) <= Z * se), (name, grads.mean(0), exact, se)
    std_errors[name] = se
  # A constant baseline near E[R] reduces the total variance here (the reason to have one).
  assert np.sum(std_errors["ema"] ** 2) < 0.9 * np.sum(std_errors["none"] ** 2)


def test_reinforce_loss_hand_value_mask_and_stop_gradient():
  log_probs = jnp.array([-1.0, -2.0, -3.0])
  adv = jnp.array([1.0, 2.0, 3.0])
  assert float(est.reinforce_loss(log_probs, adv, jnp.array([1, 1, 0]))) == 5.0
  assert float(est.reinforce_loss(log_probs, 2.0)) == 12.0  # scalar advantage broadcasts
  # Advantages are stop-gradiented: a baseline's parameters get nothing from this loss.
  g = jax.grad(lambda b: est.reinforce_loss(log_probs, adv - b))(1.0)
  assert float(g) == 0.0
  grad = jax.grad(lambda lp: est.reinforce_loss(lp, adv, jnp.array([1.0, 0.0, 1.0])))(log_probs)
  np.testing.assert_array_equal(grad, [-1.0, 0.0, -3.0])


# ----------------------------------------------------------------------------------------------
# Gumbel-softmax
# ----------------------------------------------------------------------------------------------


def test_gumbel_softmax_hard_samples_follow_softmax():
  logits = jnp.array([1.0, 0.0, -1.0, 0.5])
  y = jax.jit(est.gumbel_softmax, static_argnames="hard")(
      jax.random.key(0), jnp.broadcast_to(logits, (N, 4)), 1.0, hard=True)
  assert set(np.unique(np.asarray(y))) <= {0.0, 1.0}
  np.testing.assert_allclose(np.asarray(y).sum(-1), 1.0)
  _assert_frequencies(y, np.asarray(jax.nn.softmax(logits)))


def test_gumbel_softmax_soft_tends_to_hard_as_tau_falls():
  logits = jnp.broadcast_to(jnp.array([1.0, 0.0, -1.0, 0.5]), (1000, 4))
  key = jax.random.key(3)
  hard = np.asarray(est.gumbel_softmax(key, logits, 1.0, hard=True))
  gaps = [np.abs(np.asarray(est.gumbel_softmax(key, logits, tau)) - hard).max(-1).mean()
          for tau in (1.0, 0.3, 0.1, 0.01, 0.001)]
  assert all(a > b for a, b in zip(gaps, gaps[1:])), gaps
  assert gaps[-1] < 0.01
  # The hard sample is the argmax of the same perturbed logits at every temperature.
  np.testing.assert_array_equal(
      np.argmax(np.asarray(est.gumbel_softmax(key, logits, 5.0)), -1), hard.argmax(-1))


def test_gumbel_softmax_hard_gradient_is_the_soft_gradient():
  logits = jnp.array([0.3, -0.2, 0.9])
  w = jnp.array([1.0, -1.0, 2.0])
  key, tau = jax.random.key(5), 0.7
  g_hard = jax.grad(lambda l: jnp.sum(w * est.gumbel_softmax(key, l, tau, hard=True)))(logits)
  g_soft = jax.grad(lambda l: jnp.sum(w * est.gumbel_softmax(key, l, tau)))(logits)
  np.testing.assert_allclose(g_hard, g_soft, rtol=1e-6)
  # By hand: y = softmax((l + g) / tau), dy/dl = (diag(y) - y y^T) / tau.
  y = np.asarray(est.gumbel_softmax(key, logits, tau), np.float64)
  np.testing.assert_allclose(g_hard, y * (np.asarray(w) - y @ np.asarray(w)) / tau, rtol=1e-5)
  assert np.abs(np.asarray(g_hard)).max() > 1e-3


# ----------------------------------------------------------------------------------------------
# Schedules, baselines, helpers
# ----------------------------------------------------------------------------------------------


def test_gumbel_temperature_and_schedule_arguments_are_checked():
  """Issue 11 item 5: tau <= 0 gave NaN samples (tau = 0) or a softmax of the negated logits."""
  key, logits = jax.random.PRNGKey(0), jnp.zeros((3, 2))
  for tau in (0.0, -1.0, float("nan")):
    with pytest.raises(ValueError, match=r"tau must lie in \(0, inf\)"):
      est.gumbel_softmax(key, logits, tau)
  with pytest.raises(ValueError, match=r"tau_min must lie in \(0, inf\), got 0\.0"):
    est.exponential_temperature(10, tau_min=0.0)
  with pytest.raises(ValueError, match=r"rate must lie in \[0, inf\), got -0\.1"):
    est.temperature_schedule(rate=-0.1)
  with pytest.raises(ValueError, match=r"discount must lie in \[0, 1\], got 1\.5"):
    est.reward_to_go(jnp.ones(3), discount=1.5)


def test_exponential_temperature_hand_values():
  np.testing.assert_allclose(est.exponential_temperature(0), 1.0)
  np.testing.assert_allclose(est.exponential_temperature(1000), np.exp(-0.1), rtol=1e-6)
  np.testing.assert_allclose(est.exponential_temperature(10_000), 0.5)  # exp(-1) < tau_min
  np.testing.assert_allclose(est.exponential_temperature(3, rate=0.5, tau_min=0.1), np.exp(-1.5),
                             rtol=1e-6)
  init, update = est.temperature_schedule(rate=0.5, tau_min=0.3)
  state = init()
  np.testing.assert_allclose(state.tau, 1.0)
  state = update(update(state))
  assert int(state.step) == 2
  np.testing.assert_allclose(state.tau, np.exp(-1.0), rtol=1e-6)
  state = update(update(state))
  np.testing.assert_allclose(state.tau, 0.3)  # exp(-2) = 0.135 is clipped


def test_ema_baseline_hand_values():
  init, update = est.ema_baseline(0.9)
  state = init()
  assert float(state.value) == 0.0
  state = update(state, jnp.array([1.0, 3.0]))
  np.testing.assert_allclose(state.value, 2.0)  # first update takes the mean, no zero bias
  state = update(state, jnp.array([4.0]))
  np.testing.assert_allclose(state.value, 0.9 * 2.0 + 0.1 * 4.0, rtol=1e-6)
  state = update(state, jnp.array([0.0, 0.0]))
  np.testing.assert_allclose(state.value, 0.9 * 2.2, rtol=1e-6)
  assert int(state.count) == 3
  with pytest.raises(ValueError, match="decay"):
    est.ema_baseline(1.0)


def test_linear_baseline_and_loss_gradients():
  init, apply = est.linear_baseline()
  params = init(3)._replace(w=jnp.array([1.0, -1.0, 2.0]), b=jnp.array(0.5))
  h = jnp.array([[1.0, 2.0, 3.0], [0.0, 1.0, 0.0]])  # [T=2, F]
  np.testing.assert_allclose(apply(params, h), [5.5, -0.5])
  returns, mask = jnp.array([5.0, 1.0]), jnp.array([1.0, 1.0])
  loss_fn = lambda p, h: est.linear_baseline_loss(apply(p, h), returns, mask)
  np.testing.assert_allclose(loss_fn(params, h), 0.5 * (0.25 + 2.25))
  g_params, g_h = jax.grad(loss_fn, argnums=(0, 1))(params, h)
  err = np.array([0.5, -1.5])  # b - R
  np.testing.assert_allclose(g_params.w, err @ np.asarray(h))
  np.testing.assert_allclose(g_params.b, err.sum())
  np.testing.assert_array_equal(g_h, 0.0)  # features are stop-gradiented
  # d loss / d values = mask * (values - R); returns get no gradient.
  v = jnp.array([1.0, 2.0, 3.0])
  g_v, g_r = jax.grad(est.linear_baseline_loss, argnums=(0, 1))(v, jnp.array([0.0, 4.0, 1.0]),
                                                                 jnp.array([1, 0, 1]))
  np.testing.assert_array_equal(g_v, [1.0, 0.0, 2.0])
  np.testing.assert_array_equal(g_r, 0.0)


def test_entropy_and_entropy_loss():
  np.testing.assert_allclose(est.entropy(jnp.zeros(4)), np.log(4.0), rtol=1e-6)
  logits = jnp.array([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
  p = np.asarray(jax.nn.softmax(logits), np.float64)
  ent = -(p * np.log(p)).sum(-1)
  np.testing.assert_allclose(est.entropy_loss(logits), -ent.sum(), rtol=1e-6)
  np.testing.assert_allclose(est.entropy_loss(logits, jnp.array([0, 1])), -ent[1], rtol=1e-6)
  # Minimising the loss raises the entropy.
  grad = jax.grad(est.entropy_loss)(logits)
  stepped = logits - 0.1 * grad
  assert np.all(np.asarray(est.entropy(stepped)) > ent)


def test_reward_to_go_and_normalize_hand_values():
  r = jnp.array([1.0, 2.0, 3.0])
  np.testing.assert_allclose(est.reward_to_go(r), [6.0, 5.0, 3.0])
  np.testing.assert_allclose(est.reward_to_go(r, discount=0.5), [2.75, 3.5, 3.0])
  np.testing.assert_allclose(est.reward_to_go(r, jnp.array([1, 1, 0]), 0.5), [2.0, 2.0, 0.0])
  x = jnp.array([1.0, 2.0, 3.0, 10.0])
  s = np.sqrt(2.0 / 3.0)
  np.testing.assert_allclose(est.normalize(x, jnp.array([1, 1, 1, 0]), eps=0.0),
                             [-1 / s, 0.0, 1 / s, 0.0], rtol=1e-6)
  out = est.normalize(jnp.array([3.0, 5.0]))
  np.testing.assert_allclose(out, [-1.0, 1.0], rtol=1e-5)
