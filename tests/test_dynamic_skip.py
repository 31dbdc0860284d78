"""Tests for skipjax.dynamic_skip: ring buffer, masking, lam = 0, estimators, task losses."""

import functools
import itertools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from skipjax import cells
from skipjax import dynamic_skip as ds
from skipjax import estimators
from skipjax import layers
from skipjax import recurrence

D, H, K, A = 3, 4, 3, 5

# Jitted once per shape and shared by the tests: compilation, not running, is what costs here.
_layer = jax.jit(ds.dynamic_skip_layer, static_argnames=("mode", "reverse", "unroll"))
_fixed = jax.jit(ds.fixed_skip_layer, static_argnames=("skip", "reverse", "unroll"))
_attention = jax.jit(ds.attention_skip_layer, static_argnames=("num_skips", "reverse", "unroll"))
_lstm = jax.jit(recurrence.lstm_layer, static_argnames=("reverse", "unroll"))
_predict = jax.jit(ds.predict, static_argnums=(1, 2))


def _xs(key, b=2, t=7):
  return jax.random.normal(jax.random.PRNGKey(key), (b, t, D))


def _params(key=0, k=K):
  return ds.dynamic_skip_init(jax.random.PRNGKey(key), D, H, k, A)


# -- NumPy reference: an LSTM that keeps its whole history in a Python list --------------------


def _np_lstm_step(p, c, h, x):
  sig = lambda z: 1 / (1 + np.exp(-z))
  g = x @ np.asarray(p.w_i, np.float64) + h @ np.asarray(p.w_h, np.float64) + np.asarray(p.b)
  i, f, gg, o = np.split(g, 4)
  c = sig(f) * c + sig(i) * np.tanh(gg)
  return c, sig(o) * np.tanh(c)


def _np_skip_lstm(p, xs, skips, lam, length=None):
  """One sequence: xs [T, D], skips [T] (k per step, clipped to the history that exists)."""
  length = len(xs) if length is None else length
  hist = [(np.zeros(H), np.zeros(H))]  # s_0
  hs = np.zeros((len(xs), H))
  for t in range(length):
    k = min(int(skips[t]), len(hist))
    c_prev, h_prev = hist[-1]
    c_skip, h_skip = hist[-k]
    c, h = _np_lstm_step(p, lam * c_skip + (1 - lam) * c_prev, lam * h_skip + (1 - lam) * h_prev,
                         np.asarray(xs[t], np.float64))
    hist.append((c, h))
    hs[t] = h
  return hs


# -- Ring buffer ------------------------------------------------------------------------------


def test_buffer_read_returns_exact_past_states():
  b, n_push = 2, 2 * K + 1
  states = [cells.LSTMState(c=jnp.full((b, H), -float(j)), h=jnp.full((b, H), float(j)) +
                            jnp.arange(b)[:, None]) for j in range(n_push + 1)]
  buf = ds.skip_buffer_init(states[0], K)
  for j in range(1, n_push + 1):
    buf = ds.skip_buffer_push(buf, states[j])
    t = j + 1  # count: states s_0..s_j written, so the next step is t = j + 1
    np.testing.assert_array_equal(buf.count, [t, t])
    valid = ds.skip_buffer_valid(buf)
    hist = ds.skip_buffer_history(buf)
    for k in range(1, K + 1):
      np.testing.assert_array_equal(valid[:, k - 1], [k <= t] * b)
      if k <= t:
        got = ds.skip_buffer_read(buf, jnp.full((b,), k))
        np.testing.assert_array_equal(got.h, states[t - k].h)  # s_{t-k}, exactly
        np.testing.assert_array_equal(got.c, states[t - k].c)
        np.testing.assert_array_equal(hist.h[:, k - 1], states[t - k].h)


