"""Skip LSTM, lambda=0 (no budget loss), on frequency discrimination, T=100 (dt = 1 ms): Skip
RNN (Campos et al., 2018), Table 2.

Paper: > 99% test accuracy (the paper lists the updates used for each lambda).

Settings as the paper: 110 units, Adam 1e-4, batch 256, gradient clipping 1.0, straight-through
rounded gate; evaluation rounds the gate (`experiments/build_skip_rnn.py`). The plain LSTM of the
same setting is experiments/configs/lstm_frequency_discrimination.py.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_frequency_discrimination_lam0.py \
        --workdir experiments/workdirs/skip_lstm_frequency_discrimination_lam0

Hardware: 2 shared CPU cores. Time: not yet run. Metric reached: not yet run.
"""

from experiments.configs import base_config, synthetic_data


def get_config():
  c = base_config()
  c.experiment = "skip_lstm_frequency_discrimination_lam0"
  c.paper = "Skip RNN (Campos et al., 2018), Table 2 (frequency discrimination, T=100)"
  c.model = "skip_lstm"
  c.net.hidden_dim = 110
  c.hparams.budget_lambda = 0.0
  c.paper_value = 0.99
  c.dataset = "frequency_discrimination"
  c.data = synthetic_data(batch_size=256, dev_examples=1024, test_examples=4096, length=100)
  c.optimizer.learning_rate = 1e-4
  c.optimizer.clip_norm = 1.0
  c.num_steps = 20000
  c.eval_every = 500
  return c
