"""Plain GRU on the adding task, T=50: the GRU baseline of Skip RNN (Campos et al., 2018),
Table 1.

Paper: solved with every step updated.

Target: solved, i.e. test MSE < 1/100 of the target variance (1/6/100 ~ 0.00167; the config's
paper_value is this threshold, not a reported MSE). Settings as the paper: 110 units, Adam
1e-4, batch 256, gradient clipping 1.0, straight-through rounded gate; evaluation rounds the
gate (`experiments/build_skip_rnn.py`).

Command:

    python -m experiments.run --config experiments/configs/gru_adding.py \
        --workdir experiments/workdirs/gru_adding

Hardware: 2 shared CPU cores. Time: not yet run. Metric reached: not yet run.
"""

from experiments.configs import adding_config


def get_config():
  return adding_config("gru_adding", "gru")
