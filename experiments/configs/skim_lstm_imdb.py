"""Skim-LSTM on IMDB: Skim-RNN (Seo et al., 2018), Table 2, d=100, d'=10, gamma=0.01. The
argument picks the estimator: none (the paper's soft Gumbel-softmax mixture) or `st`, the
straight-through Gumbel-softmax (`hparams.gumbel_hard=1`, experiment skim_lstm_imdb_st): training's
forward pass then takes the sampled hard read/skim decision, as inference does (with the soft
mixture and a short budget the temperature stays near 1 and a model can learn a blend that hard
decisions never produce: experiments/results_notes.md).

Paper: 91.2% test accuracy at 83.9% skim rate, 5.8x FLOP reduction, 2.3x CPU speed-up (LSTM
91.1%), with GloVe embeddings, early stopping after 3,000 steps without a better dev score. Here:
100-d embeddings: our IMDB word2vec, dropout 0.3 on the embedded inputs and on the final state
(training only; `hparams.dropout`), hard decisions at p_read >= 0.5 in evaluation, under the
shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (Skip RNN's 15% dev split, 21,250 /
3,750 / 25,000, not the paper's 21,143 / 3,857; up to 10 epochs = 3,330 steps, evaluated every
166 steps) with the paper's stopping rule: 3,000 steps (19 evaluations) without a better dev
accuracy. Within 10 epochs that rule rarely stops a run: the best dev checkpoint is tested. Plain
LSTM of the protocol: lstm_imdb.py (128 units). Threshold trade-off: `python -m
experiments.tradeoff --workdir experiments/workdirs/skim_lstm_imdb --baseline
experiments/results/lstm_imdb.json`.

Command:

    python -m experiments.run --config experiments/configs/skim_lstm_imdb.py \
        --workdir experiments/workdirs/skim_lstm_imdb --noplot

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(3,330 steps: 86.3% test at 92.6% skim after 45.5 min, measured batch-1 speed-up 1.76x).
"""

from experiments.configs import SKIM_RNN_PATIENCE_STEPS, imdb_config


ESTIMATORS = {"": ("skim_lstm_imdb", 0.0), "st": ("skim_lstm_imdb_st", 1.0)}


def get_config(arg: str | None = None):
  if (arg or "") not in ESTIMATORS:
    raise ValueError(f"skim_lstm_imdb.py:{arg}: the argument is the estimator, one of "
                     "'' (the soft mixture) or 'st' (straight-through)")
  experiment, gumbel_hard = ESTIMATORS[arg or ""]
  c = imdb_config(experiment, "skim_lstm", "Skim-RNN (Seo et al., 2018), Table 2 (IMDB)",
                  0.912, patience_steps=SKIM_RNN_PATIENCE_STEPS)
  # Our 100-d skip-gram word2vec on IMDB train + unsup (python -m skipjax.data vectors), trained
  # further with the model; the papers' own vectors (word2vec / GloVe) are not available here.
  c.net.pretrained_embedding = "word2vec_imdb"
  c.net.embed_dim = 100
  c.net.hidden_dim = 100
  c.net.small_dim = 10
  c.net.eval_threshold = 0.5
  c.hparams.skim_gamma = 0.01
  c.hparams.dropout = 0.3
  if gumbel_hard:
    c.hparams.gumbel_hard = gumbel_hard
  return c
