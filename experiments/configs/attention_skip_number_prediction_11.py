"""LSTM attending over its last K=10 states (lam=0.5), number prediction, length 11: the soft,
differentiable baseline of Gui et al. (AAAI 2019) (`skipjax.dynamic_skip.attention_skip_layer`).
The paper gives no number-prediction figure for it; the rest as in
`dynamic_skip_number_prediction_11.py`.

Command:

    python -m experiments.run \
        --config experiments/configs/attention_skip_number_prediction_11.py \
        --workdir experiments/workdirs/attention_skip_number_prediction_11 --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset, the other busy). Time: not
yet recorded. Metric reached: not yet recorded (see
experiments/results/attention_skip_number_prediction_11.json).
"""

from experiments.configs import dynamic_skip_number_prediction_11 as base


def get_config():
  return base.number_prediction_config("attention_skip_number_prediction_11",
                                       "attention_skip_lstm", 11, paper_value=None, lam=0.5)
