"""Penn Treebank language model, plain two-layer LSTM: the baseline of `dynamic_skip_ptb.py`.

Gui et al. (2019), sec. 4.4: test perplexity 82.7 for the "medium regularised LSTM" of Zaremba
et al. (2014): 2 x 650 units, dropout 0.5, BPTT 35, batch 20, SGD lr 1 (x0.8 per epoch after
epoch 6), clip 5, U(-0.05, 0.05) init, 39 epochs. The setting, deviations and budget (1 epoch,
1,328 steps) are those of `dynamic_skip_ptb.py`; the model runs through the same code path
(`skipjax.dynamic_skip` with every layer a plain LSTM, the registry's "lstm" on a language-model
dataset), so only the second layer differs.

Command:

    python -m experiments.run --config experiments/configs/lstm_ptb.py \
        --workdir experiments/workdirs/lstm_ptb --noplot

Hardware: x86_64, 2 CPU cores (the run pinned to one with taskset, the other core busy with
another run). Time: measured before queueing, pinned to a core shared with another training run:
1.48 s of CPU time per step (2.9 s wall while sharing the core), a dev evaluation about 50 s of
CPU, test about 55 s: 1 epoch takes about 33 min on a core of its own plus about 3 min of
evaluation. Metric reached: not yet recorded (see experiments/results/lstm_ptb.json).
"""

from experiments.configs import dynamic_skip_ptb as base


def get_config():
  return base.ptb_config("lstm_ptb", "lstm", paper_value=82.7)
