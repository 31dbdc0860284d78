"""Tests of skipjax.lstm_jump: the R/K/N/end read rules against hand-worked cases and a plain
Python reference, the while-loop path against the masked scan, the final state against an LSTM
run over the read tokens only, and the REINFORCE gradient against the exact one."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from conftest import np_lstm_sequence
from skipjax import cells
from skipjax import layers
from skipjax import lstm_jump
from skipjax import recurrence

VOCAB, EMBED, HIDDEN, CLASSES, K = 13, 4, 6, 3, 5

_init = jax.jit(lstm_jump.init, static_argnames=(
    "vocab_size", "input_dim", "embed_dim", "hidden_dim", "num_classes", "max_jump"))
_apply = jax.jit(lstm_jump.apply, static_argnames=("read_size", "num_jumps", "head", "unroll"))
_infer = jax.jit(lstm_jump.infer, static_argnames=("read_size", "num_jumps", "head", "unroll"))


@functools.lru_cache(maxsize=None)
def _params(seed=0, diverse_jumps=False):
  params = _init(jax.random.key(seed), vocab_size=VOCAB, embed_dim=EMBED,
                          hidden_dim=HIDDEN, num_classes=CLASSES, max_jump=K)
  if diverse_jumps:
    # Larger jump weights spread the greedy decisions over stops, short and long jumps.
    params = params._replace(jump=layers.DenseParams(w=3.0 * params.jump.w, b=jnp.zeros(K + 1)))
  return params


def reference_reads(decisions, length, read_size, num_jumps):
  """The paper's rules as a plain Python loop: (0-based positions read, decisions made)."""
  read, made = [], []
  pos = 0
  while True:
    chunk = [t for t in range(pos, pos + read_size) if t < length]
    read += chunk
    if len(chunk) < read_size or chunk[-1] == length - 1 or len(made) == num_jumps:
      break
    kappa = int(decisions[len(made)])
    made.append(kappa)
    if kappa == 0:
      break
    pos = chunk[-1] + kappa
    if pos >= length:
      break
  return read, made


def _positions(read_mask_row):
  return list(np.nonzero(np.asarray(read_mask_row))[0])


def reference_final_h(params, inputs_row, positions):
  """h after a NumPy LSTM (conftest, float64) over the tokens at `positions` only."""
  rows = np.asarray(inputs_row)[np.asarray(positions, int)]
  xs = rows if params.embedding is None else np.asarray(params.embedding)[rows]
  zeros = np.zeros(params.lstm.w_h.shape[0])
  return np_lstm_sequence(params.lstm, xs, zeros, zeros)[1]


# Hand-worked cases, all with T = 12: (length, N, decisions, 1-indexed tokens read, decisions
# made (-1: none), jumps taken). R = 2 except where the name says otherwise.
HAND_R = 2
HAND_CASES = {
    # PAPERS.md section 3 (T=10): read 1, 2; jump 3 lands on 5; read 5, 6; 0 stops.
    "paper_example": (10, 3, (3, 0, 0), [1, 2, 5, 6], [3, 0, -1], 1),
    # kappa = 1 skips nothing.
    "jump_one": (10, 3, (1, 0, 0), [1, 2, 3, 4], [1, 0, -1], 1),
    # 2 + 4 = 6 -> read 6, 7; 7 + 5 = 12 > 10: the reader stops (that jump counts).
    "past_the_end": (10, 3, (4, 5, 1), [1, 2, 6, 7], [4, 5, -1], 2),
    # N = 3 jumps taken, then R more tokens and no fourth decision.
    "n_limit": (12, 3, (1, 2, 1), [1, 2, 3, 4, 6, 7, 8, 9], [1, 2, 1], 3),
    # Padding (length 4 of 12): the jump lands past the real end.
    "padding": (4, 3, (3, 1, 1), [1, 2], [3, -1, -1], 1),
    # Length 0: nothing read, no decision.
    "empty": (0, 3, (2, 2, 2), [], [-1, -1, -1], 0),
    # 2 + 5 = 7 -> the chunk 7, 8 is cut short by the end (length 7): no decision.
    "end_mid_chunk": (7, 3, (5, 1, 1), [1, 2, 7], [5, -1, -1], 1),
    # 2 + 3 = 5 -> read 5, 6; the chunk ends on the last token: no decision.
    "end_on_chunk": (6, 3, (3, 4, 4), [1, 2, 5, 6], [3, -1, -1], 1),
    # Immediate stop.
    "stop_first": (10, 3, (0, 3, 3), [1, 2], [0, -1, -1], 0),
    # N = 0: read R tokens, never decide.
    "no_jumps": (10, 0, (), [1, 2], [], 0),
}
HAND_T = 12


