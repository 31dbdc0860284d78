"""LSTM with dynamic skip connections, lam=1 (h~ = h_{t-k}), K=10, number prediction, length 11.

Paper (Gui et al., AAAI 2019, number-prediction table): dev 79.6%, test 80.5% (paper_value).
Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL` (a fixed training set of
100,000 sequences, 10,000 dev and 10,000 test disjoint from it, patience 5 epochs on dev).

Command:

    python -m experiments.run \
        --config experiments/configs/dynamic_skip_lam1_number_prediction_11.py \
        --workdir experiments/workdirs/dynamic_skip_lam1_number_prediction_11

Not yet run with this protocol. Hardware: -. Time: -. Metric reached: -.
The earlier record experiments/results/dynamic_skip_lam1_number_prediction_11.json comes from
the old protocol (an endless stream of fresh examples, no fixed training set), an easier task (a
plain LSTM reaches 94.3% on length 11 in 8,000 steps that way): it is not comparable with the
paper.
"""

from experiments.configs import number_prediction_config


def get_config():
  return number_prediction_config("dynamic_skip_lam1_number_prediction_11",
                                  "dynamic_skip", 11, paper_value=0.805, lam=1.0)
