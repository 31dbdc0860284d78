"""Plain LSTM on the adding task, T=50: the baseline of Skip RNN (Campos et al., 2018), Table 1.

Target: solved, i.e. test MSE < 1/100 of the target variance (1/6/100 ~ 0.0017), with every step
updated. Paper: 110 units, Adam 1e-4, batch 256, gradient clipping 1.0.

Command:

    python -m experiments.run --config experiments/configs/lstm_adding.py \
        --workdir experiments/workdirs/lstm_adding

The run recorded in results/ stopped at step 400 of 20,000 (`--config.num_steps=400
--config.eval_every=100`); a later session continues it with the same command and a larger
num_steps.

Hardware: 2 shared CPU cores (contended). Time: 2.1 min for 400 steps. Metric reached: test MSE
0.0822 (predicting the mean gives 0.167; solved needs < 0.00167): not solved yet.
"""

from experiments.configs import adding_config


def get_config():
  return adding_config("lstm_adding", "lstm", paper_value=None)
