"""Bag-of-words baseline on Rotten Tomatoes: the mean of the word embeddings, then a linear layer.

The cheap non-recurrent baseline of /work/shared/docs/PAPERS.md ("Measuring speed honestly"),
`skipjax.bag_of_words`, in the setting of lstm_rotten_tomatoes.py (the fixed seeded 8,636 / 960
/ 1,066 split, 100-d embeddings from scratch, Adam 1e-3, batch 32, 4 epochs, best dev
checkpoint), with dropout 0.5 on the pooled features. Not in the papers' tables.

Command:

    python -m experiments.run --config experiments/configs/bag_of_words_rotten_tomatoes.py \
        --workdir experiments/workdirs/bag_of_words_rotten_tomatoes --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset). Time: not yet recorded.
Metric reached: not yet recorded (see experiments/results/bag_of_words_rotten_tomatoes.json).
"""

from experiments.configs import base_config, text_data


def get_config():
  c = base_config()
  c.experiment = "bag_of_words_rotten_tomatoes"
  c.paper = "Skim-RNN (Seo et al., 2018), Table 1"
  c.model = "bag_of_words"
  c.net.embed_dim = 100
  c.hparams.dropout = 0.5
  c.dataset = "rotten_tomatoes"
  c.data = text_data(batch_size=32, max_len=50)
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  c.num_steps = 1080      # 4 epochs of 8,636 training sentences
  c.eval_every = 135
  return c
