"""LSTM with dynamic skip connections, lam=0.5, K=10, on number prediction, length 21.

Gui et al. (AAAI 2019), section 4.1: test accuracy 88.5% (dev 87.7%) against 26.4% for a plain
LSTM; hidden 200, K=10, Adam 1e-3, batch 100. The rest as in
`dynamic_skip_number_prediction_11.py`.

Command:

    python -m experiments.run --config experiments/configs/dynamic_skip_number_prediction_21.py \
        --workdir experiments/workdirs/dynamic_skip_number_prediction_21

Hardware: 2 shared CPU cores (contended). Time: not yet run. Metric reached: not yet run.
"""

from experiments.configs import dynamic_skip_number_prediction_11 as base


def get_config():
  return base.number_prediction_config("dynamic_skip_number_prediction_21", "dynamic_skip", 21,
                                       paper_value=0.885, lam=0.5)
