"""LSTM-Jump's training loss (cross-entropy + REINFORCE with a learned linear baseline), its
read fraction and FLOPs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from skipjax import cells
from skipjax import estimators
from skipjax import layers
from skipjax import validation
from skipjax.lstm_jump import core

Array = jax.Array
Batch = dict[str, Any]

_baseline_apply = estimators.linear_baseline()[1]

# The loss hparams `make_loss_fn` reads and their ranges; `experiments.registry.check_hparams`
# checks configs against them.
HPARAMS = {"entropy_beta": validation.NONNEG, "dropout": validation.RATE}


def read_fraction(read_mask: Array, lengths: Array) -> Array:
  """Fraction of each example's real tokens that were read: [B] float32 (0 for length 0)."""
  read = jnp.sum(read_mask, axis=-1).astype(jnp.float32)
  return read / jnp.maximum(jnp.asarray(lengths, jnp.float32), 1.0)


def flops(params: core.LSTMJumpParams, out: core.LSTMJumpOutput) -> Array:
  """Analytic FLOPs of a pass that produced `out` (as `cells.lstm_step_flops`): one LSTM step per
  token read, the jump head at every decision made, and a dense classifier: scalar float32."""
  d, h = params.lstm.w_i.shape[0], params.lstm.w_h.shape[0]
  tokens = jnp.sum(out.read_mask).astype(jnp.float32)
  decisions = jnp.sum(out.jumps >= 0).astype(jnp.float32)
  jump_head = 2 * h * (core.max_jump(params) + 1)
  return (tokens * cells.lstm_step_flops(d, h) + decisions * jump_head
          + out.logits.shape[0] * 2 * h * out.logits.shape[-1])


@dataclasses.dataclass(frozen=True)
class LossConfig:
  """How an LSTM-Jump loss reads and trains, apart from the architecture (`core.ModelConfig`):
  read_size R, num_jumps N, and for the sampled (training) loss num_samples trajectories per
  example and normalize_rewards. `make_loss_fn(**dataclasses.asdict(c))`, or `c.loss_fn()`."""
  read_size: int
  num_jumps: int
  num_samples: int = 1
  normalize_rewards: bool = False

  def __post_init__(self):
    validation.check_positive_int("read_size", self.read_size)
    validation.check_nonneg_int("num_jumps", self.num_jumps)
    validation.check_positive_int("num_samples", self.num_samples)

  def loss_fn(self, *, greedy: bool = False, head: core.Head = core.default_head):
    """`make_loss_fn` with these settings (greedy=True: the evaluation loss)."""
    return make_loss_fn(**dataclasses.asdict(self), greedy=greedy, head=head)