def test_reference_follows_hand_worked_cases():
  for name, (length, num_jumps, decisions, tokens, made, _) in HAND_CASES.items():
    ref_read, ref_made = reference_reads(decisions, length, HAND_R, num_jumps)
    assert [t + 1 for t in ref_read] == tokens, name
    assert ref_made == [m for m in made if m >= 0], name


def _check_row(params, out, b, inputs, tokens, made, jumps, name):
  assert [t + 1 for t in _positions(out.read_mask[b])] == tokens, name
  assert list(np.asarray(out.jumps[b])) == made, name
  assert int(out.num_jumps[b]) == jumps, name
  # The final state is an LSTM run over the read tokens only.
  ref_h = reference_final_h(params, inputs[b], [t - 1 for t in tokens])
  np.testing.assert_allclose(out.final_state.h[b], ref_h, rtol=1e-4, atol=1e-5, err_msg=name)


@pytest.mark.parametrize("path", ["apply", "infer"])
def test_hand_worked_read_positions(path):
  """Cases sharing N run as one batch: each example has its own read pointer."""
  params = _params()
  fn = _apply if path == "apply" else _infer
  for num_jumps in (3, 0):
    cases = [(n, c) for n, c in sorted(HAND_CASES.items()) if c[1] == num_jumps]
    inputs = (jnp.arange(len(cases) * HAND_T, dtype=jnp.int32) % VOCAB).reshape(-1, HAND_T)
    lengths = jnp.array([case[0] for _, case in cases])
    forced = jnp.array([case[2] for _, case in cases], jnp.int32).reshape(len(cases), num_jumps)
    out = fn(params, inputs, lengths, read_size=HAND_R, num_jumps=num_jumps, forced_jumps=forced)
    for b, (name, (_, _, _, tokens, made, jumps)) in enumerate(cases):
      _check_row(params, out, b, inputs, tokens, made, jumps, name)
    np.testing.assert_allclose(out.logits, layers.dense(params.classifier, out.final_state.h),
                               rtol=1e-6)


def _random_case(seed, batch=9, max_len=HAND_T, num_jumps=3, stop_prob=0.1):
  rng = np.random.default_rng(seed)
  lengths = rng.integers(0, max_len + 1, size=batch).astype(np.int32)
  lengths[0] = max_len
  inputs = rng.integers(0, VOCAB, size=(batch, max_len)).astype(np.int32)
  # Decisions drawn with stops rarer than jumps, so the N and end rules are exercised too.
  probs = [stop_prob] + [(1 - stop_prob) / K] * K
  forced = rng.choice(K + 1, size=(batch, num_jumps), p=probs).astype(np.int32)
  return jnp.asarray(inputs), jnp.asarray(lengths), jnp.asarray(forced)


@pytest.mark.parametrize("path", ["apply", "infer"])
def test_forced_batch_matches_reference(path):
  """Random decisions and lengths: read positions and states follow the reference rules."""
  params = _params()
  fn = _apply if path == "apply" else _infer
  for seed in range(4):
    inputs, lengths, forced = _random_case(seed)
    out = fn(params, inputs, lengths, read_size=HAND_R, num_jumps=3, forced_jumps=forced)
    for b in range(inputs.shape[0]):
      ref_read, ref_made = reference_reads(np.asarray(forced[b]), int(lengths[b]), HAND_R, 3)
      made = ref_made + [-1] * (3 - len(ref_made))
      _check_row(params, out, b, inputs, [t + 1 for t in ref_read], made,
                 sum(k > 0 for k in ref_made), f"seed {seed} row {b}")


def test_float_inputs():
  params = _init(jax.random.key(2), input_dim=3, hidden_dim=5, num_classes=2,
                          max_jump=4)
  xs = jax.random.normal(jax.random.key(3), (1, 8, 3))
  out = _infer(params, xs, None, read_size=2, num_jumps=2, forced_jumps=jnp.array([[2, 0]]))
  assert _positions(out.read_mask[0]) == [0, 1, 3, 4]
  np.testing.assert_allclose(out.final_state.h[0], reference_final_h(params, xs[0], [0, 1, 3, 4]),
                             rtol=1e-4, atol=1e-5)


