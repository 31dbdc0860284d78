"""Skip LSTM, lambda=0 (no budget loss), on frequency discrimination, T=100 (dt = 1 ms): Skip
RNN (Campos et al., 2018), Table 2.

Paper: > 99% test accuracy (the paper lists the updates used for each lambda).

Settings as the paper: 110 units, Adam 1e-4, batch 256, gradient clipping 1.0, straight-through
rounded gate; evaluation rounds the gate (`experiments/build_skip_rnn.py`). The plain LSTM of the
same setting is experiments/configs/lstm_frequency_discrimination.py.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_frequency_discrimination_lam0.py \
        --workdir experiments/workdirs/skip_lstm_frequency_discrimination_lam0

The run recorded in results/ stopped at step 200 of 20,000 (add `--config.num_steps=200
--config.eval_every=100` to the command); a later session continues it with the same command
and a larger `--config.num_steps`.

Hardware: x86_64, 2 CPU cores shared with other jobs (load average 2-8), jax 0.10.2 CPU.
Time: 2.4 min of training for 200 steps (~360 examples/s, contended). Metric reached: test
accuracy 97.5% on 4,096 sequences (best dev 97.6% at step 100, 97.3% at step 200) with every
step updated (100.0 of 100). Short of the paper's > 99%: 200 steps at Adam 1e-4.
"""

from experiments.configs import skip_lstm_frequency_discrimination


def get_config():
  return skip_lstm_frequency_discrimination.get_config("0")
