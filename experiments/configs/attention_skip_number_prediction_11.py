"""LSTM with attention over its last K=10 states, number prediction, length 11: the table's
"LSTM with attention" row.

Paper (Gui et al., AAAI 2019, number-prediction table): dev 71.3%, test 72.5% (paper_value).
Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL` (a fixed training set of
100,000 sequences, 10,000 dev and 10,000 test disjoint from it, patience 5 epochs on dev).
`skipjax.dynamic_skip.attention_skip_layer`: h~ = lam sum_k alpha_k h_{t-k} + (1 - lam) h_{t-1}
with alpha a softmax over the last K=10 states; the paper does not specify its attention
baseline further, so lam=0.5 (the dynamic-skip row's) is our choice.

Command:

    python -m experiments.run \
        --config experiments/configs/attention_skip_number_prediction_11.py \
        --workdir experiments/workdirs/attention_skip_number_prediction_11

Not yet run with this protocol. Hardware: -. Time: -. Metric reached: -.
The earlier record experiments/results/attention_skip_number_prediction_11.json comes from the
old protocol (an endless stream of fresh examples, no fixed training set), an easier task (a
plain LSTM reaches 94.3% on length 11 in 8,000 steps that way): it is not comparable with the
paper.
"""

from experiments.configs import number_prediction_config


def get_config():
  return number_prediction_config("attention_skip_number_prediction_11",
                                  "attention_skip_lstm", 11, paper_value=0.725, lam=0.5)