def test_buffer_per_example_counts():
  s = lambda v: cells.LSTMState(c=jnp.full((2, H), v), h=jnp.full((2, H), v))
  buf = ds.skip_buffer_init(s(0.0), K)
  buf = ds.skip_buffer_push(buf, s(1.0))
  # Example 1 skips the second push (a padded step), as scan_rnn's masked update does.
  pushed = ds.skip_buffer_push(buf, s(2.0))
  buf = recurrence.masked_update(jnp.array([True, False]), pushed, buf)
  np.testing.assert_array_equal(buf.count, [3, 2])
  np.testing.assert_array_equal(ds.skip_buffer_read(buf, jnp.array([1, 1])).h[:, 0], [2.0, 1.0])
  np.testing.assert_array_equal(ds.skip_buffer_read(buf, jnp.array([3, 2])).h[:, 0], [0.0, 0.0])


def test_forced_skips_match_numpy_history_reference():
  p = _params()
  xs = _xs(1)
  lengths = jnp.array([7, 5])
  skips = jax.random.randint(jax.random.PRNGKey(2), (2, 7), 1, K + 1)
  for lam in (1.0, 0.5):
    buf, out = _layer(p, xs, lengths, lam=lam, mode="forced", forced_skips=skips)
    for i in range(2):
      ref = _np_skip_lstm(p.lstm, np.asarray(xs[i]), np.asarray(skips[i]), lam, int(lengths[i]))
      np.testing.assert_allclose(out.hs[i], ref, atol=1e-5)
    # The recorded choice is the k actually used (clipped to the history that exists).
    t = jnp.arange(1, 8)[None, :]
    want = jnp.where(t <= lengths[:, None], jnp.minimum(skips, t), 0)
    np.testing.assert_array_equal(out.skip_choice, want)
    # The final buffer holds exactly the last K outputs of each example.
    for i, n in enumerate([7, 5]):
      for k in range(1, K + 1):
        np.testing.assert_array_equal(ds.skip_buffer_read(buf, jnp.full((2,), k)).h[i],
                                      out.hs[i, n - k])


def test_fixed_skip_matches_numpy_reference():
  p = _params().lstm
  xs = _xs(3)
  for skip in (3, 5):
    _, hs = _fixed(p, xs, jnp.array([7, 6]), skip=skip, lam=0.7)
    for i, n in enumerate([7, 6]):
      ref = _np_skip_lstm(p, np.asarray(xs[i]), np.full(7, skip), 0.7, n)
      np.testing.assert_allclose(hs[i], ref, atol=1e-5)


def test_attention_matches_numpy_reference():
  p = ds.attention_skip_init(jax.random.PRNGKey(4), D, H, A)
  xs = _xs(5, b=1, t=6)
  _, (hs, weights) = _attention(p, xs, num_skips=K, lam=0.6)
  a = jax.tree_util.tree_map(lambda v: np.asarray(v, np.float64), p.attention)
  hist = [(np.zeros(H), np.zeros(H))]
  for t in range(6):
    x = np.asarray(xs[0, t], np.float64)
    cands = hist[::-1][:K]
    c_prev, h_prev = hist[-1]
    q = x @ a.w_x + h_prev @ a.w_h + a.b
    e = np.array([np.tanh(q + h @ a.w_k) @ a.v for _, h in cands])
    w = np.exp(e - e.max())
    w /= w.sum()
    np.testing.assert_allclose(weights[0, t, :len(cands)], w, atol=1e-5)
    np.testing.assert_allclose(weights[0, t, len(cands):], 0.0)
    c_att = sum(wk * c for wk, (c, _) in zip(w, cands))
    h_att = sum(wk * h for wk, (_, h) in zip(w, cands))
    c, h = _np_lstm_step(p.lstm, 0.6 * c_att + 0.4 * c_prev, 0.6 * h_att + 0.4 * h_prev, x)
    hist.append((c, h))
    np.testing.assert_allclose(hs[0, t], h, atol=1e-5)


# -- Masking before the buffer fills ---------------------------------------------------------


