"""Skip GRU on sequential MNIST (784 pixels): Skip RNN (Campos et al., 2018), sec. 4. The
argument is the budget lambda (default 1e-4, the paper's); the experiment is named
skip_gru_mnist_lam<lambda>.

Paper: 97.6% test accuracy with 393 of 784 updates (plain GRU 96.8%). The setting is
skip_lstm_mnist.py's (`experiments.configs.mnist_config`) with a GRU core.

Command:

    python -m experiments.run --config experiments/configs/skip_gru_mnist.py:1e-4 \
        --workdir experiments/workdirs/skip_gru_mnist_lam1e4

Hardware: -. Time: not yet run. Metric reached: -.
"""

from experiments.configs import budget_lambda_arg
from experiments.configs import mnist_config


def get_config(arg: str | None = None):
  budget_lambda, tag = budget_lambda_arg(arg, 1e-4, __file__.rsplit("/", 1)[-1])
  return mnist_config(f"skip_gru_mnist_lam{tag}", "skip_gru", 0.976, budget_lambda)
