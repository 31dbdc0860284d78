"""Models for Gui et al.'s four tasks: an embedding, a stack of recurrent layers (dynamic skip,
its baselines, or plain LSTMs) and a dense output; their parameters, forward pass, test-time
prediction, carried state and FLOPs.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skipjax import cells
from skipjax import char_features
from skipjax import layers
from skipjax import recurrence
from skipjax import validation
from skipjax.dynamic_skip import baselines
from skipjax.dynamic_skip import core

Array = jax.Array


CELLS = ("lstm", "fixed", "attention", "dynamic")
TASKS = ("classification", "language_model", "tagging")

# The hparams `apply` and `make_loss_fn` read and their ranges (see `make_loss_fn`);
# `experiments.registry.check_hparams` checks configs against them.
HPARAMS = {"lam": validation.UNIT, "dropout": validation.RATE,
           "reinforce_weight": validation.NONNEG, "entropy_weight": validation.NONNEG,
           "discount": validation.UNIT, "sum_over_time": validation.UNIT}


@dataclasses.dataclass(frozen=True)
class ModelConfig:
  """Static architecture of a (stacked, optionally bidirectional) skip-LSTM model.

  num_outputs: classes, vocabulary size (language model) or tags.
  vocab_size: > 0 when inputs are token ids, embedded to input_dim; 0 when they are float
    features [B, T, input_dim].
  cell: the recurrent layer used in `skip_layers` ("dynamic"; baselines "lstm", "fixed",
    "attention"); the other layers are plain LSTMs (the PTB model: skip_layers=(1,)).
  num_skips: K, the buffer size of "dynamic" and "attention"; fixed_skip: k of "fixed".
  char_vocab_size: > 0 adds character features to each token: a character CNN
    (`skipjax.char_features`: char_embed_dim-d characters, char_filters filters of width
    char_kernel, max-pooled over the word) over `chars` [B, T, C] (0 = padding), concatenated to
    the token's embedding, so the first layer reads input_dim + char_filters features. 0: none.
  The training settings (reward baseline, carried state) are `loss.LossConfig`'s.
  """
  num_outputs: int
  input_dim: int
  hidden_dim: int = 200
  vocab_size: int = 0
  num_layers: int = 1
  cell: str = "dynamic"
  skip_layers: tuple[int, ...] | None = None
  num_skips: int = 10
  fixed_skip: int = 3
  agent_dim: int = 64
  bidirectional: bool = False
  init: str = "default"
  forget_bias: float = 1.0
  char_vocab_size: int = 0
  char_embed_dim: int = 30
  char_filters: int = 30
  char_kernel: int = 3

  def __post_init__(self):
    for name in ("num_outputs", "input_dim", "hidden_dim", "num_layers", "num_skips",
                 "fixed_skip", "agent_dim", "char_embed_dim", "char_filters", "char_kernel"):
      validation.check_positive_int(name, getattr(self, name))
    validation.check_nonneg_int("vocab_size", self.vocab_size)
    validation.check_nonneg_int("char_vocab_size", self.char_vocab_size)
    if self.char_kernel % 2 != 1:
      raise ValueError(f"char_kernel must be odd (a window centred on each character), got "
                       f"{self.char_kernel}")
    if self.cell not in CELLS:
      raise ValueError(f"cell must be one of {CELLS}, got {self.cell!r}")
    if self.skip_layers is not None and any(
        not 0 <= i < self.num_layers for i in self.skip_layers):
      raise ValueError(f"skip_layers must index layers in [0, {self.num_layers}), got "
                       f"{self.skip_layers}")

  def layer_cell(self, layer: int) -> str:
    """The recurrent cell of layer `layer`."""
    if self.skip_layers is None or layer in self.skip_layers:
      return self.cell
    return "lstm"

  @property
  def feature_dim(self) -> int:
    return self.hidden_dim * (2 if self.bidirectional else 1)

  @property
  def token_dim(self) -> int:
    """The features of one token that the first layer reads (embedding + character CNN)."""
    return self.input_dim + (self.char_filters if self.char_vocab_size else 0)


def _layer_init(key, config: ModelConfig, layer: int, input_dim: int):
  cell = config.layer_cell(layer)
  kw = dict(forget_bias=config.forget_bias, init=config.init)
  if cell == "dynamic":
    return core.dynamic_skip_init(key, input_dim, config.hidden_dim, config.num_skips,
                             config.agent_dim, **kw)
  if cell == "attention":
    return baselines.attention_skip_init(key, input_dim, config.hidden_dim, config.agent_dim, **kw)
  return cells.lstm_init(key, input_dim, config.hidden_dim, **kw)


def init_params(key: Array, config: ModelConfig) -> dict[str, Any]:
  """Parameters: {'embed' (if vocab_size), 'chars' (`char_features.CharCNNParams`, if
  char_vocab_size), 'forward': per-layer tuple, 'backward' (if bidirectional), 'out':
  DenseParams [feature_dim, num_outputs]}."""
  k_embed, k_fwd, k_bwd, k_out = jax.random.split(key, 4)
  params = {}
  if config.vocab_size:
    params["embed"] = layers.embedding_init(k_embed, config.vocab_size, config.input_dim)
  if config.char_vocab_size:
    params["chars"] = char_features.char_cnn_init(
        jax.random.fold_in(key, 4), config.char_vocab_size, config.char_embed_dim,
        config.char_filters, config.char_kernel)
  dims = [config.token_dim] + [config.feature_dim] * (config.num_layers - 1)
  directions = ("forward", "backward") if config.bidirectional else ("forward",)
  for name, k in zip(directions, (k_fwd, k_bwd)):
    keys = jax.random.split(k, config.num_layers)
    params[name] = tuple(_layer_init(keys[i], config, i, dims[i])
                         for i in range(config.num_layers))
  params["out"] = layers.dense_init(k_out, config.feature_dim, config.num_outputs)
  return params


class Decisions(NamedTuple):
  """The agent decisions of one dynamic layer: log_probs [B, T], logits [B, T, K], skip_choice
  [B, T]. `reverse` (static) marks a backward layer."""
  log_probs: Array
  logits: Array
  skip_choice: Array
  reverse: bool


class ModelOutput(NamedTuple):
  features: Array        # [B, T, F] top-layer states, zero at padding
  final_features: Array  # [B, F] forward state after the last real step (+ backward at t=0)
  decisions: list        # list[Decisions], one per dynamic layer and direction
  carries: tuple         # final carry of each forward layer (SkipBuffer or LSTMState)


def _run_layer(config, layer, p, xs, lengths, key, lam, mode, initial, reverse):
  cell = config.layer_cell(layer)
  if cell == "lstm":
    state, hs = recurrence.lstm_layer(p, xs, lengths, initial, reverse=reverse)
    return state, state.h, hs, None
  if cell == "fixed":
    buf, hs = baselines.fixed_skip_layer(p, xs, lengths, skip=config.fixed_skip, lam=lam,
                                         initial=initial, reverse=reverse)
    decisions = None
  elif cell == "attention":
    buf, (hs, _) = baselines.attention_skip_layer(p, xs, lengths, num_skips=config.num_skips,
                                                  lam=lam, initial=initial, reverse=reverse)
    decisions = None
  else:
    buf, out = core.dynamic_skip_layer(p, xs, lengths, key, lam=lam, mode=mode, initial=initial,
                                       reverse=reverse)
    hs = out.hs
    decisions = Decisions(out.log_probs, out.logits, out.skip_choice, reverse)
  last = core.skip_buffer_read(buf, jnp.ones_like(buf.count)).h
  return buf, last, hs, decisions


def token_features(params: dict[str, Any], config: ModelConfig, inputs: Array,
                   chars: Array | None = None) -> Array:
  """The first layer's input [B, T, token_dim]: the embedded `inputs` (or the float inputs),
  followed by the character CNN's features of `chars` [B, T, C] when config.char_vocab_size."""
  if config.vocab_size:
    validation.check_last_dim("params['embed']", params["embed"], config.input_dim,
                              "config.input_dim")
    xs = layers.embed(params["embed"], inputs, "inputs")
  else:
    xs = inputs
  if not config.char_vocab_size:
    if chars is not None:
      raise ValueError("chars were given, but config.char_vocab_size is 0 (no character CNN)")
    return xs
  if chars is None:
    raise ValueError(f"config.char_vocab_size={config.char_vocab_size}: the model reads "
                     f"character ids; pass chars [B, T, C] (batch['chars'])")
  validation.check_rank("chars", chars, 3)
  if jnp.shape(chars)[:2] != jnp.shape(xs)[:2]:
    raise ValueError(f"chars must have shape {tuple(jnp.shape(xs)[:2])} + (C,) (the inputs' "
                     f"batch and time), got {jnp.shape(chars)}")
  # A word's characters are a prefix of nonzero ids (0 = padding; unknown characters have an id).
  char_lengths = jnp.sum(jnp.asarray(chars) > 0, axis=-1).astype(jnp.int32)
  feats = char_features.char_cnn(params["chars"], chars, char_lengths)
  return jnp.concatenate([xs, feats.astype(xs.dtype)], axis=-1)


