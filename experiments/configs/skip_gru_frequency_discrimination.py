"""Skip GRU on frequency discrimination: Skip RNN (Campos et al., 2018), Table 4. The argument is
`LAMBDA[,steps=200]` as in skip_lstm_frequency_discrimination.py (default lambda 1e-4, 100 steps
at dt = 1 ms); the experiment is named skip_gru_frequency_discrimination_lam<lambda> at 100 steps
and skip_gru_frequency_discrimination_t200_lam<lambda> at 200.

Paper: > 99% test accuracy with 73.7 / 51.9 / 23.5 of 100 state updates at lambda 0 / 1e-5 /
1e-4, and 167.0 / 54.2 / 22.5 of 200. Settings as the paper
(`experiments.configs.frequency_discrimination_config`): 110 units, Adam 1e-4, batch 256,
gradient clipping 1.0, straight-through rounded gate; evaluation rounds the gate.

Command:

    python -m experiments.run \
        --config experiments/configs/skip_gru_frequency_discrimination.py:1e-4 \
        --workdir experiments/workdirs/skip_gru_frequency_discrimination_lam1e4

Hardware: -. Time: not yet run. Metric reached: -.
"""

from experiments.configs import frequency_discrimination_arg
from experiments.configs import frequency_discrimination_config


def get_config(arg: str | None = None):
  budget_lambda, suffix, steps = frequency_discrimination_arg(arg, 1e-4,
                                                              __file__.rsplit("/", 1)[-1])
  return frequency_discrimination_config(f"skip_gru_frequency_discrimination_{suffix}",
                                         "skip_gru", budget_lambda=budget_lambda, steps=steps)
