"""LSTM with dynamic skip connections, lam=0.5, K=10, number prediction, length 11.

Paper (Gui et al., AAAI 2019, number-prediction table): dev 90.4%, test 90.5% (paper_value).
Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL` (a fixed training set of
100,000 sequences, 10,000 dev and 10,000 test disjoint from it, patience 5 epochs on dev).

Command:

    python -m experiments.run \
        --config experiments/configs/dynamic_skip_number_prediction_11.py \
        --workdir experiments/workdirs/dynamic_skip_number_prediction_11

Run with this protocol at 2c08942 (2026-12-04, `experiments.reproduce`). Hardware: 2-core
x86_64 CPU, the run pinned to one core, one XLA thread. Time: 63.3 min (77,000 steps,
early-stopped; best dev 96.8% at step 72,000). Metric reached: test 96.7% (experiments/results/
dynamic_skip_number_prediction_11.json); the agent stayed uniform (see results_notes.md).
"""

from experiments.configs import number_prediction_config


def get_config():
  return number_prediction_config("dynamic_skip_number_prediction_11",
                                  "dynamic_skip", 11, paper_value=0.905, lam=0.5)
