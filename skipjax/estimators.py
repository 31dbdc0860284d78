"""Gradient estimators for discrete decisions: straight-through, Gumbel-softmax, REINFORCE.

Written in the style of rlax/optax: losses are pure per-sequence functions that callers `vmap`
over a batch; baselines and schedules are `(init, update)` pairs with NamedTuple state.

- Straight-through (Bengio et al. 2013): forward a hard value, backward the identity,
  `x + sg(hard - x)`. Used by Skip RNN's `round` and for Bernoulli/categorical samples.
- Gumbel-softmax (Jang et al. 2017; Maddison et al. 2017): `softmax((logits + g) / tau)`, g ~
  Gumbel(0, 1); `hard=True` forwards the one-hot argmax and backpropagates the soft sample.
- REINFORCE (Williams 1992): score-function surrogate `-sum_t mask_t * sg(A_t) * log pi(a_t)`,
  whose gradient is an unbiased estimate of `-grad E[R]` when `A_t` is the return minus a
  baseline that does not depend on a_t.
"""

from __future__ import annotations

from typing import NamedTuple

import chex
import jax
import jax.numpy as jnp

from skipjax import validation

Array = jax.Array
sg = jax.lax.stop_gradient


# ----------------------------------------------------------------------------------------------
# Straight-through
# ----------------------------------------------------------------------------------------------


def straight_through(soft: Array, hard: Array) -> Array:
  """Forward `hard`, backward the gradient of `soft` (identity Jacobian): soft + sg(hard - soft)."""
  return soft + sg(hard - soft)


def straight_through_round(x: Array) -> Array:
  """round(x) forward, gradient 1 backward (Campos et al. 2018, eq. 2). `jnp.round` alone has
  zero gradient everywhere, the bug of several public Skip RNN ports."""
  return straight_through(x, jnp.round(x))


def bernoulli_straight_through(key: Array, probs: Array) -> Array:
  """Sample u ~ Bernoulli(probs) forward; gradient d u / d probs = 1 backward."""
  sample = jax.random.bernoulli(key, sg(probs)).astype(probs.dtype)
  return straight_through(probs, sample)


def categorical_straight_through(key: Array, logits: Array, axis: int = -1) -> Array:
  """One-hot sample of softmax(logits) forward; gradient of the softmax probabilities backward."""
  probs = jax.nn.softmax(logits, axis=axis)
  idx = jax.random.categorical(key, sg(logits), axis=axis)
  hard = jax.nn.one_hot(idx, logits.shape[axis], axis=axis, dtype=probs.dtype)
  return straight_through(probs, hard)


# ----------------------------------------------------------------------------------------------
# Gumbel-softmax
# ----------------------------------------------------------------------------------------------


def gumbel_softmax(key: Array, logits: Array, tau: float | Array, *, hard: bool = False,
                   axis: int = -1) -> Array:
  """Gumbel-softmax sample `softmax((logits + g) / tau)` with g ~ Gumbel(0, 1).

  The noise is added to the logits (log-probabilities up to a constant), never to a constant:
  public Skim-RNN ports that sample `softmax(g / tau)` ignore the model's decision. With
  `hard=True` the forward value is the one-hot argmax of the perturbed logits (an exact sample
  of softmax(logits)) and the gradient is that of the soft sample. tau must be > 0 (checked
  when concrete; by `checkify.checkify` when traced): tau <= 0 gives NaN or a flipped softmax.
  """
  validation.check_in("tau", tau, validation.POSITIVE, "(the Gumbel-softmax temperature)")
  g = jax.random.gumbel(key, logits.shape, jnp.float32)
  soft = jax.nn.softmax((logits.astype(jnp.float32) + g) / tau, axis=axis)
  if not hard:
    return soft
  idx = jnp.argmax(soft, axis=axis)
  return straight_through(soft, jax.nn.one_hot(idx, logits.shape[axis], axis=axis,
                                               dtype=soft.dtype))


def exponential_temperature(step: Array, rate: float = 1e-4, tau_min: float = 0.5) -> Array:
  """`tau = max(tau_min, exp(-rate * step))` (Seo et al. 2018 use rate 1e-4, tau_min 0.5);
  rate >= 0, tau_min > 0."""
  validation.check_in("rate", rate, validation.NONNEG)
  validation.check_in("tau_min", tau_min, validation.POSITIVE)
  return jnp.maximum(tau_min, jnp.exp(-rate * jnp.asarray(step, jnp.float32)))


class TemperatureState(NamedTuple):
  step: Array
  tau: Array


def temperature_schedule(rate: float = 1e-4, tau_min: float = 0.5):
  """`(init, update)` pair for the annealed Gumbel temperature; `update(state)` advances a step."""
  validation.check_in("rate", rate, validation.NONNEG)
  validation.check_in("tau_min", tau_min, validation.POSITIVE)
  def init() -> TemperatureState:
    return TemperatureState(step=jnp.zeros((), jnp.int32), tau=jnp.ones((), jnp.float32))

  def update(state: TemperatureState) -> TemperatureState:
    step = state.step + 1
    return TemperatureState(step=step, tau=exponential_temperature(step, rate, tau_min))

  return init, update


