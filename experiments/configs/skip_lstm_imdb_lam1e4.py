"""Skip LSTM, lambda=1e-4, on IMDB cropped/padded to 400 tokens: Skip RNN (Campos et al.,
2018), sec. 4 (the paper's IMDB experiment).

Paper: 86.2% test accuracy with 186 of 400 updates (plain LSTM 86.8%): 128 units, 300-d word2vec
initialisation, dropout 0.2, 15% of the training reviews as validation, Adam 1e-4. Here: 128
units, 100-d embeddings initialised with our IMDB word2vec (not the paper's 300-d vectors),
dropout 0.2 on the embedded inputs and on the final state (training only; `hparams.dropout`),
under the shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (Adam 1e-3, batch 64;
the paper's 15% dev split: 21,250 / 3,750 / 25,000; up to 10 epochs = 3,330 steps, evaluated every 166 steps, stopped after 1,000
steps without a better dev accuracy, the best dev checkpoint tested). The plain LSTM of the same
protocol: lstm_imdb.py.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_imdb_lam1e4.py \
        --workdir experiments/workdirs/skip_lstm_imdb_lam1e4 --noplot

Hardware: not yet run with this setting (the earlier run, 2 epochs with a 10% dev split and
`net.dropout=0.2`, is in git history and experiments/results/skip_lstm_imdb_lam1e4.json).
Time: not yet run with this setting.
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("skip_lstm_imdb_lam1e4", "skip_lstm",
                  "Skip RNN (Campos et al., 2018), IMDB, length 400", 0.862)
  c.net.hidden_dim = 128
  # Our 100-d skip-gram word2vec on IMDB train + unsup (python -m skipjax.data vectors), trained
  # further with the model; the papers' own vectors (word2vec / GloVe) are not available here.
  c.net.pretrained_embedding = "word2vec_imdb"
  c.net.embed_dim = 100   # the paper's 300-d word2vec is not available; ours is 100-d
  c.hparams.dropout = 0.2
  c.hparams.budget_lambda = 1e-4
  return c
