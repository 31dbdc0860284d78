"""Data pipelines: synthetic tasks from the papers and real datasets prepared through tfds.

Importing this package never imports TensorFlow; the real-data loaders import it on first use.

    arrays, info = skipjax.data.load("imdb", "train", max_len=400)
    for batch in skipjax.data.batches(arrays, 32, train=True, seed=0): ...
"""

from skipjax.data import batching
from skipjax.data import datasets
from skipjax.data import files
from skipjax.data import synthetic
from skipjax.data import text
from skipjax.data import vectors
from skipjax.data.batching import Batcher, LMBatcher, batches
from skipjax.data.datasets import (NAMES, DatasetInfo, clear_memo, encode_texts, load,
                                   load_examples, pmnist_permutation)
from skipjax.data.files import DataFileError
from skipjax.data.synthetic import (SyntheticBatches, adding, fixed_set, frequency_discrimination,
                                    number_prediction_jump, number_prediction_pointer,
                                    number_prediction_vocab_size, shard_batch, synthetic_batches,
                                    task_info)
from skipjax.data.text import PAD, UNK, Vocab, pad_or_crop, tokenize
from skipjax.data.vectors import (VectorFileError, WordVectors, embedding_matrix, imdb_word2vec,
                                  load_vectors, save_vectors, train_word2vec)
