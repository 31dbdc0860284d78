"""Bidirectional LSTM with attention over its last 5 states, CoNLL-2003 English NER: the "LSTM
with attention" row of Gui et al. (AAAI 2019, sec. 4.3), test entity F1 91.23 (with pretrained
word and character embeddings).

At every step a soft attention over the last K=5 states (`skipjax.dynamic_skip.
attention_skip_layer`, in each direction; agent MLP width 64) replaces the dynamic tagger's
sampled choice, mixed into the previous state with lam 0.5 as the dynamic skip tagger (the paper
describes this baseline no further). The rest is `tagger_config`, the setting of
dynamic_skip_conll2003.py: character CNN, 100-d word embeddings from our IMDB word2vec, softmax
output, dev entity F1 picks the checkpoint.

Command:

    python -m experiments.run --config experiments/configs/attention_skip_conll2003.py \
        --workdir experiments/workdirs/attention_skip_conll2003 --noplot

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md.
"""

from experiments.configs import CONLL_NUM_STEPS, tagger_config


def get_config():
  c = tagger_config("attention_skip_conll2003", "attention_skip_lstm", 0.9123,
                    num_steps=CONLL_NUM_STEPS)
  c.net.num_skips = 5
  c.net.agent_dim = 64
  c.hparams.lam = 0.5
  return c
