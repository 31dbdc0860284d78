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

Run recorded in experiments/results/skim_lstm_imdb.json: the command above plus
`--config.progress=False --config.num_steps=704`, i.e. 2 epochs instead of the config's 3.
Hardware: x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu; pinned to one core with taskset
while the other core ran another job.
Time: 19.6 min of training (704 steps = 2 epochs, ~38 examples/s). Metric reached: test accuracy
65.5% on 25,000 reviews at threshold 0.5 (best dev 67.5% at step 176, the first evaluation and
the checkpoint tested), skim rate 55.9% (fraction computed 44.1%), analytic FLOP reduction 1.78x;
batch-1 CPU speed-up 1.75x over a plain LSTM of the same weights (`speedup_batch1`, measured
later with experiments.skim_tradeoff on a paused core). After step 176 the hard-decision dev
accuracy fell to 54.6-57.4% while the skim rate rose to 96% (see skim_lstm_imdb_st.py). Paper:
91.2% at 83.9% skim, 5.8x FLOPs, 2.3x speed-up: 25.7 points short. Our plain LSTM: 85.8%.
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
