"""Bag-of-words baseline on Rotten Tomatoes: the mean of the word embeddings, then a linear layer.

The cheap non-recurrent baseline of /work/shared/docs/PAPERS.md ("Measuring speed honestly"),
`skipjax.bag_of_words`, in the setting of lstm_rotten_tomatoes.py (the fixed seeded 8,636 / 960
/ 1,066 split, 100-d embeddings from scratch, Adam 1e-3, batch 32, 4 epochs, best dev
checkpoint), with dropout 0.5 on the pooled features. Not in the papers' tables.

Command:

    python -m experiments.run --config experiments/configs/bag_of_words_rotten_tomatoes.py \
        --workdir experiments/workdirs/bag_of_words_rotten_tomatoes --noplot

Run recorded in experiments/results/bag_of_words_rotten_tomatoes.json: the command above plus
`--config.progress=False`.
Hardware: x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu; pinned to one core with taskset
while the other core ran another job.
Time: 0.52 min of training (1,080 steps = 4 epochs, ~1,110 examples/s). Metric reached: test
accuracy 75.7% on 1,066 sentences (best dev 77.8% at step 1,080, the last: dev accuracy rose
from 65.7% at step 135 and was still rising). No paper value; 2.2 points above our plain LSTM
(lstm_rotten_tomatoes.py, 73.5%).
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
