"""Plain bidirectional LSTM tagger on CoNLL-2003 English NER: the baseline of
dynamic_skip_conll2003.py, the same size and setting without skip connections.

Paper (Gui et al., AAAI 2019, sec. 4.3): its LSTM row, 91.14 F1, is an LSTM with a fixed skip of
3 using pretrained word and character embeddings, not a plain LSTM, so no paper value is set
here. Model "lstm" on a tagging dataset is `skipjax.dynamic_skip` with plain LSTM layers: the
same code path (embedding, bidirectional stack, dropout, softmax, entity F1) as the skip tagger.
The setting is `experiments.configs.tagger_config`: one bidirectional layer of 200 units
per direction, 100-d word embeddings from scratch, dropout 0.5, softmax output (no CRF, no
character or pretrained embeddings), Adam 1e-3, batch 32, clipping 5, dev entity F1 (eng.testa)
picks the checkpoint, test on eng.testb.

Command:

    python -m experiments.run --config experiments/configs/lstm_conll2003.py \
        --workdir experiments/workdirs/lstm_conll2003 --noplot

Run recorded in experiments/results/lstm_conll2003.json: the command above plus
`--config.progress=False --config.num_steps=2195`, i.e. 5 epochs instead of the config's 9.
Hardware: x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu; pinned to one core with taskset
while the other core ran another job.
Time: 3.3 min of training (2,195 steps = 5 epochs, ~351 sentences/s). Metric reached: test
entity F1 69.9 on eng.testb (precision 75.9, recall 64.8; token accuracy 93.8%), best dev F1
78.8 at step 2,195, the last (dev F1 22.4 at step 219, 64.7 at 657, 76.5 at 1,314: still
rising). No paper value (its 91.14 is a fixed skip of 3 with character and pretrained
embeddings); 4.8 points above the dynamic skip tagger of the same 5 epochs (65.1).
"""

from experiments.configs import CONLL_NUM_STEPS, tagger_config


def get_config():
  return tagger_config("lstm_conll2003", "lstm", None, num_steps=CONLL_NUM_STEPS)
