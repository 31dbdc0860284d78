"""Random-skipping LSTM on the adding task, T=50: a random-update baseline for Skip RNN (Campos
et al., 2018), Table 1 (not a row of the table).

Each step is updated with probability 0.5 (`config.net.random_update_prob`), close to the
53.9% updates of the Skip LSTM at lambda=1e-5. No budget loss.

Target: solved, i.e. test MSE < 1/100 of the target variance (1/6/100 ~ 0.00167; the config's
paper_value is this threshold, not a reported MSE). Settings as the paper: 110 units, Adam
1e-4, batch 256, gradient clipping 1.0, straight-through rounded gate; evaluation rounds the
gate (`experiments/build_skip_rnn.py`).

Command:

    python -m experiments.run --config experiments/configs/random_skip_lstm_adding.py \
        --workdir experiments/workdirs/random_skip_lstm_adding

Hardware: 2 shared CPU cores. Time: not yet run. Metric reached: not yet run.
"""

from experiments.configs import adding_config


def get_config():
  return adding_config("random_skip_lstm_adding", "random_skip_lstm")
