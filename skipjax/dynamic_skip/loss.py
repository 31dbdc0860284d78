"""The training objective of Gui et al.: the task loss plus REINFORCE and an entropy bonus for
the agent, with its reward baselines and the carried state of truncated BPTT.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import jax
import jax.numpy as jnp

from skipjax import conlleval
from skipjax import estimators
from skipjax import layers
from skipjax import recurrence
from skipjax import validation
from skipjax.dynamic_skip import model

Array = jax.Array
sg = jax.lax.stop_gradient

BASELINES = ("none", "batch", "ema")


@dataclasses.dataclass(frozen=True)
class LossConfig:
  """The training settings of `make_loss_fn` (hashable, static), apart from the architecture.

  reward_baseline: "none", "batch" (leave-one-out batch mean, per position for sequences) or
    "ema" (moving average of the reward, classification only; its state in
    model_state["reward_baseline"]).
  ema_decay: the EMA baseline's decay.
  carry_state: language models carry the recurrent state across batches (truncated BPTT) in
    model_state["carries"]; needs a unidirectional model.
  """
  reward_baseline: str = "batch"
  ema_decay: float = 0.9
  carry_state: bool = False

  def __post_init__(self):
    if self.reward_baseline not in BASELINES:
      raise ValueError(f"reward_baseline must be one of {BASELINES}, got "
                       f"{self.reward_baseline!r}")
    validation.check_in("ema_decay", self.ema_decay, validation.UNIT)


def _check_loss_config(config: model.ModelConfig, task: str,
                       loss_config: LossConfig | None) -> LossConfig:
  if task not in model.TASKS:
    raise ValueError(f"task must be one of {model.TASKS}, got {task!r}")
  if loss_config is None:
    loss_config = LossConfig()
  if not isinstance(loss_config, LossConfig):
    raise TypeError(f"loss_config must be a LossConfig, got {type(loss_config).__name__}")
  if loss_config.carry_state and config.bidirectional:
    raise ValueError("carry_state needs a unidirectional model")
  return loss_config

def leave_one_out_baseline(values: Array, weights: Array) -> Array:
  """Baseline b_i = weighted mean of the other examples' values: values, weights [B, ...].

  Independent of example i's own actions, so subtracting it keeps REINFORCE unbiased.
  """
  total = jnp.sum(weights * values, axis=0, keepdims=True)
  count = jnp.sum(weights, axis=0, keepdims=True)
  others = jnp.maximum(count - weights, 1.0)
  return jnp.where(count - weights > 0, (total - weights * values) / others, 0.0)


def sequence_returns(rewards: Array, mask: Array, discount: float | Array = 1.0, *,
                     reverse: bool = False) -> Array:
  """Reward-to-go of per-step rewards [B, T] (mask [B, T], padding at the end).

  Forward layers: G_t = sum_{s >= t} discount^(s-t) r_s. A backward layer's decision at t
  affects outputs t, t-1, ..., 0, so `reverse=True` gives G_t = sum_{s <= t} discount^(t-s) r_s.
  """
  mask = mask.astype(rewards.dtype)
  if not reverse:
    return jax.vmap(estimators.reward_to_go, (0, 0, None))(rewards, mask, discount)
  lengths = jnp.sum(mask, axis=1).astype(jnp.int32)
  flipped = recurrence.reverse_sequences((rewards, mask), lengths)
  g = jax.vmap(estimators.reward_to_go, (0, 0, None))(flipped[0], flipped[1], discount)
  return recurrence.reverse_sequences(g, lengths) * mask


def init_model_state(config: model.ModelConfig, task: str, batch_size: int | None = None,
                     loss_config: LossConfig | None = None) -> dict:
  """The non-differentiated state of `make_loss_fn`'s loss: an EMA reward baseline
  ('reward_baseline') and/or the carried recurrent state ('carries', needs batch_size)."""
  loss_config = _check_loss_config(config, task, loss_config)
  state = {}
  if loss_config.reward_baseline == "ema":
    if task != "classification":
      raise ValueError("reward_baseline='ema' is for classification; use 'batch' or 'none'")
    state["reward_baseline"] = estimators.ema_baseline(loss_config.ema_decay)[0]()
  if loss_config.carry_state:
    state["carries"] = model.zero_carries(config, batch_size)
  return state



def _check_batch(batch, task, config: model.ModelConfig):
  for name in ("inputs", "lengths", "labels"):
    if name not in batch:
      raise ValueError(f"batch must contain {name!r}")
  inputs = batch["inputs"]
  validation.check_rank("batch['inputs']", inputs, 2 if config.vocab_size else 3)
  b, t = inputs.shape[:2]
  validation.check_lengths(batch["lengths"], b, t, "batch['lengths']")
  want = (b,) if task == "classification" else (b, t)
  if jnp.shape(batch["labels"]) != want:
    raise ValueError(f"batch['labels'] must have shape {want} for task {task!r}, got "
                     f"{jnp.shape(batch['labels'])}")


def make_loss_fn(config: model.ModelConfig, task: str, loss_config: LossConfig | None = None, *,
                 train: bool = True, tag_names: Sequence[str] | None = None):
  """The loss of the paper's training scheme, following the skipjax loss protocol.

      loss = task NLL + reinforce_weight * REINFORCE + entropy_weight * (-entropy)

  summed over each sequence's decisions and averaged over the batch. task: "classification"
  (number prediction, IMDB: reward +1/-1 for the sampled path's prediction), "language_model"
  (PTB: labels [B, T] next words, reward of step t = p(gold word), reward-to-go), "tagging"
  (CoNLL: labels [B, T] tags, softmax output, reward p(gold tag) summed towards each layer's
  direction). `train=False` gives the test-time loss: greedy agent, no dropout, task NLL only.
  "tagging" also reports 'count' (weighted tokens: evaluation weighs batches by tokens) and,
  given `tag_names` (the tag of each label id, IOB), the chunk counts of the argmax tags
  (`conlleval.chunk_count_metrics`), from which evaluation computes entity-level F1.

  hparams: 'lam', 'dropout' (see `model.apply`), 'reinforce_weight' (default 1), 'entropy_weight'
  (default 0.01), 'discount' (default 1, reward-to-go), 'sum_over_time' (sequence tasks: 1 sums
  the NLL over the window and averages over sequences, Zaremba et al.'s scale; default: mean).
  batch['chars'] [B, T, C]: the character ids, read when config.char_vocab_size > 0.
  batch['mask'] x batch['weights'] [B] (`layers.example_weights`) weighs padded batch entries.
  loss_config (a `LossConfig`; None: the defaults) picks the reward baseline; with its
  carry_state the layers start from model_state['carries'] and the new state holds the final
  carries; rows where batch['reset'] [B] is nonzero start from zeros instead (the
  first window of a pass over a token stream).
  Metrics: loss, nll, accuracy, reward, entropy, mean_skip, fraction_computed (always 1: every
  step runs the LSTM).
  """
  loss_config = _check_loss_config(config, task, loss_config)
  if tag_names is not None:
    if task != "tagging":
      raise ValueError(f"tag_names (entity F1) applies to task 'tagging', not {task!r}")
    tag_names = tuple(tag_names)
    conlleval.iob_tables(tag_names)  # a bad tag fails here, not inside a trace
    if len(tag_names) != config.num_outputs:
      raise ValueError(f"tag_names has {len(tag_names)} tags but the model has "
                       f"num_outputs={config.num_outputs}")

  def loss_fn(params, model_state, batch, key, hparams):
    _check_batch(batch, task, config)
    inputs, lengths, labels = batch["inputs"], batch["lengths"], batch["labels"]
    b, t = inputs.shape[:2]
    weights = layers.example_weights(batch, b)  # mask x weights
    carries = model_state.get("carries") if loss_config.carry_state else None
    if carries is not None and "reset" in batch:  # first window of a pass over the stream
      carries = model.reset_carries(config, carries, jnp.asarray(batch["reset"]))
    out = model.apply(params, config, inputs, lengths, key, hparams, train=train, carries=carries,
                      chars=batch.get("chars") if config.char_vocab_size else None)
    rate = hparams.get("dropout")
    k_out = jax.random.fold_in(key, 10 ** 6)
    seq_mask = recurrence.sequence_mask(lengths, t).astype(jnp.float32)
    step_mask = seq_mask * weights[:, None]
    new_state = dict(model_state)
    if loss_config.carry_state:
      new_state["carries"] = sg(out.carries)

    if task == "classification":
      logits = layers.dense(params["out"],
                            layers.dropout(k_out, out.final_features, rate, train=train))
      nll = layers.softmax_cross_entropy(logits, labels)
      correct = layers.accuracy(logits, labels)
      denom = jnp.maximum(jnp.sum(weights), 1.0)
      task_loss = jnp.sum(weights * nll) / denom
      acc = jnp.sum(weights * correct) / denom
      reward = 2.0 * correct - 1.0                          # +1 / -1, Gui et al.
      mean_reward = jnp.sum(weights * reward) / denom
      if loss_config.reward_baseline == "batch":
        baseline = leave_one_out_baseline(reward, weights)
      elif loss_config.reward_baseline == "ema":
        baseline = jnp.broadcast_to(model_state["reward_baseline"].value, reward.shape)
        if train:
          update = estimators.ema_baseline(loss_config.ema_decay)[1]
          new_state["reward_baseline"] = update(model_state["reward_baseline"], mean_reward)
      else:
        baseline = jnp.zeros_like(reward)
      advantages = {False: jnp.broadcast_to((reward - baseline)[:, None], (b, t))}
      advantages[True] = advantages[False]
    else:
      logits = layers.dense(params["out"],
                            layers.dropout(k_out, out.features, rate, train=train))
      nll = layers.softmax_cross_entropy(logits, labels)
      denom = jnp.maximum(jnp.sum(step_mask), 1.0)
      task_loss = jnp.sum(step_mask * nll) / denom
      acc = jnp.sum(step_mask * layers.accuracy(logits, labels)) / denom
      reward = sg(jnp.exp(-nll)) * step_mask                # p(gold label at t)
      mean_reward = jnp.sum(reward) / denom
      discount = jnp.asarray(hparams.get("discount", 1.0), jnp.float32)
      advantages = {}
      for reverse in {dec.reverse for dec in out.decisions}:
        returns = sequence_returns(reward, step_mask, discount, reverse=reverse)
        if loss_config.reward_baseline == "batch":
          returns = returns - leave_one_out_baseline(returns, step_mask)
        advantages[reverse] = returns

    loss = task_loss
    if task != "classification" and "sum_over_time" in hparams:
      # Zaremba et al. (2014) minimise the NLL summed over the BPTT window and averaged over
      # sequences (their SGD learning rate 1 and clip 5 are tuned for that scale): 1 selects it,
      # 0 the per-token mean. Metrics keep the per-token NLL.
      per_sequence = denom / jnp.maximum(jnp.sum(weights), 1.0)
      s = jnp.asarray(hparams["sum_over_time"], jnp.float32)
      loss = task_loss * (1.0 + s * (per_sequence - 1.0))
    metrics = {"nll": task_loss, "accuracy": acc, "reward": mean_reward,
               "fraction_computed": jnp.ones((), jnp.float32)}
    if out.decisions:
      batch_denom = jnp.maximum(jnp.sum(weights), 1.0)
      n_dec = jnp.maximum(jnp.sum(step_mask), 1.0) * len(out.decisions)
      pg = ent = skips = 0.0
      for dec in out.decisions:
        pg += jnp.sum(weights * jax.vmap(estimators.reinforce_loss)(
            dec.log_probs, advantages[dec.reverse] * seq_mask, seq_mask)) / batch_denom
        ent += jnp.sum(weights * jax.vmap(estimators.entropy_loss)(
            dec.logits, seq_mask)) / batch_denom
        skips += jnp.sum(dec.skip_choice * step_mask)
      if train:
        loss = (loss + jnp.asarray(hparams.get("reinforce_weight", 1.0), jnp.float32) * pg
                + jnp.asarray(hparams.get("entropy_weight", 0.01), jnp.float32) * ent)
      metrics["entropy"] = -ent * batch_denom / n_dec
      metrics["mean_skip"] = skips / n_dec
    if task == "tagging":
      metrics["count"] = jnp.sum(step_mask)
      if tag_names is not None:
        metrics.update(conlleval.chunk_count_metrics(
            jnp.argmax(logits, axis=-1), labels, lengths, tag_names, weights, metrics["count"]))
    metrics["loss"] = loss
    return loss, (new_state, metrics)

  return loss_fn
