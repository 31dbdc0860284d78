"""LSTM with dynamic skip connections on IMDB (Gui et al., 2019, sec. 4.2): K=3, lam=0.5.

Paper: 90.1% test accuracy (LSTM 89.1%). Here: 128 units, 100-d embeddings from scratch, agent
MLP width 64, entropy weight 0.01, leave-one-out batch reward baseline, under the shared IMDB
protocol of `experiments.configs.IMDB_PROTOCOL` (3 epochs). Plain LSTM: lstm_imdb.py.

Command:

    python -m experiments.run --config experiments/configs/dynamic_skip_imdb.py \
        --workdir experiments/workdirs/dynamic_skip_imdb --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset, the other core busy with
another run). Time: not yet recorded. Metric reached: not yet recorded (see experiments/results/dynamic_skip_imdb.json.).
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("dynamic_skip_imdb", "dynamic_skip",
                  "Dynamic skip (Gui et al., 2019), IMDB", 0.901, epochs=3)
  c.net.embed_dim = 100
  c.net.hidden_dim = 128
  c.net.num_skips = 3
  c.net.agent_dim = 64
  c.hparams.lam = 0.5
  c.hparams.entropy_weight = 0.01
  c.hparams.reinforce_weight = 1.0
  return c
