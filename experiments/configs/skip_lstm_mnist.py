"""Skip LSTM on sequential MNIST (784 pixels): Skip RNN (Campos et al., 2018), sec. 4. The
argument is the budget lambda (default 1e-4, the paper's); the experiment is named
skip_lstm_mnist_lam<lambda>.

Paper: 97.3% test accuracy with 379 of 784 updates (plain LSTM 91.0%). Pixels read one at a time
(T=784, input_dim 1, scaled to [0, 1]); 5,000 training images held out for validation
(train[55000:]), as in the paper; test on the 10,000 test images. Settings as the paper
(`experiments.configs.mnist_config`): 110 units, Adam 1e-4, batch 256, gradient clipping 1.0,
straight-through rounded gate; evaluation rounds the gate. num_steps = 20,000 (~93 epochs) is a
budget of ours, not the paper's.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_mnist.py:1e-4 \
        --workdir experiments/workdirs/skip_lstm_mnist_lam1e4

Hardware: x86_64, 2 CPU cores, a run pinned to one. Time: its row of experiments/RESULTS.md (only a
200-step run so far, 15.2% test, 11.5 min on one core of a 2-core x86_64 CPU; a step of T=784 at
batch 256 takes ~5.6 s there, so the budget is a job for an accelerator).
"""

from experiments.configs import budget_lambda_arg
from experiments.configs import mnist_config


def get_config(arg: str | None = None):
  budget_lambda, tag = budget_lambda_arg(arg, 1e-4, __file__.rsplit("/", 1)[-1])
  return mnist_config(f"skip_lstm_mnist_lam{tag}", "skip_lstm", 0.973, budget_lambda)
