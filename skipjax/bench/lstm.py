"""skipjax's LSTM layer against Flax's, inference and one Adam training step.

Cases (batch 1 and 32, T=400, D=H=128, float32, no padding):
- `flax_lstm`: `flax.linen.RNN(OptimizedLSTMCell(H))` forward (the baseline).
- `skipjax_lstm`: `recurrence.lstm_layer` forward with its default form (hoisted at batch 1,
  otherwise one stacked `[x_t; h] @ [w_i; w_h]` matmul per step).
- `skipjax_lstm_hoisted`: `lstm_layer(..., hoist_input=True)` (all input projections in one matmul
  before the scan, then `h @ w_h` per step), to show which form wins on this device.
- `skipjax_lstm_fused`: `lstm_layer(..., backward="fused")` (`skipjax.fused_lstm`: the weight
  gradients as whole-sequence matmuls after the backward loop); its forward projects x_t and h
  by two matmuls per step.
- `flax_lstm_adam` / `skipjax_lstm_adam` / `skipjax_lstm_hoisted_adam` / `skipjax_lstm_fused_adam`:
  one jitted Adam step on `mean(hs ** 2)`.
- `torch_lstm` / `torch_lstm_adam` (where PyTorch is installed; skipped with a note otherwise):
  `torch.nn.LSTM` with skipjax's weights (checked to give the same outputs), denormals flushed,
  as many intra-op threads as XLA's CPU client uses cores (`torch.get_num_threads()` is
  recorded), inference under `no_grad` and one `torch.optim.Adam` step on the same loss. Every
  skipjax row then carries `vs_torch`: its median over the torch row's (same kind, same batch).

FLOPs are analytic: `T * B * cells.lstm_step_flops(D, H)` for a forward pass, three times that for
a training step (the backward pass costs about twice the forward).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from skipjax import cells
from skipjax import recurrence
from skipjax.bench import harness

UNROLL = 1  # lax.scan unroll of skipjax's layer (Flax's nn.RNN default is 1 too)


def _adam_step(loss_fn, optimizer):
  """A jitted `(params, opt_state, xs) -> (params, opt_state, loss)` Adam step."""
  @jax.jit
  def step(params, opt_state, xs):
    loss, grads = jax.value_and_grad(loss_fn)(params, xs)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss
  return step


def _torch():
  """torch, or None where it is not installed."""
  try:
    import torch  # pylint: disable=g-import-not-at-top
  except ImportError:
    return None
  return torch


def _torch_calls(torch: Any, params: cells.LSTMParams, xs: Any) -> dict[str, Any]:
  """`torch_lstm` / `torch_lstm_adam` on skipjax's weights and inputs (batch first)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  dim, hidden = params.w_i.shape[0], params.w_h.shape[0]
  lstm = torch.nn.LSTM(dim, hidden, batch_first=True)
  with torch.no_grad():  # skipjax's gates are torch's order (i, f, g, o)
    lstm.weight_ih_l0.copy_(torch.from_numpy(np.asarray(params.w_i).T.copy()))
    lstm.weight_hh_l0.copy_(torch.from_numpy(np.asarray(params.w_h).T.copy()))
    lstm.bias_ih_l0.copy_(torch.from_numpy(np.asarray(params.b).copy()))
    lstm.bias_hh_l0.zero_()
  x = torch.from_numpy(np.asarray(xs).copy())
  optimizer = torch.optim.Adam(lstm.parameters(), lr=1e-3)

  def infer():
    with torch.no_grad():
      return lstm(x)[0].sum().item()

  def adam_step():
    optimizer.zero_grad()
    loss = torch.mean(lstm(x)[0] ** 2)
    loss.backward()
    optimizer.step()
    return loss.item()

  with torch.no_grad():
    got = lstm(x)[0].numpy()
  want = np.asarray(recurrence.lstm_layer(params, xs)[1])
  if not np.allclose(got, want, rtol=1e-4, atol=1e-5):
    raise AssertionError("torch.nn.LSTM with skipjax's weights disagrees with lstm_layer "
                         f"(max difference {np.max(np.abs(got - want)):.3g})")
  return {"torch_lstm": (infer, ()), "torch_lstm_adam": (adam_step, ())}


def run(quick: bool = False) -> list[harness.Row]:
  """Times every case at each batch size, interleaved; returns rows with Flax as the baseline."""
  if quick:
    seq_len, dim, batches, repeats, rounds = 4, 4, (2,), 2, 1
  else:
    seq_len, dim, batches, repeats, rounds = 400, 128, (1, 32), 20, 5
  hidden = dim
  optimizer = optax.adam(1e-3)
  flax_rnn = nn.RNN(nn.OptimizedLSTMCell(hidden))
  key = jax.random.key(0)
  torch = _torch()
  if torch is None:
    print("bench lstm: PyTorch is not installed: the torch_lstm rows are skipped",
          file=sys.stderr)
  else:
    torch.set_flush_denormal(True)
    torch.set_num_threads(max(1, min(os.cpu_count() or 1, len(os.sched_getaffinity(0)))))
  rows = []
  for batch in batches:
    k_x, k_f, k_s = jax.random.split(jax.random.fold_in(key, batch), 3)
    xs = jax.random.normal(k_x, (batch, seq_len, dim), jnp.float32)
    forward_flops = seq_len * batch * cells.lstm_step_flops(dim, hidden)
    flax_params = flax_rnn.init(k_f, xs)
    skip_params = cells.lstm_init(k_s, dim, hidden)
    forwards = {
        "flax_lstm": (lambda p, x: flax_rnn.apply(p, x), flax_params),
        "skipjax_lstm": (lambda p, x: recurrence.lstm_layer(p, x, unroll=UNROLL)[1], skip_params),
        "skipjax_lstm_hoisted": (
            lambda p, x: recurrence.lstm_layer(p, x, unroll=UNROLL, hoist_input=True)[1],
            skip_params),
        "skipjax_lstm_fused": (
            lambda p, x: recurrence.lstm_layer(p, x, unroll=UNROLL, backward="fused")[1],
            skip_params),
    }
    calls = {}
    for case, (forward, params) in forwards.items():
      calls[case] = (jax.jit(forward), (params, xs))
      loss_fn = lambda p, x, forward=forward: jnp.mean(forward(p, x) ** 2)
      calls[case + "_adam"] = (_adam_step(loss_fn, optimizer),
                               (params, optimizer.init(params), xs))
    if torch is not None:
      calls.update(_torch_calls(torch, skip_params, xs))
    timings = harness.time_interleaved(calls, repeats=repeats, rounds=rounds)
    for case, timing in timings.items():
      training = case.endswith("_adam")
      baseline = "flax_lstm_adam" if training else "flax_lstm"
      extra = {"seq_len": seq_len, "input_dim": dim, "hidden_dim": hidden,
               "unroll": 1 if case.startswith(("flax", "torch")) else UNROLL}
      if case.startswith("torch"):
        extra["torch_threads"] = torch.get_num_threads()
        extra["torch_version"] = torch.__version__
      reference = "torch_lstm_adam" if training else "torch_lstm"
      if case.startswith("skipjax") and reference in timings:
        extra["vs_torch"] = timing.median_ms / timings[reference].median_ms
      rows.append(harness.Row(
          case, batch, timing, None if case == baseline else baseline, 1.0,
          (3 if training else 1) * forward_flops, extra=extra))
  return rows
