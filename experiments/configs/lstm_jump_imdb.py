"""LSTM-Jump on IMDB (Yu et al., 2017, sec. 4.2): R=20, K=40, N=5 in training.

Paper: 89.4% test accuracy at 1.6x speed-up on GPU (LSTM 89.1%). Here: 128 units, 100-d
embeddings from scratch, 4 sampled trajectories per review, reward normalisation, entropy bonus
0.01, under the shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (3 epochs). Test
with other R/N: `--config.net.eval_read_size=80 --config.net.eval_num_jumps=8`.

Command:

    python -m experiments.run --config experiments/configs/lstm_jump_imdb.py \
        --workdir experiments/workdirs/lstm_jump_imdb --noplot

Run recorded in experiments/results/lstm_jump_imdb.json: the command above plus
`--config.progress=False`.
Hardware: x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu; pinned to one core with taskset
while the other core ran another job.
Time: 39.7 min of training (1,056 steps = 3 epochs, ~28 examples/s). Metric reached: test
accuracy 80.8% on 25,000 reviews (best dev 84.2% at step 880, the checkpoint tested) reading
51.6% of the tokens (4.4 jumps per review, R=20, N=5); batch-1 CPU speed-up 2.51x over a plain
LSTM of the same weights (`speedup_batch1`, experiments.jump_tradeoff on a paused core). Dev
accuracy: 80.4% (step 176), 83.2-83.8% (352-704), 84.2% (880), 81.2% (1,056). Paper: 89.4% at
1.6x: 8.6 points short; our plain LSTM (lstm_imdb.py) 85.8%.
"""

from ml_collections import config_dict

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("lstm_jump_imdb", "lstm_jump", "LSTM-Jump (Yu et al., 2017), sec. 4.2 (IMDB)",
                  0.894, epochs=3)
  c.net.embed_dim = 100
  c.net.hidden_dim = 128
  c.net.max_jump = 40         # K
  c.net.read_size = 20        # R
  c.net.num_jumps = 5         # N
  c.net.eval_read_size = config_dict.placeholder(int)
  c.net.eval_num_jumps = config_dict.placeholder(int)
  c.net.num_samples = 4
  c.net.normalize_rewards = True
  c.hparams.entropy_beta = 0.01
  return c
