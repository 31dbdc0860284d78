"""Skim-LSTM on SST-2 (sentence-level binary SST): Skim-RNN (Seo et al., 2018), Table 1, d=100,
d'=10, gamma=0.01.

Paper: 85.8% test accuracy, 61.1% skim rate, 2.5x FLOP reduction, 1.5x CPU speed-up (LSTM 86.4%),
on the SST test set (1,821 sentences). Here: the paper's split from the SST trees (`sst2_trees`,
neutral dropped): 6,920 / 872 / 1,821 train / dev / test sentences. Otherwise as
experiments/configs/skim_lstm_rotten_tomatoes.py (`experiments.configs.sentence_config`: dropout
0.3 on the embedded inputs and on the final state in training, Adam 1e-3, clip 1.0, batch 32, no
GloVe yet, up to 20 epochs = 4,340 steps evaluated every 108, stopped after 3,000 steps without a
better dev accuracy as in the paper); hard decisions at p_read >= 0.5 in evaluation. The plain
LSTM of the same setting is experiments/configs/lstm_sst2.py. Threshold sweep: `python -m
experiments.tradeoff --workdir experiments/workdirs/skim_lstm_sst2 --baseline
experiments/results/lstm_sst2.json`.

Command:

    python -m experiments.run --config experiments/configs/skim_lstm_sst2.py \
        --workdir experiments/workdirs/skim_lstm_sst2 --config.progress=False

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(83.7% test at 51.5% skim, 3,564 steps, 4.4 min).
"""

from experiments.configs import sentence_config


def get_config():
  c = sentence_config("skim_lstm_sst2", "skim_lstm", "sst2_trees", 0.858)
  c.net.small_dim = 10
  c.net.eval_threshold = 0.5
  c.hparams.skim_gamma = 0.01
  return c
