"""Registry builder for LSTM-Jump (Yu, Lee, Le, ACL 2017): `registry.MODELS['lstm_jump']`.

`config.net` holds the architecture (a `skipjax.lstm_jump.ModelConfig`: `embed_dim`,
`hidden_dim`, `max_jump` = K, `forget_bias`, `cell_init`) and the reading settings, which are
not parameters but static arguments of the losses:

- `read_size` (R) and `num_jumps` (N): used in training;
- `eval_read_size`, `eval_num_jumps`: R and N at evaluation (dev and test); absent or None means
  the training values (the paper trains and tests with different R/N on some tasks);
- `num_samples`: trajectories sampled per example in training (default 1);
- `normalize_rewards`: normalise the rewards over the batch (default False).

Training samples the jump decisions (`lstm_jump.make_loss_fn`, REINFORCE with the learned linear
baseline); evaluation takes them greedily (argmax), as in the paper, and reports
`fraction_computed`, the mean fraction of each example's tokens the LSTM read. `entropy_beta` goes
in `config.hparams` (it reaches the loss as `hparams['entropy_beta']`).
"""

from __future__ import annotations

import functools
from typing import Any

import jax

from experiments import model_api
from skipjax import cells
from skipjax import lstm_jump
from skipjax import validation

# config.net keys that configure the losses (lstm_jump.LossConfig), not the architecture.
_READING_KEYS = ("read_size", "num_jumps", "eval_read_size", "eval_num_jumps", "num_samples",
                 "normalize_rewards")


def build_lstm_jump(key: jax.Array, net: Any, spec: Any) -> Any:
  """LSTM-Jump for a classification DataSpec: Model(params, {}, sampled loss, greedy loss, flops).

  Args:
    key: PRNG key of the initial parameters.
    net: `config.net` (see the module docstring); `read_size`, `num_jumps` and `max_jump` are
      required.
    spec: the dataset's `model_api.DataSpec` (task must be 'classification').
  Returns:
    `model_api.Model`; `step_flops` is one LSTM step (`cells.lstm_step_flops`).
  """
  if spec.task != "classification":
    raise ValueError(f"config.model='lstm_jump' needs a classification dataset, got task "
                     f"{spec.task!r}")
  kwargs = model_api.net_kwargs(net)
  for required in ("read_size", "num_jumps"):
    if kwargs.get(required) is None:
      raise ValueError(f"config.net.{required} is required for lstm_jump")
  reading = {k: kwargs.pop(k) for k in _READING_KEYS if k in kwargs}
  eval_read_size = reading.get("eval_read_size")
  eval_num_jumps = reading.get("eval_num_jumps")
  if eval_read_size is None:
    eval_read_size = reading["read_size"]
  if eval_num_jumps is None:
    eval_num_jumps = reading["num_jumps"]
  # Checked before anything compiles, naming the config field.
  validation.check_positive_int("config.net.read_size", reading["read_size"])
  validation.check_nonneg_int("config.net.num_jumps", reading["num_jumps"])
  validation.check_positive_int("config.net.eval_read_size", eval_read_size)
  validation.check_nonneg_int("config.net.eval_num_jumps", eval_num_jumps)
  validation.check_positive_int("config.net.num_samples", reading.get("num_samples", 1))
  if spec.vocab_size is None:
    kwargs.pop("embed_dim", None)
  train_reading = lstm_jump.LossConfig(
      read_size=reading["read_size"], num_jumps=reading["num_jumps"],
      num_samples=reading.get("num_samples", 1),
      normalize_rewards=bool(reading.get("normalize_rewards", False)))
  eval_reading = lstm_jump.LossConfig(read_size=eval_read_size, num_jumps=eval_num_jumps)
  loss_fn, eval_loss_fn = train_reading.loss_fn(), eval_reading.loss_fn(greedy=True)
  arch = model_api.call_config(lstm_jump.ModelConfig, "config.net", vocab_size=spec.vocab_size,
                               input_dim=spec.input_dim, num_classes=spec.num_classes, **kwargs)
  params = jax.jit(lstm_jump.model_init, static_argnames="config")(key, config=arch)
  input_dim, hidden_dim = params.lstm.w_i.shape[0], params.lstm.w_h.shape[0]
  return model_api.Model(params, {}, loss_fn, eval_loss_fn,
                        int(cells.lstm_step_flops(input_dim, hidden_dim)),
                        functools.partial(_predict, read_size=eval_read_size,
                                          num_jumps=eval_num_jumps))


def _predict(params, model_state, batch, hparams, *, read_size, num_jumps):
  """Greedy jumping (the evaluation reading): logits and the fraction of tokens read."""
  del model_state, hparams
  out = lstm_jump.infer(params, batch["inputs"], batch["lengths"], read_size=read_size,
                        num_jumps=num_jumps)
  return {"outputs": out.logits,
          "fraction_computed": lstm_jump.read_fraction(out.read_mask, batch["lengths"])}
