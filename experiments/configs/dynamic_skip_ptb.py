"""Penn Treebank language model with a dynamic-skip second layer (Gui et al., 2019, sec. 4.4).

Paper setting: the "medium regularised LSTM" of Zaremba et al. (2014), 2 layers x 650 units,
650-d embeddings, dropout 0.5 on the non-recurrent connections, BPTT 35, batch 20, SGD with
learning rate 1 (x0.8 per epoch after epoch 6), gradient norm clipped at 5, every parameter
initialised U(-0.05, 0.05), 39 epochs; the second layer is the dynamic-skip LSTM with K=5 and
lam=1. Test perplexity 78.5 (the plain two-layer LSTM of `lstm_ptb.py`: 82.7).

Here the same model (`experiments.registry` "ptb": Mikolov's 10k vocabulary, <eos> after every
line; the state carried across consecutive batches and across the windows of dev/test, from
zeros at the start of every pass). Chosen here (not in the paper): agent MLP width 64, entropy
weight 0.01, REINFORCE with the leave-one-out batch baseline on the reward-to-go of p(gold word).
Deviations: dev and test are read as 20 parallel streams (batch 20, each row starting from a zero
state) instead of Zaremba's single stream; and the budget: 1 epoch (1,328 steps) instead of 39,
so the learning rate never decays and the perplexity is far from converged. The loss is
Zaremba's: the NLL summed over the 35 steps of a window and averaged over the 20 rows
(`hparams.sum_over_time`; with the per-token mean, lr 1 learns 35x too slowly). The schedule
is in place for longer runs: a run resumes from its workdir with a larger `--config.num_steps`
(51,792 is the full 39 epochs). Dev evaluation every half epoch; test on the best-dev checkpoint.

Command:

    python -m experiments.run --config experiments/configs/dynamic_skip_ptb.py \
        --workdir experiments/workdirs/dynamic_skip_ptb --noplot

Hardware: 2-core x86_64 CPU, a run pinned to one core. Time: experiments/RESULTS.md
(the recorded run is half an epoch: test perplexity 294.8 after 17.1 min; at 1.55 s per step
the 39 epochs would take about 22 h here).
"""

from experiments.configs import ptb_config


def get_config():
  return ptb_config("dynamic_skip_ptb", "dynamic_skip", paper_value=78.5)
