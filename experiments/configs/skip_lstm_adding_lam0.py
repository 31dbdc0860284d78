"""Skip LSTM, lambda=0 (no budget loss), on the adding task, T=50: Skip RNN (Campos et al.,
2018), Table 1.

Paper: solved; without the budget loss the gate is free to update at every step (the paper
reports the updates used for each lambda in Table 1).

Target: solved, i.e. test MSE < 1/100 of the target variance (1/6/100 ~ 0.00167; the config's
paper_value is this threshold, not a reported MSE). Settings as the paper: 110 units, Adam
1e-4, batch 256, gradient clipping 1.0, straight-through rounded gate; evaluation rounds the
gate (`experiments/build_skip_rnn.py`).

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_adding_lam0.py \
        --workdir experiments/workdirs/skip_lstm_adding_lam0

Hardware: 2 shared CPU cores. Time: not yet run. Metric reached: not yet run.
"""

from experiments.configs import base_config, synthetic_data


def get_config():
  c = base_config()
  c.experiment = "skip_lstm_adding_lam0"
  c.paper = "Skip RNN (Campos et al., 2018), Table 1 (adding, T=50)"
  c.model = "skip_lstm"
  c.net.hidden_dim = 110
  c.hparams.budget_lambda = 0.0
  c.paper_value = 1.0 / 6.0 / 100.0  # the 'solved' threshold
  c.dataset = "adding"
  c.data = synthetic_data(batch_size=256, dev_examples=1024, test_examples=4096, length=50)
  c.optimizer.learning_rate = 1e-4
  c.optimizer.clip_norm = 1.0
  c.num_steps = 20000
  c.eval_every = 500
  c.best_metric = "mse"
  c.best_mode = "min"
  c.metric = "mse"
  return c