def test_sampling_only_chooses_existing_states():
  p = _params()
  # Strongly prefer the largest k so that masking, not the policy, keeps choices valid.
  p = p._replace(agent=p.agent._replace(b_out=jnp.arange(K) * 20.0))
  xs, lengths = _xs(0), jnp.full((2,), 7)
  steps = jnp.arange(1, 8)[None, :]
  for seed in range(10):  # same shapes as the other tests: one compilation, many samples
    _, out = _layer(p, xs, lengths, jax.random.PRNGKey(seed), lam=0.5, reverse=False)
    assert bool(jnp.all(out.skip_choice >= 1)) and bool(jnp.all(out.skip_choice <= steps))
    probs = jax.nn.softmax(out.logits, axis=-1)
    np.testing.assert_array_equal(probs * (jnp.arange(1, K + 1) > steps[..., None]), 0.0)
    # Step 1 has one choice: log-prob 0, entropy 0; step 2 has two: entropy at most log 2.
    np.testing.assert_allclose(out.log_probs[:, 0], 0.0, atol=1e-6)
    np.testing.assert_allclose(out.entropy[:, 0], 0.0, atol=1e-6)
    assert bool(jnp.all(out.entropy[:, 1] <= np.log(2) + 1e-6))
    assert bool(jnp.all(out.skip_choice[:, 1] == 2))  # p(k=1) < 1e-6 among {1, 2}
  _, greedy = _layer(p._replace(agent=p.agent._replace(w_out=jnp.zeros_like(p.agent.w_out))),
                     xs, lengths, lam=0.5, mode="greedy", reverse=False)
  np.testing.assert_array_equal(greedy.skip_choice, jnp.broadcast_to(jnp.minimum(steps, K),
                                                                     (2, 7)))


def test_padding_leaves_outputs_and_carry_unchanged():
  p = _params()
  xs = _xs(6, b=1)
  # The same 4 real steps, padded with zeros and with large garbage.
  padded = jnp.concatenate([
      jnp.concatenate([xs[:, :4], jnp.zeros((1, 3, D))], axis=1),
      jnp.concatenate([xs[:, :4], 100.0 * jnp.ones((1, 3, D))], axis=1)], axis=0)
  for reverse in (False, True):
    buf, out = _layer(p, padded, jnp.array([4, 4]), lam=0.5, mode="greedy", reverse=reverse)
    np.testing.assert_allclose(out.hs[0], out.hs[1], atol=1e-6)
    np.testing.assert_array_equal(out.hs[:, 4:], 0.0)
    np.testing.assert_array_equal(out.skip_choice[:, 4:], 0)
    np.testing.assert_array_equal(out.skip_choice[0], out.skip_choice[1])
    chex.assert_trees_all_close(jax.tree_util.tree_map(lambda v: v[0], buf),
                                jax.tree_util.tree_map(lambda v: v[1], buf), atol=1e-6)
    np.testing.assert_array_equal(buf.count, [5, 5])
    # Reversed, the first real step reads the 4th input: hs[:, 3] is the backward layer's
    # first state, a plain LSTM step from zeros.
    if reverse:
      _, h0 = cells.lstm_step(p.lstm, cells.lstm_zero_state((1,), H), xs[:, 3])
      np.testing.assert_allclose(out.hs[0, 3], h0[0], atol=1e-6)


# -- lam = 0 is a plain LSTM ------------------------------------------------------------------


def test_lam_zero_equals_plain_lstm():
  p = _params()
  xs = _xs(7)
  lengths = jnp.array([7, 0])
  for reverse in (False, True):
    state, ref = _lstm(p.lstm, xs, lengths, reverse=reverse)
    buf, out = _layer(p, xs, lengths, jax.random.PRNGKey(0), lam=0.0, reverse=reverse)
    np.testing.assert_allclose(out.hs, ref, atol=1e-6)
    np.testing.assert_allclose(ds.skip_buffer_read(buf, jnp.ones(2, jnp.int32)).h, state.h,
                               atol=1e-6)
    _, hs = _fixed(p.lstm, xs, lengths, skip=3, lam=0.0, reverse=reverse)
    np.testing.assert_allclose(hs, ref, atol=1e-6)


# -- Estimators -------------------------------------------------------------------------------


