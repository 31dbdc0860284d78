"""skipjax: recurrent networks that learn to skip, skim or jump over their input, in JAX.

Modules (each importable on its own):
  cells, recurrence, nn, layers   pure LSTM/GRU cells, scan drivers, Flax wrappers, small layers
  estimators                      straight-through, Gumbel-softmax, REINFORCE, baselines
  classifier                      the plain LSTM/GRU baseline model
  skip_rnn, skim_rnn, lstm_jump, dynamic_skip   the four models
  conlleval                       entity-level F1 for sequence tagging
  train                           train step, optimisers, data parallel, sweeps, loop, checkpoints
  data                            tfds pipelines and synthetic tasks (imports TensorFlow lazily)
  bench, plots, results           benchmarks, plots, result records

Importing skipjax never imports TensorFlow; the data modules import it on first use.
"""

from skipjax import cells
from skipjax import classifier
from skipjax import conlleval
from skipjax import dynamic_skip
from skipjax import estimators
from skipjax import layers
from skipjax import lstm_jump
from skipjax import nn
from skipjax import recurrence
from skipjax import skim_rnn
from skipjax import skip_rnn
from skipjax import validation
from skipjax.cells import (GRUParams, LSTMParams, LSTMState, gru_init, gru_params_from_torch,
                           gru_step, lstm_init, lstm_params_from_torch, lstm_step,
                           lstm_step_stacked, lstm_stack_weights)
from skipjax.recurrence import (gru_layer, lstm_layer, masked_update, reverse_sequences,
                                scan_rnn, sequence_mask)

__version__ = "0.1.0"
