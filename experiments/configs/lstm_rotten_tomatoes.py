"""Plain LSTM on Rotten Tomatoes: the baseline row of Skim-RNN (Seo et al., 2018), Table 1.

Paper: LSTM d=100, 82.5% test accuracy (their own split; ours is the fixed seeded split of
`skipjax.data.builders.rotten_tomatoes_split`, 8,636 / 960 / 1,066 sentences). Adam 1e-4, batch 32 in the paper; we use 1e-3 so
that a short CPU run converges.

Command (the short CPU run of experiments/README.md, with the defaults below):

    python -m experiments.run --config experiments/configs/lstm_rotten_tomatoes.py \
        --config.num_steps=1080 --workdir experiments/workdirs/lstm_rotten_tomatoes

Hardware: x86_64, 2 CPU cores shared with ~7 other jobs (load average ~15), jax 0.10.2 CPU.
Time: 3.1 min of training (1,080 steps = 4 epochs, ~190 examples/s, contended) plus ~75 s of data
loading. Metric reached: test accuracy 73.5% (best dev 76.2% at step 1080; paper 82.5%). The
model overfits after the first epoch (dev loss rises from step 270): no dropout and no pretrained
embeddings here, unlike the paper.
"""

from experiments.configs import sentence_config


def get_config():
  c = sentence_config("lstm_rotten_tomatoes", "lstm", "rotten_tomatoes", 0.825)
  c.net.num_layers = 1
  return c
