"""LSTM with dynamic skip connections on IMDB (Gui et al., 2019, sec. 4.2): K=3, lam=0.5.

Paper: 90.1% test accuracy (LSTM 89.1%). Here: 128 units, 100-d embeddings: our IMDB word2vec,
agent MLP width 64, entropy weight 0.01, leave-one-out batch reward baseline, dropout 0.3 on the
embedded inputs and on the final state (training only; `hparams.dropout`, the `dynamic_skip`
rule), under the shared IMDB protocol of `experiments.configs.IMDB_PROTOCOL` (15% dev: 21,250 /
3,750 / 25,000; up to 10 epochs = 3,330 steps, evaluated every 166 steps with the greedy agent,
stopped after 1,000 steps without a better dev accuracy, the best dev checkpoint tested). Plain
LSTM: lstm_imdb.py.

Command:

    python -m experiments.run --config experiments/configs/dynamic_skip_imdb.py \
        --workdir experiments/workdirs/dynamic_skip_imdb --noplot

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(3,330 steps: 86.3% test after 50.3 min, at fd64619).
"""

from experiments.configs import imdb_config


def get_config():
  c = imdb_config("dynamic_skip_imdb", "dynamic_skip",
                  "Dynamic skip (Gui et al., 2019), IMDB", 0.901)
  # Our 100-d skip-gram word2vec on IMDB train + unsup (python -m skipjax.data vectors), trained
  # further with the model; the papers' own vectors (word2vec / GloVe) are not available here.
  c.net.pretrained_embedding = "word2vec_imdb"
  c.net.embed_dim = 100
  c.net.hidden_dim = 128
  c.net.num_skips = 3
  c.net.agent_dim = 64
  c.hparams.lam = 0.5
  c.hparams.entropy_weight = 0.01
  c.hparams.reinforce_weight = 1.0
  c.hparams.dropout = 0.3
  return c
