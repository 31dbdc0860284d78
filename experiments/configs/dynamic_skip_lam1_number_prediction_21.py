"""LSTM with dynamic skip connections, lam=1 (h~ = h_{t-k}), K=10, number prediction, length 21.

Paper (Gui et al., AAAI 2019, number-prediction table): dev 77.6%, test 77.7% (paper_value).
Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL` (a fixed training set of
100,000 sequences, 10,000 dev and 10,000 test disjoint from it, patience 5 epochs on dev).

Command:

    python -m experiments.run \
        --config experiments/configs/dynamic_skip_lam1_number_prediction_21.py \
        --workdir experiments/workdirs/dynamic_skip_lam1_number_prediction_21

Not yet run with this protocol. Hardware: -. Time: -. Metric reached: -.
"""

from experiments.configs import number_prediction_config


def get_config():
  return number_prediction_config("dynamic_skip_lam1_number_prediction_21",
                                  "dynamic_skip", 21, paper_value=0.777, lam=1.0)
