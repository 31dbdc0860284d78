"""Skip LSTM on frequency discrimination: Skip RNN (Campos et al., 2018), Table 4. The argument
is `LAMBDA[,steps=200]`: the budget lambda (default 1e-4) and the sequence length (100 steps at
dt = 1 ms, the default, or 200 at 0.5 ms); the experiment is named
skip_lstm_frequency_discrimination_lam<lambda> (lam0, lam1e5, lam1e4) at 100 steps and
skip_lstm_frequency_discrimination_t200_lam<lambda> at 200.

Paper: > 99% test accuracy with 55.5 / 47.4 / 12.7 of 100 state updates at lambda 0 / 1e-5 /
1e-4, and 147.9 / 50.7 / 19.9 of 200. Settings as the paper (`experiments.configs.frequency_discrimination_config`): 110 units,
Adam 1e-4, batch 256, gradient clipping 1.0, straight-through rounded gate; evaluation rounds the
gate. The plain LSTM of the same setting: lstm_frequency_discrimination.py.

Command:

    python -m experiments.run \
        --config experiments/configs/skip_lstm_frequency_discrimination.py:1e-4 \
        --workdir experiments/workdirs/skip_lstm_frequency_discrimination_lam1e4

Hardware: x86_64, 2 CPU cores, a run pinned to one. Time: per lambda, its row of
experiments/RESULTS.md (lambda 1e-4: 99.8% test with 36.5 of 100 updates after 20,000 steps, 142
min on one core of a 2-core x86_64 CPU).
"""

from experiments.configs import frequency_discrimination_arg
from experiments.configs import frequency_discrimination_config


def get_config(arg: str | None = None):
  budget_lambda, suffix, steps = frequency_discrimination_arg(arg, 1e-4,
                                                              __file__.rsplit("/", 1)[-1])
  return frequency_discrimination_config(f"skip_lstm_frequency_discrimination_{suffix}",
                                         "skip_lstm", budget_lambda=budget_lambda, steps=steps)
