"""Skip LSTM, lambda=1e-4, on sequential MNIST (784 pixels): Skip RNN (Campos et al., 2018),
sec. 4 (the paper's MNIST experiment).

Paper: 97.3% test accuracy with 379 of 784 updates (plain LSTM 91.0%).

Pixels read one at a time (T=784, input_dim 1, scaled to [0, 1]); 5,000 training images held out
for validation (train[55000:]), as in the paper; test on the 10,000 test images. Settings as
the paper: 110 units, Adam 1e-4, batch 256, gradient clipping 1.0, straight-through rounded gate;
evaluation rounds the gate (`experiments/build_skip_rnn.py`). num_steps = 20,000 is ~93 epochs, a
budget of ours (not the paper's). On 2 shared CPU cores a step of T=784 at batch 256 takes seconds:
this config is written but was not run in the integration session.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_mnist_lam1e4.py \
        --workdir experiments/workdirs/skip_lstm_mnist_lam1e4

Hardware: 2 shared CPU cores. Time: not yet run. Metric reached: not yet run.
"""

from experiments.configs import skip_rnn_config, text_data


def get_config():
  c = skip_rnn_config("skip_lstm_mnist_lam1e4", "skip_lstm",
                      "Skip RNN (Campos et al., 2018), sequential MNIST", 0.973, "mnist",
                      text_data(batch_size=256, max_len=None, train_split="train[:55000]",
                                dev_split="train[55000:]", test_split="test"),
                      budget_lambda=1e-4)
  c.checkpoint_every = 500
  return c
