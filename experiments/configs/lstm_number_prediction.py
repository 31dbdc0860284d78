"""Plain LSTM on number prediction, T=50: the baseline of LSTM-Jump (Yu et al., 2017, sec. 4.1).

Same data, embedding (64) and LSTM (128 units) as `lstm_jump_number_prediction.py`, reading all 50
tokens: it must keep the pointer x_0 and pick out the digit at that position as it passes. Data
protocol: `experiments.configs.NUMBER_PREDICTION_JUMP_PROTOCOL` (a fixed training set of 1,000,000 sequences,
10,000 dev and 10,000 test disjoint from it). Adam 1e-3, gradient clipping 1.0, batch 64.

Command:

    python -m experiments.run --config experiments/configs/lstm_number_prediction.py \
        --workdir experiments/workdirs/lstm_number_prediction

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(5,000 steps: 16.1% test after 3.3 min, at 4543d3a).
"""

from experiments.configs import number_prediction_jump_config


def get_config():
  c = number_prediction_jump_config("lstm_number_prediction", "lstm")
  c.num_steps = 5000
  c.eval_every = 500
  return c
