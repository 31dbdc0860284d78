"""LSTM-Jump on number prediction, T=50 (Yu et al., 2017, sec. 4.1, at a shorter length).

The first token x_0 is the (0-based) position of the answer digit. R=1, N=1 and K=T-1 suit the
task (read one token, jump once; any position is one jump away): the ideal reader reads x_0,
jumps kappa = x_0 straight to the answer and reads it, 2 of 50 tokens (4%). The paper runs
lengths 10, 100 and 1000, not 50, so `paper_value` is unset for this setting. Training: 4
sampled trajectories per example, reward normalisation over the batch and a small entropy bonus
against the variance of REINFORCE; Adam 1e-3, batch 64.

Data protocol: `experiments.configs.NUMBER_PREDICTION_JUMP_PROTOCOL` (the paper's vocabulary,
lengths and sizes; here a fixed training set of 1,000,000 sequences at T=50, 10,000 dev and
10,000 test disjoint from it).

Command:

    python -m experiments.run --config experiments/configs/lstm_jump_number_prediction.py \
        --workdir experiments/workdirs/lstm_jump_number_prediction

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(3,000 steps: 100.0% test reading 4.0% of the tokens after 0.8 min, at
4543d3a).
"""

from experiments.configs import NUMBER_PREDICTION_JUMP_LENGTH, lstm_jump_net
from experiments.configs import number_prediction_jump_config


def get_config():
  c = number_prediction_jump_config("lstm_jump_number_prediction", "lstm_jump")
  # K = T-1: any position is one jump away; R = N = 1: read x_0, jump once.
  c.net.update(lstm_jump_net(max_jump=NUMBER_PREDICTION_JUMP_LENGTH - 1, read_size=1, num_jumps=1))
  c.hparams.entropy_beta = 0.01
  c.num_steps = 3000
  c.eval_every = 250
  return c
