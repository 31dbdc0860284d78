"""Data pipelines: synthetic tasks from the papers and real datasets prepared through tfds.

Importing this package never imports TensorFlow; the real-data loaders import it on first use.
"""

from skipjax.data import synthetic
from skipjax.data.synthetic import (SyntheticBatches, adding, fixed_set, frequency_discrimination,
                                    number_prediction_jump, number_prediction_pointer,
                                    number_prediction_vocab_size, shard_batch, synthetic_batches,
                                    task_info)