def test_while_loop_inference_equals_masked_scan():
  """Greedy decisions: the while_loop path (batched, and at batch 1) equals the masked scan;
  padding is never read and its values change nothing."""
  params = _params(seed=4, diverse_jumps=True)
  inputs, lengths, _ = _random_case(7, batch=9, max_len=HAND_T)
  kw = dict(read_size=HAND_R, num_jumps=3)
  masked = _apply(params, inputs, lengths, **kw)
  batched = _infer(params, inputs, lengths, **kw)
  made = np.asarray(masked.jumps)
  assert (made == 0).any() and (made > 0).any(), "decisions should include stops and jumps"
  np.testing.assert_array_equal(batched.read_mask, masked.read_mask)
  np.testing.assert_array_equal(batched.jumps, masked.jumps)
  np.testing.assert_array_equal(batched.num_jumps, masked.num_jumps)
  np.testing.assert_allclose(batched.logits, masked.logits, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(batched.jump_log_probs, masked.jump_log_probs, rtol=1e-5,
                             atol=1e-6)
  for b in range(inputs.shape[0]):
    single = _infer(params, inputs[b:b + 1], lengths[b:b + 1], **kw)
    np.testing.assert_array_equal(single.read_mask[0], masked.read_mask[b])
    np.testing.assert_array_equal(single.jumps[0], masked.jumps[b])
    np.testing.assert_allclose(single.logits[0], masked.logits[b], rtol=1e-5, atol=1e-6)

  pad = ~recurrence.sequence_mask(lengths, inputs.shape[1])
  assert bool(jnp.any(pad))
  other = jnp.where(pad, (inputs + 5) % VOCAB, inputs)
  for fn, out in ((_apply, masked), (_infer, batched)):
    assert not bool(jnp.any(out.read_mask & pad))
    out2 = fn(params, other, lengths, **kw)
    np.testing.assert_array_equal(out.logits, out2.logits)
    np.testing.assert_array_equal(out.read_mask, out2.read_mask)


def test_sampled_decisions_follow_the_rules():
  params = _params(seed=4)
  inputs, lengths, _ = _random_case(3)
  out = _apply(params, inputs, lengths, read_size=HAND_R, num_jumps=3, key=jax.random.key(0))
  for b in range(inputs.shape[0]):
    made = [int(k) for k in out.jumps[b] if k >= 0]
    decisions = made + [0] * (3 - len(made))
    ref_read, ref_made = reference_reads(decisions, int(lengths[b]), HAND_R, 3)
    assert ref_made == made and _positions(out.read_mask[b]) == ref_read
  logp = np.asarray(jax.nn.log_softmax(out.jump_logits))
  jumps = np.asarray(out.jumps)
  taken = np.take_along_axis(logp, np.maximum(jumps, 0)[..., None], -1)[..., 0]
  np.testing.assert_allclose(out.jump_log_probs, np.where(jumps >= 0, taken, 0.0),
                             rtol=1e-5, atol=1e-6)


def test_flops_counts_reads():
  params = _params()
  out = lstm_jump.LSTMJumpOutput(
      logits=jnp.zeros((1, CLASSES)), read_mask=jnp.array([[1, 1, 0, 0, 1, 1, 0, 0, 0, 0]], bool),
      jumps=jnp.array([[3, 0, -1]]), jump_log_probs=jnp.zeros((1, 3)),
      num_jumps=jnp.array([1]), final_state=cells.lstm_zero_state((1,), HIDDEN))
  expected = (4 * cells.lstm_step_flops(EMBED, HIDDEN) + 2 * 2 * HIDDEN * (K + 1)
              + 2 * HIDDEN * CLASSES)
  assert float(lstm_jump.flops(params, out)) == expected


# ----------------------------------------------------------------------------------------------
# Loss and REINFORCE
# ----------------------------------------------------------------------------------------------

_LOSS = lstm_jump.make_loss_fn(read_size=HAND_R, num_jumps=3, num_samples=2)
# One compilation shared by the loss tests: same shapes, same batch keys, same hparams.
_loss_and_grad = jax.jit(jax.value_and_grad(_LOSS, has_aux=True))


def _toy_two_actions(baseline_c):
  """A 2-action toy in the shared shapes: length 4, R = 2. The jump head's weights are zero and
  its bias leaves only kappa = 0 (stop after tokens 1, 2) and kappa = 1 (read tokens 3, 4, then
  the end: no further decision) with non-zero probability. The label makes stopping wrong
  (reward -1) and jumping right (+1)."""
  params = _params(seed=5)
  params = params._replace(
      jump=layers.DenseParams(w=jnp.zeros_like(params.jump.w),
                              b=jnp.array([0.0, 0.8] + [-1e9] * (K - 1))),
      classifier=layers.DenseParams(w=params.classifier.w * 20.0, b=jnp.zeros(CLASSES)),
      baseline=params.baseline._replace(b=jnp.asarray(baseline_c, jnp.float32)))
  inputs = jnp.tile(jnp.array([1, 3, 5, 7] + [0] * (HAND_T - 4), jnp.int32), (9, 1))
  lengths = jnp.full((9,), 4, jnp.int32)
  forced = jnp.zeros((9, 3), jnp.int32).at[1, 0].set(1)
  paths = _infer(params, inputs, lengths, read_size=HAND_R, num_jumps=3, forced_jumps=forced)
  preds = np.asarray(jnp.argmax(paths.logits, -1))
  assert preds[0] != preds[1], "the toy needs the two paths to predict differently"
  batch = {"inputs": inputs, "lengths": lengths, "labels": jnp.full((9,), preds[1], jnp.int32),
           "mask": jnp.ones((9,))}
  return params, batch


@pytest.mark.parametrize("baseline_c", [0.0, 0.4])
def test_reinforce_gradient_matches_exact(baseline_c):
  """E[grad of the loss] w.r.t. the jump head's bias equals -grad E[reward] (exact, 2 actions).

  pi = softmax(b) over the two possible actions and grad_b E[r] = sum_a r_a grad_b pi_a,
  whatever the (action-independent) baseline c. Tolerance: 4 standard errors of the per-sample
  estimator g_a = (r_a - c) (onehot(a) - pi), computed exactly.
  """
  params, batch = _toy_two_actions(baseline_c)
  calls = 250  # x 9 examples x 2 trajectories = 4500 samples
  hparams = {"entropy_beta": jnp.float32(0.0)}
  grad_b = np.mean([np.asarray(_loss_and_grad(params, {}, batch, jax.random.key(i),
                                              hparams)[1].jump.b[:2]) for i in range(calls)], 0)
  pi = np.asarray(jax.nn.softmax(params.jump.b[:2]), np.float64)
  rewards = np.array([-1.0, 1.0])
  per_action = np.array([(rewards[a] - baseline_c) * (np.eye(2)[a] - pi) for a in range(2)])
  exact = pi @ (rewards[:, None] * (np.eye(2) - pi))
  std = np.sqrt(pi @ (per_action - exact) ** 2)
  tol = 4 * std / np.sqrt(calls * 9 * 2)
  assert np.all(np.abs(-grad_b - exact) <= tol), (-grad_b, exact, tol)
  assert np.all(np.abs(exact) > 10 * tol)  # the test can tell a right gradient from zero


def test_loss_terms_by_hand():
  params = _params(seed=6)
  # Uniform jump policy (entropy log(K + 1) per decision); every prediction right (reward +1).
  params = params._replace(
      jump=layers.DenseParams(w=jnp.zeros_like(params.jump.w), b=jnp.zeros(K + 1)),
      classifier=layers.DenseParams(w=jnp.zeros_like(params.classifier.w),
                                    b=jnp.array([0.0, 2.0, 0.0])),
      baseline=params.baseline._replace(b=jnp.asarray(0.25, jnp.float32)))
  inputs, lengths, _ = _random_case(2)
  batch = {"inputs": inputs, "lengths": lengths, "labels": jnp.ones((9,), jnp.int32),
           "mask": jnp.array([1.0] * 8 + [0.0])}
  (loss, (_, m)), grads = _loss_and_grad(params, {}, batch, jax.random.key(1),
                                         {"entropy_beta": jnp.float32(0.1)})
  assert float(m["count"]) == 8.0
  assert float(m["accuracy"]) == 1.0 and float(m["reward"]) == 1.0
  np.testing.assert_allclose(m["entropy"], np.log(K + 1), rtol=1e-5)
  ce = -np.log(np.exp(2.0) / (np.exp(2.0) + 2.0))
  np.testing.assert_allclose(m["cross_entropy"], ce, rtol=1e-5)
  # Baseline squared error 0.5 (0.25 - 1)^2 per decision; d/dc = (0.25 - 1) per decision.
  decisions = float(m["baseline_loss"]) / (0.5 * 0.75 ** 2)
  assert decisions > 0.5
  np.testing.assert_allclose(grads.baseline.b, -0.75 * decisions, rtol=1e-5)
  expected = ce + m["policy_loss"] + m["baseline_loss"] - 0.1 * np.log(K + 1) * decisions
  np.testing.assert_allclose(loss, expected, rtol=1e-5)
  assert 0.0 < float(m["fraction_computed"]) <= 1.0
  for leaf in jax.tree_util.tree_leaves(grads):
    assert bool(jnp.all(jnp.isfinite(leaf)))


def test_gradient_reaches_every_trained_parameter():
  params = _params(seed=4, diverse_jumps=True)
  inputs, lengths, _ = _random_case(5)
  batch = {"inputs": inputs, "lengths": lengths, "labels": jnp.arange(9) % CLASSES,
           "mask": jnp.ones((9,))}
  _, grads = _loss_and_grad(params, {}, batch, jax.random.key(0),
                            {"entropy_beta": jnp.float32(0.01)})
  for name in ("embedding", "lstm", "jump", "classifier", "baseline"):
    leaves = jax.tree_util.tree_leaves(getattr(grads, name))
    assert any(float(jnp.abs(leaf).max()) > 0 for leaf in leaves), name


def test_dropout_in_the_sampled_loss_only():
  """hparams['dropout'] changes the sampled (training) loss, deterministically per key; rate 0
  is no dropout (the decision samples do not depend on it); the greedy (evaluation) loss never
  drops."""
  params = _params(seed=4, diverse_jumps=True)
  inputs, lengths, _ = _random_case(5)
  batch = {"inputs": inputs, "lengths": lengths, "labels": jnp.arange(9) % CLASSES}
  train = jax.jit(lambda k, hp: _LOSS(params, {}, batch, k, hp)[0])
  greedy = jax.jit(lambda k, hp: lstm_jump.make_loss_fn(read_size=HAND_R, num_jumps=3,
                                                        greedy=True)(params, {}, batch, k, hp)[0])
  k1, k2 = jax.random.key(1), jax.random.key(2)
  beta = {"entropy_beta": jnp.float32(0.01)}
  drop = dict(beta, dropout=jnp.float32(0.5))
  assert float(greedy(k1, drop)) == float(greedy(k1, beta))
  plain = float(train(k1, beta))
  assert float(train(k1, dict(beta, dropout=jnp.float32(0.0)))) == plain
  trained = float(train(k1, drop))
  assert trained != plain and float(train(k1, drop)) == trained
  assert float(train(k2, drop)) != trained


def test_normalized_rewards():
  """Rewards normalised over the batch: all-equal rewards leave no advantage (zero baseline)."""
  params, batch = _toy_two_actions(0.0)
  norm_fn = jax.jit(lstm_jump.make_loss_fn(read_size=HAND_R, num_jumps=3, num_samples=2,
                                           normalize_rewards=True))
  # A head that always predicts the label: every reward is +1, normalised to 0.
  right = params._replace(classifier=layers.DenseParams(
      w=jnp.zeros_like(params.classifier.w), b=10.0 * jax.nn.one_hot(batch["labels"][0], CLASSES)))
  _, (_, m) = norm_fn(right, {}, batch, jax.random.key(1), {})
  assert float(m["reward"]) == 1.0
  np.testing.assert_allclose(m["policy_loss"], 0.0, atol=1e-6)
  # Mixed rewards: the normalised advantages are non-zero.
  _, (_, m) = norm_fn(params, {}, batch, jax.random.key(1), {})
  assert -1.0 < float(m["reward"]) < 1.0
  assert abs(float(m["policy_loss"])) > 1e-3


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


def test_bad_input_raises():
  params = _params()
  ids = jnp.zeros((2, 6), jnp.int32)
  kw = dict(read_size=2, num_jumps=2)
  with pytest.raises(ValueError, match="inputs"):
    lstm_jump.infer(params, ids[0], **kw)
  with pytest.raises(TypeError, match="inputs"):
    lstm_jump.infer(params, ids.astype(jnp.float32), **kw)
  with pytest.raises(ValueError, match="lengths"):
    lstm_jump.infer(params, ids, jnp.array([3, 7]), **kw)
  with pytest.raises(ValueError, match="read_size"):
    lstm_jump.apply(params, ids, read_size=0, num_jumps=2)
  with pytest.raises(ValueError, match="num_jumps"):
    lstm_jump.apply(params, ids, read_size=2, num_jumps=-1)
  with pytest.raises(ValueError, match="forced_jumps"):
    lstm_jump.apply(params, ids, forced_jumps=jnp.zeros((2, 3), jnp.int32), **kw)
  with pytest.raises(ValueError, match="forced_jumps"):
    lstm_jump.infer(params, ids, forced_jumps=jnp.full((2, 2), K + 1, jnp.int32), **kw)
  with pytest.raises(ValueError, match="at most one"):
    lstm_jump.apply(params, ids, key=jax.random.key(0),
                    forced_jumps=jnp.zeros((2, 2), jnp.int32), **kw)
  with pytest.raises(ValueError, match="vocab_size"):
    lstm_jump.init(jax.random.key(0), hidden_dim=4, num_classes=2, max_jump=3)
  with pytest.raises(ValueError, match="max_jump"):
    lstm_jump.init(jax.random.key(0), vocab_size=5, embed_dim=2, hidden_dim=4, num_classes=2,
                   max_jump=0)
  with pytest.raises(ValueError, match="num_samples"):
    lstm_jump.make_loss_fn(read_size=2, num_jumps=2, num_samples=0)
  with pytest.raises(ValueError, match="labels"):
    _LOSS(params, {}, {"inputs": ids, "labels": jnp.zeros((3,), jnp.int32)}, jax.random.key(0),
          {})
  float_params = _init(jax.random.key(2), input_dim=3, hidden_dim=5, num_classes=2, max_jump=4)
  with pytest.raises(ValueError, match="input_dim"):
    lstm_jump.infer(float_params, jnp.zeros((2, 6, 4)), **kw)


def test_token_ids_outside_the_vocabulary_are_refused():
  """Issue 11 item 5: ids >= vocab read NaN rows (jnp.take fills out of bounds) and gave NaN
  logits; negative ids wrapped around. Eager calls raise, jitted ones report under checkify."""
  params = _params()
  kw = dict(read_size=2, num_jumps=2)
  for bad in (VOCAB, -1):
    ids = jnp.array([[1, 2, bad, 3, 4, 5]], jnp.int32)
    for fn in (lstm_jump.apply, lstm_jump.infer):
      with pytest.raises(ValueError, match=rf"inputs must be token ids in \[0, {VOCAB}\)"):
        fn(params, ids, **kw)
    err, _ = checkify.checkify(_infer)(params, ids, **kw)
    with pytest.raises(checkify.JaxRuntimeError, match=rf"inputs must be token ids in "
                                                        rf"\[0, {VOCAB}\)"):
      err.throw()
  err, out = checkify.checkify(_infer)(params, jnp.array([[1, 2, VOCAB - 1, 0]]), **kw)
  assert err.get() is None and bool(jnp.all(jnp.isfinite(out.logits)))


def test_empty_batch():
  """Issue 11 item 7: `infer` with B = 0 crashed (`max` of an empty array) while `apply` gave
  empty outputs; both now give the same empty outputs."""
  params = _params()
  ids = jnp.zeros((0, 6), jnp.int32)
  kw = dict(read_size=2, num_jumps=2)
  got, want = lstm_jump.infer(params, ids, **kw), _apply(params, ids, **kw)
  assert got.logits.shape == (0, CLASSES) and got.read_mask.shape == (0, 6)
  for name in ("logits", "read_mask", "jumps", "jump_log_probs", "num_jumps"):
    np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
  assert got.final_state.h.shape == (0, HIDDEN)


def test_mismatched_parameter_shapes_are_named():
  """Issue 11 item 7: parameters of different hidden sizes gave a raw dot_general error."""
  params = _params()
  other = _init(jax.random.key(1), vocab_size=VOCAB, embed_dim=EMBED, hidden_dim=HIDDEN + 1,
                num_classes=CLASSES, max_jump=K)
  ids = jnp.zeros((2, 6), jnp.int32)
  kw = dict(read_size=2, num_jumps=2)
  cases = [(params._replace(jump=other.jump), r"params\.jump\.w has shape \(7, 6\): it reads 7 "
                                              r"features, but params\.lstm's h has 6"),
           (params._replace(classifier=other.classifier), r"params\.classifier\.w has shape"),
           (params._replace(baseline=other.baseline), r"params\.baseline must have w \[6\]"),
           (params._replace(lstm=params.lstm._replace(w_h=other.lstm.w_h)),
            r"params\.lstm\.w_i must have shape \[D, 28\]"),
           (params._replace(embedding=jnp.zeros((VOCAB, EMBED + 1))),
            r"params\.embedding has last dimension 5, but the LSTM's input_dim")]
  for bad, match in cases:
    for fn in (lstm_jump.apply, lstm_jump.infer):
      with pytest.raises(ValueError, match=match):
        fn(bad, ids, **kw)
