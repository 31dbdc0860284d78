"""Skip LSTM, lambda=1e-4, on IMDB cropped/padded to 400 tokens: Skip RNN (Campos et al.,
2018), sec. 4 (the paper's IMDB experiment).

Paper: 86.2% test accuracy with 186 of 400 updates (plain LSTM 86.8%): 128 units, dropout 0.2.
Here: a 300-d embedding trained from scratch (no pretrained embeddings), Adam 1e-4, batch 256,
gradient clipping 1.0; all 25k training reviews are used for training and there is no dev split
(IMDB has none, and a contiguous slice of the prepared train split need not be class-balanced):
no model selection, the test metrics are those of the final step. num_steps = 3,000 is ~31
epochs, a budget of ours. Written but not run in the integration session.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_imdb_lam1e4.py \
        --workdir experiments/workdirs/skip_lstm_imdb_lam1e4

Hardware: 2 shared CPU cores. Time: not yet run. Metric reached: not yet run.
"""

from experiments.configs import base_config, text_data


def get_config():
  c = base_config()
  c.experiment = "skip_lstm_imdb_lam1e4"
  c.paper = "Skip RNN (Campos et al., 2018), IMDB, length 400"
  c.paper_value = 0.862
  c.model = "skip_lstm"
  c.net.hidden_dim = 128
  c.net.embed_dim = 300
  c.net.dropout = 0.2
  c.hparams.budget_lambda = 1e-4
  c.dataset = "imdb"
  c.data = text_data(batch_size=256, max_len=400, dev_split=None)
  c.optimizer.learning_rate = 1e-4
  c.optimizer.clip_norm = 1.0
  c.num_steps = 3000
  c.eval_every = 250
  c.checkpoint_every = 500
  return c
