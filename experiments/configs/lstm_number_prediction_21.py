"""Plain LSTM on Gui et al.'s number prediction, length 21: the table's LSTM row.

Paper (Gui et al., AAAI 2019, number-prediction table): dev 26.2%, test 26.4% (paper_value).
Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL` (a fixed training set of
100,000 sequences, 10,000 dev and 10,000 test disjoint from it, patience 5 epochs on dev).

Command:

    python -m experiments.run \
        --config experiments/configs/lstm_number_prediction_21.py \
        --workdir experiments/workdirs/lstm_number_prediction_21

Not yet run with this protocol. Hardware: -. Time: -. Metric reached: -.
The earlier record experiments/results/lstm_number_prediction_21.json comes from the old
protocol (an endless stream of fresh examples, no fixed training set), an easier task (a plain
LSTM reaches 94.3% on length 11 in 8,000 steps that way): it is not comparable with the paper.
"""

from experiments.configs import number_prediction_config


def get_config():
  return number_prediction_config("lstm_number_prediction_21",
                                  "lstm", 21, paper_value=0.264)
