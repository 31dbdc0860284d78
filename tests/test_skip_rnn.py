"""Tests for skipjax.skip_rnn: the Skip RNN cell, jumping inference, losses and modules.

Kept fast: calls go through a few jitted helpers over a handful of shapes, so the suite compiles
each configuration once.
"""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from skipjax import cells
from skipjax import skip_rnn as sr
from skipjax.skip_rnn import core


_init = jax.jit(functools.partial(sr.skip_init, init="torch"), static_argnums=(1, 2),
                static_argnames=("num_layers", "cell", "forget_bias"))
_run = jax.jit(sr.skip_rnn)
_infer_batch = jax.jit(functools.partial(sr.skip_rnn_infer_batch, return_hidden=True))


def _logit(p):
  return float(np.log(p / (1.0 - p)))


def _constant_gate(params, du):
  """Gate with w_p = 0, so du is the constant sigmoid(b_p)."""
  gate = params.gate._replace(w=jnp.zeros_like(params.gate.w),
                              b=jnp.full((1,), _logit(du), jnp.float32))
  return params._replace(gate=gate)


def _random_params(key, d, h, num_layers, cell, gate_scale=3.0, gate_bias=-1.0):
  p = _init(key, d, h, num_layers=num_layers, cell=cell)
  init = jax.tree_util.tree_map(lambda x: 0.3 * jnp.ones_like(x), p.initial_state)
  gate = p.gate._replace(w=gate_scale * p.gate.w, b=jnp.array([gate_bias], jnp.float32))
  return p._replace(gate=gate, initial_state=init)


# ---------------------------------------------------------------------------------------------
# The update rule
# ---------------------------------------------------------------------------------------------


def test_update_rule_hand_worked_five_steps():
  # One unit, zero weights: every gate is sigmoid(bias) and the state update is
  # c <- f c + i g. With b = [i: 0, f: 0, g: 1, o: 0] (no forget offset), i = f = o = 0.5 and
  # g = tanh(1). Gate du = 0.3 constant: u_cum = 1, .3, .6, .3, .6 -> u = 1, 0, 1, 0, 1.
  p = _init(jax.random.key(0), 1, 1, forget_bias=0.0)
  core_p = cells.LSTMParams(w_i=jnp.zeros((1, 4)), w_h=jnp.zeros((1, 4)),
                            b=jnp.array([0.0, 0.0, 1.0, 0.0]))
  p = _constant_gate(p._replace(cores=(core_p,)), 0.3)
  out = _run(p, jnp.ones((1, 5, 1)))
  np.testing.assert_array_equal(out.update_mask[0], [1, 0, 1, 0, 1])
  np.testing.assert_allclose(out.update_prob[0], [1.0, 0.3, 0.6, 0.3, 0.6], rtol=1e-6)
  g = np.tanh(1.0)
  c = np.array([0.5, 0.5, 0.75, 0.75, 0.875]) * g  # c_k = g (1 - 0.5^k) after k updates
  np.testing.assert_allclose(out.hs[0], (0.5 * np.tanh(c))[:, None], rtol=1e-6)
  np.testing.assert_allclose(out.final.u_cum, [0.3], rtol=1e-6)  # u_cum_5 = du after update


@pytest.mark.parametrize("du,expected", [(0.5, 0), (0.9, 0), (0.3, 1), (0.25, 1), (0.2, 2),
                                         (0.11, 4), (0.01, 49), (1e-30, 7)])
def test_num_skips(du, expected):
  assert int(sr.num_skips(jnp.float32(du), 7 if du < 1e-20 else 1000)) == expected


