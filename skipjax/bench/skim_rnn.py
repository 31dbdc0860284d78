"""Skim-RNN real speed-up on CPU: batch-1 `cond_layer` against a plain LSTM of the same size.

Setting (Seo et al. 2018, Table 2, IMDB): T = 400 tokens, embedding D = 100 (and 300), big cell
d = 100, small cell d' = 10, LSTM core, float32, batch 1; the paper's IMDB skim rate is 83.9%.

Cases at batch 1 (one timed call = one sequence):
- `lstm`, `lstm_hoisted`: the plain LSTM (d = 100): `recurrence.lstm_layer` and the hoisted form
  (all input projections in one matmul, `h @ w_h` per step). Skim rows are compared with the
  faster of the two, measured in the same run.
- `skim_forced_<rate>`: `skim_rnn.cond_layer` with per-step thresholds 0 (read) or 1 (skim) on an
  i.i.d. random pattern with the given skim rate: every decision is still computed and compared,
  so the work is exactly that of a model that skims at this rate. Timed with `record=False` (the
  final state only, what a classifier needs); skim rate and FLOPs come from a recorded run of the
  same inputs. `skim_forced_83.9_recorded` times the recording run too (per-step outputs cost).
- `skim_model_<rate>`: the model's own decisions (random weights) with one scalar threshold
  calibrated (bisection) to the rate: data-dependent branch pattern.
- `skim_masked`: `masked_layer` at batch 1, both updates every step (masking saves nothing).
Cases at batch 32 (honest throughput; `vmap` turns the switch into a select):
- `lstm` (`lstm_layer`), `lstm_final` (`recurrence.lstm_final_state`, no per-step outputs):
  the skim rows' `speedup` is against the faster of the two;
- `skim_masked`, `skim_vmap_cond` (forced 83.9% pattern per example; masked work);
- `skim_gather`: `gather_layer` on the same pattern, the big cell run only on the reading rows
  (issue 17's target: >= 1.5x the LSTM); `skim_gather_read_all`: threshold 0, what the gather
  path costs at 0% skim.

FLOPs are analytic (`skim_rnn.skim_run_flops`, everything the conditional path computes,
including the small-cell and decision input projections of every token; `dense_run_flops` for the
LSTM). `extra` holds `flop_reduction` (LSTM FLOPs / these FLOPs), `speedup` (LSTM median / this
median, same run) and `realised = speedup / flop_reduction` (target >= 0.6), and the same from the
fastest samples (`speedup_min`, `realised_min`), the least load-disturbed estimate on a busy
machine. `run` prints a one-line summary per skim case.

Timing: the cases are timed in interleaved rounds (every case once per round, repeated), and the
samples of all rounds are pooled, so a change in machine load hits all cases alike.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from skipjax import cells
from skipjax import recurrence
from skipjax import skim_rnn
from skipjax.bench import harness

PAPER_IMDB_SKIM_RATE = 0.839


def _interleaved(fns: dict, rounds: int, repeats: int) -> dict[str, harness.Timing]:
  """`harness.time_interleaved` with `repeats` calls per case and round."""
  return harness.time_interleaved(fns, repeats=rounds * repeats, rounds=rounds)


def _hoisted_lstm(params: cells.LSTMParams, xs: jax.Array) -> jax.Array:
  """Plain LSTM, input projection of all steps in one matmul, `h @ w_h` per step ([1, T, D])."""
  proj = cells.lstm_input_projection(params, xs[0])
  return recurrence.lstm_final_state(params, x_proj=proj).h


def _forced_thresholds(rng: np.random.Generator, shape, skim_rate: float) -> jax.Array:
  """Per-step thresholds 1.0 (skim: `logit(1) = inf`, never reached) or 0.0 (read)."""
  return jnp.asarray(np.where(rng.random(shape) < skim_rate, 1.0, 0.0), jnp.float32)


def _calibrate(run_fn, params, xs, skim_rate: float, iters: int = 30) -> float:
  """Scalar threshold on p_read whose run skims about `skim_rate` of the steps (bisection)."""
  lo, hi = 0.0, 1.0
  for _ in range(iters):
    mid = 0.5 * (lo + hi)
    rate = float(jnp.mean(run_fn(params, xs, jnp.float32(mid)).skim_mask))
    if rate < skim_rate:
      lo = mid
    else:
      hi = mid
  return 0.5 * (lo + hi)


def _cases_batch1(input_dim, hidden, small, seq_len, rates, rng, key, quick):
  k_x, k_l, k_s = jax.random.split(key, 3)
  xs = jax.random.normal(k_x, (1, seq_len, input_dim), jnp.float32)
  lstm_params = cells.lstm_init(k_l, input_dim, hidden)
  skim_params = skim_rnn.skim_lstm_init(k_s, input_dim, hidden, small)

  # Timed: the inference that yields the final state (what the classifier needs). Decisions are
  # deterministic, so the skim rate and FLOPs come from `recorded_fn` on the same inputs.
  cond_fn = jax.jit(lambda p, x, t: skim_rnn.cond_layer(p, x[0], None, t, record=False).final)
  recorded_fn = jax.jit(lambda p, x, t: skim_rnn.cond_layer(p, x[0], None, t))
  masked_fn = jax.jit(lambda p, x, t: skim_rnn.masked_layer(p, x, None, t))
  fns = {"lstm": (jax.jit(lambda p, x: recurrence.lstm_layer(p, x)[0].h), (lstm_params, xs)),
         "lstm_hoisted": (jax.jit(_hoisted_lstm), (lstm_params, xs))}
  skim_cases = {}
  for rate in rates:
    name = f"skim_forced_{100 * rate:.1f}"
    thr = _forced_thresholds(rng, (seq_len,), rate)
    fns[name] = (cond_fn, (skim_params, xs, thr))
    skim_cases[name] = ("forced", rate, (recorded_fn, (skim_params, xs, thr)))
    if rate == PAPER_IMDB_SKIM_RATE:  # the same run, recording skim_mask (costs time)
      fns[name + "_recorded"] = (recorded_fn, (skim_params, xs, thr))
      skim_cases[name + "_recorded"] = ("forced_recorded", rate, fns[name + "_recorded"])
  rate = PAPER_IMDB_SKIM_RATE
  thr = jnp.float32(_calibrate(recorded_fn, skim_params, xs, rate))
  name = f"skim_model_{100 * rate:.1f}"
  fns[name] = (cond_fn, (skim_params, xs, thr))
  skim_cases[name] = ("model", float(thr), (recorded_fn, (skim_params, xs, thr)))
  if not quick:
    fns["skim_masked"] = (masked_fn, (skim_params, xs, thr))
    skim_cases["skim_masked"] = ("masked", float(thr), fns["skim_masked"])
  return fns, skim_cases, skim_params


def run(quick: bool = False) -> list[harness.Row]:
  """Times the batch-1 and batch-32 cases; see the module docstring."""
  if quick:
    seq_len, dims, hidden, small = 16, (8,), 8, 2
    rates, rounds, repeats, big_batch = (PAPER_IMDB_SKIM_RATE,), 1, 2, 4
  else:
    seq_len, dims, hidden, small = 400, (100, 300), 100, 10
    rates, rounds, repeats, big_batch = (0.0, 0.5, PAPER_IMDB_SKIM_RATE, 1.0), 20, 5, 32
  rng = np.random.default_rng(0)
  key = jax.random.key(0)
  rows = []
  for input_dim in dims:
    fns, skim_cases, skim_params = _cases_batch1(input_dim, hidden, small, seq_len, rates, rng,
                                                 jax.random.fold_in(key, input_dim), quick)
    timings = _interleaved(fns, rounds, repeats)
    base = min(("lstm", "lstm_hoisted"), key=lambda n: timings[n].median_ms)
    dense_flops = float(skim_rnn.dense_run_flops(input_dim, hidden, seq_len))
    settings = {"seq_len": seq_len, "input_dim": input_dim, "hidden_dim": hidden,
                "small_dim": small}
    suffix = "" if input_dim == dims[0] else f"_D{input_dim}"
    for name in ("lstm", "lstm_hoisted"):
      rows.append(harness.Row(name + suffix, 1, timings[name], None if name == base else
                              base + suffix, 1.0, dense_flops, extra=dict(settings)))
    for name, (kind, value, (fn, args)) in skim_cases.items():
      out = fn(*args)
      read_frac = 1.0 - float(jnp.mean(out.skim_mask))
      flops = float(jnp.sum(out.flops))
      if kind == "masked":  # both updates at every step
        f = skim_rnn.step_flops(input_dim, hidden, small)
        flops = float(seq_len * (f["token"] + f["read"] + f["skim"]))
      speedup = timings[base].median_ms / timings[name].median_ms
      speedup_min = min(timings[base].samples_ms) / min(timings[name].samples_ms)
      reduction = dense_flops / flops
      extra = dict(settings, decisions=kind, skim_rate=1.0 - read_frac,
                   flop_reduction=reduction, speedup=speedup, realised=speedup / reduction,
                   speedup_min=speedup_min, realised_min=speedup_min / reduction)
      print(f"{name + suffix:24s} skim {100 * (1 - read_frac):5.1f}%  FLOP reduction "
            f"{reduction:5.2f}x  speed-up {speedup:5.2f}x (min {speedup_min:5.2f}x)  realised "
            f"{speedup / reduction:4.0%} (min {speedup_min / reduction:4.0%})  vs {base}")
      if kind in ("model", "masked"):
        extra["threshold"] = value
      rows.append(harness.Row(name + suffix, 1, timings[name], base + suffix, read_frac, flops,
                              extra=extra))
    if input_dim == dims[0]:
      rows.extend(_batch_rows(skim_params, input_dim, hidden, small, seq_len, big_batch, rng,
                              key, rounds, repeats, settings))
  return rows


def _batch_rows(skim_params, input_dim, hidden, small, seq_len, batch, rng, key, rounds,
                repeats, settings):
  """Batch-`batch` throughput: LSTM vs masked Skim-RNN vs vmapped cond (a select under vmap)."""
  k_x, k_l = jax.random.split(jax.random.fold_in(key, batch))
  xs = jax.random.normal(k_x, (batch, seq_len, input_dim), jnp.float32)
  lstm_params = cells.lstm_init(k_l, input_dim, hidden)
  thr = _forced_thresholds(rng, (batch, seq_len), PAPER_IMDB_SKIM_RATE)
  lengths = jnp.full((batch,), seq_len, jnp.int32)
  fns = {
      "lstm": (jax.jit(lambda p, x: recurrence.lstm_layer(p, x)[0].h), (lstm_params, xs)),
      "skim_masked": (jax.jit(lambda p, x, t: skim_rnn.masked_layer(p, x, None, t)),
                      (skim_params, xs, thr)),
      "skim_vmap_cond": (jax.jit(lambda p, x, t: skim_rnn.infer(p, x, lengths, t, path="cond",
                                                                return_sequences=False)),
                         (skim_params, xs, thr)),
      "lstm_final": (jax.jit(lambda p, x: recurrence.lstm_final_state(p, x).h),
                     (lstm_params, xs)),
      "skim_gather": (jax.jit(lambda p, x, t: skim_rnn.gather_layer(
          p, x, None, t, return_sequences=False).final), (skim_params, xs, thr)),
      "skim_gather_read_all": (jax.jit(lambda p, x: skim_rnn.gather_layer(
          p, x, None, 0.0, return_sequences=False).final), (skim_params, xs)),
  }
  timings = _interleaved(fns, rounds, repeats)
  f = skim_rnn.step_flops(input_dim, hidden, small)
  dense_flops = float(skim_rnn.dense_run_flops(input_dim, hidden, seq_len)) * batch
  all_work = float(seq_len * (f["token"] + f["read"] + f["skim"])) * batch
  base = min(("lstm", "lstm_final"), key=lambda n: timings[n].median_ms)
  rows = []
  notes = {"skim_masked": "masked work: every step computes both updates",
           "skim_vmap_cond": "masked work: every step computes both updates",
           "skim_gather": "real savings: the big cell runs on a block of the reading rows",
           "skim_gather_read_all": "threshold 0 (0% skim): the gather path's cost when nothing "
                                   "is skimmed"}
  for name in fns:
    tokens_per_s = batch * seq_len / (timings[name].median_ms * 1e-3)
    dense = name.startswith("lstm")
    flops = dense_flops if dense else all_work
    if name == "skim_gather":
      flops = float(jnp.sum(skim_rnn.gather_layer(skim_params, xs, None, thr,
                                                  return_sequences=False).flops))
    fraction = 1.0 if dense or name == "skim_gather_read_all" else 1.0 - PAPER_IMDB_SKIM_RATE
    extra = dict(settings, tokens_per_s=tokens_per_s, note=notes.get(name, ""))
    if not dense:
      extra["speedup"] = timings[base].median_ms / timings[name].median_ms
      extra["speedup_vs"] = base
    rows.append(harness.Row(name, batch, timings[name], None if name == base else base,
                            fraction, flops, extra=extra))
  return rows
