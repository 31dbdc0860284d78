"""Skim-LSTM on IMDB: Skim-RNN (Seo et al., 2018), Table 2, d=100, d'=10, gamma=0.01.

Paper: 91.2% test accuracy at 83.9% skim rate, 5.8x FLOP reduction, 2.3x CPU speed-up (LSTM
91.1%), with GloVe embeddings. Here: 100-d embeddings from scratch, hard decisions at
p_read >= 0.5 in evaluation, under the shared IMDB protocol of
`experiments.configs.IMDB_PROTOCOL` (3 epochs). Plain LSTM of the protocol: lstm_imdb.py (128
units). Threshold trade-off: `python -m experiments.skim_tradeoff --workdir
experiments/workdirs/skim_lstm_imdb --baseline experiments/results/lstm_imdb.json`.

Command:

    python -m experiments.run --config experiments/configs/skim_lstm_imdb.py \
        --workdir experiments/workdirs/skim_lstm_imdb --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset, the other core busy with
another run). Time: not yet recorded. Metric reached: not yet recorded (see experiments/results/skim_lstm_imdb.json.).
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("skim_lstm_imdb", "skim_lstm", "Skim-RNN (Seo et al., 2018), Table 2 (IMDB)",
                  0.912, epochs=3)
  c.net.embed_dim = 100
  c.net.hidden_dim = 100
  c.net.small_dim = 10
  c.net.eval_threshold = 0.5
  c.hparams.skim_gamma = 0.01
  return c
