"""Plain LSTM on Gui et al.'s number prediction, length 21: the baseline of the dynamic skip LSTM.

Gui et al. (AAAI 2019), section 4.1: test accuracy 26.4% (dev 26.2%); hidden 200, Adam 1e-3,
batch 100. The rest as in `dynamic_skip_number_prediction_11.py` (embedding 100).

Command:

    python -m experiments.run --config experiments/configs/lstm_number_prediction_21.py \
        --workdir experiments/workdirs/lstm_number_prediction_21

Hardware: 2 shared CPU cores (contended; ~900 examples/s). Time: 3.7 min of training for the
full 2,000 steps. Metric reached: test accuracy 31.4% (10,000 examples; best dev 31.0% at step
2000), above the paper's 26.4% and level with the dynamic skip LSTM after the same 2,000 steps
(31.9%, `dynamic_skip_number_prediction_21.py`): at length 21 neither has had enough steps to
show the paper's gap (both still rising).
"""

from experiments.configs import dynamic_skip_number_prediction_11 as base


def get_config():
  return base.number_prediction_config("lstm_number_prediction_21", "lstm", 21,
                                       paper_value=0.264)
