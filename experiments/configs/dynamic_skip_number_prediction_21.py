"""LSTM with dynamic skip connections, lam=0.5, K=10, number prediction, length 21.

Paper (Gui et al., AAAI 2019, number-prediction table): dev 87.7%, test 88.5% (paper_value).
Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL` (a fixed training set of
100,000 sequences, 10,000 dev and 10,000 test disjoint from it, patience 5 epochs on dev).

Command:

    python -m experiments.run \
        --config experiments/configs/dynamic_skip_number_prediction_21.py \
        --workdir experiments/workdirs/dynamic_skip_number_prediction_21

Run with this protocol at 2c08942 (2026-12-04/05, `experiments.reproduce`, over one restart:
it resumed from its step-45,000 checkpoint). Hardware: 2-core x86_64 CPU, the run pinned to one
core, one XLA thread. Time: 134.8 min summed (92,000 steps, early-stopped; best dev 97.7% at
step 87,000). Metric reached: test 97.5% (experiments/results/
dynamic_skip_number_prediction_21.json); the agent stayed near uniform (see results_notes.md).
"""

from experiments.configs import number_prediction_config


def get_config():
  return number_prediction_config("dynamic_skip_number_prediction_21",
                                  "dynamic_skip", 21, paper_value=0.885, lam=0.5)
