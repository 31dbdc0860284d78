"""LSTM-Jump on Rotten Tomatoes (Yu et al., 2017, sec. 4.2): 79.3% test accuracy at 1.6x.

R/K/N: the paper's IMDB setting R=20, K=40, N=5 reads 20-token chunks of ~240-token reviews and
can cover (N+1)R + N(K-1) = 315 tokens. Rotten Tomatoes sentences have ~21 tokens (at most 50
here), so we scale it down: R=3, K=6, N=5 (train and test), which reads at most 18 tokens (most
of an average sentence if it never skips) and covers up to 18 + 5*5 = 43 tokens with the largest
jumps, i.e. nearly the whole max_len of 50. Set `--config.net.eval_read_size` /
`--config.net.eval_num_jumps` to test with other R/N. Same LSTM and schedule as the plain baseline
(`lstm_rotten_tomatoes.py`, `experiments.configs.sentence_config`: E = H = 100, dropout 0.3 on the
embedded inputs of the chunks read and on the final state in the sampled training loss, Adam
1e-3, batch 32, up to 20 epochs = 5,400 steps evaluated every 135 with greedy jumps, stopped
after 3,000 steps without a better dev accuracy, the best dev checkpoint tested); 4 sampled
trajectories per example, reward normalisation and a small entropy bonus against the variance of
REINFORCE. Split: the fixed seeded 8,636 / 960 / 1,066 split of `skipjax.data` (not the paper's).

Command:

    python -m experiments.run --config experiments/configs/lstm_jump_rotten_tomatoes.py \
        --workdir experiments/workdirs/lstm_jump_rotten_tomatoes

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(3,780 steps: 76.2% test reading 75.8%, measured batch-1 speed-up 0.89x, 6.0 min,
at 4171e06).
"""

from experiments.configs import lstm_jump_net, sentence_config


def get_config():
  c = sentence_config("lstm_jump_rotten_tomatoes", "lstm_jump", "rotten_tomatoes", 0.793,
                      paper="LSTM-Jump (Yu et al., 2017), sec. 4.2 (Rotten Tomatoes)")
  c.net.update(lstm_jump_net(max_jump=6, read_size=3, num_jumps=5))
  c.hparams.entropy_beta = 0.01
  return c