def _numpy_reference(p, xs, lengths):
  """The paper's recursion in float64 NumPy with np.round, an independent implementation."""
  sig = lambda z: 1.0 / (1.0 + np.exp(-z))
  to64 = lambda t: jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), t)
  cores, w_p, b_p = to64(p.cores), np.asarray(p.gate.w, np.float64)[:, 0], float(p.gate.b[0])
  batch, max_len, _ = xs.shape
  masks, hs = np.zeros((batch, max_len)), np.zeros((batch, max_len, w_p.shape[0]))
  for b in range(batch):
    state = [(np.asarray(s.c, np.float64), np.asarray(s.h, np.float64))
             for s in p.initial_state]
    u_cum = 1.0
    for t in range(lengths[b]):
      u = np.round(u_cum)
      inp, new = np.asarray(xs[b, t], np.float64), []
      for (c, h), cp in zip(state, cores):
        z = inp @ cp.w_i + h @ cp.w_h + cp.b
        i, f, g, o = np.split(z, 4)
        c_new = sig(f) * c + sig(i) * np.tanh(g)
        h_new = sig(o) * np.tanh(c_new)
        new.append((c_new, h_new))
        inp = h_new
      state = [(u * cn + (1 - u) * co, u * hn + (1 - u) * ho)
               for (cn, hn), (co, ho) in zip(new, state)]
      du = sig(state[-1][0] @ w_p + b_p)
      u_cum = u * du + (1 - u) * (u_cum + min(du, 1 - u_cum))
      masks[b, t], hs[b, t] = u, state[-1][1]
  return masks, hs


def test_stacked_lstm_matches_numpy_reference():
  p = _random_params(jax.random.key(1), 3, 5, 2, "lstm")
  xs = jax.random.normal(jax.random.key(2), (4, 16, 3))
  lengths = np.array([16, 7, 1, 0])
  out = _run(p, xs, jnp.asarray(lengths))
  masks, hs = _numpy_reference(p, np.asarray(xs), lengths)
  assert 0 < masks.sum() < lengths.sum()  # the example really skips
  np.testing.assert_array_equal(out.update_mask, masks)
  np.testing.assert_allclose(out.hs, hs, atol=1e-5)


