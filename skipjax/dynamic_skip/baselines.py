"""The baselines of Gui et al.'s tables beside the dynamic skip layer: an LSTM with a fixed skip
connection (`fixed_skip_layer`) and an LSTM attending over its last K states
(`attention_skip_layer`, a soft, differentiable choice). Both carry `core.SkipBuffer`.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from skipjax import cells
from skipjax import recurrence
from skipjax import validation
from skipjax.dynamic_skip import core

Array = jax.Array


def fixed_skip_layer(params: cells.LSTMParams, xs: Array, lengths: Array | None = None, *,
                     skip: int, lam: float | Array, initial: core.SkipBuffer | None = None,
                     reverse: bool = False, unroll: int = 1) -> tuple[core.SkipBuffer, Array]:
  """LSTM with a fixed skip connection: `h~ = lam h_{t-skip} + (1 - lam) h_{t-1}` (same for c).

  The "LSTM + fixed skip" baseline of Gui et al. (skip 3 and 5); before `skip` states exist it
  connects to the oldest one (s_0). Returns (final SkipBuffer of size `skip`, hs [B, T, H]).
  """
  validation.check_positive_int("skip", skip)
  core.check_lam(lam)
  lengths, initial = core.prepare_inputs(params, xs, lengths, initial, skip, "fixed skip LSTM",
                                         "params")

  def step(p, buf, x_proj):
    prev = core.skip_buffer_read(buf, jnp.ones_like(buf.count))
    choice = jnp.minimum(buf.count, skip)
    mixed = core.mix_states(lam, core.skip_buffer_read(buf, choice), prev)
    state, h = cells.lstm_step_projected(p, mixed, x_proj)
    return core.skip_buffer_push(buf, state), h

  return recurrence.scan_rnn(step, params, initial, cells.lstm_input_projection(params, xs),
                             lengths, reverse=reverse, unroll=unroll)


class AttentionParams(NamedTuple):
  """Additive attention `v . tanh(W_q [x_t; h_{t-1}] + W_k h_{t-k} + b)`, W_q split w_x, w_h."""
  w_x: Array  # [D, A]
  w_h: Array  # [H, A]
  w_k: Array  # [H, A]
  b: Array    # [A]
  v: Array    # [A]


class AttentiveSkipParams(NamedTuple):
  lstm: cells.LSTMParams
  attention: AttentionParams


def attention_skip_init(key: Array, input_dim: int, hidden_dim: int,
                        attention_dim: int = 64, *, forget_bias: float = 1.0,
                        init: str = "default",
                        param_dtype: Any = jnp.float32) -> AttentiveSkipParams:
  """LSTM plus Glorot-initialised attention weights (zero bias)."""
  validation.check_positive_int("attention_dim", attention_dim)
  k_lstm, k_q, k_k, k_v = jax.random.split(key, 4)
  glorot = jax.nn.initializers.glorot_uniform()
  w_q = glorot(k_q, (input_dim + hidden_dim, attention_dim), jnp.float32)
  attention = AttentionParams(
      w_x=w_q[:input_dim].astype(param_dtype), w_h=w_q[input_dim:].astype(param_dtype),
      w_k=glorot(k_k, (hidden_dim, attention_dim), jnp.float32).astype(param_dtype),
      b=jnp.zeros((attention_dim,), param_dtype),
      v=glorot(k_v, (attention_dim, 1), jnp.float32)[:, 0].astype(param_dtype))
  lstm = cells.lstm_init(k_lstm, input_dim, hidden_dim, forget_bias=forget_bias, init=init,
                         param_dtype=param_dtype)
  return AttentiveSkipParams(lstm=lstm, attention=attention)


def attention_skip_layer(params: AttentiveSkipParams, xs: Array, lengths: Array | None = None,
                         *, num_skips: int, lam: float | Array,
                         initial: core.SkipBuffer | None = None, reverse: bool = False,
                         unroll: int = 1) -> tuple[core.SkipBuffer, tuple[Array, Array]]:
  """LSTM attending over its last K states: the soft, differentiable baseline of Gui et al.

      alpha_t = softmax_k(v . tanh(W_q [x_t; h_{t-1}] + W_k h_{t-k} + b)),  k <= min(t, K)
      h~ = lam * sum_k alpha_k h_{t-k} + (1 - lam) h_{t-1}   (same alpha for c)

  Returns (final SkipBuffer, (hs [B, T, H], attention weights [B, T, K])).
  """
  validation.check_positive_int("num_skips", num_skips)
  core.check_lam(lam)
  lengths, initial = core.prepare_inputs(params.lstm, xs, lengths, initial, num_skips,
                                         "attention LSTM", "params.lstm")
  core.check_agent("params.attention", params.attention, xs.shape[-1], params.lstm.w_h.shape[0],
                   None)
  att = params.attention
  inputs = {"x_proj": cells.lstm_input_projection(params.lstm, xs),
            "query_x": cells.matmul(xs, att.w_x) + att.b.astype(jnp.float32)}

  def step(p: AttentiveSkipParams, buf: core.SkipBuffer, inp):
    prev = core.skip_buffer_read(buf, jnp.ones_like(buf.count))
    history = core.skip_buffer_history(buf)
    query = inp["query_x"] + cells.matmul(prev.h, p.attention.w_h)
    scores = jnp.tanh(query[:, None, :] + cells.matmul(history.h, p.attention.w_k))
    scores = cells.matmul(scores, p.attention.v[:, None])[..., 0]
    scores = jnp.where(core.skip_buffer_valid(buf), scores, core.MASKED_LOGIT)
    weights = jax.nn.softmax(scores, axis=-1)
    read = jax.tree_util.tree_map(lambda s: jnp.einsum("bk,bkh->bh", weights, s), history)
    state, h = cells.lstm_step_projected(p.lstm, core.mix_states(lam, read, prev),
                                         inp["x_proj"])
    return core.skip_buffer_push(buf, state), (h, weights)

  return recurrence.scan_rnn(step, params, initial, inputs, lengths, reverse=reverse,
                             unroll=unroll)
