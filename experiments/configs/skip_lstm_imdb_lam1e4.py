"""Skip LSTM, lambda=1e-4, on IMDB cropped/padded to 400 tokens: Skip RNN (Campos et al.,
2018), sec. 4 (the paper's IMDB experiment).

Paper: 86.2% test accuracy with 186 of 400 updates (plain LSTM 86.8%): 128 units, dropout 0.2,
pretrained embeddings, Adam 1e-4. Here: 128 units, dropout 0.2, 300-d embeddings trained from
scratch, under the shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (Adam 1e-3, batch
64, 3 epochs: a CPU budget of ours). The plain LSTM of the same protocol: lstm_imdb.py.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_imdb_lam1e4.py \
        --workdir experiments/workdirs/skip_lstm_imdb_lam1e4 --noplot

Run recorded in experiments/results/skip_lstm_imdb_lam1e4.json: the command above plus
`--config.progress=False --config.num_steps=704`, i.e. 2 epochs instead of the config's 3.
Hardware: x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu; pinned to one core with taskset
while the other core ran another job.
Time: 15.6 min of training (704 steps = 2 epochs, ~48 examples/s). Metric reached: test accuracy
86.3% on 25,000 reviews (best dev 88.6% at step 704, the last, still rising: 81.6%, 86.0%, 87.5%
at steps 176/352/528) with 61.2% of the steps updated (135.6 updates per review on average).
Paper: 86.2% with 186 of 400 updates (46.5%): accuracy matched (+0.1 point), but 14.7 points
more of the steps updated. Our plain LSTM (lstm_imdb.py, 3 epochs): 85.8%.
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
