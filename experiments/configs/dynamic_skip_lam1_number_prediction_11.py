"""LSTM with dynamic skip connections, lam=1 (h~ = h_{t-k}), K=10, number prediction, length 11.

Paper (Gui et al., AAAI 2019, number-prediction table): dev 79.6%, test 80.5% (paper_value).
Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL` (a fixed training set of
100,000 sequences, 10,000 dev and 10,000 test disjoint from it, patience 5 epochs on dev).

Command:

    python -m experiments.run \
        --config experiments/configs/dynamic_skip_lam1_number_prediction_11.py \
        --workdir experiments/workdirs/dynamic_skip_lam1_number_prediction_11

Run with this protocol at 682bd88 (2026-12-04, `experiments.reproduce`). Hardware: 2-core
x86_64 CPU, the run pinned to one core, one XLA thread. Time: 19.2 min (17,000 steps, early-stopped;
best dev 90.4% at step 12,000). Metric reached: test 90.7% (experiments/results/
dynamic_skip_lam1_number_prediction_11.json); the agent stayed uniform (see results_notes.md).
"""

from experiments.configs import number_prediction_config


def get_config():
  return number_prediction_config("dynamic_skip_lam1_number_prediction_11",
                                  "dynamic_skip", 11, paper_value=0.805, lam=1.0)
