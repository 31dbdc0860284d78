"""LSTM with dynamic skip connections, lam=0.5, K=10, on number prediction, length 21.

Gui et al. (AAAI 2019), section 4.1: test accuracy 88.5% (dev 87.7%) against 26.4% for a plain
LSTM; hidden 200, K=10, Adam 1e-3, batch 100. The rest as in
`dynamic_skip_number_prediction_11.py`.

Command:

    python -m experiments.run --config experiments/configs/dynamic_skip_number_prediction_21.py \
        --workdir experiments/workdirs/dynamic_skip_number_prediction_21

Hardware: 2 shared CPU cores (contended; ~425 examples/s). Time: 7.8 min of training for the
full 2,000 steps (run first with `--config.num_steps=1000`, then continued with the command
above). Metric reached: test accuracy 31.9% (10,000 examples; best dev 31.75% at step 2000), far
below the paper's 88.5%: still climbing slowly when stopped (dev 18.95% at step 250, 24.1% at
1000, 29.65% at 1750), unlike length 11, where lam=0.5 passed 90% dev at step 1000. More steps
are needed (raise --config.num_steps to continue); the paper does not say how long it trained.
"""

from experiments.configs import dynamic_skip_number_prediction_11 as base


def get_config():
  return base.number_prediction_config("dynamic_skip_number_prediction_21", "dynamic_skip", 21,
                                       paper_value=0.885, lam=0.5)
