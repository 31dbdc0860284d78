"""LSTM with a FIXED skip connection of 3 (lam=0.5), number prediction, length 11: the baseline
of Gui et al. (AAAI 2019) with the agent's choice replaced by k=3 at every step
(`skipjax.dynamic_skip.fixed_skip_layer`). The paper gives no number-prediction figure for it; the
rest as in `dynamic_skip_number_prediction_11.py`.

Command:

    python -m experiments.run --config experiments/configs/fixed_skip3_number_prediction_11.py \
        --workdir experiments/workdirs/fixed_skip3_number_prediction_11 --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset, the other busy). Time: not
yet recorded. Metric reached: not yet recorded (see
experiments/results/fixed_skip3_number_prediction_11.json).
"""

from experiments.configs import dynamic_skip_number_prediction_11 as base


def get_config():
  c = base.number_prediction_config("fixed_skip3_number_prediction_11", "fixed_skip_lstm", 11,
                                    paper_value=None, lam=0.5)
  c.net.fixed_skip = 3
  return c
