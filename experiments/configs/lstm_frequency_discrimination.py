"""Plain LSTM on frequency discrimination, T=100 (dt = 1 ms): baseline of Skip RNN (Campos et
al., 2018), Table 4.

Target: > 99% test accuracy with all 100 steps updated. Paper: 110 units, Adam 1e-4, batch 256,
gradient clipping 1.0.

Command:

    python -m experiments.run --config experiments/configs/lstm_frequency_discrimination.py \
        --workdir experiments/runs/lstm_frequency_discrimination

Hardware: 2 shared CPU cores (contended). Time: not yet run in full. Metric reached: not yet run.
"""

from experiments.configs import frequency_discrimination_config


def get_config():
  return frequency_discrimination_config("lstm_frequency_discrimination", "lstm")
