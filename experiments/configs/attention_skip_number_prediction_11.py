"""LSTM attending over its last K=10 states (lam=0.5), number prediction, length 11: the soft,
differentiable baseline of Gui et al. (AAAI 2019) (`skipjax.dynamic_skip.attention_skip_layer`).
The paper gives no number-prediction figure for it; the rest as in
`dynamic_skip_number_prediction_11.py`.

Command:

    python -m experiments.run \
        --config experiments/configs/attention_skip_number_prediction_11.py \
        --workdir experiments/workdirs/attention_skip_number_prediction_11 --noplot

Run recorded in experiments/results/attention_skip_number_prediction_11.json: the command above
plus `--config.progress=False`.
Hardware: x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu; pinned to one core with taskset
while the other core ran another job.
Time: 7.7 min of training (2,000 steps = 200,000 fresh examples, ~434 examples/s). Metric
reached: test accuracy 100.0% on 10,000 examples (best dev 100.0% at step 2,000; dev 29.1% at
step 250, 69.8% at 1,000, 98.6% at 1,250). Every step is read (fraction computed 1.0). No paper
figure; in the same 2,000 steps the dynamic skip LSTM reached 99.91%, the plain LSTM 51.9% and
the fixed skip of 3 46.3%.
"""

from experiments.configs import dynamic_skip_number_prediction_11 as base


def get_config():
  return base.number_prediction_config("attention_skip_number_prediction_11",
                                       "attention_skip_lstm", 11, paper_value=None, lam=0.5)
