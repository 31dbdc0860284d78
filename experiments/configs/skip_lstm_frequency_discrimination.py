"""Skip LSTM on frequency discrimination, T=100 (dt = 1 ms): Skip RNN (Campos et al., 2018),
Table 4, with the budget lambda as the config's argument (default 1e-4):

    python -m experiments.run \
        --config experiments/configs/skip_lstm_frequency_discrimination.py:1e-5 \
        --workdir experiments/workdirs/skip_lstm_frequency_discrimination_lam1e5

The experiment is named skip_lstm_frequency_discrimination_lam<lambda> (lam0, lam1e5, lam1e4):
the per-lambda files skip_lstm_frequency_discrimination_lam*.py are this config at their
lambda (their docstrings hold the recorded runs). Paper: > 99% test accuracy with 55.5 / 47.4 /
12.7 of 100 state updates at lambda 0 / 1e-5 / 1e-4. Settings as the paper: 110 units, Adam 1e-4,
batch 256, gradient clipping 1.0, straight-through rounded gate.

Hardware: x86_64, 2 CPU cores, jax 0.10.2 CPU (the recorded runs: skip_lstm_frequency_discrimination_lam0 / _lam1e5 / _lam1e4 in
experiments/RESULTS.md, with their commands and commits).
Time: per lambda, as those records say (training minutes and steps).
"""

from experiments.configs import budget_lambda_arg
from experiments.configs import lstm_frequency_discrimination


def get_config(arg: str | None = None):
  budget_lambda, tag = budget_lambda_arg(arg, 1e-4, __file__.rsplit("/", 1)[-1])
  return lstm_frequency_discrimination.frequency_discrimination_config(
      f"skip_lstm_frequency_discrimination_lam{tag}", "skip_lstm", budget_lambda=budget_lambda)