def test_gru_core_and_gate_reads_h():
  p = _random_params(jax.random.key(3), 3, 5, 1, "gru")
  xs = jax.random.normal(jax.random.key(4), (4, 16, 3))
  out = _run(p, xs)
  h, u_cum, hs = p.initial_state[0], 1.0, []
  step = jax.jit(cells.gru_step)
  for t in range(16):
    u = float(np.round(u_cum))
    if u:
      h, _ = step(p.cores[0], h, xs[0, t])
    du = float(jax.nn.sigmoid(h @ p.gate.w[:, 0] + p.gate.b[0]))
    u_cum = du if u else u_cum + min(du, 1 - u_cum)
    hs.append(h)
  np.testing.assert_allclose(out.hs[0], np.stack(hs), atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Gradients
# ---------------------------------------------------------------------------------------------


def test_straight_through_gradient_of_budget_hand_worked():
  # du = sigmoid(b) = 0.3, w_p = 0. Backward treats u_t as u_cum_t; differentiating the recursion
  # by hand (g_t = d u_cum_t / d b, d' = du (1 - du) = 0.21):
  #   g_0 = 0, g_1 = d', g_2 = (1 - u_cum_1) g_1 + d' = 1.7 d',
  #   g_3 = d' - u_cum_2 g_2 = -0.02 d', g_4 = (1 - u_cum_3) g_3 + d' = 0.986 d'
  # so d(sum_t u_t)/db = 3.666 d' = 0.76986 (round alone would give 0).
  p = _constant_gate(_init(jax.random.key(0), 1, 2), 0.3)
  xs = jnp.ones((1, 5, 1))

  def budget(b):
    q = p._replace(gate=p.gate._replace(b=b))
    return sr.budget_loss(sr.skip_rnn(q, xs).update_mask, 1.0)

  grad = jax.jit(jax.grad(budget))(p.gate.b)
  np.testing.assert_allclose(grad, [3.666 * 0.21], rtol=1e-5)


def test_straight_through_gradient_reaches_gate_from_task_loss():
  p = _random_params(jax.random.key(5), 3, 5, 1, "lstm")
  xs = jax.random.normal(jax.random.key(6), (4, 16, 3))
  grads = jax.jit(jax.grad(lambda q: jnp.sum(sr.skip_rnn(q, xs).hs ** 2)))(p)
  assert float(jnp.abs(grads.gate.w).sum()) > 0
  assert float(jnp.abs(grads.gate.b).sum()) > 0
  assert float(jnp.abs(grads.initial_state[0].h).sum()) > 0  # learned s_0


def test_bernoulli_binarisation_is_binary_with_gradient():
  p = _random_params(jax.random.key(7), 3, 5, 1, "lstm", gate_bias=0.0)
  xs = jax.random.normal(jax.random.key(8), (4, 16, 3))

  def total_updates(b, key):
    out = sr.skip_rnn(p._replace(gate=p.gate._replace(b=b)), xs, key=key)
    return jnp.sum(out.update_mask), out.update_mask

  fn = jax.jit(jax.value_and_grad(total_updates, has_aux=True))
  (_, mask), grad = fn(p.gate.b, jax.random.key(9))
  assert set(np.unique(mask)) <= {0.0, 1.0}
  np.testing.assert_array_equal(mask[:, 0], 1.0)  # u_cum_0 = 1
  assert 0 < mask.sum() < mask.size
  (_, again), _ = fn(p.gate.b, jax.random.key(9))
  np.testing.assert_array_equal(mask, again)
  assert float(jnp.abs(grad).sum()) > 0


# ---------------------------------------------------------------------------------------------
# Padding and budget
# ---------------------------------------------------------------------------------------------


def test_padding_invariance():
  p = _random_params(jax.random.key(10), 3, 5, 2, "lstm")
  xs = jax.random.normal(jax.random.key(11), (4, 16, 3))
  short = _run(p, xs[:, :6], jnp.array([6, 4, 6, 6]))
  garbage = xs.at[:, 6:].set(100.0).at[1, 4:].set(-100.0)
  padded = _run(p, garbage, jnp.array([6, 4, 6, 6]))
  chex.assert_trees_all_close(padded.final.state, short.final.state, atol=1e-6)
  np.testing.assert_array_equal(padded.update_mask[:, :6], short.update_mask)
  np.testing.assert_array_equal(padded.update_mask[:, 6:], 0.0)
  np.testing.assert_array_equal(padded.update_mask[1, 4:], 0.0)
  np.testing.assert_array_equal(padded.hs[1, 4:], 0.0)


def test_budget_loss_counts_only_real_steps():
  mask = jnp.array([[1.0, 0.0, 1.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
  np.testing.assert_allclose(sr.budget_loss(mask, 0.5), 0.5 * (2 + 2) / 2)
  np.testing.assert_allclose(sr.budget_loss(mask, 1.0, jnp.array([1.0, 0.0])), 2.0)
  # Through the model: a length-3 sequence of an always-updating cell costs 3, not T = 5.
  p = _constant_gate(_init(jax.random.key(0), 1, 2), 0.9)
  out = _run(p, jnp.ones((2, 5, 1)), jnp.array([3, 5]))
  np.testing.assert_allclose(sr.budget_loss(out.update_mask, 1.0), (3 + 5) / 2)


# ---------------------------------------------------------------------------------------------
# Jumping inference
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cell,num_layers", [("lstm", 1), ("lstm", 2), ("gru", 1)])
def test_while_loop_inference_equals_masked(cell, num_layers):
  p = _random_params(jax.random.key(12), 3, 5, num_layers, cell)
  xs = jax.random.normal(jax.random.key(13), (4, 16, 3))
  lengths = jnp.array([16, 11, 0, 1])
  masked = _run(p, xs, lengths)
  jumped = _infer_batch(p, xs, lengths)
  assert 0 < int(jumped.num_updates.sum()) < int(lengths.sum())
  np.testing.assert_array_equal(jumped.update_mask, masked.update_mask > 0)
  np.testing.assert_array_equal(jumped.num_updates, masked.update_mask.sum(1))
  np.testing.assert_allclose(jumped.hs, masked.hs, atol=1e-6)
  chex.assert_trees_all_close(jumped.state, masked.final.state, atol=1e-6)


def test_while_loop_single_sequence_variants():
  p = _random_params(jax.random.key(14), 3, 5, 1, "lstm")
  xs = jax.random.normal(jax.random.key(15), (4, 16, 3))
  masked = _run(p, xs, jnp.array([13, 16, 16, 16]))
  for hoist in (True, False):
    res = jax.jit(functools.partial(sr.skip_rnn_infer, hoist_input=hoist))(p, xs[0], 13)
    assert res.hs is None
    np.testing.assert_array_equal(res.update_mask, masked.update_mask[0] > 0)
    np.testing.assert_allclose(res.state[0].h, masked.final.state[0].h[0], atol=1e-6)
  table = jax.random.normal(jax.random.key(16), (7, 3))
  ids = jax.random.randint(jax.random.key(17), (4, 16), 0, 7)
  tokens = jax.jit(functools.partial(sr.skip_rnn_infer_tokens, return_hidden=True))
  tok = tokens(p, sr.project_embedding(p, table), ids[0], 10)
  dense = _run(p, table[ids], jnp.array([10, 16, 16, 16]))
  np.testing.assert_array_equal(tok.update_mask, dense.update_mask[0] > 0)
  np.testing.assert_allclose(tok.hs, dense.hs[0], atol=1e-6)


# ---------------------------------------------------------------------------------------------
# Baselines, model, losses, module, errors
# ---------------------------------------------------------------------------------------------


def test_random_skipping_baseline():
  p = _init(jax.random.key(17), 3, 5)
  xs = jax.random.normal(jax.random.key(18), (64, 20, 3))
  out = jax.jit(sr.random_skip_rnn)(p, xs, jnp.full((64,), 20), jax.random.key(19), 0.25)
  np.testing.assert_array_equal(out.update_mask[:, 0], 1.0)
  frac = float(out.update_mask[:, 1:].mean())
  assert abs(frac - 0.25) < 0.05  # 1216 Bernoulli(0.25) draws: std 0.012
  skipped = np.asarray(out.update_mask[:, 1:] == 0)
  np.testing.assert_array_equal(np.asarray(out.hs[:, 1:])[skipped],
                                np.asarray(out.hs[:, :-1])[skipped])
  plain = jax.jit(sr.plain_rnn)(p, xs[:4, :16])
  ref = cells.LSTMState(*jax.tree_util.tree_map(lambda s: jnp.broadcast_to(s, (4, 5)),
                                                p.initial_state[0]))
  step = jax.jit(cells.lstm_step)
  for t in range(16):
    ref, _ = step(p.cores[0], ref, xs[:4, t])
  np.testing.assert_allclose(plain.final.state[0].h, ref.h, atol=1e-6)


@pytest.mark.parametrize("task,skip", [("classification", "learned"), ("regression", "learned"),
                                       ("classification", "random"),
                                       ("classification", "none")])
def test_loss_fn_protocol(task, skip):
  cfg = sr.SkipRNNConfig(input_dim=3, hidden_dim=5, num_outputs=3 if task != "regression" else 1,
                         task=task, skip=skip, init="torch")
  params = jax.jit(sr.model_init, static_argnums=1)(jax.random.key(20), cfg)
  params = params._replace(rnn=_constant_gate(params.rnn, 0.3))
  labels = jnp.array([0, 2]) if task == "classification" else jnp.array([0.5, -1.0])
  batch = dict(inputs=jnp.ones((2, 6, 3)), lengths=jnp.array([6, 4]), labels=labels,
               weights=jnp.array([1.0, 1.0]))
  loss_fn = sr.make_loss_fn(cfg)
  lam = jnp.float32(0.01)
  loss, (state, metrics) = jax.jit(loss_fn)(params, {}, batch, jax.random.key(0),
                                            {"budget_lambda": lam})
  assert state == {}
  if skip == "learned":
    np.testing.assert_allclose(metrics["updates"], (3 + 2) / 2)
    np.testing.assert_allclose(metrics["fraction_computed"], (3 / 6 + 2 / 4) / 2)
    np.testing.assert_allclose(metrics["budget_loss"], 0.01 * 2.5, rtol=1e-6)
  else:  # baselines pay no budget; the plain RNN computes every real step
    np.testing.assert_allclose(metrics["budget_loss"], 0.0)
    if skip == "none":
      np.testing.assert_allclose(metrics["fraction_computed"], 1.0)
  np.testing.assert_allclose(loss, metrics["task_loss"] + metrics["budget_loss"], rtol=1e-6)
  assert ("accuracy" if task == "classification" else "mse") in metrics
  if skip == "learned":
    outputs, updates = jax.jit(sr.predict_jump, static_argnums=3)(
        params, batch["inputs"], batch["lengths"], cfg)
    # The jumping loop's outputs give the masked path's task loss (no dropout: same forward).
    jump_loss, _ = sr.task_metrics(outputs, labels, cfg)
    np.testing.assert_allclose(jump_loss, metrics["task_loss"], rtol=1e-5)
    np.testing.assert_array_equal(updates, [3, 2])


def test_dropout_only_in_training():
  """Dropout (LossConfig.dropout or hparams['dropout']) is off in the evaluation loss, on in
  training (deterministic per key), and rate 0 is no dropout."""
  cfg = sr.SkipRNNConfig(vocab_size=11, embed_dim=4, hidden_dim=5, num_outputs=3, init="torch")
  params = jax.jit(sr.model_init, static_argnums=1)(jax.random.key(21), cfg)
  batch = dict(inputs=jnp.array(np.random.default_rng(0).integers(0, 11, (3, 6)), jnp.int32),
               lengths=jnp.array([6, 4, 2]), labels=jnp.array([0, 2, 1]))
  train_fn = jax.jit(lambda p, k, hp: sr.make_loss_fn(cfg)(p, {}, batch, k, hp)[0])
  eval_fn = jax.jit(lambda p, k, hp: sr.make_loss_fn(cfg, train=False)(p, {}, batch, k, hp)[0])
  k1, k2 = jax.random.key(1), jax.random.key(2)
  lam = {"budget_lambda": 0.0}
  drop = dict(lam, dropout=0.5)
  plain = float(eval_fn(params, k1, lam))
  assert float(eval_fn(params, k1, drop)) == plain
  # Round gate: without dropout the training forward pass is the evaluation one.
  assert float(train_fn(params, k1, dict(lam, dropout=0.0))) == plain
  trained = float(train_fn(params, k1, drop))
  assert trained != plain and float(train_fn(params, k1, drop)) == trained
  assert float(train_fn(params, k2, drop)) != trained
  # The static rate gives the same masks as the hparam; giving both is an error.
  static = sr.LossConfig(dropout=0.5)
  np.testing.assert_allclose(jax.jit(lambda p, k: sr.make_loss_fn(cfg, static)(
      p, {}, batch, k, lam)[0])(params, k1), trained, rtol=1e-6)
  with pytest.raises(ValueError, match="dropout rate is given twice"):
    sr.make_loss_fn(cfg, static)(params, {}, batch, k1, drop)


def test_half_mse_halves_the_task_loss_not_the_metric_or_budget():
  """regression_loss="half_mse" (the authors' adding-task loss, tf.nn.l2_loss(e) / batch) trains
  on half the squared error; the 'mse' metric and the budget loss are unchanged."""
  cfg = sr.SkipRNNConfig(input_dim=2, hidden_dim=5, num_outputs=1, task="regression")
  params = sr.model_init(jax.random.key(3), cfg)
  rng = np.random.default_rng(1)
  batch = dict(inputs=jnp.asarray(rng.normal(size=(4, 7, 2)), jnp.float32),
               lengths=jnp.array([7, 5, 7, 3]), labels=jnp.asarray(rng.normal(size=4), jnp.float32))
  hp = {"budget_lambda": 0.01}
  full = sr.make_loss_fn(cfg)(params, {}, batch, jax.random.key(0), hp)[1][1]
  half = sr.make_loss_fn(cfg, sr.LossConfig(regression_loss="half_mse"))(
      params, {}, batch, jax.random.key(0), hp)[1][1]
  assert float(full["mse"]) > 0
  np.testing.assert_allclose(half["task_loss"], 0.5 * full["mse"], rtol=1e-6)
  np.testing.assert_allclose(full["task_loss"], full["mse"], rtol=1e-6)
  np.testing.assert_allclose(half["mse"], full["mse"], rtol=1e-6)
  np.testing.assert_allclose(half["budget_loss"], full["budget_loss"], rtol=1e-6)
  np.testing.assert_allclose(half["loss"], half["task_loss"] + half["budget_loss"], rtol=1e-6)
  with pytest.raises(ValueError, match="regression_loss must be one of"):
    sr.LossConfig(regression_loss="l2")


def test_flax_modules_match_pure_functions():
  xs = jax.random.normal(jax.random.key(21), (4, 16, 3))
  lengths = jnp.array([16, 5, 0, 9])
  for module in (sr.SkipLSTM(5, init_scheme="torch"),
                 sr.SkipGRU(5, num_layers=2, init_scheme="torch")):  # stacked GRU: infer == masked
    variables = jax.jit(module.init)(jax.random.key(22), xs)
    p = variables["params"]["skip"]
    out = jax.jit(module.apply)(variables, xs, lengths)
    chex.assert_trees_all_close(out, _run(p, xs, lengths))
    res = jax.jit(functools.partial(module.apply, method="infer"))(variables, xs, lengths)
    np.testing.assert_array_equal(res.update_mask, out.update_mask > 0)
  np.testing.assert_allclose(p.gate.b, [1.0])  # gate bias starts at 1


def test_bad_inputs_raise():
  p = _init(jax.random.key(0), 3, 5)
  with pytest.raises(ValueError, match="xs"):
    sr.skip_rnn(p, jnp.ones((2, 5)))
  with pytest.raises(ValueError, match="input_dim"):
    sr.skip_rnn(p, jnp.ones((2, 5, 2)))
  with pytest.raises(ValueError, match="lengths"):
    sr.skip_rnn(p, jnp.ones((2, 5, 3)), jnp.array([6, 1]))
  with pytest.raises(ValueError, match="length"):
    sr.skip_rnn_infer(p, jnp.ones((5, 3)), 9)
  with pytest.raises(ValueError, match="cell"):
    sr.skip_init(jax.random.key(0), 3, 4, cell="rnn")
  with pytest.raises(ValueError, match="input_dim"):
    sr.SkipRNNConfig()
  with pytest.raises(ValueError, match="skip"):
    sr.SkipRNNConfig(input_dim=1, skip="sometimes")


def test_jitted_length_beyond_the_sequence_is_reported_by_checkify():
  """Issue 11 item 5: eagerly length 50 on T = 10 raised, but under jit the loop ran on past T
  (re-reading the last input) and returned another state. Traced, the length check is now a
  checkify check: free in a plain jitted call, reported under `checkify.checkify`."""
  p = _random_params(jax.random.key(20), 3, 5, 1, "lstm")
  xs = jax.random.normal(jax.random.key(21), (10, 3))
  infer = jax.jit(sr.skip_rnn_infer)
  checked = checkify.checkify(infer)
  for bad in (50, 11, -1):
    with pytest.raises(ValueError, match=r"length must lie in \[0, 10\]"):
      sr.skip_rnn_infer(p, xs, bad)
    err, _ = checked(p, xs, bad)
    with pytest.raises(checkify.JaxRuntimeError, match=r"length must lie in \[0, 10\]"):
      err.throw()
  err, res = checked(p, xs, 10)
  assert err.get() is None
  chex.assert_trees_all_close(res.state, infer(p, xs, 10).state)
  # The token path. (jax 0.10 can checkify neither a vmapped while_loop nor vmap over a
  # checkified one, so the batched path is checked eagerly only.)
  table_proj = sr.project_embedding(p, jnp.ones((7, 3)))
  err, _ = checkify.checkify(jax.jit(sr.skip_rnn_infer_tokens))(p, table_proj,
                                                               jnp.full((10,), 7), 10)
  with pytest.raises(checkify.JaxRuntimeError, match=r"ids must be token ids in \[0, 7\)"):
    err.throw()
  with pytest.raises(ValueError, match=r"ids must be token ids in \[0, 7\) .*, got values "
                                       r"in \[-1, -1\]"):
    sr.skip_rnn_infer_tokens(p, table_proj, jnp.full((10,), -1), 10)


@pytest.mark.parametrize("return_hidden", [False, True])
def test_inference_over_an_empty_sequence(return_hidden):
  """Issue 11 item 7: T = 0 crashed inside the loop's dynamic slice. It is the initial state
  with no update, as the masked scan gives."""
  p = _random_params(jax.random.key(22), 3, 5, 2, "lstm")
  empty = jnp.zeros((1, 0, 3))
  masked = _run(p, empty, jnp.array([0]))
  for res in (sr.skip_rnn_infer(p, empty[0], return_hidden=return_hidden),
              jax.jit(sr.skip_rnn_infer)(p, empty[0], 0),
              sr.skip_rnn_infer_tokens(p, sr.project_embedding(p, jnp.ones((7, 3))),
                                       jnp.zeros((0,), jnp.int32), return_hidden=return_hidden)):
    assert int(res.num_updates) == 0 and res.update_mask.shape == (0,)
    chex.assert_trees_all_close(res.state, jax.tree_util.tree_map(lambda s: s[0],
                                                                  masked.final.state))
  batch = sr.skip_rnn_infer_batch(p, jnp.zeros((2, 0, 3)), return_hidden=True)
  assert batch.update_mask.shape == (2, 0) and batch.hs.shape == (2, 0, 5)
  np.testing.assert_array_equal(batch.num_updates, [0, 0])


def test_mismatched_parameter_shapes_are_named():
  """Issue 11 item 7: parameters of different hidden sizes gave a raw dot_general error."""
  p, q = _init(jax.random.key(0), 3, 5, num_layers=2), _init(jax.random.key(1), 3, 6,
                                                                num_layers=2)
  xs = jnp.ones((2, 4, 3))
  cases = [(p._replace(gate=q.gate), r"params\.gate\.w has shape \(6, 1\): it reads 6 features, "
                                     r"but the top layer's state has 5"),
           (p._replace(cores=(p.cores[0], q.cores[1])), r"params\.cores\[1\]\.w_i reads 6 "
                                                        r"features, but layer 0 has hidden size 5"),
           (p._replace(cores=(p.cores[0]._replace(w_h=q.cores[0].w_h), p.cores[1])),
            r"params\.cores\[0\]\.w_i must have shape \[D, 24\]"),
           (p._replace(initial_state=(q.initial_state[0], p.initial_state[1])),
            r"params\.initial_state\[0\]\.c must have shape \(5,\)"),
           (p._replace(cores=(p.cores[0], _init(jax.random.key(2), 5, 5, cell="gru").cores[0])),
            r"params\.cores\[1\] is a GRUParams but params\.cores\[0\] a LSTMParams")]
  for bad, match in cases:
    for run in (lambda b: sr.skip_rnn(b, xs), lambda b: sr.skip_rnn_infer(b, xs[0]),
                lambda b: sr.skip_rnn_infer_batch(b, xs)):
      with pytest.raises((ValueError, TypeError), match=match):
        run(bad)
  config = sr.SkipRNNConfig(input_dim=3, hidden_dim=5, num_outputs=2)
  model = sr.model_init(jax.random.key(3), config)
  with pytest.raises(ValueError, match=r"params\.head\.w has shape \(6, 2\)"):
    sr.model_apply(model._replace(head=model.head._replace(w=jnp.zeros((6, 2)))), xs,
                   jnp.array([4, 4]), config)


def test_step_flops():
  p = _init(jax.random.key(0), 1, 110)
  assert sr.step_flops(p) == cells.lstm_step_flops(1, 110) + 2 * 110 + 4


def test_mask_and_weights_multiply():
  """batch['mask'] and batch['weights'] both weigh each example (layers.example_weights): with
  both given the loss is the one weighted by their product."""
  cfg = sr.SkipRNNConfig(input_dim=3, hidden_dim=5, num_outputs=3, task="classification",
                         skip="learned", init="torch")
  params = sr.model_init(jax.random.key(20), cfg)
  base = dict(inputs=jax.random.normal(jax.random.key(1), (3, 6, 3)), lengths=jnp.array([6, 4, 5]),
              labels=jnp.array([0, 2, 1]))
  loss_fn = jax.jit(sr.make_loss_fn(cfg))
  hp = {"budget_lambda": jnp.float32(0.01)}
  mask, weights = jnp.array([1.0, 0.0, 1.0]), jnp.array([0.5, 2.0, 3.0])
  both, _ = loss_fn(params, {}, dict(base, mask=mask, weights=weights), jax.random.key(0), hp)
  product, _ = loss_fn(params, {}, dict(base, weights=mask * weights), jax.random.key(0), hp)
  alone, _ = loss_fn(params, {}, dict(base, weights=weights), jax.random.key(0), hp)
  np.testing.assert_allclose(both, product, rtol=1e-6)
  assert abs(float(both) - float(alone)) > 1e-4  # the mask counts
