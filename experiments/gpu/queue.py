"""The long rows (issue 13) at the papers' length, for a GPU: `reproduce --queue` of
`experiments/gpu/run_long_rows.sh`.

Each row is the config of the CPU queue's row (`experiments.queue`) trained to the paper's
length: PTB for Zaremba's 39 epochs (51,792 steps of 35 words x 20), sequential MNIST and
frequency discrimination at their configs' 20,000 steps. `sec_per_step` is a guess until a run
measures it (`<root>/gpu/rates.json`). Published with `--platform gpu` as `<name>_gpu.json`.
Every row reads its data with `source='auto'`: the raw files where they are, else splits exported
as NumPy files into the cache dir (`python -m skipjax.data export`), which need no TensorFlow.
"""

from experiments.configs import PTB_STEPS_PER_EPOCH
from experiments.queue import Row

PTB_PAPER_EPOCHS = 39
AUTO = "--config.data.source=auto"


def _ptb(row_id: str, config: str) -> Row:
  name = row_id.rsplit("/", 1)[1]
  return Row(row_id, f"experiments/configs/{config}.py",
             (f"--config.experiment={name}",
              f"--config.num_steps={PTB_PAPER_EPOCHS * PTB_STEPS_PER_EPOCH}",
              f"--config.eval_every={PTB_STEPS_PER_EPOCH}", AUTO), sec_per_step=0.02)


ROWS = (
    _ptb("dynamic_skip/ptb/lstm_ptb_39ep", "lstm_ptb"),
    _ptb("dynamic_skip/ptb/dynamic_skip_ptb_39ep", "dynamic_skip_ptb"),
    Row("skip_rnn/table2/skip_lstm_mnist_lam1e4",
        "experiments/configs/skip_lstm_mnist.py:1e-4", (AUTO,), sec_per_step=0.05),
    Row("skip_rnn/table2/skip_gru_mnist_lam1e4",
        "experiments/configs/skip_gru_mnist.py:1e-4", (AUTO,), sec_per_step=0.05),
    Row("skip_rnn/table4/skip_lstm_frequency_discrimination_t200_lam1e4",
        "experiments/configs/skip_lstm_frequency_discrimination.py:1e-4,steps=200",
        sec_per_step=0.02),
)
