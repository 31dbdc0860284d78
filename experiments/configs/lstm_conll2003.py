"""Plain bidirectional LSTM tagger on CoNLL-2003 English NER: the baseline of
dynamic_skip_conll2003.py, the same size and setting without skip connections.

Paper (Gui et al., AAAI 2019, sec. 4.3): its LSTM row, 91.14 F1, is an LSTM with a fixed skip of
3 using pretrained word and character embeddings, not a plain LSTM, so no paper value is set
here. Model "lstm" on a tagging dataset is `skipjax.dynamic_skip` with plain LSTM layers: the
same code path (embedding, bidirectional stack, dropout, softmax, entity F1) as the skip tagger.
The setting is `experiments.configs.tagger_config`: one bidirectional layer of 200 units
per direction, 100-d word embeddings initialised with our IMDB word2vec and a character CNN (30
features per word), dropout 0.5, softmax output (no CRF), Adam 1e-3, batch 32, clipping 5,
dev entity F1 (eng.testa) picks the checkpoint, test on eng.testb.

Command:

    python -m experiments.run --config experiments/configs/lstm_conll2003.py \
        --workdir experiments/workdirs/lstm_conll2003 --noplot

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md (before the
character CNN, at fd64619: 3,951 steps, test entity F1 73.4 after 5.3 min).
"""

from experiments.configs import CONLL_NUM_STEPS, tagger_config


def get_config():
  return tagger_config("lstm_conll2003", "lstm", None, num_steps=CONLL_NUM_STEPS)