def test_reinforce_matches_exact_gradient_on_toy():
  """Score-function gradient of E[R] against exact enumeration of every path (T=4, K=3)."""
  t_len, k_num = 4, 3
  p = _params(key=9, k=k_num)
  p = p._replace(agent=p.agent._replace(w_out=3.0 * p.agent.w_out,
                                        b_out=jnp.array([0.5, -0.3, 0.2])))
  x = _xs(10, b=1, t=t_len)
  w_r = jnp.linspace(-1.0, 1.0, H)
  reward = lambda hs: jnp.tanh(3.0 * hs[:, -1] @ w_r)

  paths = jnp.array([path for path in itertools.product(range(1, k_num + 1), repeat=t_len)
                     if all(k <= t + 1 for t, k in enumerate(path))])
  assert len(paths) == 1 * 2 * 3 * 3

  def expected_reward(agent):
    xs = jnp.broadcast_to(x, (len(paths), t_len, D))
    _, out = ds.dynamic_skip_layer(p._replace(agent=agent), xs, lam=1.0, mode="forced",
                                   forced_skips=paths)
    return jnp.sum(jnp.exp(out.log_probs.sum(1)) * reward(out.hs))

  exact_value, exact = jax.jit(jax.value_and_grad(expected_reward))(p.agent)

  n = 40000
  def surrogate(agent):
    xs = jnp.broadcast_to(x, (n, t_len, D))
    _, out = ds.dynamic_skip_layer(p._replace(agent=agent), xs, key=jax.random.PRNGKey(11),
                                   lam=1.0)
    adv = reward(out.hs) - exact_value  # a constant baseline keeps the estimate unbiased
    return jnp.mean(jax.vmap(estimators.reinforce_loss)(out.log_probs, adv[:, None] *
                                                        jnp.ones((1, t_len))))

  estimate = jax.jit(jax.grad(surrogate))(p.agent)
  flat_exact = jnp.concatenate([jnp.ravel(v) for v in exact])
  flat_est = -jnp.concatenate([jnp.ravel(v) for v in estimate])
  assert float(jnp.linalg.norm(flat_exact)) > 1e-2  # not a trivially zero gradient
  rel = jnp.linalg.norm(flat_est - flat_exact) / jnp.linalg.norm(flat_exact)
  assert float(rel) < 0.1, float(rel)


