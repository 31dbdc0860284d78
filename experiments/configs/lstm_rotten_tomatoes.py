"""Plain LSTM on Rotten Tomatoes: the baseline row of Skim-RNN (Seo et al., 2018), Table 1.

Paper: LSTM d=100, 82.5% test accuracy (their own split; ours is the fixed seeded split of
`skipjax.data.builders.rotten_tomatoes_split`, 8,636 / 960 / 1,066 sentences). Here: the shared
setting of `experiments.configs.sentence_config`: E = d = 100, embeddings: our IMDB word2vec,
dropout 0.3 on the embedded inputs and on the final state (training only), Adam 1e-3 (the paper:
1e-4), clip 1.0, batch 32, sentences cut at 50 tokens, up to 20 epochs (5,400 steps) evaluated
every 135 steps, stopped by Skim-RNN's rule (3,000 steps = 23 evaluations without a better dev
accuracy), the best dev checkpoint tested.

Command:

    python -m experiments.run --config experiments/configs/lstm_rotten_tomatoes.py \
        --workdir experiments/workdirs/lstm_rotten_tomatoes

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(4,320 steps: 79.1% test after 2.4 min, at 4543d3a).
"""

from experiments.configs import sentence_config


def get_config():
  c = sentence_config("lstm_rotten_tomatoes", "lstm", "rotten_tomatoes", 0.825)
  c.net.num_layers = 1
  return c
