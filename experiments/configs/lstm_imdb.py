"""Plain LSTM on IMDB: the baseline of the *_imdb runs (Skip RNN, Skim-RNN, LSTM-Jump, dynamic
skip), reading all 400 tokens.

Papers: 86.8% (Campos et al., 128 units), 91.1% (Seo et al., d=100, GloVe), 89.1% (Gui et al.),
LSTM-Jump's LSTM 89.1% (Yu et al.). Here: 128 units, 100-d embeddings from scratch, no dropout,
under the shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (3 epochs).

Command:

    python -m experiments.run --config experiments/configs/lstm_imdb.py \
        --workdir experiments/workdirs/lstm_imdb --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset, the other core busy with
another run). Time: not yet recorded. Metric reached: not yet recorded (see experiments/results/lstm_imdb.json and RESULTS.md.).
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("lstm_imdb", "lstm", "IMDB (length 400), all papers", 0.868, epochs=3)
  c.net.embed_dim = 100
  c.net.hidden_dim = 128
  c.net.num_layers = 1
  return c
