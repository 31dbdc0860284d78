"""Plain LSTM on Gui et al.'s number prediction, length 11: the baseline of the dynamic skip LSTM.

Gui et al. (AAAI 2019), section 4.1: test accuracy 70.4% (dev 69.6%); hidden 200, Adam 1e-3,
batch 100. The rest as in `dynamic_skip_number_prediction_11.py` (embedding 100).

Command:

    python -m experiments.run --config experiments/configs/lstm_number_prediction_11.py \
        --workdir experiments/workdirs/lstm_number_prediction_11

Hardware: 2 shared CPU cores (contended; ~1,000 examples/s). Time: 2.7 min of training for
the full 2,000 steps (the same 200,000 examples as the dynamic skip run). Metric reached: test
accuracy 51.9% (10,000 examples; best dev 51.65% at step 2000), below the paper's 70.4%: still
rising when stopped (dev 27.3% at step 250, 40.3% at 1000, 50.5% at 1750), so the shortfall is
the number of steps (the paper does not say how long it trained).
"""

from experiments.configs import dynamic_skip_number_prediction_11 as base


def get_config():
  return base.number_prediction_config("lstm_number_prediction_11", "lstm", 11,
                                       paper_value=0.704)
