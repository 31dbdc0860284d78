"""Skip GRU on the adding task, T=50: Skip RNN (Campos et al., 2018), Table 1. The argument is
the budget lambda (default 1e-5); the experiment is named skip_gru_adding_lam<lambda>.

Paper: solved with 50.7% of the state updates at lambda 1e-5. The setting is skip_lstm_adding.py's
(`experiments.configs.adding_config`) with a GRU core; the plain GRU: gru_adding.py.

Command:

    python -m experiments.run --config experiments/configs/skip_gru_adding.py:1e-5 \
        --workdir experiments/workdirs/skip_gru_adding_lam1e5

Hardware: x86_64, 2 CPU cores, a run pinned to one. Time: its row of experiments/RESULTS.md (lambda
1e-5 on the plain MSE, before the half MSE: solved, test MSE 2.2e-5, but with every step updated;
20,000 steps, 61.2 min on one core of a 2-core x86_64 CPU).
"""

from experiments.configs import adding_config
from experiments.configs import budget_lambda_arg


def get_config(arg: str | None = None):
  budget_lambda, tag = budget_lambda_arg(arg, 1e-5, __file__.rsplit("/", 1)[-1])
  return adding_config(f"skip_gru_adding_lam{tag}", "skip_gru", budget_lambda=budget_lambda)
