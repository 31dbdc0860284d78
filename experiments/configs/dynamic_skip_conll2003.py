"""Bidirectional LSTM with dynamic skip connections, CoNLL-2003 English NER (Gui et al., AAAI
2019, sec. 4.3).

Paper: test F1 91.56 (LSTM row 91.14, a fixed skip of 3), from a tagger with pretrained word
embeddings and character embeddings. PAPERS.md gives no K, lam or hidden size for this task; we
take K=5 and lam=0.5 (between the paper's other settings: K=10 / 3 / 5, lam=0.5 / 0.5 / 1) and
hidden 200 per direction (the number-prediction size).

Setting (`experiments.configs.tagger_config`, shared with the plain bi-LSTM baseline
lstm_conll2003.py, the fixed skip 3 row fixed_skip3_conll2003.py and the attention row
attention_skip_conll2003.py): one bidirectional layer, 100-d word embeddings on the lower-cased
words the loader gives (words seen once in train map to <unk>, so <unk> is trained), initialised
with our IMDB word2vec (`python -m skipjax.data vectors`; words without a vector keep a random
init) and trained further, concatenated with a character CNN's 30 features per word (Ma & Hovy
2016: 30-d character embeddings, 30 filters of width 3, max-pooled; the characters keep their
case; `config.data.char_len` = 64), dropout 0.5 on these inputs and on the softmax layer's input,
a per-token softmax over the 9 IOB1 tags, agent MLP width 64, entropy weight 1 on the per-step
entropies summed over each sentence and direction (the paper's objective J2 = E[R] + H(pi(a_1:T))
at weight 1, as the number-prediction rows: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL`),
leave-one-out batch reward baseline; Adam 1e-3, batch 32, gradient clipping 5. Train = eng.train
(14,041 sentences, 439 steps per epoch), dev = eng.testa (checkpoint and early-stopping metric:
dev entity F1), test = eng.testb (best-dev checkpoint). F1 is entity-level with the conlleval
rules (a chunk is correct when its type, start and end match), computed from chunk counts
summed over the whole split (`skipjax.conlleval.chunk_counts`), reported as a fraction. Batches are
bucketed by length (boundaries 16/32/64/128).

Deviations from the paper: our IMDB word2vec instead of GloVe (other text, lower-cased), no CRF
(softmax output, argmax tags, which may be invalid IOB; conlleval reads them leniently), so
expect a lower F1 than 91.56.

Command:

    python -m experiments.run --config experiments/configs/dynamic_skip_conll2003.py \
        --workdir experiments/workdirs/dynamic_skip_conll2003 --noplot

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md (before the
character CNN, at fd64619: 3,951 steps = 9 epochs, test entity F1 69.6 after 10.3 min; the plain
bi-LSTM 73.4; entropy weight 0.01 then).
"""

from experiments.configs import CONLL_NUM_STEPS, tagger_config


def get_config():
  c = tagger_config("dynamic_skip_conll2003", "dynamic_skip", 0.9156, num_steps=CONLL_NUM_STEPS)
  c.net.num_skips = 5
  c.net.agent_dim = 64
  c.hparams.lam = 0.5
  c.hparams.entropy_weight = 1.0  # the paper's J2 (see GUI_NUMBER_PREDICTION_PROTOCOL)
  c.hparams.reinforce_weight = 1.0
  return c
