"""Plain LSTM on number prediction, T=50: the baseline of LSTM-Jump (Yu et al., 2017, sec. 4.1).

Same data, embedding (64) and LSTM (128 units) as `lstm_jump_number_prediction.py`, reading all 50
tokens: it must keep the pointer x_0 and pick out the digit at that position as it passes. The
paper runs lengths 10, 100 and 1000, not 50. Adam 1e-3, batch 64.

Command:

    python -m experiments.run --config experiments/configs/lstm_number_prediction.py \
        --workdir experiments/workdirs/lstm_number_prediction

Hardware: x86_64, 2 CPU cores shared with other jobs (load average ~9), jax 0.10.2 CPU.
Time: 10.7 min of training for 5,000 of 5,000 steps (~500 examples/s, contended; started with
num_steps=8000, stopped at step ~680, lowered to 5000 to fit the time slot and resumed from the
step-500 checkpoint with the command above). Metric reached: test accuracy 16.5% on 4,096
sequences (best dev 18.0% at step 2500; chance is 10%), every token read. The LSTM has not found
the counting solution in 5,000 steps (dev accuracy 16-18% from step 1000 on), while LSTM-Jump
reaches 98.3% in 3,000 steps (2.2 min) reading 4% of the tokens
(`lstm_jump_number_prediction.py`). It would need far longer training or tuning (none
was done). (Run with `--noplot` added.)
Curves: experiments/plots/lstm_jump_number_prediction_curves.png.
"""

from experiments.configs import experiment_config, synthetic_data

LENGTH = 50


def number_prediction_jump_config(experiment: str, model: str):
  """The shared setting of the T=50 number-prediction configs (LSTM-Jump, Yu et al., 2017, sec.
  4.1, at a length the paper does not run, so no paper_value): embedding 64, LSTM 128 units, Adam
  1e-3, gradient clipping 1.0, batch 64, 1,024 dev and 4,096 test sequences. The caller sets the
  schedule (num_steps, eval_every)."""
  c = experiment_config(experiment, model,
                        "LSTM-Jump (Yu et al., 2017), sec. 4.1 (number prediction; T=50 here)")
  c.net.embed_dim = 64
  c.net.hidden_dim = 128
  c.dataset = "number_prediction_jump"
  c.data = synthetic_data(batch_size=64, dev_examples=1024, test_examples=4096, length=LENGTH)
  c.optimizer.learning_rate = 1e-3
  c.optimizer.clip_norm = 1.0
  return c


def get_config():
  c = number_prediction_jump_config("lstm_number_prediction", "lstm")
  c.num_steps = 5000
  c.eval_every = 500
  return c