def make_loss_fn(*, read_size: int, num_jumps: int, num_samples: int = 1,
                 normalize_rewards: bool = False, greedy: bool = False,
                 head: core.Head = core.default_head
                 ) -> Callable[..., tuple[Array, tuple[Any, dict]]]:
  """The LSTM-Jump training loss, `loss_fn(params, model_state, batch, key, hparams)`.

  Per sampled trajectory (Yu et al. 2017, sec. 2.2):
      loss = CE(logits, y) + sum_i -sg(r - b_i) log pi(kappa_i)            (REINFORCE)
             + 0.5 sum_i (b_i - sg(r))^2                                   (baseline regression)
             - entropy_beta * sum_i H(pi_i)                                (entropy bonus)
  with r = +1 if argmax(logits) = y else -1 and b_i = w . sg(h_i) + c the linear baseline at jump
  point i; sums run over the decisions actually made. The loss is the weighted mean over examples
  (batch 'mask'/'weights') and over `num_samples` trajectories per example.

  Args:
    read_size: R during training. num_jumps: N during training.
    num_samples: trajectories sampled per example (variance reduction).
    normalize_rewards: replace r by (r - mean) / std over the batch's trajectories before the
      baseline and the advantage.
    greedy: greedy decisions (an evaluation loss: deterministic, key unused).
    head: `head(params.classifier, final_state) -> logits`.
  hparams: optional 'entropy_beta' (default 0) and 'dropout' (rate on the embedded inputs and the
  final state before the classifier, see `core.apply`; the sampled loss only: `greedy=True`, the
  evaluation loss, never drops). batch: 'inputs', 'labels' [B] int, optional
  'lengths', 'mask', 'weights'. Metrics: 'loss', 'cross_entropy', 'accuracy' (of the sampled
  trajectories), 'reward' (before normalisation), 'policy_loss', 'baseline_loss', 'entropy' (mean
  per decision), 'fraction_computed' (mean fraction of tokens read), 'num_jumps', 'count'.
  """
  validation.check_positive_int("read_size", read_size)
  validation.check_nonneg_int("num_jumps", num_jumps)
  validation.check_positive_int("num_samples", num_samples)
  if greedy and num_samples != 1:
    raise ValueError(f"greedy decisions are deterministic: num_samples must be 1, got "
                     f"{num_samples}")

  def run(params, inputs, lengths, key, dropout_key, rate):
    return core.apply(params, inputs, lengths, read_size=read_size, num_jumps=num_jumps,
                      key=None if greedy else key, head=head, dropout=rate,
                      dropout_key=dropout_key)

  def loss_fn(params: core.LSTMJumpParams, model_state: Any, batch: Batch, key: Array,
              hparams: dict[str, Array]) -> tuple[Array, tuple[Any, dict[str, Array]]]:
    validation.check_hparams(hparams, HPARAMS)
    inputs, labels = batch["inputs"], batch["labels"]
    batch_size, max_len = inputs.shape[:2]
    lengths = batch.get("lengths")
    if lengths is None:
      lengths = jnp.full((batch_size,), max_len, jnp.int32)
    if jnp.shape(labels) != (batch_size,):
      raise ValueError(f"batch['labels'] must have shape ({batch_size},), got {jnp.shape(labels)}")
    if not jnp.issubdtype(jnp.result_type(labels), jnp.integer):
      raise TypeError(f"batch['labels'] must be integer class ids, got {jnp.result_type(labels)}")
    w = layers.example_weights(batch, batch_size)
    keys = jax.random.split(key, num_samples)
    rate = None if greedy else hparams.get("dropout")
    # Dropout masks from a stream of their own: the sampled decisions do not depend on the rate.
    drop_keys = None if rate is None else jax.random.split(jax.random.fold_in(key, 1), num_samples)
    out = jax.vmap(run, in_axes=(None, None, None, 0, None if rate is None else 0, None))(
        params, inputs, lengths, keys, drop_keys, rate)                  # [S, B, ...]
    ws = jnp.broadcast_to(w, (num_samples, batch_size))

    ce = layers.softmax_cross_entropy(out.logits, labels[None])
    correct = layers.accuracy(out.logits, labels[None])
    raw_reward = 2.0 * correct - 1.0
    reward = estimators.normalize(raw_reward, ws > 0) if normalize_rewards else raw_reward
    decided = out.jumps >= 0                                              # [S, B, N]
    values = _baseline_apply(params.baseline, out.jump_hidden)            # [S, B, N]
    returns = jnp.broadcast_to(reward[..., None], values.shape)
    per_seq = lambda f: jax.vmap(jax.vmap(f))
    policy = per_seq(estimators.reinforce_loss)(out.jump_log_probs, returns - values, decided)
    baseline = per_seq(estimators.linear_baseline_loss)(values, returns, decided)
    neg_entropy = per_seq(estimators.entropy_loss)(out.jump_logits, decided)
    beta = jnp.asarray(hparams.get("entropy_beta", 0.0), jnp.float32)
    loss = layers.weighted_mean(ce + policy + baseline + beta * neg_entropy, ws)

    num_decisions = jnp.maximum(layers.weighted_mean(jnp.sum(decided, -1), ws), 1e-12)
    metrics = {
        "loss": loss,
        "cross_entropy": layers.weighted_mean(ce, ws),
        "accuracy": layers.weighted_mean(correct, ws),
        "reward": layers.weighted_mean(raw_reward, ws),
        "policy_loss": layers.weighted_mean(policy, ws),
        "baseline_loss": layers.weighted_mean(baseline, ws),
        "entropy": -layers.weighted_mean(neg_entropy, ws) / num_decisions,
        "fraction_computed": layers.weighted_mean(
            jax.vmap(read_fraction, in_axes=(0, None))(out.read_mask, lengths), ws),
        "num_jumps": layers.weighted_mean(out.num_jumps, ws),
        "count": jnp.sum(w),
    }
    return loss, (model_state, metrics)

  return loss_fn