def test_leave_one_out_baseline_and_returns():
  values = jnp.array([1.0, -1.0, 1.0, 3.0])
  weights = jnp.array([1.0, 1.0, 1.0, 0.0])
  np.testing.assert_allclose(ds.leave_one_out_baseline(values, weights),
                             [0.0, 1.0, 0.0, 1 / 3], atol=1e-6)
  r = jnp.array([[1.0, 2.0, 3.0, 9.0], [1.0, 1.0, 1.0, 1.0]])
  m = jnp.array([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
  np.testing.assert_allclose(ds.sequence_returns(r, m), [[6, 5, 3, 0], [4, 3, 2, 1]])
  np.testing.assert_allclose(ds.sequence_returns(r, m, reverse=True),
                             [[1, 3, 6, 0], [1, 2, 3, 4]])
  np.testing.assert_allclose(ds.sequence_returns(r, m, 0.5)[0], [1 + 1 + 0.75, 2 + 1.5, 3, 0])


# -- Task models and losses -------------------------------------------------------------------


# The training settings of the classification tests (an EMA reward baseline) and of the
# language-model test (the state carried across batches).
EMA = ds.LossConfig(reward_baseline="ema")
CARRY = ds.LossConfig(carry_state=True)


@functools.cache
def _loss_and_grad(config, task, train=True, loss_config=None):
  return jax.jit(jax.value_and_grad(ds.make_loss_fn(config, task, loss_config, train=train),
                                    has_aux=True))


@functools.cache
def _loss(config, task, train=True, loss_config=None):
  return jax.jit(ds.make_loss_fn(config, task, loss_config, train=train))


def _finite(tree):
  return all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree_util.tree_leaves(tree))


def _classification_setup(cell):
  config = ds.ModelConfig(num_outputs=10, input_dim=6, vocab_size=11, hidden_dim=8,
                          cell=cell, num_skips=4, agent_dim=5)
  params = ds.init_params(jax.random.PRNGKey(0), config)
  batch = {"inputs": jax.random.randint(jax.random.PRNGKey(1), (4, 6), 0, 11),
           "lengths": jnp.array([6, 6, 3, 1]), "labels": jnp.array([1, 2, 3, 4]),
           "weights": jnp.array([1.0, 1.0, 1.0, 0.0])}
  hp = {"lam": 0.5, "dropout": 0.1, "entropy_weight": 0.01, "reinforce_weight": 1.0}
  return config, params, ds.init_model_state(config, "classification", loss_config=EMA), batch, hp


def test_classification_loss():
  config, params, state, batch, hp = _classification_setup("dynamic")
  (loss, (new_state, metrics)), grads = _loss_and_grad(config, "classification", True, EMA)(
      params, state, batch, jax.random.PRNGKey(3), hp)
  assert bool(jnp.isfinite(loss)) and _finite(grads)
  assert 1.0 <= float(metrics["mean_skip"]) <= 4.0
  assert float(jnp.abs(grads["forward"][0].agent.w_out).sum()) > 0
  # Three real examples: the mean reward is one of -1, -1/3, 1/3, 1 (reward +1/-1 each).
  assert min(abs(float(metrics["reward"]) - r) for r in (-1, -1 / 3, 1 / 3, 1)) < 1e-6
  # The EMA baseline starts at the first batch's mean reward.
  assert int(new_state["reward_baseline"].count) == 1
  np.testing.assert_allclose(new_state["reward_baseline"].value, metrics["reward"])
  # Test-time loss: greedy agent, no dropout, no estimator terms: the key does not matter.
  eval_fn = _loss(config, "classification", False, EMA)
  l1, (s1, m1) = eval_fn(params, state, batch, jax.random.PRNGKey(0), hp)
  l2, _ = eval_fn(params, state, batch, jax.random.PRNGKey(1), hp)
  assert float(l1) == float(l2) == float(m1["nll"])
  assert int(s1["reward_baseline"].count) == 0  # evaluation leaves the baseline alone


@pytest.mark.parametrize("cell", ["fixed", "attention"])
def test_baseline_models(cell):
  # Test mode (greedy, no dropout): compiles fastest. The plain "lstm" cell runs in the LM test.
  config, params, state, batch, hp = _classification_setup(cell)
  assert params["forward"][0].__class__.__name__ == {"fixed": "LSTMParams",
                                                      "attention": "AttentiveSkipParams"}[cell]
  loss, (_, metrics) = _loss(config, "classification", False, EMA)(params, state, batch,
                                                               jax.random.PRNGKey(3), hp)
  assert bool(jnp.isfinite(loss)) and "mean_skip" not in metrics
  np.testing.assert_allclose(loss, metrics["nll"])  # no agent, no estimator terms


def test_language_model_loss_stacks_and_carries_state():
  config = ds.ModelConfig(num_outputs=13, input_dim=6, vocab_size=13, hidden_dim=8, num_layers=2,
                          skip_layers=(1,), num_skips=3, agent_dim=5)
  assert (config.layer_cell(0), config.layer_cell(1)) == ("lstm", "dynamic")
  params = ds.init_params(jax.random.PRNGKey(0), config)
  assert isinstance(params["forward"][0], cells.LSTMParams)
  ids = jax.random.randint(jax.random.PRNGKey(1), (3, 6), 0, 13)
  batch = {"inputs": ids, "lengths": jnp.full((3,), 6), "labels": jnp.roll(ids, -1, axis=1)}
  state = ds.init_model_state(config, "language_model", batch_size=3, loss_config=CARRY)
  grad_fn = _loss_and_grad(config, "language_model", True, CARRY)
  hp = {"lam": 1.0}
  (loss, (new_state, metrics)), grads = grad_fn(params, state, batch, jax.random.PRNGKey(3), hp)
  assert bool(jnp.isfinite(loss)) and _finite(grads)
  assert int(new_state["carries"][1].count[0]) == 1 + 6
  assert 0.0 < float(metrics["reward"]) < 1.0  # mean p(gold word)
  # Continuing from the carried state differs from a fresh start.
  (_, (_, m_cont)), _ = grad_fn(params, new_state, batch, jax.random.PRNGKey(3), hp)
  assert float(metrics["nll"]) != float(m_cont["nll"])


def test_bidirectional_tagging_loss_and_padding():
  config = ds.ModelConfig(num_outputs=5, input_dim=6, vocab_size=20, hidden_dim=8,
                          bidirectional=True, num_skips=3, agent_dim=5)
  params = ds.init_params(jax.random.PRNGKey(0), config)
  ids = jax.random.randint(jax.random.PRNGKey(1), (2, 7), 0, 20)
  batch = {"inputs": ids, "lengths": jnp.array([7, 4]),
           "labels": jax.random.randint(jax.random.PRNGKey(2), (2, 7), 0, 5)}
  (loss, _), grads = _loss_and_grad(config, "tagging")(params, {}, batch, jax.random.PRNGKey(3),
                                                       {"lam": 0.5})
  assert bool(jnp.isfinite(loss)) and _finite(grads)
  assert float(jnp.abs(grads["backward"][0].agent.w_out).sum()) > 0
  # Greedy predictions of the length-4 example ignore what its padding holds.
  logits, out = _predict(params, config, "tagging", ids, batch["lengths"], {"lam": 0.5})
  assert len(out.decisions) == 2 and out.decisions[1].reverse
  other, _ = _predict(params, config, "tagging", ids.at[1, 4:].set(0), batch["lengths"],
                      {"lam": 0.5})
  np.testing.assert_allclose(logits[1, :4], other[1, :4], atol=1e-5)
  np.testing.assert_allclose(logits[0], other[0], atol=1e-6)


def test_character_features_feed_the_first_layer():
  """char_vocab_size > 0: the character CNN's features of batch['chars'] are concatenated to each
  token's embedding (`token_features`), they reach the loss and get gradients, and a missing or
  misshapen `chars` is an error naming it."""
  from skipjax import char_features  # pylint: disable=g-import-not-at-top
  config = ds.ModelConfig(num_outputs=5, input_dim=6, vocab_size=20, hidden_dim=8,
                          bidirectional=True, num_skips=3, agent_dim=5, char_vocab_size=9,
                          char_embed_dim=4, char_filters=3)
  assert config.token_dim == 9
  params = ds.init_params(jax.random.PRNGKey(0), config)
  assert params["forward"][0].lstm.w_i.shape[0] == 9
  rng = np.random.default_rng(4)
  ids = jnp.asarray(rng.integers(1, 20, (2, 7)), jnp.int32)
  char_len = rng.integers(1, 6, (2, 7))
  chars = jnp.asarray(np.where(np.arange(6) < char_len[..., None], rng.integers(1, 9, (2, 7, 6)),
                               0), jnp.int32)
  feats = ds.token_features(params, config, ids, chars)
  np.testing.assert_allclose(feats[..., :6], layers.embed(params["embed"], ids))
  np.testing.assert_allclose(feats[..., 6:], char_features.char_cnn(
      params["chars"], chars, jnp.asarray(char_len, jnp.int32)), atol=1e-6)
  batch = {"inputs": ids, "lengths": jnp.array([7, 4]), "chars": chars,
           "labels": jnp.asarray(rng.integers(0, 5, (2, 7)), jnp.int32)}
  (loss, _), grads = _loss_and_grad(config, "tagging")(params, {}, batch, jax.random.PRNGKey(3),
                                                       {"lam": 0.5})
  assert bool(jnp.isfinite(loss)) and _finite(grads)
  assert float(jnp.abs(grads["chars"].w).sum()) > 0
  # Another word's characters change that token's logits.
  logits, _ = _predict(params, config, "tagging", ids, batch["lengths"], {"lam": 0.5},
                       chars=chars)
  other, _ = _predict(params, config, "tagging", ids, batch["lengths"], {"lam": 0.5},
                      chars=chars.at[0, 2, 0].set(chars[0, 2, 0] % 8 + 1))
  assert float(jnp.abs(logits[0, 2] - other[0, 2]).max()) > 1e-6
  with pytest.raises(ValueError, match="pass chars"):
    ds.token_features(params, config, ids)
  with pytest.raises(ValueError, match="chars must have shape"):
    ds.token_features(params, config, ids, chars[:, :5])
  plain = ds.ModelConfig(num_outputs=5, input_dim=6, vocab_size=20, hidden_dim=8)
  with pytest.raises(ValueError, match="char_vocab_size is 0"):
    ds.token_features(ds.init_params(jax.random.PRNGKey(0), plain), plain, ids, chars)
  with pytest.raises(ValueError, match="char_kernel must be odd"):
    ds.ModelConfig(num_outputs=5, input_dim=6, char_vocab_size=9, char_kernel=2)


def test_entropy_bonus_gradient_raises_entropy():
  config, params, state, batch, hp = _classification_setup("dynamic")
  layer = params["forward"][0]
  skewed = layer._replace(agent=layer.agent._replace(b_out=jnp.array([2.0, 0.0, -1.0, -1.5])))
  params["forward"] = (skewed,)
  hp = dict(hp, reinforce_weight=0.0, entropy_weight=1.0, dropout=0.0)
  grad_fn = _loss_and_grad(config, "classification", True, EMA)
  (_, (_, metrics)), grads = grad_fn(params, state, batch, jax.random.PRNGKey(1), hp)
  g = grads["forward"][0].agent.b_out
  # -entropy falls when the favourite k's logit falls and the least liked one's rises.
  assert float(g[0]) > 0 and float(g[3]) < 0
  stepped = dict(params)
  stepped["forward"] = (skewed._replace(agent=skewed.agent._replace(
      b_out=skewed.agent.b_out - 0.1 * g)),)
  (_, (_, metrics2)), _ = grad_fn(stepped, state, batch, jax.random.PRNGKey(1), hp)
  assert float(metrics2["entropy"]) > float(metrics["entropy"])


def test_bad_input():
  p = _params()
  xs = _xs(0)
  with pytest.raises(ValueError, match="lam"):
    ds.dynamic_skip_layer(p, xs, lam=1.5, mode="greedy")
  with pytest.raises(ValueError, match="mode"):
    ds.dynamic_skip_layer(p, xs, lam=0.5, mode="argmax")
  with pytest.raises(ValueError, match="key"):
    ds.dynamic_skip_layer(p, xs, lam=0.5)
  with pytest.raises(ValueError, match="forced_skips"):
    ds.dynamic_skip_layer(p, xs, lam=0.5, mode="forced", forced_skips=jnp.zeros((2, 7), int))
  with pytest.raises(ValueError, match="xs"):
    ds.dynamic_skip_layer(p, xs[..., :2], lam=0.5, mode="greedy")
  with pytest.raises(ValueError, match="lengths"):
    ds.dynamic_skip_layer(p, xs, jnp.array([8, 1]), lam=0.5, mode="greedy")
  with pytest.raises(ValueError, match="skip"):
    ds.fixed_skip_layer(p.lstm, xs, skip=0, lam=0.5)
  with pytest.raises(ValueError, match="cell"):
    ds.ModelConfig(num_outputs=2, input_dim=3, cell="gru")
  with pytest.raises(ValueError, match="skip_layers"):
    ds.ModelConfig(num_outputs=2, input_dim=3, skip_layers=(1,))
  config = ds.ModelConfig(num_outputs=2, input_dim=D, hidden_dim=H, num_skips=K, agent_dim=A)
  with pytest.raises(ValueError, match="labels"):
    ds.make_loss_fn(config, "tagging")(ds.init_params(jax.random.PRNGKey(0), config), {},
                                       {"inputs": xs, "lengths": jnp.full((2,), 7),
                                        "labels": jnp.zeros((2,), int)},
                                       jax.random.PRNGKey(0), {})
  with pytest.raises(ValueError, match="task"):
    ds.make_loss_fn(config, "translation")


def test_traced_lam_and_hparams_are_checked():
  """Issue 11 item 5: the layers refused lam = 1.5 eagerly but not traced (the train step's
  hparams are traced), so a jitted run mixed with weight 1.5. Traced values now report under
  checkify; concrete hparams given to the loss raise at once."""
  p, xs = _params(), _xs(0)
  for layer, kw in ((_layer, {"mode": "greedy"}), (_fixed, {"skip": 2}),
                    (_attention, {"num_skips": K})):
    params = p.lstm if layer is _fixed else (
        p if layer is _layer else ds.attention_skip_init(jax.random.PRNGKey(0), D, H, A))
    err, _ = checkify.checkify(layer)(params, xs, lam=jnp.float32(1.5), **kw)
    with pytest.raises(checkify.JaxRuntimeError, match=r"lam must lie in \[0, 1\]"):
      err.throw()
    err, _ = checkify.checkify(layer)(params, xs, lam=jnp.float32(0.5), **kw)
    assert err.get() is None
  config, params, state, batch, hp = _classification_setup("dynamic")
  loss = ds.make_loss_fn(config, "classification")
  for name, bad in (("lam", 1.5), ("dropout", 1.0), ("entropy_weight", -0.01),
                    ("reinforce_weight", float("nan"))):
    with pytest.raises(ValueError, match=rf"hparams\['{name}'\] must lie in"):
      loss(params, state, batch, jax.random.PRNGKey(0), {**hp, name: bad})
  hparams = jax.tree_util.tree_map(jnp.float32, {**hp, "lam": 1.5})
  err, _ = checkify.checkify(jax.jit(loss))(params, state, batch, jax.random.PRNGKey(0), hparams)
  with pytest.raises(checkify.JaxRuntimeError, match=r"hparams\['lam'\] must lie in \[0, 1\]"):
    err.throw()
  forced = jnp.full((2, 7), K + 1, jnp.int32)
  err, _ = checkify.checkify(_layer)(p, xs, lam=0.5, mode="forced", forced_skips=forced)
  with pytest.raises(checkify.JaxRuntimeError, match=rf"forced_skips must lie in \[1, {K}\]"):
    err.throw()


def test_mismatched_parameter_shapes_are_named():
  """Issue 11 item 7: parameters of different hidden sizes gave a raw dot_general error."""
  p, xs = _params(), _xs(0)
  q = ds.dynamic_skip_init(jax.random.PRNGKey(1), D, H + 1, K, A)
  with pytest.raises(ValueError, match=r"params\.agent\.w_h must have shape \(4, 5\)"):
    ds.dynamic_skip_layer(p._replace(agent=q.agent), xs, lam=0.5, mode="greedy")
  with pytest.raises(ValueError, match=r"params\.lstm\.w_i must have shape \[D, 20\]"):
    ds.dynamic_skip_layer(p._replace(lstm=p.lstm._replace(w_h=q.lstm.w_h)), xs, lam=0.5,
                          mode="greedy")
  a = ds.attention_skip_init(jax.random.PRNGKey(0), D, H, A)
  b = ds.attention_skip_init(jax.random.PRNGKey(0), D, H + 1, A)
  with pytest.raises(ValueError, match=r"params\.attention\.w_h must have shape"):
    ds.attention_skip_layer(a._replace(attention=b.attention), xs, num_skips=K, lam=0.5)
  config, params, state, batch, hp = _classification_setup("dynamic")
  bad = dict(params, out=layers.dense_init(jax.random.PRNGKey(0), 9, 10))
  with pytest.raises(ValueError, match=r"params\['out'\]\.w has shape \(9, 10\)"):
    ds.make_loss_fn(config, "classification", EMA)(bad, state, batch, jax.random.PRNGKey(0), hp)


def test_mask_and_weights_multiply():
  """Both batch keys weigh each example (layers.example_weights): their product counts."""
  config, params, state, batch, hp = _classification_setup("dynamic")
  eval_fn = _loss(config, "classification", False, EMA)
  b = batch["labels"].shape[0]
  mask = jnp.ones((b,)).at[0].set(0.0)
  weights = jnp.linspace(0.5, 2.0, b)
  key = jax.random.PRNGKey(0)
  both, _ = eval_fn(params, state, dict(batch, mask=mask, weights=weights), key, hp)
  product, _ = eval_fn(params, state, dict(batch, weights=mask * weights), key, hp)
  alone, _ = eval_fn(params, state, dict(batch, weights=weights), key, hp)
  np.testing.assert_allclose(both, product, rtol=1e-6)
  assert abs(float(both) - float(alone)) > 1e-5
