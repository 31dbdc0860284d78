"""Plain LSTM on frequency discrimination, T=100 (dt = 1 ms): baseline of Skip RNN (Campos et
al., 2018), Table 2.

Target: > 99% test accuracy with all 100 steps updated. Paper: 110 units, Adam 1e-4, batch 256,
gradient clipping 1.0.

Command:

    python -m experiments.run --config experiments/configs/lstm_frequency_discrimination.py \
        --workdir experiments/runs/lstm_frequency_discrimination

Hardware: 2 shared CPU cores (contended). Time: not yet run in full. Metric reached: not yet run.
"""

from experiments.configs import base_config, synthetic_data


def get_config():
  c = base_config()
  c.experiment = "lstm_frequency_discrimination"
  c.paper = "Skip RNN (Campos et al., 2018), Table 2 (frequency discrimination, T=100)"
  c.paper_value = 0.99
  c.model = "lstm"
  c.net.hidden_dim = 110
  c.dataset = "frequency_discrimination"
  c.data = synthetic_data(batch_size=256, dev_examples=1024, test_examples=4096, length=100)
  c.optimizer.learning_rate = 1e-4
  c.optimizer.clip_norm = 1.0
  c.num_steps = 20000
  c.eval_every = 500
  return c
