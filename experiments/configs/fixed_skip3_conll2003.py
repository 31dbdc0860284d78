"""Bidirectional LSTM with a fixed skip connection of 3, CoNLL-2003 English NER: the "LSTM, fixed
skip 3" row of Gui et al. (AAAI 2019, sec. 4.3), test entity F1 91.14 (with pretrained word and
character embeddings).

Every step mixes the state of 3 steps back into the previous one, `lam * s_{t-3} + (1 - lam) *
s_{t-1}` (`skipjax.dynamic_skip.fixed_skip_layer`, in each direction), with lam 0.5 as the
dynamic skip tagger (the paper gives none for this row). The rest is `tagger_config`, the
setting of dynamic_skip_conll2003.py: character CNN, 100-d word embeddings from our IMDB
word2vec, softmax output, dev entity F1 picks the checkpoint.

Command:

    python -m experiments.run --config experiments/configs/fixed_skip3_conll2003.py \
        --workdir experiments/workdirs/fixed_skip3_conll2003 --noplot

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md.
"""

from experiments.configs import CONLL_NUM_STEPS, tagger_config


def get_config():
  c = tagger_config("fixed_skip3_conll2003", "fixed_skip_lstm", 0.9114,
                    num_steps=CONLL_NUM_STEPS)
  c.net.fixed_skip = 3
  c.hparams.lam = 0.5
  return c
