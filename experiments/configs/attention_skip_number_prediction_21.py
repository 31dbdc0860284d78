"""LSTM with attention over its last K=10 states, number prediction, length 21: the table's
"LSTM with attention" row.

Paper (Gui et al., AAAI 2019, number-prediction table): dev 26.7%, test 26.9% (paper_value).
Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL` (a fixed training set of
100,000 sequences, 10,000 dev and 10,000 test disjoint from it, patience 5 epochs on dev).
`skipjax.dynamic_skip.attention_skip_layer`: h~ = lam sum_k alpha_k h_{t-k} + (1 - lam) h_{t-1}
with alpha a softmax over the last K=10 states; the paper does not specify its attention
baseline further, so lam=0.5 (the dynamic-skip row's) is our choice.

Command:

    python -m experiments.run \
        --config experiments/configs/attention_skip_number_prediction_21.py \
        --workdir experiments/workdirs/attention_skip_number_prediction_21

Not yet run with this protocol. Hardware: -. Time: -. Metric reached: -.
"""

from experiments.configs import number_prediction_config


def get_config():
  return number_prediction_config("attention_skip_number_prediction_21",
                                  "attention_skip_lstm", 21, paper_value=0.269, lam=0.5)
