"""Word-level language modelling over a token stream (Zaremba et al. 2014 protocol).

Training reads consecutive BPTT windows (`skipjax.data.LMBatcher`) and carries the recurrent
state from one batch to the next in `model_state` (the TrainState holds it between steps).
Evaluation must carry it too, across every window of a split, starting from zeros: otherwise each
window restarts the model and the perplexity is that of 35-word snippets, not of the text.

- `stream_batch(tokens, batch_size, bptt)`: a whole split as ONE batch of W consecutive windows,
  {'inputs', 'labels': [W, B, T], 'lengths', 'mask', 'reset': [W, B]}.
- `make_stream_loss(loss_fn, init_model_state)`: the protocol loss over such a batch, scanning the
  windows in order with the carried state; its metrics are token-weighted over the whole split,
  with 'perplexity' = exp(summed NLL / tokens) and 'count' = tokens.
- `perplexity(nll_sum, tokens)`, `uniform_init(key, params, scale)` (Zaremba's U(-s, s) init).

Because one stream batch holds the whole split, `skipjax.train.step.evaluate` over [batch] gives
the split's exact perplexity (its sums over batches would average per-batch perplexities).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import layers
from skipjax import validation
from skipjax.data import batching

Array = jax.Array


def stream_batch(tokens: np.ndarray, batch_size: int, bptt: int) -> dict[str, np.ndarray]:
  """All `LMBatcher(tokens, batch_size, bptt)` windows of one pass, stacked on a leading axis W.

  Row b of window w+1 continues row b of window w. Returns numpy arrays: inputs, labels
  [W, B, bptt] int32; lengths [W, B] int32; mask, reset [W, B] float32 (see `LMBatcher`).
  """
  windows = list(batching.LMBatcher(tokens, batch_size, bptt, num_epochs=1))
  return {k: np.stack([w[k] for w in windows]) for k in windows[0]}


def perplexity(nll_sum: Array | float, tokens: Array | float) -> Array:
  """exp(summed per-token NLL / number of tokens): the perplexity of a whole split."""
  return jnp.exp(jnp.asarray(nll_sum, jnp.float32) / jnp.maximum(jnp.asarray(tokens, jnp.float32),
                                                                 1.0))


def make_stream_loss(loss_fn: Callable[..., Any],
                     init_model_state: Callable[[int], Any]) -> Callable[..., Any]:
  """The loss of a whole stream batch (`stream_batch`), carrying the state across its windows.

  Args:
    loss_fn: a per-window loss of the `skipjax.train.state` protocol that reads the carried state
      from `model_state` and returns the final one (e.g. `dynamic_skip.make_loss_fn` with
      `LossConfig(carry_state=True)`, train=False). Its metrics must include 'nll' (mean
      per-token NLL) and 'loss'.
    init_model_state: batch_size -> the model_state at the start of the stream (zero carries).
  Returns:
    `loss(params, model_state, batch, key, hparams) -> (loss, (model_state, metrics))`: the
    incoming model_state is ignored (a split starts from `init_model_state(B)`) and returned
    unchanged; window w gets key `fold_in(key, w)`. Metrics: each per-window metric weighted by
    the window's tokens (sum over rows of lengths x `layers.example_weights`: mask x weights),
    averaged over the split; 'perplexity' = exp(summed NLL / tokens); 'count' = tokens.
  """

  def stream_loss(params, model_state, batch, key, hparams):
    for name in ("inputs", "labels", "lengths"):
      if name not in batch:
        raise ValueError(f"stream batch must contain {name!r}")
    lengths = jnp.asarray(batch["lengths"])
    validation.check_rank("stream batch['lengths'] ([W, B])", lengths, 2)
    num_windows, batch_size = lengths.shape
    if jnp.shape(batch["inputs"])[:2] != (num_windows, batch_size):
      raise ValueError(f"stream batch['inputs'] must start with [W, B] = "
                       f"{(num_windows, batch_size)}, got {jnp.shape(batch['inputs'])}")
    # The one weighting rule (mask x weights, `layers.example_weights`), per window.
    weighting = {k: batch[k] for k in ("mask", "weights") if k in batch}
    weights = (jax.vmap(lambda b: layers.example_weights(b, batch_size))(weighting) if weighting
               else jnp.ones((num_windows, batch_size), jnp.float32))          # [W, B]
    tokens = jnp.sum(lengths.astype(jnp.float32) * weights, axis=1)   # [W]

    def window(state, xs):
      index, win = xs
      _, (state, metrics) = loss_fn(params, state, win, jax.random.fold_in(key, index), hparams)
      metrics = {k: v for k, v in metrics.items() if k != "count"}
      return state, metrics

    _, metrics = jax.lax.scan(window, init_model_state(batch_size),
                              (jnp.arange(num_windows), dict(batch)))
    total = jnp.sum(tokens)
    means = {k: jnp.sum(v * tokens) / jnp.maximum(total, 1.0) for k, v in metrics.items()}
    if "nll" not in means:
      raise ValueError(f"loss_fn must report 'nll' (mean per-token NLL); got {sorted(means)}")
    means["perplexity"] = perplexity(jnp.sum(metrics["nll"] * tokens), total)
    means["count"] = total
    return means["loss"], (model_state, means)

  return stream_loss


def uniform_init(key: Array, params: Any, scale: float) -> Any:
  """Every parameter drawn afresh from U(-scale, scale), dtypes kept (Zaremba et al. 2014: 0.05
  for the medium model, 0.04 for the large; biases included, so no forget-gate bias)."""
  if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not scale > 0:
    raise ValueError(f"scale must be a positive number, got {scale!r}")
  return _uniform_leaves(key, params, float(scale))


@functools.partial(jax.jit, static_argnames="scale")
def _uniform_leaves(key: Array, params: Any, scale: float) -> Any:
  # One compiled program: drawing leaf by leaf eagerly compiles a kernel per shape.
  leaves, treedef = jax.tree_util.tree_flatten(params)
  keys = jax.random.split(key, len(leaves))
  new = [jax.random.uniform(k, jnp.shape(x), jnp.float32, -scale, scale).astype(jnp.result_type(x))
         for k, x in zip(keys, leaves)]
  return jax.tree_util.tree_unflatten(treedef, new)
