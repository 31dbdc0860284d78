"""Bag-of-words baseline on IMDB: the mean of the word embeddings, then a linear layer.

The cheap non-recurrent baseline that /work/shared/docs/PAPERS.md ("Measuring speed honestly")
asks for next to the skipping models (`skipjax.bag_of_words`; unigrams only, no n-grams). Not in
the papers' tables. 100-d embeddings from scratch, dropout 0.5 on the pooled features, under the
shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (3 epochs), like lstm_imdb.py.

Command:

    python -m experiments.run --config experiments/configs/bag_of_words_imdb.py \
        --workdir experiments/workdirs/bag_of_words_imdb --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset, the other core busy with
another run). Time: not yet recorded. Metric reached: not yet recorded (see
experiments/results/bag_of_words_imdb.json).
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("bag_of_words_imdb", "bag_of_words", "IMDB (length 400), all papers", None,
                  epochs=3)
  c.net.embed_dim = 100
  c.hparams.dropout = 0.5
  return c
