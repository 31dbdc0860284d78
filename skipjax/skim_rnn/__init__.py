"""Skim-RNN (Seo, Min, Farhadi, Hajishirzi, ICLR 2018): a big and a small cell, read or skim.

At every step a 2-way decision `p_t = softmax(W [x_t; h_{t-1}] + b)` (classes: read, skim) picks

    read: h_t = f(x_t, h_{t-1})                               # big cell, size d
    skim: h_t = [f'(x_t, h_{t-1}); h_{t-1}[d':]]              # small cell, size d'

The small cell reads the whole previous state (its recurrent weights are [d, G d']) and rewrites
only the first d' units; units d'..d are copied. With an LSTM core both `c` and `h` follow this
rule (the small cell's own cell state is `c_{t-1}[:d']`). `d' = 0` degenerates to skipping.

Four ways to run the same cells:
- `gumbel_layer` (training): `r_t = softmax((log p_t + g_t) / tau)`, g ~ Gumbel(0, 1), and the
  carry is the mixture `r_read * read + r_skim * skim` (both candidates computed), differentiable.
- `masked_layer` (batched inference): hard decision `read_t = p_read_t >= threshold`, both
  candidates computed and one selected with `jnp.where`: no work is saved.
- `cond_layer` (batch-1 inference): `lax.switch` between the big and the small update, so a
  skimmed step really costs O(d' (D + d)). The cheap per-token parts (the small cell's input
  projection and the decision's input term) are one matmul over all tokens; the small cell's
  recurrent matvec and the decision's recurrent term are one fused [d, G d' + 1] matvec per step;
  the big cell's input projection is a matvec inside the read branch only (the LSTM's as one
  stacked `[x_t; h_{t-1}]` matvec). It gives the same answer as `masked_layer` (tested); under
  `vmap` its switch becomes a select (masked work). Recording the decisions costs time on CPU,
  so `record=False` returns only the final state (skipjax/bench/skim_rnn.py times both).
- `gather_layer` (batched inference with real savings): per step the rows that read are gathered
  into a block of one of a few fixed sizes and only they run the big cell (`lax.switch` over the
  sizes); same decisions and results as `masked_layer`.

Conventions: `xs` [B, T, D] float, `lengths` [B] int (steps t >= length leave the carry unchanged,
as in `recurrence.scan_rnn`); `cond_layer` takes one example (`xs` [T, D], `length` scalar).
The carry is `cells.LSTMState(c, h)` ([..., d] each) for an LSTM core, `h` [..., d] for a GRU.
The decision is read iff `p_read >= threshold`, evaluated as `logit_read - logit_skim >=
logit(threshold)`, so threshold 0 reads every step and threshold 1 reads none; a threshold
outside [0, 1] (or NaN) is an error (concrete: ValueError; traced: reported by
`checkify.checkify`), never clamped.

Deviations from public ports (following the paper instead): the Gumbel noise perturbs the
decision logits (not a constant); the decision uses h_{t-1}, not the new state; a skim step
starts from the previous state, never from the big cell's new state.

- `core`: parameters, shapes, input checks, FLOPs.
- `steps`: the read and skim updates, the decision, the Gumbel-softmax training layer and steps.
- `inference`: hard-decision `masked_layer` (batched), `gather_layer` (batched, real savings),
  `cond_layer` (batch 1, real savings), `infer`.
- `model`: the text classifier (`ClassifierConfig` -> `model_init`), its training loss and its
  hard-decision evaluation loss.
- `modules`: Flax linen `SkimLSTM` / `SkimGRU` layers and `SkimLSTMCell` / `SkimGRUCell` steps.
"""

from skipjax.skim_rnn.core import (READ, SKIM, Carry, SkimOutput, SkimParams, check_params,
                                   dense_run_flops, dims, skim_gru_init, skim_init,
                                   skim_lstm_init, skim_run_flops, step_flops, threshold_logit,
                                   zero_state)
from skipjax.skim_rnn.steps import gumbel_layer, gumbel_step, hard_step
from skipjax.skim_rnn.inference import cond_layer, gather_layer, infer, masked_layer
from skipjax.skim_rnn.model import (DEFAULT_EVAL_THRESHOLD, HPARAMS, REQUIRED_HPARAMS,
                                    ClassifierConfig, ClassifierParams, classifier_infer,
                                    classifier_init, classifier_loss, make_eval_loss, model_init,
                                    split_summary)
from skipjax.skim_rnn.modules import SkimGRU, SkimGRUCell, SkimLSTM, SkimLSTMCell, SkimStep
