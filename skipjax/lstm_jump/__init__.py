"""LSTM-Jump (Yu, Lee, Le, ACL 2017): an LSTM that reads R tokens, then jumps ahead.

The reader (PAPERS.md section 3) alternates reading and jumping. It reads R tokens with the LSTM;
at the last token read, the jump head `softmax(W h + b)` over {0, 1, ..., K} picks kappa. kappa = 0
stops reading; otherwise the next token read is kappa positions after the last one read (kappa - 1
tokens are skipped), and R more tokens are read from there. Reading also stops after N jumps (the
R tokens after the N-th jump are read, then no further decision is made) and at the end of the
example's unpadded sequence: a chunk cut short by the end, or one ending on the last token, makes
no decision, and a jump past the end stops the reader (that decision counts as a jump). The final
LSTM state feeds the classifier (or a user head). Worked example, T=10, R=2, decisions (3, 0):
tokens 1, 2, 5, 6 (1-indexed) are read.

K is architectural (the jump head has K + 1 outputs); R (`read_size`) and N (`num_jumps`) are
static call arguments and may differ between training and test.

Two paths compute the same thing (tested):
- `apply`: a bounded `lax.scan` over the N + 1 chunks of R steps with a `done` mask. It is
  differentiable and samples the decisions (training), takes them greedily, or takes them from
  `forced_jumps`. It does the work of (N + 1) * R steps whatever is read.
- `infer`: greedy (or forced) decisions in a `lax.while_loop` over chunks that computes only what
  it reads: each example has its own read pointer, its chunk's tokens are gathered, and the
  embedding lookup and LSTM input projection are done for the gathered tokens only. The loop ends
  when every example is done, so a batch costs its longest reader's work; at batch 1 it is a plain
  per-example loop with no masking.

Training (`make_loss_fn`): cross-entropy + REINFORCE on the jump decisions with reward +1 / -1 for
a right / wrong prediction, and the paper's learned linear baseline `b_i = w . sg(h_i) + c` at
each jump point i (one (w, c) shared by all jump points, as in the paper), trained by squared
error to the reward; the advantage is `sg(reward - b_i)`. Options that reimplementations needed
against variance: several sampled trajectories per example, an entropy bonus
(`hparams['entropy_beta']`), reward normalisation over the batch.

- `core`: the architecture (`ModelConfig` -> `model_init`), parameters, the read / jump rules,
  the training path `apply`.
- `inference`: `infer` (computes only what it reads) and `predict`.
- `model`: the training loss (`LossConfig` -> `make_loss_fn`), `read_fraction`, `flops`.
- `modules`: Flax linen `LSTMJump`.
"""

from skipjax.lstm_jump.core import (Head, LSTMJumpOutput, LSTMJumpParams, ModelConfig, apply,
                                    check_params, default_head, init, max_jump, model_init)
from skipjax.lstm_jump.inference import infer, predict
from skipjax.lstm_jump.model import HPARAMS, LossConfig, flops, make_loss_fn, read_fraction
from skipjax.lstm_jump.modules import LSTMJump
