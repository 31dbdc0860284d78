"""Registry builders for Skip RNN (Campos, Jou, Giro-i-Nieto, Torres, Chang, ICLR 2018).

`experiments.registry.MODELS` maps these names here (the name picks the cell and the gate):

- "skip_lstm", "skip_gru": the learned update gate (`SkipRNNConfig.skip = "learned"`), the
  paper's model;
- "random_skip_lstm", "random_skip_gru": the random-skipping baseline of the paper's tables (each
  step updated with the fixed probability `config.net.random_update_prob`, default 0.5).

Plain LSTM/GRU baselines are the registry's "lstm"/"gru" (`skipjax.classifier`).

`config.net`: `hidden_dim`, `num_layers`, `embed_dim` (token inputs only), `random_update_prob`,
`init` — the fields of `skipjax.skip_rnn.SkipRNNConfig` other than those the dataset fixes
(`input_dim`/`vocab_size`, `num_outputs`, `task`) and the name fixes (`cell`, `skip`) — and the
training settings `binarize` ("round" or "bernoulli") and `dropout`, the fields of
`skip_rnn.LossConfig`. `config.hparams`: `budget_lambda` (the lambda of the budget loss
`lambda * sum_t u_t`; 0 if absent).

Training uses `skip_rnn.make_loss_fn(config, loss_config)` (straight-through gate, dropout);
evaluation (dev and test) uses `make_loss_fn(config, train=False)` (rounded gate, no dropout),
whose metrics are
`loss`, `task_loss`, `budget_loss`, `accuracy` (classification) or `mse` (regression),
`updates` (mean number of updated steps per sequence) and `fraction_computed` (mean of
updates / length; the result record's `fraction_computed`).
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import jax
import jax.numpy as jnp

from experiments import model_api
from skipjax import skip_rnn

# config.net keys that the dataset or the model name fixes.
_FIXED_KEYS = ("cell", "skip", "input_dim", "vocab_size", "num_outputs", "task")
# config.net keys of the training settings (skip_rnn.LossConfig), not of the architecture.
_LOSS_KEYS = tuple(f.name for f in dataclasses.fields(skip_rnn.LossConfig))


def make_config(net: Any, spec: Any, *, cell: str, skip: str) -> skip_rnn.SkipRNNConfig:
  """The `SkipRNNConfig` of `config.net` on a dataset with DataSpec `spec`.

  Raises:
    ValueError: the dataset's task is not classification/regression, `config.net` sets a field
      the dataset or the name fixes, or an unknown/bad field (the message names `config.net`).
  """
  name = f"{'random_' if skip == 'random' else ''}skip_{cell}"
  if spec.task not in ("classification", "regression"):
    raise ValueError(f"config.model={name!r} needs a classification or regression dataset, got "
                     f"task {spec.task!r}")
  kwargs = {k: v for k, v in model_api.net_kwargs(net).items() if k not in _LOSS_KEYS}
  for fixed in _FIXED_KEYS:
    if fixed in kwargs:
      raise ValueError(f"config.net.{fixed}: set by the model name ({name}) or the dataset; do "
                       "not set it")
  if spec.vocab_size is None:
    embed_dim = kwargs.pop("embed_dim", None)
    if embed_dim is not None:
      raise ValueError(f"config.net.embed_dim={embed_dim}: the dataset has float inputs "
                       f"(input_dim {spec.input_dim}), no embedding; leave it unset")
    inputs = {"input_dim": spec.input_dim}
  else:
    inputs = {"vocab_size": spec.vocab_size}
  try:
    return model_api.call_config(
        skip_rnn.SkipRNNConfig, "config.net", cell=cell, skip=skip, task=spec.task,
        num_outputs=spec.num_classes, **inputs, **kwargs)
  except ValueError as e:
    message = str(e)
    raise ValueError(message if message.startswith("config.net") else
                     f"config.net: {message}") from None


def make_loss_config(net: Any) -> skip_rnn.LossConfig:
  """The `skip_rnn.LossConfig` of `config.net`'s training settings (binarize, dropout)."""
  kwargs = {k: v for k, v in model_api.net_kwargs(net).items() if k in _LOSS_KEYS}
  try:
    return skip_rnn.LossConfig(**kwargs)
  except ValueError as e:
    raise ValueError(f"config.net: {e}") from None


def build_skip(key: jax.Array, net: Any, spec: Any, *, cell: str = "lstm",
               skip: str = "learned") -> Any:
  """Skip RNN (or its random-skipping baseline) for a classification or regression DataSpec.

  Args:
    key: PRNG key of the initial parameters.
    net: `config.net` (see the module docstring).
    spec: the dataset's `model_api.DataSpec`.
    cell: 'lstm' or 'gru'; skip: 'learned' or 'random' (both picked by the model name).
  Returns:
    `model_api.Model(params, {}, training loss, evaluation loss, step_flops)`; `step_flops` is one
    updated step of the stack plus the gate (`skip_rnn.step_flops`).
  """
  config = make_config(net, spec, cell=cell, skip=skip)
  loss_config = make_loss_config(net)
  init = functools.partial(skip_rnn.model_init, config=config)
  params = jax.jit(init)(key)  # one compiled initialiser instead of many eager ops
  return model_api.Model(params, {}, skip_rnn.make_loss_fn(config, loss_config),
                        skip_rnn.make_loss_fn(config, train=False),
                        int(skip_rnn.step_flops(params.rnn)),
                        functools.partial(_predict, config=config))


def _predict(params, model_state, batch, hparams, *, config):
  """The evaluation forward pass (rounded gate, no dropout): outputs and updated fraction."""
  del model_state, hparams
  lengths = jnp.asarray(batch["lengths"], jnp.int32)
  outputs, out = skip_rnn.model_apply(params, batch["inputs"], lengths, config)
  updates = jnp.sum(out.update_mask, axis=1)
  return {"outputs": outputs,
          "fraction_computed": updates / jnp.maximum(lengths, 1).astype(jnp.float32)}


build_skip_lstm = functools.partial(build_skip, cell="lstm", skip="learned")
build_skip_gru = functools.partial(build_skip, cell="gru", skip="learned")
build_random_skip_lstm = functools.partial(build_skip, cell="lstm", skip="random")
build_random_skip_gru = functools.partial(build_skip, cell="gru", skip="random")
