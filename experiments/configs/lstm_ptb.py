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

Run recorded in experiments/results/lstm_ptb.json: the command above plus
`--config.progress=False --config.num_steps=664 --config.eval_every=332`, i.e. half an epoch
instead of the config's 1 (dev evaluated twice).
Hardware: x86_64 Linux, 2 CPU cores visible, jax 0.10.2 on cpu; pinned to one core with taskset
while the other core ran another job.
Time: 17.2 min of training (664 steps = 0.5 epoch, ~12.8 windows of 35 words/s). Metric
reached: test perplexity 280.6 (82,429 words; best dev 288.3 at step 664, the last: dev 463.0 at
step 332, still falling fast). Paper: 82.7 after 39 epochs: 3.4x higher after 1/78 of its
training. The dynamic skip model of the same half epoch (dynamic_skip_ptb.py): 294.8.
"""

from experiments.configs import ptb_config


def get_config():
  return ptb_config("lstm_ptb", "lstm", paper_value=82.7)
