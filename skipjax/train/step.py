"""The pure train step, its jitted form, and an exact (mask-weighted) evaluation step.

    optimizer = optim.make_optimizer('adam', 1e-3, clip_norm=1.0)
    state = init_train_state(params, optimizer, hparams={'budget_lambda': 1e-4})
    train_step = jit_train_step(make_train_step(model.loss_fn, optimizer))
    for i, batch in enumerate(batches):
      state, metrics = train_step(state, batch, jax.random.fold_in(key, i))

`train_step(state, batch, key) -> (state, metrics)` is a pure function: it differentiates
`loss_fn(params, model_state, batch, key, hparams)` (the protocol of `skipjax.train.state`) with
`hparams['step'] = state.step`, applies one optimiser update and returns the model's metrics plus
'grad_norm' (before clipping) and 'learning_rate' (the rate used by this update, when the
optimiser comes from `optim.make_optimizer`). Because it is pure and every varied setting is an
array in the state, it composes with `jax.jit` (one device or a sharded mesh, `parallel.py`),
`jax.pmap` and `jax.vmap` over settings (`sweep.py`).

The key is used as given: pass a fresh one each step (e.g. `fold_in(key, step)`).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import jax
import jax.numpy as jnp
import optax

from skipjax.train import optim
from skipjax.train import state as state_lib
from skipjax.train.state import TrainState

Array = jax.Array
Batch = dict[str, Any]
Metrics = dict[str, Array]
LossFn = Callable[..., tuple[Array, tuple[Any, Metrics]]]
TrainStep = Callable[[TrainState, Batch, Array], tuple[TrainState, Metrics]]
EvalStep = Callable[[TrainState, Batch, Array], Metrics]


def init_train_state(params: Any, optimizer: optax.GradientTransformation,
                     model_state: Any = None, hparams: dict[str, Any] | None = None
                     ) -> TrainState:
  """TrainState at step 0: `optimizer.init(params)`, model_state ({} if None) and hparams cast
  to float32 arrays ({} if None; the key 'step' is reserved for the train step)."""
  hparams = {} if hparams is None else dict(hparams)
  if "step" in hparams:
    raise ValueError("hparams may not contain 'step': the train step supplies it from state.step")
  hparams = {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}
  return TrainState(step=jnp.zeros((), jnp.int32), params=params,
                    opt_state=optimizer.init(params),
                    model_state={} if model_state is None else model_state, hparams=hparams)


def loss_hparams(state: TrainState) -> dict[str, Array]:
  """The hparams handed to the loss: `state.hparams` plus 'step' (int32, updates so far)."""
  return {**state.hparams, "step": state.step}


def compute_grads(loss_fn: LossFn, state: TrainState, batch: Batch,
                  key: Array) -> tuple[Any, Any, Metrics]:
  """(grads, new model_state, metrics) of `loss_fn` at `state` (metrics include 'loss')."""
  grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
  (loss, (model_state, metrics)), grads = grad_fn(state.params, state.model_state, batch, key,
                                                  loss_hparams(state))
  metrics = dict(metrics)
  metrics.setdefault("loss", loss)
  return grads, model_state, metrics


def apply_grads(optimizer: optax.GradientTransformation, state: TrainState, grads: Any,
                model_state: Any, metrics: Metrics) -> tuple[TrainState, Metrics]:
  """One optimiser update; adds 'grad_norm' and (if recorded) 'learning_rate' to metrics."""
  updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  metrics = dict(metrics)
  metrics["grad_norm"] = optax.global_norm(grads)
  try:
    metrics["learning_rate"] = optim.current_learning_rate(opt_state)
  except ValueError:  # an optimiser not built by make_optimizer
    pass
  new_state = state._replace(step=state.step + 1, params=params, opt_state=opt_state,
                             model_state=model_state)
  return new_state, metrics


def make_train_step(loss_fn: LossFn, optimizer: optax.GradientTransformation) -> TrainStep:
  """`train_step(state, batch, key) -> (state, metrics)`, pure and unjitted.

  Args:
    loss_fn: `loss_fn(params, model_state, batch, key, hparams) -> (loss, (model_state,
      metrics))`; hparams = state.hparams plus 'step' (int32 scalar, updates applied so far).
    optimizer: the optax transformation that built `state.opt_state`.
  Returns:
    train_step: new state (step + 1, updated params/opt_state/model_state; hparams unchanged)
    and metrics: the loss's metrics (scalars; 'loss' always present) plus 'grad_norm' (global
    gradient norm before clipping) and 'learning_rate' (for make_optimizer optimisers).
  """
  def train_step(state: TrainState, batch: Batch, key: Array) -> tuple[TrainState, Metrics]:
    grads, model_state, metrics = compute_grads(loss_fn, state, batch, key)
    return apply_grads(optimizer, state, grads, model_state, metrics)

  return train_step


def jit_train_step(train_step: TrainStep, **jit_kwargs: Any) -> TrainStep:
  """`jax.jit(train_step, donate_argnums=0)`: the input state's buffers are reused for the
  output, so do not read a state after passing it in. Extra kwargs go to `jax.jit`."""
  return jax.jit(train_step, donate_argnums=0, **jit_kwargs)


def make_eval_step(loss_fn: LossFn) -> EvalStep:
  """`eval_step(state, batch, key) -> metric sums`, no update.

  Each metric mean `m` of the loss becomes a sum `m * count`, where `count` is the loss's
  `metrics['count']` (the weight behind its means) or else the sum of the batch's example weights
  (mask/weights, B without them). Sums add across batches, so a padded last batch (mask 0 on the
  padding) gives exactly the metrics of the real examples: `finalize_metrics(sum of eval_step
  outputs)` divides back. Jit it yourself (no donation: the state is reused).
  """
  def eval_step(state: TrainState, batch: Batch, key: Array) -> Metrics:
    loss, (_, metrics) = loss_fn(state.params, state.model_state, batch, key,
                                 loss_hparams(state))
    metrics = dict(metrics)
    metrics.setdefault("loss", loss)
    count = metrics.pop("count", None)
    if count is None:
      batch_size = jax.tree.leaves(batch)[0].shape[0]
      count = jnp.sum(state_lib.example_weights(batch, batch_size))
    count = jnp.asarray(count, jnp.float32)
    sums = {k: jnp.asarray(v, jnp.float32) * count for k, v in metrics.items()}
    sums["count"] = count
    return sums

  return eval_step


def accumulate_metrics(total: Metrics | None, sums: Metrics) -> Metrics:
  """Adds one eval_step output to a running total (None to start)."""
  if total is None:
    return dict(sums)
  return {k: total[k] + sums[k] for k in total}


# Split-level metrics that are not means (e.g. conlleval's entity F1 from chunk counts): the
# module defining such metrics registers how to compute them from the split's sums
# (`register_finalizer`), so that this generic step knows no model's metrics.
Finalizer = Callable[[Metrics, dict[str, float]], dict[str, float]]
_FINALIZERS: dict[str, tuple[tuple[str, ...], Finalizer]] = {}


def register_finalizer(name: str, needs: Iterable[str], fn: Finalizer) -> None:
  """Has `finalize_metrics` call `fn(total, means)` whenever a split's summed metrics hold every
  name in `needs`; the metrics it returns replace or join the means. `name` identifies the
  finalizer (registering it again replaces it)."""
  _FINALIZERS[name] = (tuple(needs), fn)


def finalize_metrics(total: Metrics) -> dict[str, float]:
  """Means from summed eval metrics (`sum / count`); 'count' stays the total weight.

  Then each registered finalizer whose metrics are present adds its split-level metrics: e.g.
  `skipjax.conlleval`'s, for a tagger's chunk counts (reported per unit of count): the split's
  totals, and the entity-level 'precision', 'recall' and 'f1' of the whole split, computed from
  those totals as conlleval does (not averaged over batches).
  """
  count = float(total["count"])
  out = {k: float(v) / max(count, 1e-12) for k, v in total.items() if k != "count"}
  out["count"] = count
  for needs, fn in _FINALIZERS.values():
    if all(k in total for k in needs):
      out.update(fn(total, out))
  return out


def evaluate(eval_step: EvalStep, state: TrainState, batches: Iterable[Batch],
             key: Array) -> dict[str, float]:
  """Exact metric means over all real examples of `batches` (key folded with the batch index)."""
  total = None
  for i, batch in enumerate(batches):
    total = accumulate_metrics(total, eval_step(state, batch, jax.random.fold_in(key, i)))
  if total is None:
    raise ValueError("batches is empty")
  return finalize_metrics(total)
