"""Tests of skipjax.skim_rnn against a float64 NumPy loop of Seo et al. (2018)'s equations."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify
from absl.testing import parameterized

from skipjax import cells
from skipjax import layers
from skipjax import skim_rnn as sr
from skipjax.bench import skim_rnn as bench

D, H, HS, T, B = 3, 5, 2, 6, 3

# Jitted entry points (compiled once per shape and static setting, not once per eager call).
masked = jax.jit(sr.masked_layer, static_argnames=("reverse", "unroll"))
cond = jax.jit(sr.cond_layer, static_argnames=("reverse", "return_sequences", "record",
                                               "unroll"))
infer_cond = jax.jit(functools.partial(sr.infer, path="cond"),
                     static_argnames=("reverse", "return_sequences"))
gumbel = jax.jit(sr.gumbel_layer, static_argnames=("reverse", "unroll"))
loss_fn = jax.jit(sr.classifier_loss)


def _sig(z):
  return 1.0 / (1.0 + np.exp(-z))


def _np(tree):
  return jax.tree_util.tree_map(lambda a: np.asarray(a, np.float64), tree)


def _np_step(p, c, h, x, cell):
  """Float64 read and skim candidates of one step (paper eq. 2-3) and the decision logits."""
  w = p.decide.w
  logits = np.concatenate([x, h]) @ w + p.decide.b
  if cell == "lstm":
    g = x @ p.big.w_i + h @ p.big.w_h + p.big.b
    i, f, gg, o = np.split(g, 4)
    c_read = _sig(f) * c + _sig(i) * np.tanh(gg)
    h_read = _sig(o) * np.tanh(c_read)
  else:
    gx, gh = x @ p.big.w_i + p.big.b_i, h @ p.big.w_h + p.big.b_h
    r = _sig(gx[:H] + gh[:H])
    z = _sig(gx[H:2 * H] + gh[H:2 * H])
    n = np.tanh(gx[2 * H:] + r * gh[2 * H:])
    c_read, h_read = None, (1 - z) * n + z * h
  ds = 0 if p.small is None else p.small.w_h.shape[1] // (4 if cell == "lstm" else 3)
  c_skim, h_skim = (None if c is None else c.copy()), h.copy()
  if ds and cell == "lstm":
    g = x @ p.small.w_i + h @ p.small.w_h + p.small.b  # the small cell reads all of h_{t-1}
    i, f, gg, o = np.split(g, 4)
    c_skim[:ds] = _sig(f) * c[:ds] + _sig(i) * np.tanh(gg)
    h_skim[:ds] = _sig(o) * np.tanh(c_skim[:ds])
  elif ds:
    gx, gh = x @ p.small.w_i + p.small.b_i, h @ p.small.w_h + p.small.b_h
    r = _sig(gx[:ds] + gh[:ds])
    z = _sig(gx[ds:2 * ds] + gh[ds:2 * ds])
    n = np.tanh(gx[2 * ds:] + r * gh[2 * ds:])
    h_skim[:ds] = (1 - z) * n + z * h[:ds]
  return logits, (c_read, h_read), (c_skim, h_skim)


def np_skim(params, xs, length, cell, choose):
  """NumPy Skim-RNN over one sequence; `choose(t, logits) -> weight of read in [0, 1]`."""
  p = _np(params)
  c = np.zeros(H) if cell == "lstm" else None
  h = np.zeros(H)
  hs, reads = np.zeros((len(xs), H)), np.zeros(len(xs), bool)
  for t in range(length):
    logits, (c_r, h_r), (c_s, h_s) = _np_step(p, c, h, np.asarray(xs[t], np.float64), cell)
    w = choose(t, logits)
    reads[t] = w > 0.5
    h = w * h_r + (1 - w) * h_s
    if cell == "lstm":
      c = w * c_r + (1 - w) * c_s
    hs[t] = h
  return c, h, hs, reads


def _setup(cell="lstm", small=HS, seed=0, batch=B):
  k_p, k_x = jax.random.split(jax.random.PRNGKey(seed))
  params = sr.skim_init(k_p, D, H, small, cell=cell)
  # A decision layer with some spread, so that thresholds bite.
  params = params._replace(decide=params.decide._replace(w=params.decide.w * 3.0))
  xs = jax.random.normal(k_x, (batch, T, D), jnp.float32)
  lengths = jnp.array([T, 4, 0, 1, 5][:batch], jnp.int32)
  return params, xs, lengths


def _hidden(carry):
  return carry.h if isinstance(carry, cells.LSTMState) else carry


CASES = [("lstm", HS), ("lstm", 0), ("gru", HS)]


class SkimRNNTest(parameterized.TestCase):

  @parameterized.parameters(*CASES, ("gru", 0))
  def test_skim_step_copies_units_beyond_small_dim(self, cell, small):
    params, xs, _ = _setup(cell, small)
    carry = sr.zero_state(params, (B,))
    carry = jax.tree_util.tree_map(lambda a: a + jnp.arange(H, dtype=jnp.float32) / 7, carry)
    proj = sr.steps.project(params, xs[:, 0])
    new = sr.steps.skim_update(params, carry, proj.small)
    for old_leaf, new_leaf in zip(jax.tree_util.tree_leaves(carry),
                                  jax.tree_util.tree_leaves(new)):
      np.testing.assert_array_equal(new_leaf[:, small:], old_leaf[:, small:])
      if small:
        self.assertGreater(float(jnp.abs(new_leaf[:, :small] - old_leaf[:, :small]).min()), 0)

  @parameterized.parameters(*CASES)
  def test_masked_layer_matches_numpy_reference(self, cell, small):
    params, xs, lengths = _setup(cell, small)
    threshold = 0.5
    out = masked(params, xs, lengths, threshold)
    for b in range(B):
      # Read iff p_read >= threshold, p from [x_t; h_{t-1}] (the previous state).
      choose = lambda t, lg: float(_sig(lg[0] - lg[1]) >= threshold)
      c, h, hs, reads = np_skim(params, xs[b], int(lengths[b]), cell, choose)
      np.testing.assert_allclose(_hidden(out.final)[b], h, atol=1e-5)
      np.testing.assert_allclose(out.hs[b], hs, atol=1e-5)
      if cell == "lstm":
        np.testing.assert_allclose(out.final.c[b], c, atol=1e-5)
      valid = np.arange(T) < int(lengths[b])
      np.testing.assert_array_equal(out.skim_mask[b], valid & ~reads)
    self.assertGreater(int(out.skim_mask.sum()), 0)
    self.assertLess(int(out.skim_mask.sum()), int(lengths.sum()))

  def test_threshold_extremes(self):
    params, xs, lengths = _setup()
    valid = np.arange(T)[None] < np.asarray(lengths)[:, None]
    for run in (masked, infer_cond):
      out0 = run(params, xs, lengths, 0.0)
      self.assertFalse(bool(out0.skim_mask.any()))            # threshold 0 reads every step
      out = run(params, xs, lengths, 1.0)
      np.testing.assert_array_equal(out.skim_mask, valid)     # 1 reads none
    # Threshold 0 is the big LSTM alone.
    big_only = masked(params._replace(small=None), xs, lengths, 0.0)
    np.testing.assert_allclose(masked(params, xs, lengths, 0.0).hs, big_only.hs, atol=1e-6)

  def test_more_skims_as_threshold_rises(self):
    params, xs, lengths = _setup(batch=5, seed=3)
    rates = [int(masked(params, xs, lengths, t).skim_mask.sum())
             for t in (0.0, 0.3, 0.5, 0.7, 1.0)]
    self.assertEqual(rates[0], 0)
    self.assertEqual(rates[-1], int(lengths.sum()))

  @parameterized.parameters(*CASES)
  def test_cond_path_equals_masked_path(self, cell, small):
    params, xs, lengths = _setup(cell, small)
    # Per-step thresholds: the switch sees reads, skims and padding in one sequence.
    thr = jnp.array([0.5, 0.0, 0.9, 1.0, 0.3, 0.5], jnp.float32)
    for reverse in ((False, True) if (cell, small) == ("lstm", HS) else (False,)):
      want = masked(params, xs, lengths, thr, reverse=reverse)
      self.assertGreater(int(want.skim_mask.sum()), 0)
      vmapped = infer_cond(params, xs, lengths, thr, reverse=reverse)  # switch -> select
      for got in (vmapped,):
        chex.assert_trees_all_close(got.final, want.final, atol=1e-6)
        np.testing.assert_allclose(got.hs, want.hs, atol=1e-6)
        np.testing.assert_array_equal(got.skim_mask, want.skim_mask)
        np.testing.assert_allclose(got.flops, want.flops)
      # Un-batched: a real lax.switch per step.
      for b in (0, 1):
        got = cond(params, xs[b], lengths[b], thr, reverse=reverse, return_sequences=True)
        chex.assert_trees_all_close(got.final, jax.tree_util.tree_map(lambda a: a[b], want.final),
                                    atol=1e-6)
        np.testing.assert_allclose(got.hs, want.hs[b], atol=1e-6)
        np.testing.assert_array_equal(got.skim_mask, want.skim_mask[b])
        np.testing.assert_allclose(got.flops, want.flops[b])
      unrecorded = cond(params, xs[0], lengths[0], thr, reverse=reverse, record=False)
      chex.assert_trees_all_close(unrecorded.final,
                                  jax.tree_util.tree_map(lambda a: a[0], want.final), atol=1e-6)
      self.assertIsNone(unrecorded.skim_mask)

  @parameterized.parameters(*CASES, ("gru", 0))
  def test_gather_path_equals_masked_path(self, cell, small):
    params, xs, _ = _setup(cell, small, batch=8, seed=1)
    lengths = jnp.array([T, 4, 0, 1, 5, T, 3, 2], jnp.int32)
    thr = jnp.array([0.5, 0.0, 0.9, 1.0, 0.3, 0.5], jnp.float32)  # reads, skims, padding
    want = masked(params, xs, lengths, thr)
    self.assertGreater(int(want.skim_mask.sum()), 0)
    # The default blocks, one block of the whole batch, and blocks that force every size
    # (0 readers, a block with unused slots, an overflow to the next size).
    for caps in (None, (8,), (0, 1, 3, 8)):
      got = sr.gather_layer(params, xs, lengths, thr, capacities=caps)
      chex.assert_trees_all_close(got.final, want.final, atol=1e-6)
      np.testing.assert_allclose(got.hs, want.hs, atol=1e-6)
      np.testing.assert_array_equal(got.skim_mask, want.skim_mask)
      np.testing.assert_allclose(got.flops, want.flops)
    via_infer = sr.infer(params, xs, lengths, thr, path="gather", return_sequences=False)
    chex.assert_trees_all_close(via_infer.final, want.final, atol=1e-6)
    self.assertIsNone(via_infer.hs)

  def test_gather_capacities_are_checked(self):
    params, xs, lengths = _setup()
    for caps in ((), (1, 1, B), (0, 2), (-1, B)):
      with self.assertRaisesRegex(ValueError, "capacities must increase strictly"):
        sr.gather_layer(params, xs, lengths, capacities=caps)
    self.assertEqual(sr.inference.default_capacities(32), (0, 2, 4, 6, 8, 12, 16, 32))
    self.assertEqual(sr.inference.default_capacities(3), (0, 1, 3))
    with self.assertRaisesRegex(ValueError, "forwards only"):
      sr.infer(params, xs, lengths, path="gather", reverse=True)

  def test_reverse_is_forward_on_reversed_sequences(self):
    params, xs, lengths = _setup()
    out = masked(params, xs, lengths, 0.5, reverse=True)
    # Example 1 has length 4: reversed within its length, padding stays at the end.
    n = int(lengths[1])
    fw = masked(params, xs[1:2, :n][:, ::-1], None, 0.5)
    np.testing.assert_allclose(out.hs[1, :n], fw.hs[0, ::-1], atol=1e-6)
    np.testing.assert_array_equal(out.skim_mask[1, :n], fw.skim_mask[0, ::-1])
    np.testing.assert_array_equal(out.hs[1, n:], 0.0)

  def test_stacked_bidirectional(self):
    params, xs, lengths = _setup()
    k1, k2 = jax.random.split(jax.random.PRNGKey(5))
    fw = masked(params, xs, lengths, 0.5)
    bw = masked(params, xs, lengths, 0.5, reverse=True)
    layer2 = sr.skim_lstm_init(k1, 2 * H, H, HS)
    hs2 = jnp.concatenate([fw.hs, bw.hs], axis=-1)
    out2 = masked(layer2, hs2, lengths, 0.5)
    chex.assert_shape(out2.hs, (B, T, H))
    cond2 = cond(layer2, hs2[0], lengths[0], 0.5, return_sequences=True)
    np.testing.assert_allclose(out2.hs[0], cond2.hs, atol=1e-6)

  @parameterized.parameters("lstm", "gru")
  def test_gumbel_layer_matches_numpy_mixture(self, cell):
    params, xs, lengths = _setup(cell)
    key, tau = jax.random.PRNGKey(7), 0.7
    final, hs, log_p, r = gumbel(params, xs, key, tau, lengths)
    noise = np.asarray(jax.random.gumbel(key, (B, T, 2), jnp.float32), np.float64)
    for b in range(B):
      def choose(t, lg, b=b):
        z = (lg - np.logaddexp(lg[0], lg[1]) + noise[b, t]) / tau  # log p + g
        return float(np.exp(z[0] - np.logaddexp(z[0], z[1])))
      _, h, hs_ref, _ = np_skim(params, xs[b], int(lengths[b]), cell, choose)
      np.testing.assert_allclose(hs[b], hs_ref, atol=1e-5)
      np.testing.assert_allclose(_hidden(final)[b], h, atol=1e-5)
    valid = np.arange(T)[None] < np.asarray(lengths)[:, None]
    np.testing.assert_allclose(np.exp(log_p).sum(-1)[valid], 1.0, atol=1e-6)
    np.testing.assert_array_equal(r[~valid], 0.0)  # padding: zero outputs

  def test_gumbel_tends_to_hard_choice(self):
    params, xs, lengths = _setup()
    key = jax.random.PRNGKey(11)
    _, hs, log_p, r = gumbel(params, xs, key, 1e-4, lengths)
    valid = np.arange(T)[None] < np.asarray(lengths)[:, None]
    np.testing.assert_allclose(r.max(-1)[valid], 1.0, atol=1e-6)  # one-hot
    noise = np.asarray(jax.random.gumbel(key, (B, T, 2), jnp.float32), np.float64)
    for b in range(B):
      hard = lambda t, lg, b=b: float(lg[0] + noise[b, t, 0] >= lg[1] + noise[b, t, 1])
      _, _, hs_ref, _ = np_skim(params, xs[b], int(lengths[b]), "lstm", hard)
      np.testing.assert_allclose(hs[b], hs_ref, atol=1e-5)

  def test_straight_through_gumbel_is_hard_forward_soft_backward(self):
    # hard=1: at a temperature where the soft mixture is far from one-hot, the forward pass
    # takes the sampled decision (as a test-time run with those decisions would), and the
    # gradient still reaches the decision parameters through the soft weights.
    params, xs, lengths = _setup()
    key, tau = jax.random.PRNGKey(11), 1.0
    _, hs, _, r = gumbel(params, xs, key, tau, lengths, hard=1.0)
    _, _, _, r_soft = gumbel(params, xs, key, tau, lengths)
    valid = np.arange(T)[None] < np.asarray(lengths)[:, None]
    self.assertLess(float(r_soft.max(-1)[valid].min()), 0.99)   # the soft one is not one-hot
    np.testing.assert_array_equal(np.asarray(r)[valid].max(-1), 1.0)
    np.testing.assert_array_equal(np.asarray(r)[valid].argmax(-1),
                                  np.asarray(r_soft)[valid].argmax(-1))
    noise = np.asarray(jax.random.gumbel(key, (B, T, 2), jnp.float32), np.float64)
    for b in range(B):
      pick = lambda t, lg, b=b: float(lg[0] + noise[b, t, 0] >= lg[1] + noise[b, t, 1])
      _, _, hs_ref, _ = np_skim(params, xs[b], int(lengths[b]), "lstm", pick)
      np.testing.assert_allclose(hs[b], hs_ref, atol=1e-5)
    loss = lambda p: jnp.sum(gumbel(p, xs, key, tau, lengths, hard=1.0)[1] ** 2)
    self.assertGreater(float(jnp.abs(jax.grad(loss)(params).decide.w).max()), 1e-6)

  def test_gumbel_noise_perturbs_the_logits(self):
    # A decision that is almost surely "read" must stay so under noise (the bug of ports that
    # sample softmax(g / tau) would read only half the time).
    params, xs, lengths = _setup()
    params = params._replace(decide=params.decide._replace(
        w=jnp.zeros_like(params.decide.w), b=jnp.array([12.0, -12.0])))
    _, _, _, r = gumbel(params, xs, jax.random.PRNGKey(0), 1.0, lengths)
    valid = np.arange(T)[None] < np.asarray(lengths)[:, None]
    self.assertGreater(float(r[..., sr.READ][valid].min()), 0.99)

  def test_gradient_reaches_decision_parameters(self):
    params = sr.classifier_init(jax.random.PRNGKey(0), 11, 2, embed_dim=D, hidden_dim=H,
                                small_dim=HS)
    batch = {"inputs": jnp.array([[1, 2, 3, 4], [5, 6, 0, 0]]), "lengths": jnp.array([4, 2]),
             "labels": jnp.array([0, 1])}
    grad_fn = jax.jit(jax.grad(lambda p, hp: sr.classifier_loss(p, {}, batch,
                                                                 jax.random.PRNGKey(1), hp)[0]))
    for gamma in (0.0, 0.5):
      grads = grad_fn(params, {"skim_gamma": jnp.float32(gamma), "step": jnp.float32(0)})
      self.assertGreater(float(jnp.abs(grads.rnn.decide.w).max()), 1e-6)
      self.assertGreater(float(jnp.abs(grads.rnn.small.w_h).max()), 1e-6)
      self.assertGreater(float(jnp.abs(grads.rnn.big.w_h).max()), 1e-6)

  def test_gumbel_gradients_are_exact(self):
    # Reverse-mode gradient against a central finite difference along a random direction.
    params, xs, lengths = _setup(small=HS, batch=1)
    xs, lengths = xs[:, :4], jnp.array([4])
    f = lambda p: jnp.sum(gumbel(p, xs, jax.random.PRNGKey(2), 0.8, lengths)[1] ** 2)

    @jax.jit
    def check(p):
      leaves, treedef = jax.tree_util.tree_flatten(p)
      keys = jax.random.split(jax.random.PRNGKey(3), len(leaves))
      v = treedef.unflatten([jax.random.normal(k, l.shape) for k, l in zip(keys, leaves)])
      eps = 1e-2
      shift = lambda s: jax.tree_util.tree_map(lambda a, d: a + s * eps * d, p, v)
      numeric = (f(shift(1.0)) - f(shift(-1.0))) / (2 * eps)
      grads = jax.grad(f)(p)
      exact = sum(jnp.vdot(g, d) for g, d in zip(jax.tree_util.tree_leaves(grads),
                                                  jax.tree_util.tree_leaves(v)))
      return exact, numeric, jnp.abs(grads.decide.w).max()

    exact, numeric, decide_grad = check(params)
    np.testing.assert_allclose(exact, numeric, rtol=2e-2)
    self.assertGreater(float(decide_grad), 1e-6)

  def test_skim_loss_and_temperature(self):
    params = sr.classifier_init(jax.random.PRNGKey(0), 11, 3, embed_dim=D, hidden_dim=H,
                                small_dim=HS)
    batch = {"inputs": jnp.array([[1, 2, 3], [4, 5, 6]]), "lengths": jnp.array([3, 1]),
             "labels": jnp.array([0, 2])}
    key = jax.random.PRNGKey(3)
    hp = lambda gamma, step: {"skim_gamma": jnp.float32(gamma), "step": jnp.float32(step)}
    l0, (state, m0) = loss_fn(params, {}, batch, key, hp(0.0, 0))
    l1, (_, m1) = loss_fn(params, {}, batch, key, hp(0.1, 0))
    self.assertEqual(state, {})
    np.testing.assert_allclose(l1, l0 + 0.1 * m0["skim_loss"], rtol=1e-6)
    # skim_loss = mean over examples of mean_t(-log p_skim) over real steps (hand-rolled here).
    xs = params.embedding[batch["inputs"]]
    _, _, log_p, _ = gumbel(params.rnn, xs, key, 1.0, batch["lengths"])
    want = np.mean([-log_p[0, :3, 1].mean(), -log_p[1, :1, 1].mean()])
    np.testing.assert_allclose(m0["skim_loss"], want, rtol=1e-6)
    np.testing.assert_allclose(m0["tau"], 1.0)
    _, (_, m_late) = loss_fn(params, {}, batch, key, hp(0.0, 1e5))
    np.testing.assert_allclose(m_late["tau"], 0.5)
    np.testing.assert_allclose(m0["skim_rate"] + m0["fraction_computed"], 1.0, rtol=1e-6)

  def test_padded_batch_entries_do_not_count(self):
    params = sr.classifier_init(jax.random.PRNGKey(0), 11, 2, embed_dim=D, hidden_dim=H,
                                small_dim=HS)
    batch = {"inputs": jnp.array([[1, 2, 3]]), "lengths": jnp.array([3]), "labels": jnp.array([1])}
    padded = {"inputs": jnp.array([[1, 2, 3], [0, 0, 0]]), "lengths": jnp.array([3, 0]),
              "labels": jnp.array([1, 0]), "weights": jnp.array([1.0, 0.0])}
    hp = {"skim_gamma": jnp.float32(0.01), "step": jnp.float32(0)}
    # The noise is drawn for the whole [B, T, 2] block, so it differs between the two batches:
    # a decision bias of +-30 makes every step a read whatever the noise.
    params = params._replace(rnn=params.rnn._replace(decide=params.rnn.decide._replace(
        b=jnp.array([30.0, -30.0]))))
    l1, (_, m1) = loss_fn(params, {}, batch, jax.random.PRNGKey(0), hp)
    l2, (_, m2) = loss_fn(params, {}, padded, jax.random.PRNGKey(1), hp)
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    np.testing.assert_allclose(m1["accuracy"], m2["accuracy"])

  def test_classifier_infer(self):
    params = sr.classifier_init(jax.random.PRNGKey(0), 11, 2, embed_dim=D, hidden_dim=H,
                                small_dim=HS)
    batch = {"inputs": jnp.array([[1, 2, 3, 4], [5, 6, 0, 0]]), "lengths": jnp.array([4, 2]),
             "labels": jnp.array([0, 1])}
    run = jax.jit(sr.classifier_infer, static_argnames="path")
    outs = [run(params, batch, 0.5, path=p) for p in ("masked", "cond")]
    for k in ("logits", "skim_mask", "flops", "dense_flops"):
      np.testing.assert_allclose(outs[0][k], outs[1][k], atol=1e-6)
    np.testing.assert_allclose(outs[0]["dense_flops"],
                               np.array([4, 2]) * cells.lstm_step_flops(D, H))
    full = run(params, batch, 0.0, path="masked")
    self.assertEqual(float(full["skim_rate"].max()), 0.0)

  def test_flops_hand_worked(self):
    # D=2, d=3, d'=1, LSTM: token = 2*(2+3)*(4+1) + 4 + 2 = 56; read = 2*5*12 + 12 + 24 = 156.
    self.assertEqual(sr.step_flops(2, 3, 1), {"token": 56, "read": 156, "skim": 8})
    params = sr.skim_lstm_init(jax.random.PRNGKey(0), 2, 3, 1)
    np.testing.assert_allclose(sr.skim_run_flops(params, jnp.array([2, 0]), jnp.array([5, 3])),
                               [5 * 56 + 2 * 156 + 3 * 8, 3 * 56 + 3 * 8])
    # GRU: token = 2*5*(3+1) + 3 + 2 = 45; read = gru_step_flops(2, 3) = 2*5*9 + 18 + 24 = 132.
    self.assertEqual(sr.step_flops(2, 3, 1, "gru"), {"token": 45, "read": 132, "skim": 8})
    # Paper setting (D = d = 100, d' = 10) at 83.9% skim: about 3.8x fewer FLOPs.
    f = sr.step_flops(100, 100, 10)
    ratio = cells.lstm_step_flops(100, 100) / (f["token"] + 0.161 * f["read"] + 0.839 * f["skim"])
    self.assertAlmostEqual(ratio, 3.80, delta=0.01)

  def test_bad_inputs(self):
    params, xs, lengths = _setup()
    with self.assertRaisesRegex(ValueError, "small_dim"):
      sr.skim_init(jax.random.PRNGKey(0), D, H, H + 1)
    with self.assertRaisesRegex(ValueError, "small_dim"):
      sr.skim_init(jax.random.PRNGKey(0), D, H, -1)
    with self.assertRaisesRegex(ValueError, "cell"):
      sr.skim_init(jax.random.PRNGKey(0), D, H, 1, cell="rnn")
    with self.assertRaisesRegex(ValueError, "xs"):
      sr.masked_layer(params, xs[0], None)
    with self.assertRaisesRegex(ValueError, "xs"):
      sr.masked_layer(params, xs[..., :2], lengths)
    with self.assertRaisesRegex(ValueError, "lengths"):
      sr.masked_layer(params, xs, jnp.array([T + 1, 0, 0]))
    with self.assertRaisesRegex(ValueError, "length"):
      sr.cond_layer(params, xs[0], T + 1)
    with self.assertRaisesRegex(ValueError, "threshold"):
      sr.masked_layer(params, xs, lengths, jnp.zeros(T + 1))
    with self.assertRaisesRegex(ValueError, "path"):
      sr.infer(params, xs, lengths, path="fast")
    cp = sr.classifier_init(jax.random.PRNGKey(0), 11, 2, embed_dim=D, hidden_dim=H, small_dim=HS)
    batch = {"inputs": jnp.array([[1, 2]]), "lengths": jnp.array([2]), "labels": jnp.array([0])}
    with self.assertRaisesRegex(KeyError, "skim_gamma"):
      sr.classifier_loss(cp, {}, batch, jax.random.PRNGKey(0), {"step": 0.0})

  def test_threshold_outside_unit_interval_is_an_error(self):
    """Issue 11 item 5: a threshold of 1.5 or NaN was clamped silently (NaN skimmed every step).
    Concrete values raise; traced ones (a threshold sweep under jit) report under checkify."""
    params, xs, lengths = _setup()
    batch = {"inputs": jnp.array([[1, 2]]), "lengths": jnp.array([2]), "labels": jnp.array([0])}
    cp = sr.classifier_init(jax.random.PRNGKey(0), 11, 2, embed_dim=D, hidden_dim=H,
                            small_dim=HS)
    for bad in (1.5, -0.1, float("nan"), jnp.array([0.5, 0.2, 1.2, 0.0, 0.1, 0.3])):
      with self.assertRaisesRegex(ValueError, r"threshold must lie in \[0, 1\]"):
        sr.masked_layer(params, xs, lengths, bad)
      with self.assertRaisesRegex(ValueError, r"threshold must lie in \[0, 1\]"):
        sr.cond_layer(params, xs[0], 3, bad)
      with self.assertRaisesRegex(ValueError, r"threshold must lie in \[0, 1\]"):
        sr.infer(params, xs, lengths, bad, path="cond")
      with self.assertRaisesRegex(ValueError, r"threshold must lie in \[0, 1\]"):
        sr.classifier_infer(cp, batch, bad)
    for run in (masked, infer_cond):
      err, _ = checkify.checkify(run)(params, xs, lengths, jnp.float32(1.5))
      with self.assertRaisesRegex(checkify.JaxRuntimeError, r"threshold must lie in \[0, 1\]"):
        err.throw()
      err, _ = checkify.checkify(run)(params, xs, lengths, jnp.float32(1.0))
      self.assertIsNone(err.get())

  def test_gumbel_temperature_must_be_positive(self):
    """Issue 11 item 5: tau <= 0 gave NaN states (tau = 0) or a flipped softmax (tau < 0)."""
    params, xs, lengths = _setup()
    key = jax.random.PRNGKey(0)
    for tau in (0.0, -1.0, float("nan"), float("inf")):
      with self.assertRaisesRegex(ValueError, r"tau must lie in \(0, inf\) \(the Gumbel-softmax "
                                              r"temperature\)"):
        sr.gumbel_layer(params, xs, key, tau, lengths)
      err, _ = checkify.checkify(gumbel)(params, xs, key, jnp.float32(tau), lengths)
      with self.assertRaisesRegex(checkify.JaxRuntimeError, r"tau must lie in \(0, inf\)"):
        err.throw()
    with self.assertRaisesRegex(ValueError, r"hard must lie in \[0, 1\]"):
      sr.gumbel_layer(params, xs, key, 0.5, lengths, hard=2.0)
    err, _ = checkify.checkify(gumbel)(params, xs, key, jnp.float32(0.5), lengths)
    self.assertIsNone(err.get())

  def test_mismatched_parameter_shapes_are_named(self):
    """Issue 11 item 7: parameters of different sizes gave a raw dot_general error."""
    params, xs, lengths = _setup()
    other = sr.skim_init(jax.random.PRNGKey(5), D, H + 1, HS)
    cases = [(params._replace(decide=other.decide), r"params\.decide\.w has shape \(9, 2\): it "
                                                    r"reads 9 features, but \[x_t; h_\{t-1\}\] "
                                                    r"has 8"),
             (params._replace(small=other.small), r"params\.small\.w_h must have shape \[d=5, "),
             (params._replace(big=other.big), r"params\.small\.w_h must have shape \[d=6"),
             (params._replace(small=sr.skim_init(jax.random.PRNGKey(5), D, H, HS,
                                                 cell="gru").small),
              r"params\.small is a GRUParams but params\.big a LSTMParams")]
    for bad, match in cases:
      with self.assertRaisesRegex((ValueError, TypeError), match):
        sr.masked_layer(bad, xs, lengths)
      with self.assertRaisesRegex((ValueError, TypeError), match):
        sr.cond_layer(bad, xs[0])
    cp = sr.classifier_init(jax.random.PRNGKey(0), 11, 2, embed_dim=D, hidden_dim=H,
                            small_dim=HS)
    batch = {"inputs": jnp.array([[1, 2]]), "lengths": jnp.array([2]), "labels": jnp.array([0])}
    with self.assertRaisesRegex(ValueError, r"params\.head\.w has shape \(6, 2\)"):
      sr.classifier_infer(cp._replace(head=layers.DenseParams(jnp.zeros((H + 1, 2)),
                                                                 jnp.zeros(2))), batch)
    with self.assertRaisesRegex(ValueError, r"batch\['inputs'\] must be token ids in \[0, 11\)"):
      sr.classifier_infer(cp, {**batch, "inputs": jnp.array([[1, 11]])})

  def test_threshold_logit(self):
    np.testing.assert_allclose(sr.threshold_logit(jnp.array([0.5, 0.8])), [0.0, np.log(4.0)],
                               rtol=1e-6, atol=1e-7)
    self.assertEqual(float(sr.threshold_logit(0.0)), -np.inf)
    self.assertEqual(float(sr.threshold_logit(1.0)), np.inf)

  def test_bench_helpers(self):
    rng = np.random.default_rng(0)
    thr = bench._forced_thresholds(rng, (4000,), 0.839)
    self.assertAlmostEqual(float(jnp.mean(thr == 1)), 0.839, delta=0.02)
    self.assertTrue(bool(jnp.all((thr == 0) | (thr == 1))))
    params, xs, _ = _setup(small=HS, batch=1)
    fn = jax.jit(lambda p, x, t: sr.cond_layer(p, x[0], None, t))
    t = bench._calibrate(fn, params, xs, 0.5, iters=12)
    self.assertTrue(0.0 < t < 1.0)


if __name__ == "__main__":
  pytest.main([__file__])


def test_classifier_loss_dropout():
  """hparams['dropout'] in the training loss: on (deterministic per key), rate 0 is no dropout
  (the Gumbel noise does not depend on it); evaluation (classifier_infer) has none."""
  params = sr.classifier_init(jax.random.PRNGKey(0), 11, 2, embed_dim=D, hidden_dim=H,
                              small_dim=HS)
  batch = {"inputs": jnp.array([[1, 2, 3, 4], [5, 6, 0, 0]]), "lengths": jnp.array([4, 2]),
           "labels": jnp.array([0, 1])}
  hp = {"skim_gamma": jnp.float32(0.01), "step": jnp.float32(0)}
  k1, k2 = jax.random.PRNGKey(1), jax.random.PRNGKey(2)
  plain = float(loss_fn(params, {}, batch, k1, hp)[0])
  assert float(loss_fn(params, {}, batch, k1, dict(hp, dropout=0.0))[0]) == plain
  trained = float(loss_fn(params, {}, batch, k1, dict(hp, dropout=0.5))[0])
  assert trained != plain
  assert float(loss_fn(params, {}, batch, k1, dict(hp, dropout=0.5))[0]) == trained
  assert float(loss_fn(params, {}, batch, k2, dict(hp, dropout=0.5))[0]) != trained
