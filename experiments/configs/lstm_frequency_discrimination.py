"""Plain LSTM on frequency discrimination, T=100 (dt = 1 ms): baseline of Skip RNN (Campos et
al., 2018), Table 2.

Target: > 99% test accuracy with all 100 steps updated. Paper: 110 units, Adam 1e-4, batch 256,
gradient clipping 1.0.

Command:

    python -m experiments.run --config experiments/configs/lstm_frequency_discrimination.py \
        --workdir experiments/runs/lstm_frequency_discrimination

Hardware: 2 shared CPU cores (contended). Time: not yet run in full. Metric reached: not yet run.
"""

from experiments.configs import skip_rnn_config, synthetic_data


def frequency_discrimination_config(experiment: str, model: str,
                                    budget_lambda: float | None = None):
  """The shared setting of the frequency-discrimination configs (Skip RNN, Table 2, T=100):
  `skip_rnn_config` on 100-step sequences (1,024 dev and 4,096 test); paper_value 0.99 (> 99%)."""
  return skip_rnn_config(
      experiment, model,
      "Skip RNN (Campos et al., 2018), Table 2 (frequency discrimination, T=100)", 0.99,
      "frequency_discrimination",
      synthetic_data(batch_size=256, dev_examples=1024, test_examples=4096, length=100),
      budget_lambda=budget_lambda)


def get_config():
  return frequency_discrimination_config("lstm_frequency_discrimination", "lstm")
