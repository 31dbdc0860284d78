"""Tests for skipjax.language_model: stream batches, state carried across BPTT windows in
training and evaluation, perplexity from summed NLL, Zaremba's uniform init."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from skipjax import dynamic_skip as ds
from skipjax import language_model as lm
from skipjax.train import optim
from skipjax.train import step as step_lib

V, B, T = 11, 2, 4
CONFIG = ds.ModelConfig(num_outputs=V, input_dim=5, vocab_size=V, hidden_dim=6, num_layers=2,
                        skip_layers=(1,), num_skips=3, agent_dim=4)
CARRY = ds.LossConfig(carry_state=True)
TASK = "language_model"
_eval_loss = ds.make_loss_fn(CONFIG, TASK, CARRY, train=False)
_train_loss = ds.make_loss_fn(CONFIG, TASK, CARRY, train=True)
_init_state = functools.partial(ds.init_model_state, CONFIG, TASK, loss_config=CARRY)
_stream_loss = jax.jit(lm.make_stream_loss(_eval_loss, _init_state))
_window_eval = jax.jit(_eval_loss)
_window_train = jax.jit(_train_loss)
_init_params = jax.jit(ds.init_params, static_argnames="config")


def _tokens(n, seed=0):
  return np.random.default_rng(seed).integers(0, V, n).astype(np.int32)


def _params(seed=0):
  return _init_params(jax.random.PRNGKey(seed), config=CONFIG)


def _window(stream, w):
  return {k: v[w] for k, v in stream.items()}


def test_stream_batch_stacks_consecutive_windows():
  tokens = _tokens(2 * 3 * T + 1 - 3)          # rows of 3 windows, the last one partial
  stream = lm.stream_batch(tokens, B, T)
  assert stream["inputs"].shape == (3, B, T) and stream["lengths"].shape == (3, B)
  for w in range(2):                           # row b of window w+1 continues row b of window w
    np.testing.assert_array_equal(stream["inputs"][w + 1][:, 0], stream["labels"][w][:, -1])
  rows = np.concatenate(list(stream["inputs"]), axis=1)
  lengths = stream["lengths"].sum(0)
  np.testing.assert_array_equal(np.concatenate([rows[b, :lengths[b]] for b in range(B)]),
                                tokens[:-1])
  np.testing.assert_array_equal(stream["reset"][:, 0], [1.0, 0.0, 0.0])


def test_stream_eval_in_two_windows_equals_one_window():
  """Greedy agent, lam = 1: the second window must see the first window's states (and skip
  buffer) exactly as a single window twice as long does."""
  params = _params()
  tokens = _tokens(B * 2 * T + 1)
  hp = {"lam": jnp.float32(1.0)}
  key = jax.random.PRNGKey(0)
  state = _init_state(B)
  _, (_, two) = _stream_loss(params, state, lm.stream_batch(tokens, B, T), key, hp)
  _, (_, one) = _stream_loss(params, state, lm.stream_batch(tokens, B, 2 * T), key, hp)
  assert float(two["count"]) == float(one["count"]) == B * 2 * T
  for name in ("nll", "perplexity", "accuracy", "mean_skip"):
    np.testing.assert_allclose(two[name], one[name], rtol=1e-5, err_msg=name)
  # Control: restarting the second window from zeros changes the result.
  restart = lm.stream_batch(tokens, B, T)
  restart["reset"] = np.ones_like(restart["reset"])
  _, (_, cut) = _stream_loss(params, state, restart, key, hp)
  assert abs(float(cut["nll"]) - float(one["nll"])) > 1e-4


def test_stream_perplexity_is_exp_of_summed_nll_over_tokens():
  params = _params(1)
  tokens = _tokens(B * 2 * T + 1 - 5, seed=2)   # rows of 6 and 5: windows of 8 and 3 tokens
  stream = lm.stream_batch(tokens, B, T)
  hp = {"lam": jnp.float32(1.0)}
  key = jax.random.PRNGKey(0)
  _, (_, got) = _stream_loss(params, _init_state(B), stream, key, hp)
  # Independent: a Python loop over the windows, carrying the state by hand.
  state, nll_sum, count, per_window = _init_state(B), 0.0, 0.0, []
  for w in range(stream["inputs"].shape[0]):
    win = _window(stream, w)
    _, (state, m) = _window_eval(params, state, win, jax.random.fold_in(key, w), hp)
    tokens_w = float(np.sum(win["lengths"] * win["mask"]))
    nll_sum += float(m["nll"]) * tokens_w
    count += tokens_w
    per_window.append(float(m["nll"]))
  assert float(got["count"]) == count == len(tokens) - 1
  np.testing.assert_allclose(got["perplexity"], np.exp(nll_sum / count), rtol=1e-5)
  np.testing.assert_allclose(got["nll"], nll_sum / count, rtol=1e-5)
  assert len(set(np.round(per_window, 6))) > 1
  np.testing.assert_allclose(lm.perplexity(5 * np.log(10.0), 5), 10.0, rtol=1e-6)


def test_eval_step_over_one_stream_batch_is_exact():
  params = _params(2)
  stream = lm.stream_batch(_tokens(B * 2 * T - 2, seed=3), B, T)
  state = step_lib.init_train_state(params, optim.make_optimizer("sgd", 1.0), _init_state(B),
                                    hparams={"lam": 1.0})
  eval_step = jax.jit(step_lib.make_eval_step(lm.make_stream_loss(_eval_loss, _init_state)))
  got = step_lib.evaluate(eval_step, state, [stream], jax.random.PRNGKey(0))
  _, (_, want) = _stream_loss(params, _init_state(B), stream, jax.random.PRNGKey(0),
                              {"lam": jnp.float32(1.0)})
  np.testing.assert_allclose(got["perplexity"], want["perplexity"], rtol=1e-6)
  assert got["count"] == float(want["count"]) == B * 2 * T - 3


def test_training_carries_state_across_batches():
  """lam = 0 and no dropout make the sampled training loss deterministic: two consecutive
  windows with the carried state give the NLL of one window twice as long."""
  params = _params(3)
  tokens = _tokens(B * 2 * T + 1, seed=4)
  hp = {"lam": jnp.float32(0.0)}
  key = jax.random.PRNGKey(5)
  halves = lm.stream_batch(tokens, B, T)
  whole = _window(lm.stream_batch(tokens, B, 2 * T), 0)
  _, (state, m1) = _window_train(params, _init_state(B), _window(halves, 0), key, hp)
  _, (_, m2) = _window_train(params, state, _window(halves, 1), key, hp)
  _, (_, m_whole) = _window_train(params, _init_state(B), whole, key, hp)
  np.testing.assert_allclose(float(m1["nll"]) + float(m2["nll"]), 2 * float(m_whole["nll"]),
                             rtol=1e-5)
  # batch['reset'] restarts from zeros: window 2 from the carried state with reset = 1 equals
  # window 2 from a zero state.
  second = dict(_window(halves, 1), reset=np.ones((B,), np.float32))
  _, (_, m_reset) = _window_train(params, state, second, key, hp)
  _, (_, m_zero) = _window_train(params, _init_state(B), _window(halves, 1), key, hp)
  np.testing.assert_allclose(m_reset["nll"], m_zero["nll"], rtol=1e-6)
  assert abs(float(m_reset["nll"]) - float(m2["nll"])) > 1e-5
  # The train step keeps the loss's new state in the TrainState (carried to the next batch).
  optimizer = optim.make_optimizer("sgd", 1.0)
  train_state = step_lib.init_train_state(params, optimizer, _init_state(B),
                                          hparams={"lam": 0.0})
  train_step = jax.jit(step_lib.make_train_step(_train_loss, optimizer))
  train_state, _ = train_step(train_state, _window(halves, 0), key)
  for got, want in zip(jax.tree.leaves(train_state.model_state), jax.tree.leaves(state)):
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_uniform_init():
  params = _params()
  new = lm.uniform_init(jax.random.PRNGKey(1), params, 0.05)
  assert jax.tree.structure(new) == jax.tree.structure(params)
  for old, leaf in zip(jax.tree.leaves(params), jax.tree.leaves(new)):
    assert leaf.shape == old.shape and leaf.dtype == old.dtype
    assert float(jnp.max(jnp.abs(leaf))) <= 0.05
  embed = np.asarray(new["embed"])
  assert embed.std() > 0.02 and abs(embed.mean()) < 0.005      # U(-s, s): std s / sqrt(3)
  for bad in (0.0, -1.0, True, "0.05"):
    with pytest.raises(ValueError, match="scale"):
      lm.uniform_init(jax.random.PRNGKey(1), params, bad)


def test_bad_stream_batch():
  stream = lm.stream_batch(_tokens(2 * B * T + 1), B, T)
  hp = {"lam": jnp.float32(1.0)}
  with pytest.raises(ValueError, match="labels"):
    lm.make_stream_loss(_eval_loss, _init_state)(
        _params(), {}, {k: v for k, v in stream.items() if k != "labels"},
        jax.random.PRNGKey(0), hp)
  with pytest.raises(ValueError, match=r"\[W, B\]"):
    lm.make_stream_loss(_eval_loss, _init_state)(_params(), {}, _window(stream, 0),
                                                 jax.random.PRNGKey(0), hp)


def test_sum_over_time_scales_the_task_loss_to_zaremba_and_keeps_the_metrics():
  params = _params()
  stream = lm.stream_batch(_tokens(B * T + 1), B, T)
  window = _window(stream, 0)
  state = _init_state(batch_size=B)
  key = jax.random.PRNGKey(0)
  mean_loss, (_, m_mean) = _window_eval(params, state, window, key, {"lam": jnp.float32(0.0)})
  sum_loss, (_, m_sum) = _window_eval(params, state, window, key,
                                      {"lam": jnp.float32(0.0), "sum_over_time": 1.0})
  tokens_per_row = float(np.sum(window["lengths"])) / B
  np.testing.assert_allclose(sum_loss, mean_loss * tokens_per_row, rtol=1e-6)
  np.testing.assert_allclose(m_sum["nll"], m_mean["nll"], rtol=1e-6)   # per-token metric
  off, _ = _window_eval(params, state, window, key, {"lam": jnp.float32(0.0),
                                                     "sum_over_time": 0.0})
  np.testing.assert_allclose(off, mean_loss, rtol=1e-6)


def test_stream_tokens_are_weighted_by_mask_times_weights():
  """The one weighting rule (`layers.example_weights`) with both keys set: a row's tokens count
  with mask x weights (the mask alone would count row 1 in full)."""
  params = _params(1)
  stream = lm.stream_batch(_tokens(B * 2 * T + 1, seed=3), B, T)
  hp = {"lam": jnp.float32(1.0)}
  key = jax.random.PRNGKey(0)
  weighted = dict(stream, weights=np.tile(np.array([1.0, 0.5], np.float32),
                                          (stream["lengths"].shape[0], 1)))
  _, (_, plain) = _stream_loss(params, _init_state(B), stream, key, hp)
  _, (_, got) = _stream_loss(params, _init_state(B), weighted, key, hp)
  lengths, mask = np.asarray(stream["lengths"]), np.asarray(stream["mask"])
  assert float(plain["count"]) == np.sum(lengths * mask)
  assert float(got["count"]) == np.sum(lengths * mask * weighted["weights"])
  assert float(got["count"]) < float(plain["count"])
