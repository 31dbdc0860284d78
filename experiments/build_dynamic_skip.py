"""Registry builders for the LSTM with dynamic skip connections (Gui et al., AAAI 2019).

`experiments.registry.MODELS` maps three names here, all built from `skipjax.dynamic_skip`:

- "dynamic_skip": the agent picks which of the last K states to connect to (REINFORCE).
- "fixed_skip_lstm": the same mixing with a fixed skip k (`net.fixed_skip`), the paper's
  "LSTM + fixed skip" baseline.
- "attention_skip_lstm": soft attention over the last K states, the differentiable baseline.

The plain LSTM baseline is the registry's "lstm" (`skipjax.classifier`); on a language-model
dataset (PTB) the registry's "lstm" is `build(..., cell="lstm")` from here instead, the same
`dynamic_skip` code path with every layer a plain LSTM.

`config.net` holds `skipjax.dynamic_skip.ModelConfig` fields (hidden_dim, num_skips, agent_dim,
fixed_skip, num_layers, bidirectional, init, forget_bias, skip_layers, char_embed_dim,
char_filters, char_kernel; char_vocab_size comes from the dataset: a CoNLL dataset loaded with
`config.data.char_len` gives batches 'chars' and the model its character CNN), `LossConfig` fields
(reward_baseline, ema_decay, carry_state) plus `embed_dim` (the embedding size for token inputs; ModelConfig's input_dim) and
`init_scale` (optional: every parameter drawn from U(-init_scale, init_scale), Zaremba et al.
2014, replacing `init` and `forget_bias`). `config.hparams` reaches the loss: 'lam' (the paper's
lambda, default 1), 'reinforce_weight' (default 1), 'entropy_weight' (default 0.01), 'dropout'
(absent: none). Training samples the agent
(`make_loss_fn(train=True)`); evaluation is greedy with the task loss only (`train=False`).

Language models (DataSpec.task "language_model", PTB): carry_state is on unless config.net says
otherwise; the train loss carries the recurrent state across consecutive batches in
model_state['carries'] (batch size DataSpec.batch_size, restarted where batch['reset']), and the
eval loss is `skipjax.language_model.make_stream_loss`: one batch holds a whole split as
consecutive windows, evaluated in order from a zero state, with 'perplexity' among its metrics.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax

from experiments import model_api
from skipjax import dynamic_skip
from skipjax import language_model

# DataSpec.task -> dynamic_skip task. 'regression' has no dynamic-skip loss.
_TASKS = {"classification": "classification", "sequence": "tagging",
          "language_model": "language_model"}

# One compiled initialiser per architecture (compiling the random initialisers takes seconds).
_init_params = jax.jit(dynamic_skip.init_params, static_argnames="config")


@functools.lru_cache(maxsize=None)
def _tagging_eval_loss(config: dynamic_skip.ModelConfig, loss_config: dynamic_skip.LossConfig,
                       tag_names: tuple[str, ...]):
  """The eval loss of a tagger whose dataset names its IOB tags: also the chunk counts behind
  entity-level F1 (`dynamic_skip.make_loss_fn(tag_names=...)`); cached like `_loss_fns`."""
  return dynamic_skip.make_loss_fn(config, "tagging", loss_config, train=False,
                                   tag_names=tag_names)


@functools.lru_cache(maxsize=None)
def _loss_fns(config: dynamic_skip.ModelConfig, loss_config: dynamic_skip.LossConfig, task: str):
  """(train loss, eval loss); the same function objects for equal configs, so jitted steps built
  from them are compiled once. A carried-state model is evaluated over whole streams."""
  train_loss = dynamic_skip.make_loss_fn(config, task, loss_config, train=True)
  eval_loss = dynamic_skip.make_loss_fn(config, task, loss_config, train=False)
  if loss_config.carry_state:
    eval_loss = language_model.make_stream_loss(eval_loss, functools.partial(
        dynamic_skip.init_model_state, config, task, loss_config=loss_config))
  return train_loss, eval_loss


# config.net fields of `dynamic_skip.LossConfig` (training settings, not architecture).
_LOSS_FIELDS = tuple(f.name for f in dataclasses.fields(dynamic_skip.LossConfig))


def loss_config(net: Any, spec: Any) -> dynamic_skip.LossConfig:
  """`dynamic_skip.LossConfig` from `config.net`'s reward_baseline, ema_decay and carry_state
  (carry_state defaults to on for a language-model dataset, and needs one)."""
  kwargs = {k: v for k, v in model_api.net_kwargs(net).items() if k in _LOSS_FIELDS}
  if spec.task == "language_model":
    kwargs.setdefault("carry_state", True)
  elif kwargs.get("carry_state"):
    raise ValueError(f"config.net.carry_state: carrying the state across batches needs a "
                     f"language-model dataset (consecutive windows of a stream), not task "
                     f"{spec.task!r}")
  try:
    return dynamic_skip.LossConfig(**kwargs)
  except ValueError as e:
    raise ValueError(f"config.net: {e}") from None


def model_config(net: Any, spec: Any, *, cell: str) -> dynamic_skip.ModelConfig:
  """`dynamic_skip.ModelConfig` (the architecture) from `config.net` (without init_scale and the
  `loss_config` fields) and the dataset's spec; a bad or unknown setting raises ValueError
  naming `config.net`."""
  kwargs = {k: v for k, v in model_api.net_kwargs(net).items() if k not in _LOSS_FIELDS}
  if "cell" in kwargs:
    raise ValueError("config.net.cell: the model name picks the cell (dynamic_skip, "
                     "fixed_skip_lstm, attention_skip_lstm); do not set it")
  if "input_dim" in kwargs:
    raise ValueError("config.net.input_dim: comes from the dataset (set embed_dim for token "
                     "inputs)")
  if "char_vocab_size" in kwargs:
    raise ValueError("config.net.char_vocab_size: comes from the dataset (set config.data.char_len "
                     "for character features)")
  char_vocab_size = getattr(spec, "char_vocab_size", None) or 0
  embed_dim = kwargs.pop("embed_dim", None)
  if spec.vocab_size is not None:
    if embed_dim is None:
      raise ValueError("config.net.embed_dim is required for token inputs")
    input_dim, vocab_size = embed_dim, spec.vocab_size
  elif embed_dim is not None:
    raise ValueError(f"config.net.embed_dim: the dataset's inputs are float features "
                     f"(input_dim {spec.input_dim}), not tokens")
  else:
    input_dim, vocab_size = spec.input_dim, 0
  if kwargs.get("skip_layers") is not None:
    kwargs["skip_layers"] = tuple(kwargs["skip_layers"])
  try:
    return model_api.call_config(
        dynamic_skip.ModelConfig, "config.net", num_outputs=spec.num_classes,
        input_dim=input_dim, vocab_size=vocab_size, cell=cell, char_vocab_size=char_vocab_size,
        **kwargs)
  except ValueError as e:
    if str(e).startswith("config.net"):
      raise
    raise ValueError(f"config.net: {e}") from None


# Analytic FLOPs of one step of the recurrent stack live in the library.
step_flops = dynamic_skip.step_flops


def build(key: jax.Array, net: Any, spec: Any, *, cell: str) -> Any:
  """`model_api.Model` of a `dynamic_skip` model with recurrent cell `cell` ("dynamic", "fixed",
  "attention"; "lstm" for a plain stack) for a classification, sequence-labelling or
  language-model dataset."""
  task = _TASKS.get(spec.task)
  if task is None:
    raise ValueError(f"model with cell {cell!r}: dataset task {spec.task!r} is not supported "
                     f"(supported: {sorted(_TASKS)})")
  kwargs = model_api.net_kwargs(net)
  init_scale = kwargs.pop("init_scale", None)
  config = model_config(kwargs, spec, cell=cell)
  losses = loss_config(kwargs, spec)
  if losses.carry_state and config.bidirectional:
    raise ValueError("config.net.carry_state needs a unidirectional model (bidirectional=False)")
  params = _init_params(key, config=config)
  if init_scale is not None:
    try:
      params = language_model.uniform_init(jax.random.fold_in(key, 1), params, init_scale)
    except ValueError as e:
      raise ValueError(f"config.net.init_scale: {e}") from None
  batch_size = None
  if losses.carry_state:
    batch_size = getattr(spec, "batch_size", None)
    if batch_size is None:
      raise ValueError("config.net.carry_state: the dataset's spec gives no batch_size for the "
                       "carried state")
  model_state = dynamic_skip.init_model_state(config, task, batch_size, losses)
  loss_fn, eval_loss_fn = _loss_fns(config, losses, task)
  if task == "tagging" and getattr(spec, "tag_names", None):  # CoNLL: entity F1 at evaluation
    eval_loss_fn = _tagging_eval_loss(config, losses, tuple(spec.tag_names))
  predict_fn = (functools.partial(_predict, config=config, task=task)
                if task == "classification" else None)
  return model_api.Model(params, model_state, loss_fn, eval_loss_fn, step_flops(config),
                         predict_fn)


def _predict(params, model_state, batch, hparams, *, config, task):
  """The greedy agent's logits (`dynamic_skip.predict`; every step is computed)."""
  del model_state
  logits, _ = dynamic_skip.predict(params, config, task, batch["inputs"], batch["lengths"],
                                   hparams, chars=batch.get("chars"))
  return {"outputs": logits}


build_dynamic_skip = functools.partial(build, cell="dynamic")
build_fixed_skip = functools.partial(build, cell="fixed")
build_attention_skip = functools.partial(build, cell="attention")