# ----------------------------------------------------------------------------------------------
# REINFORCE
# ----------------------------------------------------------------------------------------------


def reinforce_loss(log_probs: Array, advantages: Array, mask: Array | None = None) -> Array:
  """Score-function surrogate loss of one sequence: `-sum_t mask_t * sg(A_t) * log pi(a_t)`.

  Args:
    log_probs: [T] log-probabilities of the actions taken.
    advantages: [T] (or scalar, broadcast) return minus baseline; stop-gradiented here.
    mask: [T] 1 for real decisions, 0 for padding/after stop; None means all real.
  Returns:
    scalar whose gradient w.r.t. the policy parameters estimates `-grad E[R]`.
  """
  chex.assert_rank(log_probs, 1)
  advantages = jnp.broadcast_to(sg(advantages), log_probs.shape)
  mask = jnp.ones_like(log_probs) if mask is None else mask.astype(log_probs.dtype)
  chex.assert_equal_shape([log_probs, mask])
  return -jnp.sum(mask * advantages * log_probs)


def entropy(logits: Array, axis: int = -1) -> Array:
  """Entropy of softmax(logits) along `axis`."""
  logp = jax.nn.log_softmax(logits, axis=axis)
  return -jnp.sum(jnp.exp(logp) * logp, axis=axis)


def entropy_loss(logits: Array, mask: Array | None = None) -> Array:
  """Negative summed entropy of one sequence of decisions: logits [T, A], mask [T].

  Add `beta * entropy_loss` to a loss to be minimised to get an entropy bonus.
  """
  chex.assert_rank(logits, 2)
  ent = entropy(logits)
  mask = jnp.ones_like(ent) if mask is None else mask.astype(ent.dtype)
  return -jnp.sum(mask * ent)


# ----------------------------------------------------------------------------------------------
# Baselines
# ----------------------------------------------------------------------------------------------


class EmaBaselineState(NamedTuple):
  value: Array
  count: Array


def ema_baseline(decay: float = 0.9):
  """Exponential moving average of the reward, as an `(init, update)` pair.

  `update(state, rewards)` folds in the batch mean of `rewards`; the first update sets the value
  to it (no bias toward the zero init). Use `state.value` as the baseline of the *next* batch.
  """
  if not 0.0 <= decay < 1.0:
    raise ValueError(f"decay must lie in [0, 1), got {decay}")

  def init() -> EmaBaselineState:
    return EmaBaselineState(value=jnp.zeros((), jnp.float32), count=jnp.zeros((), jnp.int32))

  def update(state: EmaBaselineState, rewards: Array) -> EmaBaselineState:
    mean = jnp.mean(sg(rewards)).astype(jnp.float32)
    value = jnp.where(state.count == 0, mean, decay * state.value + (1 - decay) * mean)
    return EmaBaselineState(value=value, count=state.count + 1)

  return init, update


class LinearBaselineParams(NamedTuple):
  w: Array
  b: Array


def linear_baseline():
  """Learned linear value baseline `b(h) = w . sg(h) + c` (Yu et al. 2017), as `(init, apply)`.

  The features are stop-gradiented: the baseline's squared error must not shape the encoder.
  Train it with `linear_baseline_loss`.
  """
  def init(feature_dim: int) -> LinearBaselineParams:
    return LinearBaselineParams(w=jnp.zeros((feature_dim,), jnp.float32),
                                b=jnp.zeros((), jnp.float32))

  def apply(params: LinearBaselineParams, features: Array) -> Array:
    return sg(features).astype(jnp.float32) @ params.w + params.b

  return init, apply


def linear_baseline_loss(values: Array, returns: Array, mask: Array | None = None) -> Array:
  """Squared error `0.5 * sum_t mask_t (b_t - sg(R_t))^2` of one sequence's baseline values."""
  err = values - sg(returns)
  mask = jnp.ones_like(err) if mask is None else mask.astype(err.dtype)
  return 0.5 * jnp.sum(mask * err ** 2)


def reward_to_go(rewards: Array, mask: Array | None = None, discount: float = 1.0) -> Array:
  """`G_t = sum_{s >= t} discount^(s-t) r_s` over one sequence [T] (masked steps add 0);
  discount in [0, 1]."""
  validation.check_in("discount", discount, validation.UNIT)
  if mask is not None:
    rewards = rewards * mask
  def body(g, r):
    g = r + discount * g
    return g, g
  _, g = jax.lax.scan(body, jnp.zeros((), rewards.dtype), rewards, reverse=True)
  return g


def normalize(x: Array, mask: Array | None = None, eps: float = 1e-6) -> Array:
  """(x - mean) / std over the (masked) entries: reward normalisation for REINFORCE (eps >= 0)."""
  validation.check_in("eps", eps, validation.NONNEG)
  mask = jnp.ones_like(x) if mask is None else mask.astype(x.dtype)
  n = jnp.maximum(mask.sum(), 1.0)
  mean = (x * mask).sum() / n
  var = (((x - mean) * mask) ** 2).sum() / n
  return (x - mean) / jnp.sqrt(var + eps) * mask


