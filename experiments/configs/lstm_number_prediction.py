"""Plain LSTM on number prediction, T=50: the baseline of LSTM-Jump (Yu et al., 2017, sec. 4.1).

Same data, embedding (64) and LSTM (128 units) as `lstm_jump_number_prediction.py`, reading all 50
tokens: it must keep the pointer x_0 and pick out the digit at that position as it passes. Data
protocol: `NUMBER_PREDICTION_JUMP_PROTOCOL` below (a fixed training set of 1,000,000 sequences,
10,000 dev and 10,000 test disjoint from it). Adam 1e-3, gradient clipping 1.0, batch 64.

Command:

    python -m experiments.run --config experiments/configs/lstm_number_prediction.py \
        --workdir experiments/workdirs/lstm_number_prediction

Not yet run with this protocol. Hardware: -. Time: -. Metric reached: -. The earlier record
experiments/results/lstm_number_prediction.json (16.5% test after 5,000 steps) comes from the old
protocol: an endless stream of fresh examples, 1,024 dev and 4,096 test sequences.
"""

from experiments.configs import experiment_config, synthetic_data

LENGTH = 50

NUMBER_PREDICTION_JUMP_PROTOCOL = """LSTM-Jump's number prediction (Yu, Lee, Le, ACL 2017, sec. 4.1;
PAPERS.md section 3 records only the rule): x_0 is a position, x_1..x_{T-1} are digits, the label
is x_{x_0} (`skipjax.data.synthetic.number_prediction_jump`). As we read the paper (sec. 4.1 and
its Table 1; not recorded in PAPERS.md, so check there before quoting): 1,000,000 training and
10,000 validation sequences of length T=100 with 1 <= x_0 < T, a vocabulary of 100 ids (the
positions 1..99, the digits sharing ids 0..9), training by a curriculum over lengths
10, 20, ..., 100 until validation accuracy passes 98%, 10,000 test sequences at each of T = 10,
100 and 1000; one LSTM layer of 512 units, embeddings of 32, batch 100, no dropout. Here: the same
rule at T=50 (vocabulary max(10, T) = 50 ids), without a curriculum (the runner has none; at T=50
LSTM-Jump learns without one), a fixed, finite training set of 1,000,000 sequences (the paper's
size) served in epochs and reshuffled each epoch, 10,000 dev and 10,000 test sequences, none of
them in train or in the other split (`synthetic.finite_splits`; at T=50 a collision is
practically impossible, but it would be rejected), data_seed 0 (both configs see the same data).
The paper's accuracies are at T=10/100/1000, so paper_value is unset."""


def number_prediction_jump_config(experiment: str, model: str):
  """The shared setting of the T=50 number-prediction configs (NUMBER_PREDICTION_JUMP_PROTOCOL):
  embedding 64, LSTM 128 units, Adam 1e-3, gradient clipping 1.0, batch 64. The caller sets the
  schedule (num_steps, eval_every)."""
  c = experiment_config(experiment, model,
                        "LSTM-Jump (Yu et al., 2017), sec. 4.1 (number prediction; T=50 here)")
  c.net.embed_dim = 64
  c.net.hidden_dim = 128
  c.dataset = "number_prediction_jump"
  c.data = synthetic_data(batch_size=64, dev_examples=10000, test_examples=10000, length=LENGTH)
  c.data.eval_batch_size = 500
  c.data.train_examples = 1000000
  c.data.data_seed = 0
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  return c


def get_config():
  c = number_prediction_jump_config("lstm_number_prediction", "lstm")
  c.num_steps = 5000
  c.eval_every = 500
  return c
