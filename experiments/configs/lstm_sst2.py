"""Plain LSTM on SST-2 (sentence-level binary SST): the baseline row of Skim-RNN (Seo et al.,
2018), Table 1, d=100.

Paper: 86.4% test accuracy on the SST test set (1,821 sentences). Here: the paper's split, built
from the SST trees (`sst2_trees`: root labels, neutral dropped, {0, 1} -> negative, {3, 4} ->
positive): 6,920 training, 872 dev and 1,821 test sentences (sentences only, no phrases). The
shared setting of `experiments.configs.sentence_config`: E = d = 100, embeddings trained from
scratch, dropout 0.3 on the embedded inputs and on the final state (training only), Adam 1e-3
(the paper: 1e-4), clip 1.0, batch 32, up to 20 epochs (4,340 steps) evaluated every 108 steps,
stopped by Skim-RNN's rule (3,000 steps = 28 evaluations without a better dev accuracy), the best
dev checkpoint tested on the 1,821 test sentences. The same setting as
experiments/configs/skim_lstm_sst2.py.

Command:

    python -m experiments.run --config experiments/configs/lstm_sst2.py \
        --workdir experiments/workdirs/lstm_sst2 --config.progress=False

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(3,564 steps: 84.6% test after 2.1 min, at 4543d3a).
"""

from experiments.configs import sentence_config


def get_config():
  c = sentence_config("lstm_sst2", "lstm", "sst2_trees", 0.864)
  c.net.num_layers = 1
  return c
