"""Plain bidirectional LSTM tagger on CoNLL-2003 English NER: the baseline of
dynamic_skip_conll2003.py, the same size and setting without skip connections.

Paper (Gui et al., AAAI 2019, sec. 4.3): its LSTM row, 91.14 F1, is an LSTM with a fixed skip of
3 using pretrained word and character embeddings, not a plain LSTM, so no paper value is set
here. Model "lstm" on a tagging dataset is `skipjax.dynamic_skip` with plain LSTM layers: the
same code path (embedding, bidirectional stack, dropout, softmax, entity F1) as the skip tagger.
The setting is `tagger_config` of dynamic_skip_conll2003.py: one bidirectional layer of 200 units
per direction, 100-d word embeddings from scratch, dropout 0.5, softmax output (no CRF, no
character or pretrained embeddings), Adam 1e-3, batch 32, clipping 5, dev entity F1 (eng.testa)
picks the checkpoint, test on eng.testb.

Command:

    python -m experiments.run --config experiments/configs/lstm_conll2003.py \
        --workdir experiments/workdirs/lstm_conll2003 --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset, the other core busy with
another run). Time: the same 9 epochs (3,951 steps) as the skip tagger; measured on the contended
machine ~0.18 s per training step once compiled, ~8.3 s per dev evaluation, so ~17 minutes.
Metric reached: not yet recorded (see experiments/results/lstm_conll2003.json).
"""

from experiments.configs import dynamic_skip_conll2003 as base


def get_config():
  return base.tagger_config("lstm_conll2003", "lstm", None, num_steps=base.NUM_STEPS)
