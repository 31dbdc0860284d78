"""Skip RNN (Campos et al., ICLR 2018): learning to skip state updates.

- `core`: parameters, the cell, the masked training scan, budget loss.
- `baselines`: random skipping and the plain stack, as the masked path's outputs.
- `inference`: the jumping `lax.while_loop` inference (only updated steps are computed).
- `model`: input -> Skip RNN -> head models and loss functions under the loss protocol.
- `modules`: Flax linen `SkipLSTM` / `SkipGRU` layers and `SkipLSTMCell` / `SkipGRUCell` steps.
"""

from skipjax.skip_rnn.baselines import plain_rnn, random_skip_rnn
from skipjax.skip_rnn.core import (SkipCarry, SkipOutput, SkipParams, budget_loss, check_params,
                                   initial_carry, num_skips, skip_init, skip_rnn, skip_step,
                                   step_flops)
from skipjax.skip_rnn.inference import (SkipInference, project_embedding, skip_rnn_infer,
                                        skip_rnn_infer_batch, skip_rnn_infer_tokens)
from skipjax.skip_rnn.model import (HPARAMS, LossConfig, SkipModelParams, SkipRNNConfig,
                                    make_loss_fn, model_apply, model_flops, model_init,
                                    predict_jump, task_metrics)
from skipjax.skip_rnn.modules import SkipGRU, SkipGRUCell, SkipLSTM, SkipLSTMCell, SkipStep
