"""Plain LSTM on IMDB: the baseline of the *_imdb runs (Skip RNN, Skim-RNN, LSTM-Jump, dynamic
skip), reading all 400 tokens.

Papers: 86.8% (Campos et al., 128 units), 91.1% (Seo et al., d=100, GloVe), 89.1% (Gui et al.),
LSTM-Jump's LSTM 89.1% (Yu et al.). Here: 128 units, 100-d embeddings from scratch, no dropout,
under the shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (3 epochs).

Command:

    python -m experiments.run --config experiments/configs/lstm_imdb.py \
        --workdir experiments/workdirs/lstm_imdb --noplot

Run recorded in experiments/results/lstm_imdb.json: the command above plus
`--config.progress=False`.
Hardware: x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu; pinned to one core with taskset
while the other core ran another job.
Time: 33.9 min of training (1,056 steps = 3 epochs, ~33 examples/s). Metric reached: test
accuracy 85.8% on the 25,000 test reviews (best dev 87.6% at step 880, the checkpoint tested).
Dev accuracy rose from 80.4% (step 176) to 87.2% (step 528), peaked at step 880 and fell to 87.0%
at step 1,056 as the dev loss rose from 0.31 to 0.38 (overfitting in the third epoch). Papers:
1.0 point below Campos et al.'s 86.8%, 5.3 below Seo et al.'s 91.1% (GloVe), 3.3 below the 89.1%
of Gui et al. / Yu et al.; no dropout, no pretrained embeddings, 3 epochs only.
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("lstm_imdb", "lstm", "IMDB (length 400), all papers", 0.868, epochs=3)
  c.net.embed_dim = 100
  c.net.hidden_dim = 128
  c.net.num_layers = 1
  return c