def apply(params: dict[str, Any], config: ModelConfig, inputs: Array, lengths: Array,
          key: Array, hparams: dict[str, Any], *, train: bool,
          carries: tuple | None = None, chars: Array | None = None) -> ModelOutput:
  """Embeds `inputs` (`token_features`) and runs the stack of recurrent layers.

  Args:
    inputs: [B, T] int ids (vocab_size > 0) or [B, T, input_dim] floats.
    lengths: [B] int.
    key: PRNG key (agent samples, dropout); only used when train=True.
    hparams: 'lam' (default 1.0 for fixed/attention/dynamic cells; the paper's lam), 'dropout'
      (rate on the inputs of every layer and of the output layer, Zaremba et al. 2014; absent:
      no dropout).
    train: sample the agent and apply dropout; False: greedy agent, no dropout.
    carries: per-layer initial carries of the forward layers (None: zeros).
    chars: [B, T, C] int character ids when config.char_vocab_size > 0, else None.
  """
  validation.check_hparams(hparams, HPARAMS)
  lam = jnp.asarray(hparams.get("lam", 1.0), jnp.float32)
  rate = hparams.get("dropout")
  mode = "sample" if train else "greedy"
  layers.check_dense("params['out']", params["out"], config.feature_dim, config.num_outputs)
  xs = token_features(params, config, inputs, chars)
  batch, max_len = xs.shape[:2]
  valid = recurrence.sequence_mask(lengths, max_len)[..., None]
  directions = ["forward"] + (["backward"] if config.bidirectional else [])
  if carries is None:
    carries = (None,) * config.num_layers
  decisions, new_carries, finals = [], [], []
  for layer in range(config.num_layers):
    xs = layers.dropout(jax.random.fold_in(key, 2 * layer), xs, rate, train=train)
    outs = []
    for d, name in enumerate(directions):
      reverse = name == "backward"
      k = jax.random.fold_in(key, 2 * layer + 1 + 1000 * d)
      carry, last, hs, dec = _run_layer(config, layer, params[name][layer], xs, lengths, k, lam,
                                        mode, None if reverse else carries[layer], reverse)
      outs.append(hs)
      if dec is not None:
        decisions.append(dec)
      if not reverse:
        new_carries.append(carry)
      if layer == config.num_layers - 1:
        # The backward direction has read the whole sequence at t = 0.
        finals.append(hs[:, 0] if reverse else last)
    xs = jnp.concatenate(outs, axis=-1) * valid
  return ModelOutput(features=xs, final_features=jnp.concatenate(finals, axis=-1),
                     decisions=decisions, carries=tuple(new_carries))


