"""skipjax: recurrent networks that learn to skip, skim or jump over their input, in JAX.

Importing skipjax never imports TensorFlow; the data modules import it on first use.
"""

from skipjax import cells
from skipjax import estimators
from skipjax import recurrence
from skipjax import validation
from skipjax.cells import (GRUParams, LSTMParams, LSTMState, gru_init, gru_params_from_torch,
                           gru_step, lstm_init, lstm_params_from_torch, lstm_step)
from skipjax.recurrence import (gru_layer, lstm_layer, masked_update, reverse_sequences,
                                scan_rnn, sequence_mask)

__version__ = "0.1.0"
