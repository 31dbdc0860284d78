"""Skip GRU, lambda=1e-4, on sequential MNIST (784 pixels): Skip RNN (Campos et al., 2018),
sec. 4 (the paper's MNIST experiment).

Paper: 97.6% test accuracy with 393 of 784 updates (plain GRU 96.8%).

Pixels read one at a time (T=784, input_dim 1, scaled to [0, 1]); 5,000 training images held out
for validation (train[55000:]), as in the paper; test on the 10,000 test images. Settings as
the paper: 110 units, Adam 1e-4, batch 256, gradient clipping 1.0, straight-through rounded gate;
evaluation rounds the gate (`experiments/build_skip_rnn.py`). num_steps = 20,000 is ~93 epochs, a
budget of ours (not the paper's). On 2 shared CPU cores a step of T=784 at batch 256 takes seconds:
this config is written but was not run in the integration session.

Command:

    python -m experiments.run --config experiments/configs/skip_gru_mnist_lam1e4.py \
        --workdir experiments/workdirs/skip_gru_mnist_lam1e4

Hardware: 2 shared CPU cores. Time: not yet run. Metric reached: not yet run.
"""

from experiments.configs import skip_lstm_mnist_lam1e4


def get_config():
  """skip_lstm_mnist_lam1e4 with a GRU core; every other setting is shared."""
  c = skip_lstm_mnist_lam1e4.get_config()
  c.experiment = "skip_gru_mnist_lam1e4"
  c.model = "skip_gru"
  c.paper_value = 0.976
  return c
