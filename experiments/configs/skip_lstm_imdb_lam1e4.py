"""Skip LSTM, lambda=1e-4, on IMDB cropped/padded to 400 tokens: Skip RNN (Campos et al.,
2018), sec. 4 (the paper's IMDB experiment).

Paper: 86.2% test accuracy with 186 of 400 updates (plain LSTM 86.8%): 128 units, dropout 0.2,
pretrained embeddings, Adam 1e-4. Here: 128 units, dropout 0.2, 300-d embeddings trained from
scratch, under the shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (Adam 1e-3, batch
64, 3 epochs: a CPU budget of ours). The plain LSTM of the same protocol: lstm_imdb.py.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_imdb_lam1e4.py \
        --workdir experiments/workdirs/skip_lstm_imdb_lam1e4 --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset, the other core busy with
another run). Time: not yet recorded. Metric reached: not yet recorded (see experiments/results/skip_lstm_imdb_lam1e4.json.).
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("skip_lstm_imdb_lam1e4", "skip_lstm",
                  "Skip RNN (Campos et al., 2018), IMDB, length 400", 0.862, epochs=3)
  c.net.hidden_dim = 128
  c.net.embed_dim = 300
  c.net.dropout = 0.2
  c.hparams.budget_lambda = 1e-4
  return c
