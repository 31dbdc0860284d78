"""LSTM-Jump on number prediction, T=50 (Yu et al., 2017, sec. 4.1, at a shorter length).

The first token x_0 is the (0-based) position of the answer digit. R=1, N=1 and K=T-1 suit the
task (read one token, jump once; any position is one jump away): the ideal reader reads x_0,
jumps kappa = x_0 straight to the answer and reads it, 2 of 50 tokens (4%). The paper runs
lengths 10, 100 and 1000, not 50, so `paper_value` is unset for this setting. Training: 4
sampled trajectories per example, reward normalisation over the batch and a small entropy bonus
against the variance of REINFORCE; Adam 1e-3, batch 64.

Command:

    python -m experiments.run --config experiments/configs/lstm_jump_number_prediction.py \
        --workdir experiments/workdirs/lstm_jump_number_prediction

Hardware: x86_64, 2 CPU cores shared with other jobs (load average ~9), jax 0.10.2 CPU.
Time: 2.2 min of training (3,000 of 3,000 steps, ~1,430 examples/s, contended). Metric reached:
test accuracy 98.3% on 4,096 sequences (best dev 98.7% at step 3000) reading 4.0% of the tokens
(2 of 50 per example: x_0 and the token jumped to). Dev accuracy was 18% at step 250, 82% at
1000 and 98.4-98.7% from step 1250 on, then flat (the remaining errors were not analysed). The
plain LSTM on the same data: `lstm_number_prediction.py`. (Run with `--noplot` added.)
Curves: experiments/plots/lstm_jump_number_prediction_curves.png.
"""

from ml_collections import config_dict

from experiments.configs import base_config, synthetic_data

LENGTH = 50


def get_config():
  c = base_config()
  c.experiment = "lstm_jump_number_prediction"
  c.paper = "LSTM-Jump (Yu et al., 2017), sec. 4.1 (number prediction; T=50 here)"
  c.model = "lstm_jump"
  c.net.embed_dim = 64
  c.net.hidden_dim = 128
  c.net.max_jump = LENGTH - 1    # K: any position is one jump away
  c.net.read_size = 1            # R
  c.net.num_jumps = 1            # N
  c.net.eval_read_size = config_dict.placeholder(int)   # None: R of training
  c.net.eval_num_jumps = config_dict.placeholder(int)   # None: N of training
  c.net.num_samples = 4
  c.net.normalize_rewards = True
  c.hparams.entropy_beta = 0.01
  c.dataset = "number_prediction_jump"
  c.data = synthetic_data(batch_size=64, dev_examples=1024, test_examples=4096, length=LENGTH)
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  c.num_steps = 3000
  c.eval_every = 250
  return c
