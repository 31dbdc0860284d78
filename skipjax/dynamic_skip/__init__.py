"""LSTM with dynamic skip connections (Gui et al., AAAI 2019), its baselines, and task losses.

At step t an agent reads `[x_t; h_{t-1}]` and picks which of the last K states to connect to:

    pi_t = softmax(W2 tanh(W1 [x_t; h_{t-1}] + b1) + b2)      over k in {1..K}
    k_t ~ pi_t (training) or argmax pi_t (test)
    h~ = lam * h_{t-k} + (1 - lam) * h_{t-1},   c~ = lam * c_{t-k} + (1 - lam) * c_{t-1}
    h_t, c_t = LSTM(x_t, (h~, c~))

The last K states live in a fixed-shape ring buffer in the scan carry (`SkipBuffer`). Before the
buffer fills, only states that exist can be chosen (the initial state counts as s_0): the logits
of k > t are masked, so step 1 always picks k = 1.

Training (paper section "Training"): the task loss trains the LSTM, and the agent maximises
J2 = E[R] + H(pi) with REINFORCE (Williams 1992) and an entropy bonus. The two objectives have
separate parameters, so the agent reads `sg([x_t; h_{t-1}])`: the REINFORCE gradient reaches the
agent only. Rewards: +1/-1 for a correct/wrong classification; for language modelling (and
tagging) the reward of step t is the model's probability of the gold label at t, summed forward
as reward-to-go (backward for the backward half of a bidirectional layer, whose decision at t
affects the outputs at t, t-1, ...). The released TensorFlow code never uses lam and never adds
the entropy; here both are used, following the paper.

Baselines for the paper's tables: a plain LSTM (`recurrence.lstm_layer`), an LSTM with a fixed
skip connection of k (`fixed_skip_layer`, the same mixing with k fixed), and an LSTM that attends
over its last K states (`attention_skip_layer`, a soft, differentiable choice).

Every step runs the LSTM (the agent chooses where to continue from, not whether to compute), so
this family has no separate inference path: `predict` is the greedy agent.

Shapes are batch-major: xs [B, T, D]; lengths [B]. Padded steps never change the carry.

- `core`: the ring buffer of the last K states (`SkipBuffer`), the agent, `dynamic_skip_layer`.
- `baselines`: `fixed_skip_layer`, `attention_skip_layer`.
- `model`: `ModelConfig` (the architecture), parameters, `token_features` (the embedding, plus a
  character CNN's features when `char_vocab_size`), `apply`, `predict`, carried state,
  `step_flops`.
- `loss`: `LossConfig` (reward baseline, carried state) and `make_loss_fn` (task loss +
  REINFORCE + entropy), `init_model_state`.
- `modules`: Flax linen `DynamicSkipLSTM`, `FixedSkipLSTM`, `AttentionSkipLSTM`.
"""

from skipjax.dynamic_skip.baselines import (AttentionParams, AttentiveSkipParams,
                                            attention_skip_init, attention_skip_layer,
                                            fixed_skip_layer)
from skipjax.dynamic_skip.core import (MASKED_LOGIT, AgentParams, DynamicSkipOutput,
                                       DynamicSkipParams, SkipBuffer, check_lam,
                                       dynamic_skip_init, dynamic_skip_layer, mix_states,
                                       skip_buffer_history, skip_buffer_init, skip_buffer_push,
                                       skip_buffer_read, skip_buffer_valid)
from skipjax.dynamic_skip.loss import (BASELINES, LossConfig, init_model_state,
                                       leave_one_out_baseline, make_loss_fn, sequence_returns)
from skipjax.dynamic_skip.model import (CELLS, HPARAMS, TASKS, Decisions, ModelConfig,
                                        ModelOutput, apply, init_params, predict, reset_carries,
                                        step_flops, token_features, zero_carries)
from skipjax.dynamic_skip.modules import AttentionSkipLSTM, DynamicSkipLSTM, FixedSkipLSTM
