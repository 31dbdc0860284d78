"""Plain LSTM on SST-2 (GLUE): the baseline row of Skim-RNN (Seo et al., 2018), Table 1, d=100.

Paper: 86.4% test accuracy on the SST test set (1,821 sentences). Here: the GLUE copy
(`sst2_glue`), whose test labels are hidden, so we train on its 67,349 training phrases and test
on its labelled validation set (the 872 SST-2 dev sentences), with no dev split and no model
selection: the test metrics are those of the final step. The same setting as
experiments/configs/skim_lstm_sst2.py (Adam 1e-3, clip 1.0, batch 32, no dropout, no GloVe).

Command (the run recorded in experiments/results/lstm_sst2.json):

    python -m experiments.run --config experiments/configs/lstm_sst2.py \
        --workdir experiments/workdirs/lstm_sst2 --config.progress=False

Hardware: x86_64, 2 CPU cores shared with other jobs (timings provisional), jax 0.10.2 CPU. Time:
3.9 min of training (3,000 steps = 1.4 epochs, ~410 examples/s) plus the data loading. Metric
reached: accuracy 82.1% on the 872 GLUE validation sentences (paper 86.4% on the SST test set).
Shortfalls: 1.4 epochs only (stopped at the step budget), no dropout, no GloVe, lr 1e-3.
"""

from experiments.configs import sentence_config


def get_config():
  c = sentence_config("lstm_sst2", "lstm", "sst2_glue", 0.864)
  c.net.num_layers = 1
  return c
