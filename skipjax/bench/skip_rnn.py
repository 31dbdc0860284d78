"""Skip RNN: jumping (`lax.while_loop`) inference against a plain LSTM of the same size.

Issue 4's target: at batch 1, (skipping-path time / plain LSTM time) <= 1.25 x the fraction of
steps updated, at the paper's sequence lengths:
- `mnist784`: T=784 pixels, D=1, H=110 (sequential MNIST, Campos et al. table 3);
- `imdb400`: T=400 tokens, vocabulary 20000, embedding 300, H=128 (IMDB, table 4). Tokens read
  layer 0's input projection as a row of `inference.project_embedding` (computed once per
  parameter set, not timed); the plain LSTM reads the same rows, so both time the recurrence.

Cases (each at every update fraction, names end in `_u<percent>`):
- `lstm` (baseline): plain LSTM, a lean `lax.scan` (final state only, no per-step outputs or
  masking) projecting x_t inside the step (MNIST, D=1: like the jumping loop's default, see
  `inference.default_hoist`) or reading the projected rows (IMDB): every step computed. It was faster than `recurrence.lstm_layer` here (which also writes hs), so the ratios
  are against the faster plain LSTM.
- `skip_lstm_jump_u*`: `inference.skip_rnn_infer` (batch 1) or `skip_rnn_infer_batch` (batch 32),
  the loop that computes only updated steps. `target_ratio` = 1.25 x fraction.
- `skip_lstm_masked_u50`: the training scan (`core.skip_rnn`), every step computed then masked:
  what masking costs.
The gate is set to a constant du (w_p = 0) so each case has a known update fraction; the timed
work does not depend on the gate's weights. At batch 32 all examples then update equally often,
the best case for a batched loop (which runs to the batch's largest update count).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import cells
from skipjax import recurrence
from skipjax.bench import harness
from skipjax.skip_rnn import core
from skipjax.skip_rnn import inference

# du per case: N_skip = ceil(0.5 / du) - 1, so update fractions 1/2, 1/4, 1/10.
_GATES = {"u50": 0.4, "u25": 0.15, "u10": 0.055}


def _with_gate(params: core.SkipParams, du: float) -> core.SkipParams:
  gate = params.gate._replace(w=jnp.zeros_like(params.gate.w),
                              b=jnp.full((1,), np.log(du / (1.0 - du)), jnp.float32))
  return params._replace(gate=gate)


def _plain_projected(p: cells.LSTMParams, x_proj: jax.Array) -> cells.LSTMState:
  """Plain LSTM over input projections [B, T, 4H], every step computed; returns only the final
  state (like the jumping loop), so neither side pays for per-step outputs."""
  return recurrence.lstm_final_state(p, x_proj=x_proj)


def _plain_inputs(p: cells.LSTMParams, xs: jax.Array) -> cells.LSTMState:
  """Plain LSTM over raw inputs [B, T, D], projecting x_t inside the step (for D=1 that was ~3%
  faster than hoisting the projection here); final state only."""
  return recurrence.lstm_final_state(p, xs)


def _setting(name, quick):
  if quick:
    return dict(seq_len=16, input_dim=1 if name == "mnist784" else 4, hidden=8, vocab=11)
  if name == "mnist784":
    return dict(seq_len=784, input_dim=1, hidden=110, vocab=None)
  return dict(seq_len=400, input_dim=300, hidden=128, vocab=20000)


def _cases(name, batch, quick, key):
  """name -> (jitted fn, args, fraction_computed, flops) for one setting and batch size."""
  s = _setting(name, quick)
  seq_len, hidden = s["seq_len"], s["hidden"]
  k_p, k_x = jax.random.split(key)
  params = core.skip_init(k_p, s["input_dim"], hidden)
  lstm = params.cores[0]
  step_flops = core.step_flops(params)
  plain_flops = batch * seq_len * cells.lstm_step_flops(s["input_dim"], hidden)
  tokens = s["vocab"] is not None
  if tokens:
    table = jax.random.normal(k_x, (s["vocab"], s["input_dim"]), jnp.float32) * 0.1
    ids = jax.random.randint(jax.random.fold_in(k_x, 1), (batch, seq_len), 0, s["vocab"])
    table_proj = inference.project_embedding(params, table)
    xs = table[ids]
    cases = {"lstm": (jax.jit(lambda p, tp, i: _plain_projected(p, tp[i])),
                      (lstm, table_proj, ids), 1.0, plain_flops)}
  else:
    xs = jax.random.normal(k_x, (batch, seq_len, s["input_dim"]), jnp.float32)
    if inference.default_hoist(params):
      plain = lambda p, x: _plain_projected(p, cells.lstm_input_projection(p, x))
    else:
      plain = _plain_inputs
    cases = {"lstm": (jax.jit(plain), (lstm, xs), 1.0, plain_flops)}
  for tag, du in _GATES.items():
    p = _with_gate(params, du)
    if batch == 1 and tokens:
      fn = jax.jit(lambda q, tp, i: inference.skip_rnn_infer_tokens(q, tp, i[0]))
      args = (p, table_proj, ids)
    elif batch == 1:
      fn = jax.jit(lambda q, x: inference.skip_rnn_infer(q, x[0]))
      args = (p, xs)
    elif tokens:
      fn = jax.jit(lambda q, tp, i: jax.vmap(
          lambda row: inference.skip_rnn_infer_tokens(q, tp, row))(i))
      args = (p, table_proj, ids)
    else:
      fn = jax.jit(lambda q, x: inference.skip_rnn_infer_batch(q, x))
      args = (p, xs)
    updates = np.asarray(fn(*args).num_updates)
    cases[f"skip_lstm_jump_{tag}"] = (fn, args, float(updates.max()) / seq_len,
                                      float(updates.sum()) * step_flops)
  p = _with_gate(params, _GATES["u50"])
  masked = jax.jit(lambda q, x: core.skip_rnn(q, x).final)
  cases["skip_lstm_masked_u50"] = (masked, (p, xs), 1.0, batch * seq_len * step_flops)
  return cases


def run(quick: bool = False) -> list[harness.Row]:
  """Times every case of both settings at batch 1 and 32, interleaved per setting and batch.

  Besides the median (the harness's `time_ratio`), each row carries `min_ms` and, for the
  jumping cases, `min_time_ratio` (fastest call / fastest baseline call): on a loaded machine the
  minimum is the better estimate of the uncontended time. `meets_target` judges the median,
  `meets_target_min` the minimum.
  """
  rows = []
  for name in ("mnist784", "imdb400"):
    for batch in ((1, 2) if quick else (1, 32)):
      if quick:
        repeats, rounds = 2, 1
      else:
        repeats, rounds = (100, 20) if batch == 1 else (30, 10)
      cases = _cases(name, batch, quick, jax.random.key(batch))
      timings = harness.time_interleaved({c: (fn, args) for c, (fn, args, _, _) in cases.items()},
                                         repeats=repeats, rounds=rounds)
      base, base_min = timings["lstm"].median_ms, min(timings["lstm"].samples_ms)
      for case, (_, _, fraction, flops) in cases.items():
        timing = timings[case]
        extra = {"setting": name, "min_ms": min(timing.samples_ms)}
        if case.startswith("skip_lstm_jump"):
          ratio, ratio_min = timing.median_ms / base, extra["min_ms"] / base_min
          extra.update(target_ratio=1.25 * fraction, ratio_over_fraction=ratio / fraction,
                       meets_target=bool(ratio <= 1.25 * fraction), min_time_ratio=ratio_min,
                       meets_target_min=bool(ratio_min <= 1.25 * fraction))
        rows.append(harness.Row(f"{name}/{case}", batch, timing,
                                None if case == "lstm" else f"{name}/lstm", fraction, flops,
                                extra=extra))
  return rows


def summary(rows: list[harness.Row]) -> str:
  """One line per jumping case: time ratio against the fraction computed, and the target."""
  ratios = dict(zip([(r.case, r.batch) for r in rows], harness.time_ratios(rows)))
  lines = []
  for row in rows:
    if "skip_lstm_jump" in row.case:
      ratio = ratios[(row.case, row.batch)]
      lines.append(f"{row.case} batch {row.batch}: time ratio {ratio:.3f} (of minima "
                   f"{row.extra['min_time_ratio']:.3f}) at fraction {row.fraction_computed:.3f}"
                   f" = {ratio / row.fraction_computed:.2f} x fraction (target <= 1.25 x: "
                   f"{'met' if row.extra['meets_target'] else 'NOT met'})")
  return "\n".join(lines)
