"""Skip LSTM on the adding task, T=50: Skip RNN (Campos et al., 2018), Table 1, with the budget
lambda as the config's argument (default 1e-5):

    python -m experiments.run --config experiments/configs/skip_lstm_adding.py:0 \
        --workdir experiments/workdirs/skip_lstm_adding_lam0

The experiment is named skip_lstm_adding_lam<lambda> (lam0, lam1e5): the per-lambda files
skip_lstm_adding_lam*.py are this config at their lambda (their docstrings hold the recorded
runs). Paper: solved with 81.1% / 53.9% of the state updates at lambda 0 / 1e-5.

Hardware: x86_64, 2 CPU cores, jax 0.10.2 CPU (the recorded runs: skip_lstm_adding_lam0 / _lam1e5 in
experiments/RESULTS.md, with their commands and commits).
Time: per lambda, as those records say (training minutes and steps).
"""

from experiments.configs import budget_lambda_arg
from experiments.configs import lstm_adding


def get_config(arg: str | None = None):
  budget_lambda, tag = budget_lambda_arg(arg, 1e-5, __file__.rsplit("/", 1)[-1])
  return lstm_adding.adding_config(f"skip_lstm_adding_lam{tag}", "skip_lstm",
                                   budget_lambda=budget_lambda)