def zero_carries(config: ModelConfig, batch_size: int) -> tuple:
  """The initial carry of every forward layer for a batch: LSTMState (c, h [B, H]) for plain
  layers, a SkipBuffer holding only the zero state for the skip layers."""
  validation.check_positive_int("batch_size", batch_size)
  carries = []
  for layer in range(config.num_layers):
    zero = cells.lstm_zero_state((batch_size,), config.hidden_dim)
    cell = config.layer_cell(layer)
    if cell == "lstm":
      carries.append(zero)
    else:
      size = config.fixed_skip if cell == "fixed" else config.num_skips
      carries.append(core.skip_buffer_init(zero, size))
  return tuple(carries)


def reset_carries(config: ModelConfig, carries: tuple, reset: Array) -> tuple:
  """`carries` with the rows where reset [B] is nonzero replaced by the zero carry."""
  batch_size = jnp.shape(reset)[0]
  zeros = zero_carries(config, batch_size)

  def pick(zero, carry):
    rows = jnp.reshape(reset != 0, (batch_size,) + (1,) * (carry.ndim - 1))
    return jnp.where(rows, zero, carry)

  return jax.tree_util.tree_map(pick, zeros, carries)


def predict(params: dict[str, Any], config: ModelConfig, task: str, inputs: Array,
            lengths: Array, hparams: dict[str, Any],
            carries: tuple | None = None, chars: Array | None = None
            ) -> tuple[Array, ModelOutput]:
  """Test-time logits (greedy agent, no dropout): [B, C] for classification, else [B, T, C]."""
  if task not in TASKS:
    raise ValueError(f"task must be one of {TASKS}, got {task!r}")
  out = apply(params, config, inputs, lengths, jax.random.PRNGKey(0), hparams, train=False,
              carries=carries, chars=chars)
  feats = out.final_features if task == "classification" else out.features
  return layers.dense(params["out"], feats), out


def step_flops(config: ModelConfig) -> int:
  """Analytic FLOPs (a multiply-add counts 2) of one step of the recurrent stack, head excluded.

  Per layer and direction: the LSTM step (`cells.lstm_step_flops`) plus, for the skip layers,
  the mixing `lam a + (1 - lam) b` of c and h (6H), the agent MLP of "dynamic"
  (2 (D + H) A + 2 A K) or the attention of "attention" (2 (D + H) A + K (2 H A + 2 A) + 4 K H
  for the weighted reads of c and h).
  """
  total = 0
  dims = [config.token_dim] + [config.feature_dim] * (config.num_layers - 1)
  directions = 2 if config.bidirectional else 1
  h, a, k = config.hidden_dim, config.agent_dim, config.num_skips
  for layer, d in enumerate(dims):
    cell = config.layer_cell(layer)
    flops = cells.lstm_step_flops(d, h)
    if cell != "lstm":
      flops += 6 * h
    if cell == "dynamic":
      flops += 2 * (d + h) * a + 2 * a * k
    elif cell == "attention":
      flops += 2 * (d + h) * a + k * (2 * h * a + 2 * a) + 4 * k * h
    total += directions * flops
  return total
