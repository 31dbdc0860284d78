"""Pretrained word vectors for every model builder with a token embedding.

`registry.MODELS` wraps each builder with `with_pretrained`, which reads these `config.net`
fields (absent means the default) and passes the others on to the builder:

- `pretrained_embedding`: None (default: the model's own random init), "word2vec_imdb" (skip-gram
  word2vec trained on the IMDB train + unsup reviews, of dimension `embed_dim`, cached; see
  `skipjax.data.vectors.imdb_word2vec`) or the path of a GloVe / word2vec text or binary file.
- `pretrained_format`: "auto" (default), "glove", "word2vec_text" or "word2vec_binary".
- `freeze_embedding`: False (default) trains the initialised table; True keeps it fixed (its
  gradient is stopped in the training loss, so it gets none; `experiments.run` rejects a
  weight decay, which would still move it).

The vocabulary comes from the dataset (`DataSpec.vocab`); words without a vector keep the model's
random init (so do the pad and unk rows), and the coverage is printed. A vector dimension other
than `config.net.embed_dim` raises an error naming both.
"""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from experiments import model_api

FIELDS = ("pretrained_embedding", "pretrained_format", "freeze_embedding")


def get_embedding(params: Any) -> jax.Array | None:
  """The token embedding table [V, E] of a model's parameters, or None if it has none.

  The model families keep it as the `embedding` field of their parameter NamedTuple
  (classifier, skip_rnn, skim_rnn, lstm_jump, bag_of_words) or as params['embed']
  (dynamic_skip)."""
  if isinstance(params, dict):
    return params.get("embed")
  return getattr(params, "embedding", None)


def set_embedding(params: Any, table: jax.Array) -> Any:
  """A copy of `params` with the token embedding table replaced by `table`."""
  if get_embedding(params) is None:
    raise ValueError("the model has no token embedding")
  if isinstance(params, dict):
    return {**params, "embed": table}
  return params._replace(embedding=table)


def freeze_embedding_loss(loss_fn: Callable[..., Any]) -> Callable[..., Any]:
  """`loss_fn` with the gradient of the embedding table stopped: the optimiser sees a zero
  gradient for it (Adam, SGD and RMSProp then leave it unchanged; a weight decay would not)."""

  @functools.wraps(loss_fn)
  def frozen(params, *args, **kwargs):
    return loss_fn(set_embedding(params, jax.lax.stop_gradient(get_embedding(params))), *args,
                   **kwargs)

  return frozen


def with_pretrained(builder: Callable[..., Any], name: str = "") -> Callable[..., Any]:
  """Wraps a registry builder `(key, net, spec) -> Model` to honour the `FIELDS` of config.net."""

  @functools.wraps(builder)
  def build(key: jax.Array, net: Any, spec: Any) -> Any:
    kwargs = model_api.net_kwargs(net)
    source = kwargs.pop("pretrained_embedding", None)
    file_format = kwargs.pop("pretrained_format", None) or "auto"
    freeze = kwargs.pop("freeze_embedding", False)
    check_fields(source, file_format, freeze, spec)
    model = builder(key, kwargs, spec)
    if source is None:
      return model
    return apply_pretrained(model, spec, source, file_format=file_format, freeze=freeze,
                            what=f"model {name!r}" if name else "the model")

  return build


def check_fields(source: Any, file_format: Any, freeze: Any, spec: Any) -> None:
  """The checks of the FIELDS that need no model (run before building it; spec None: those that
  need no dataset either)."""
  from skipjax.data import vectors as vectors_lib  # pylint: disable=g-import-not-at-top
  if not isinstance(freeze, bool):
    raise ValueError(f"config.net.freeze_embedding must be True or False, got {freeze!r}")
  if file_format not in vectors_lib.FORMATS:
    raise ValueError(f"config.net.pretrained_format must be one of {vectors_lib.FORMATS}, got "
                     f"{file_format!r}")
  if source is None:
    if freeze:
      raise ValueError("config.net.freeze_embedding=True freezes a pretrained embedding: set "
                       "config.net.pretrained_embedding")
    return
  if not isinstance(source, str) or not source:
    raise ValueError(f"config.net.pretrained_embedding must be {vectors_lib.IMDB_WORD2VEC!r} or "
                     f"the path of a GloVe / word2vec file, got {source!r}")
  if spec is not None and getattr(spec, "vocab", None) is None and spec.vocab_size is not None:
    raise ValueError(f"config.net.pretrained_embedding={source!r}: the dataset gives no word "
                     "vocabulary to look the vectors up with (DataSpec.vocab is None)")


def apply_pretrained(model: Any, spec: Any, source: str, *, file_format: str = "auto",
                     freeze: bool = False, what: str = "the model",
                     log: Callable[[str], None] | None = None) -> Any:
  """`model` (a `model_api.Model`) with its embedding initialised from the vectors `source`."""
  from skipjax.data import vectors as vectors_lib  # pylint: disable=g-import-not-at-top
  log = log or (lambda m: print(m, file=sys.stderr, flush=True))
  field = "config.net.pretrained_embedding"
  table = get_embedding(model.params)
  if table is None:
    raise ValueError(f"{field}={source!r}: {what} has no token embedding on this dataset "
                     f"(task {spec.task!r}, input_dim {spec.input_dim})")
  vocab = getattr(spec, "vocab", None)
  if vocab is None:
    raise ValueError(f"{field}={source!r}: the dataset gives no word vocabulary to look the "
                     "vectors up with (DataSpec.vocab is None)")
  if table.shape[0] != len(vocab):
    raise ValueError(f"{field}: the embedding has {table.shape[0]} rows but the vocabulary "
                     f"{len(vocab)} entries")
  dim = int(table.shape[1])
  try:
    vectors = vectors_lib.resolve_pretrained(
        source, dim=dim, format=file_format, data_dir=getattr(spec, "data_dir", None),
        words=vocab.tokens)
  except vectors_lib.DimensionMismatchError as e:
    raise ValueError(f"{field}={source!r}: {e} (config.net.embed_dim={dim}; set embed_dim to "
                     "the vectors' dimension)") from None
  except vectors_lib.VectorFileError as e:
    raise ValueError(f"{field}={source!r}: {e}") from None
  matrix, coverage = vectors_lib.embedding_matrix(vectors, vocab, np.asarray(table))
  log(f"{field}={source!r}{' (frozen)' if freeze else ''}: {coverage.describe()}")
  params = set_embedding(model.params, jnp.asarray(matrix, table.dtype))
  loss_fn = freeze_embedding_loss(model.loss_fn) if freeze else model.loss_fn
  return model._replace(params=params, loss_fn=loss_fn)
