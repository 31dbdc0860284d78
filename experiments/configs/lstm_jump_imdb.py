"""LSTM-Jump on IMDB (Yu et al., 2017, sec. 4.2): R=20, K=40, N=5 in training.

Paper: 89.4% test accuracy at 1.6x speed-up on GPU (LSTM 89.1%). Here: 128 units, 100-d
embeddings: our IMDB word2vec, dropout 0.3 on the embedded inputs of the chunks read and on the
final state before the classifier (the sampled training loss only; `hparams.dropout`), 4 sampled
trajectories per review, reward normalisation, entropy bonus 0.01, under the shared IMDB protocol
of `experiments.configs.IMDB_PROTOCOL` (15% dev: 21,250 / 3,750 / 25,000; up to 10 epochs =
3,330 steps, evaluated every 166 steps with greedy jumps, stopped after 1,000 steps without a
better dev accuracy, the best dev checkpoint tested). Test with other R/N:
`--config.net.eval_read_size=80 --config.net.eval_num_jumps=8`.

Command:

    python -m experiments.run --config experiments/configs/lstm_jump_imdb.py \
        --workdir experiments/workdirs/lstm_jump_imdb --noplot

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(early-stopped at 2,822 steps: 82.8% test reading 58.0% of the tokens after
40.0 min, at 4543d3a).
"""

from ml_collections import config_dict

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("lstm_jump_imdb", "lstm_jump", "LSTM-Jump (Yu et al., 2017), sec. 4.2 (IMDB)",
                  0.894)
  # Our 100-d skip-gram word2vec on IMDB train + unsup (python -m skipjax.data vectors), trained
  # further with the model; the papers' own vectors (word2vec / GloVe) are not available here.
  c.net.pretrained_embedding = "word2vec_imdb"
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
  c.hparams.dropout = 0.3
  return c
