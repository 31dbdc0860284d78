"""Skip LSTM on IMDB cropped/padded to 400 tokens: Skip RNN (Campos et al., 2018), Table 5. The
argument is the budget lambda (default 1e-4); the experiment is named skip_lstm_imdb_lam<lambda>.

Paper (length 400): 86.5% / 86.2% / 83.6% test accuracy with 380.6 / 186.3 / 84.2 of 400 updates
at lambda 1e-5 / 1e-4 / 1e-3 (plain LSTM 86.8%): 128 units, 300-d word2vec initialisation,
dropout 0.2, 15% of the training reviews as validation, Adam 1e-4. Here: 128 units, 100-d
embeddings initialised with our IMDB word2vec (not the paper's 300-d vectors), dropout 0.2 on the
embedded inputs and on the final state (training only; `hparams.dropout`), under the shared IMDB
protocol of `experiments.configs.IMDB_PROTOCOL` (Adam 1e-3, batch 64, the paper's 15% dev split,
up to 10 epochs, stopped after 1,000 steps without a better dev accuracy, the best dev checkpoint
tested). The plain LSTM of the same protocol: lstm_imdb.py.

Command:

    python -m experiments.run --config experiments/configs/skip_lstm_imdb.py:1e-4 \
        --workdir experiments/workdirs/skip_lstm_imdb_lam1e4 --noplot

Hardware: x86_64, 2 CPU cores, a run pinned to one. Time: its row of experiments/RESULTS.md (lambda
1e-4: 86.6% test with 54.5% of the steps updated, 3,330 steps, 68.7 min on one core of a 2-core
x86_64 CPU).
"""

from experiments.configs import budget_lambda_arg
from experiments.configs import imdb_config

# Table 5, length 400: test accuracy per budget lambda.
PAPER_VALUES = {1e-5: 0.865, 1e-4: 0.862, 1e-3: 0.836}


def get_config(arg: str | None = None):
  budget_lambda, tag = budget_lambda_arg(arg, 1e-4, __file__.rsplit("/", 1)[-1])
  c = imdb_config(f"skip_lstm_imdb_lam{tag}", "skip_lstm",
                  "Skip RNN (Campos et al., 2018), IMDB, length 400",
                  PAPER_VALUES.get(budget_lambda))
  c.net.hidden_dim = 128
  # Our 100-d skip-gram word2vec on IMDB train + unsup (python -m skipjax.data vectors), trained
  # further with the model; the papers' own vectors (word2vec / GloVe) are not available here.
  c.net.pretrained_embedding = "word2vec_imdb"
  c.net.embed_dim = 100   # the paper's 300-d word2vec is not available; ours is 100-d
  c.hparams.dropout = 0.2
  c.hparams.budget_lambda = budget_lambda
  return c
