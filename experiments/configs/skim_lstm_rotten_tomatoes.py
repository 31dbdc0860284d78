"""Skim-LSTM on Rotten Tomatoes: Skim-RNN (Seo et al., 2018), Table 1, d=100, d'=10, gamma=0.01.

Paper: 82.5% test accuracy, 58.5% skim rate, 2.4x FLOP reduction, 1.4x CPU speed-up at batch 1
(LSTM 82.5%). Our split is the fixed seeded one of `skipjax.data.builders.rotten_tomatoes_split`
(8,636 / 960 / 1,066 sentences). Same setting as the plain-LSTM run
(experiments/configs/lstm_rotten_tomatoes.py, `experiments.configs.sentence_config`: dropout 0.3
on the embedded inputs and on the final state in training, Adam 1e-3 instead of the paper's 1e-4,
clip 1.0, batch 32, max_len 50, no GloVe yet, up to 20 epochs = 5,400 steps evaluated every 135,
stopped after 3,000 steps without a better dev accuracy as in the paper). Evaluation uses hard
decisions at p_read >= 0.5 (`experiments/build_skim_rnn.py`); the Gumbel temperature follows the
paper, `max(0.5, exp(-1e-4 step))`.

Command:

    python -m experiments.run --config experiments/configs/skim_lstm_rotten_tomatoes.py \
        --workdir experiments/workdirs/skim_lstm_rotten_tomatoes --config.progress=False

Threshold sweep (accuracy vs FLOP reduction on test, from the best checkpoint; writes
experiments/plots/skim_lstm_rotten_tomatoes_tradeoff.{json,png}):

    python -m experiments.tradeoff --workdir experiments/workdirs/skim_lstm_rotten_tomatoes

Variants: `--config.experiment=skim_lstm_rotten_tomatoes_dX_gY --config.net.small_dim=X
--config.hparams.skim_gamma=Y` with the workdir experiments/workdirs/skim_lstm_rotten_tomatoes_dX_gY.

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(77.3% test at 60.7% skim, early-stopped at 3,645 steps, 4.7 min).
"""

from experiments.configs import sentence_config


def get_config():
  c = sentence_config("skim_lstm_rotten_tomatoes", "skim_lstm", "rotten_tomatoes", 0.825)
  c.net.small_dim = 10
  c.net.eval_threshold = 0.5
  c.hparams.skim_gamma = 0.01
  return c
