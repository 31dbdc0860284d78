"""LSTM with a FIXED skip connection of 3 (lam=0.5), number prediction, length 11: Gui et al.'s
"LSTM + fixed skip" baseline (`skipjax.dynamic_skip.fixed_skip_layer`: the agent's choice
replaced by k=3 at every step). The paper's number-prediction table has no fixed-skip row (it
reports fixed skips for IMDB, PTB and CoNLL), so paper_value is unset; an ablation of ours.
Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL`.

Command:

    python -m experiments.run --config experiments/configs/fixed_skip3_number_prediction_11.py \
        --workdir experiments/workdirs/fixed_skip3_number_prediction_11

Not yet run with this protocol. Hardware: -. Time: -. Metric reached: -. The earlier record
experiments/results/fixed_skip3_number_prediction_11.json comes from the old protocol (an endless
stream of fresh examples, no fixed training set): not comparable.
"""

from experiments.configs import number_prediction_config


def get_config():
  c = number_prediction_config("fixed_skip3_number_prediction_11", "fixed_skip_lstm", 11,
                               paper_value=None, lam=0.5)
  c.net.fixed_skip = 3
  return c
