"""LSTM with a FIXED skip connection of 3 (lam=0.5), number prediction, length 11: the baseline
of Gui et al. (AAAI 2019) with the agent's choice replaced by k=3 at every step
(`skipjax.dynamic_skip.fixed_skip_layer`). The paper gives no number-prediction figure for it; the
rest as in `dynamic_skip_number_prediction_11.py`.

Command:

    python -m experiments.run --config experiments/configs/fixed_skip3_number_prediction_11.py \
        --workdir experiments/workdirs/fixed_skip3_number_prediction_11 --noplot

Run recorded in experiments/results/fixed_skip3_number_prediction_11.json: the command above
plus `--config.progress=False`.
Hardware: x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu; pinned to one core with taskset
while the other core ran another job.
Time: 1.3 min of training (2,000 steps = 200,000 fresh examples, ~2,530 examples/s). Metric
reached: test accuracy 46.3% on 10,000 examples (best dev 46.0% at step 2,000, the last; dev
accuracy rose steadily from 27.1% at step 250, so it had not converged). Every step is read
(fraction computed 1.0). No paper figure; in the same 2,000 steps our plain LSTM
(lstm_number_prediction_11.py) reached 51.9% and the dynamic skip LSTM 99.91%.
"""

from experiments.configs import dynamic_skip_number_prediction_11 as base


def get_config():
  c = base.number_prediction_config("fixed_skip3_number_prediction_11", "fixed_skip_lstm", 11,
                                    paper_value=None, lam=0.5)
  c.net.fixed_skip = 3
  return c
