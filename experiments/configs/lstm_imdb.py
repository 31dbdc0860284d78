"""Plain LSTM on IMDB: the baseline of the *_imdb runs (Skip RNN, Skim-RNN, LSTM-Jump, dynamic
skip), reading all 400 tokens.

Papers: 86.8% (Campos et al., 128 units, dropout 0.2, word2vec), 91.1% (Seo et al., d=100,
GloVe), 89.1% (Gui et al.), LSTM-Jump's LSTM 89.1% (Yu et al.). Here: 128 units, 100-d embeddings
initialised with our IMDB word2vec and trained with the model, dropout 0.3 on the embedded inputs and on the final state (training only;
`hparams.dropout`), under the shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL`: 15% of
the training reviews as dev (21,250 / 3,750 / 25,000), up to 10 epochs (3,330 steps), evaluated
every 166 steps, stopped after 1,000 steps (7 evaluations) without a better dev accuracy, the best
dev checkpoint tested. (An earlier LSTM of this shape with word2vec initialisation and dropout 0.3
on the embeddings and the final state reached 88.1% in 6 epochs, 85.6% without dropout.)

Command:

    python -m experiments.run --config experiments/configs/lstm_imdb.py \
        --workdir experiments/workdirs/lstm_imdb --noplot

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(3,330 steps: 87.1% test after 45.7 min, at c175a8f).
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("lstm_imdb", "lstm", "IMDB (length 400), all papers", 0.868)
  # Our 100-d skip-gram word2vec on IMDB train + unsup (python -m skipjax.data vectors), trained
  # further with the model; the papers' own vectors (word2vec / GloVe) are not available here.
  c.net.pretrained_embedding = "word2vec_imdb"
  c.net.embed_dim = 100
  c.net.hidden_dim = 128
  c.net.num_layers = 1
  c.hparams.dropout = 0.3
  return c
