"""Skip LSTM, lambda=1e-5, on frequency discrimination, T=100 (dt = 1 ms): Skip RNN (Campos et
al., 2018), Table 2.

Paper: > 99% test accuracy.

Settings as the paper: 110 units, Adam 1e-4, batch 256, gradient clipping 1.0, straight-through
rounded gate; evaluation rounds the gate (`experiments/build_skip_rnn.py`). The plain LSTM of the
same setting is experiments/configs/lstm_frequency_discrimination.py.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_frequency_discrimination_lam1e5.py \
        --workdir experiments/workdirs/skip_lstm_frequency_discrimination_lam1e5

Hardware: 2 shared CPU cores. Time: not yet run. Metric reached: not yet run.
"""

from experiments.configs import skip_lstm_frequency_discrimination


def get_config():
  return skip_lstm_frequency_discrimination.get_config("1e-5")
