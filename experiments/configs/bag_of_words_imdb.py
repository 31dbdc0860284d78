"""Bag-of-words baseline on IMDB: the mean of the word embeddings, then a linear layer.

The cheap non-recurrent baseline that /work/shared/docs/PAPERS.md ("Measuring speed honestly")
asks for next to the skipping models (`skipjax.bag_of_words`; unigrams only, no n-grams). Not in
the papers' tables. 100-d embeddings from scratch, dropout 0.5 on the pooled features, under the
shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (15% dev, early stopping after 1,000
steps without a better dev accuracy), 3 epochs.

Command:

    python -m experiments.run --config experiments/configs/bag_of_words_imdb.py \
        --workdir experiments/workdirs/bag_of_words_imdb --noplot

Hardware: not yet run with this setting. The run recorded in
experiments/results/bag_of_words_imdb.json used the earlier 10% dev split (22,500 training
reviews), no early stopping, on x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu, pinned to
one core with taskset while the other core ran another job.
Time: that run took 0.92 min of training (1,056 steps = 3 epochs, ~1,220 examples/s) and reached
test accuracy 87.8% on 25,000 reviews (best dev 89.7% at step 1,056, the last). No paper value.
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("bag_of_words_imdb", "bag_of_words", "IMDB (length 400), all papers", None,
                  epochs=3)
  c.net.embed_dim = 100
  c.hparams.dropout = 0.5
  return c
