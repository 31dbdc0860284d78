"""The papers' number-prediction protocol: fixed, finite, disjoint splits
(`skipjax.data.finite.finite_splits`), the authors' pointer range, the registry's finite
loader, the configs of every row of Gui et al.'s table, and the entropy weight of their
objective."""

from __future__ import annotations

import importlib.util
import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from experiments import configs
from experiments import registry
from experiments import run
from skipjax import dynamic_skip
from skipjax.data import finite
from skipjax.data import synthetic

CONFIG_DIR = pathlib.Path(run.__file__).parent / "configs"
RESULTS_DIR = pathlib.Path(run.__file__).parent / "results"

# Gui et al., number-prediction table (test accuracy), PAPERS.md section 4.
GUI_ROWS = {
    "lstm_number_prediction_11": ("lstm", 11, 0.704, None),
    "lstm_number_prediction_21": ("lstm", 21, 0.264, None),
    "attention_skip_number_prediction_11": ("attention_skip_lstm", 11, 0.725, 0.5),
    "attention_skip_number_prediction_21": ("attention_skip_lstm", 21, 0.269, 0.5),
    "dynamic_skip_lam1_number_prediction_11": ("dynamic_skip", 11, 0.805, 1.0),
    "dynamic_skip_lam1_number_prediction_21": ("dynamic_skip", 21, 0.777, 1.0),
    "dynamic_skip_number_prediction_11": ("dynamic_skip", 11, 0.905, 0.5),
    "dynamic_skip_number_prediction_21": ("dynamic_skip", 21, 0.885, 0.5),
}


def _config(name):
  """The config of a table row, named as its experiment (gui_number_prediction.py:ARG)."""
  config = configs.load(configs.RENAMED[name])
  assert config.experiment == name
  return config


def _rows(arrays):
  return [row.tobytes() for row in np.asarray(arrays["inputs"])]


def _batch_rows(batches):
  """The real (mask 1) input rows of a list of padded batches."""
  return [row.tobytes() for b in batches for row, m in zip(b["inputs"], b["mask"]) if m]


# ----------------------------------------------------------------------------- the task


@pytest.mark.parametrize("length", [11, 21])
def test_pointer_range_names_one_of_the_last_digits(length):
  batch = synthetic.number_prediction_pointer(5, 0, 4000, length=length, pointer_range=10)
  x, y = batch["inputs"], batch["labels"]
  b = x[:, -1]
  assert set(b) == set(range(10))
  np.testing.assert_array_equal(y, x[np.arange(4000), length - 11 + b])
  # The authors' row: a = 100 digits, label a[b + 90]; our sequence is a's last L-1 digits + b.
  a = np.concatenate([np.zeros((4000, 101 - length), np.int32), x[:, :-1]], axis=1)
  assert a.shape[1] == 100
  np.testing.assert_array_equal(y, a[np.arange(4000), b + 90])
  assert synthetic.task_info("number_prediction_pointer", length=length,
                             pointer_range=10)["vocab_size"] == 10


def test_full_pointer_range_is_the_default_stream():
  full = synthetic.number_prediction_pointer(2, 3, 64, length=11)
  same = synthetic.number_prediction_pointer(2, 3, 64, length=11, pointer_range=10)
  for k in full:
    np.testing.assert_array_equal(full[k], same[k])
  with pytest.raises(ValueError, match="pointer_range=21 exceeds the 20 digits"):
    synthetic.number_prediction_pointer(0, 0, 4, length=21, pointer_range=21)
  with pytest.raises(ValueError, match="pointer_range"):
    synthetic.number_prediction_pointer(0, 0, 4, length=21, pointer_range=0)
  with pytest.raises(ValueError, match="'pointer' form only"):
    synthetic.number_prediction_vocab_size("jump", 10, 5)


# ----------------------------------------------------------------------------- finite splits


@pytest.mark.parametrize("name,kwargs", [
    ("number_prediction_pointer", dict(length=4, pointer_range=2)),   # 2,000 sequences
    ("number_prediction_jump", dict(length=4)),                       # 3,000 sequences
])
def test_finite_splits_never_repeat_a_sequence(name, kwargs):
  sizes = {"train": 900, "validation": 400, "test": 400}
  out = finite.finite_splits(name, 3, sizes, **kwargs)
  rows = {split: _rows(a) for split, a in out.arrays.items()}
  for split, n in sizes.items():
    assert len(rows[split]) == n == len(set(rows[split]))
    assert out.arrays[split]["inputs"].dtype == np.int32
  assert not set(rows["test"]) & set(rows["train"])
  assert not set(rows["validation"]) & set(rows["train"])
  assert not set(rows["test"]) & set(rows["validation"])
  # The space is small: the rejection path ran (so the guarantee above was exercised).
  assert out.rejected["test"] > 0 and out.rejected["validation"] > 0
  # Labels still follow the task's rule.
  x, y = out.arrays["test"]["inputs"], out.arrays["test"]["labels"]
  if name == "number_prediction_pointer":
    np.testing.assert_array_equal(y, x[np.arange(len(x)), 4 - 1 - 2 + x[:, -1]])
  else:
    np.testing.assert_array_equal(y, x[np.arange(len(x)), x[:, 0]])
  again = finite.finite_splits(name, 3, sizes, **kwargs)
  for split in sizes:
    for k in out.arrays[split]:
      np.testing.assert_array_equal(out.arrays[split][k], again.arrays[split][k])
  other = finite.finite_splits(name, 4, sizes, **kwargs)
  assert not np.array_equal(other.arrays["train"]["inputs"], out.arrays["train"]["inputs"])


def test_finite_splits_reject_impossible_or_bad_requests():
  with pytest.raises(ValueError, match="only 2000 different sequences"):
    finite.finite_splits("number_prediction_pointer", 0, {"train": 1500, "test": 501},
                            length=4, pointer_range=2)
  with pytest.raises(ValueError, match="has no finite form"):
    finite.finite_splits("adding", 0, {"train": 10})
  with pytest.raises(ValueError, match="sizes must name some of the splits"):
    finite.finite_splits("number_prediction_pointer", 0, {"dev": 10})
  with pytest.raises(ValueError, match="sizes\\['test'\\]"):
    finite.finite_splits("number_prediction_pointer", 0, {"train": 10, "test": 0})
  with pytest.raises(TypeError, match="unexpected keyword"):
    finite.finite_splits("number_prediction_jump", 0, {"train": 10}, pointer_range=3)


# ----------------------------------------------------------------------------- the loader


@pytest.mark.parametrize("length", [11, 21])
def test_config_splits_keep_every_test_sequence_out_of_train(length):
  """The configs' own data: 100,000 train, 10,000 dev, 10,000 test, none shared."""
  config = _config(f"lstm_number_prediction_{length}")
  data = registry.DATASETS[config.dataset](config.data, config.seed)
  train = _rows(data.train.arrays)
  dev, test = _batch_rows(data.dev), _batch_rows(data.test)
  assert (len(train), len(dev), len(test)) == (100000, 10000, 10000)
  assert len(set(train)) == 100000 and len(set(dev)) == 10000 and len(set(test)) == 10000
  train = set(train)
  assert not any(row in train for row in test)
  assert not any(row in train for row in dev) and not set(dev) & set(test)
  assert data.spec.num_train == 100000 and data.spec.vocab_size == 10
  assert data.spec.max_len == length and data.spec.num_classes == 10


def _tiny_data(**overrides):
  config = _config("lstm_number_prediction_11")
  config.data.update(batch_size=8, eval_batch_size=16, train_examples=30, dev_examples=20,
                     test_examples=12, **overrides)
  return config


def test_finite_train_iterates_epochs_and_resumes():
  config = _tiny_data()
  data = registry.DATASETS[config.dataset](config.data, 0)
  train = data.train
  per_epoch = -(-30 // 8)                                   # 4 batches, the last 6 real rows
  epoch = [next(train) for _ in range(per_epoch)]
  rows = [r.tobytes() for b in epoch for r, m in zip(b["inputs"], b["mask"]) if m]
  assert sorted(rows) == sorted(_rows(train.arrays))        # each example once per epoch
  state = json.loads(json.dumps(train.get_state()))
  assert state["epoch"] == 1 and state["position"] == 0
  want = [next(train) for _ in range(3)]
  again = registry.DATASETS[config.dataset](config.data, 0).train
  again.set_state(state)
  for w in want:
    got = next(again)
    for k in w:
      np.testing.assert_array_equal(got[k], w[k])
  assert len(data.dev) == 2 and float(sum(b["mask"].sum() for b in data.dev)) == 20.0
  # Another run seed: the same data set (data_seed fixed), served in another order.
  other = registry.DATASETS[config.dataset](config.data, 1)
  assert sorted(_rows(other.train.arrays)) == sorted(_rows(train.arrays))
  assert _batch_rows(other.test) == _batch_rows(data.test)
  assert not np.array_equal(next(other.train)["inputs"], epoch[0]["inputs"])


def test_finite_loader_names_bad_settings():
  config = _tiny_data()
  config.data.train_examples = 0
  with pytest.raises(ValueError, match="config.data.train_examples"):
    registry.DATASETS[config.dataset](config.data, 0)
  config = _tiny_data(pointer_range=11)
  with pytest.raises(ValueError, match="pointer_range=11 exceeds"):
    registry.DATASETS[config.dataset](config.data, 0)
  adding = registry.DATASETS["adding"]
  import ml_collections  # pylint: disable=g-import-not-at-top
  data = ml_collections.ConfigDict(dict(batch_size=4, dev_examples=4, test_examples=4,
                                        train_examples=10))
  with pytest.raises(ValueError, match="finite training set is built for the token tasks"):
    adding(data, 0)


# ----------------------------------------------------------------------------- the configs


@pytest.mark.parametrize("name", sorted(GUI_ROWS))
def test_every_row_of_the_table_has_a_config(name):
  model, length, paper_value, lam = GUI_ROWS[name]
  config = _config(name)
  run.validate_config(config)
  assert (config.model, config.data.length, config.paper_value) == (model, length, paper_value)
  assert config.hparams.get("lam") == lam
  assert (config.data.train_examples, config.data.dev_examples,
          config.data.test_examples) == (100000, 10000, 10000)
  assert config.data.pointer_range == 10 and config.data.data_seed == 0
  assert (config.net.hidden_dim, config.data.batch_size) == (200, 100)
  assert config.eval_every == 100000 // 100 and config.early_stopping_patience == 5
  if model == "dynamic_skip":
    assert config.net.num_skips == 10
    assert config.hparams.entropy_weight == 1.0   # the paper's J2 = E[R] + H(trajectory)
  # One config file for the table, its rows as arguments, each row named in its docstring.
  assert not (CONFIG_DIR / f"{name}.py").exists()
  doc = importlib.import_module("experiments.configs.gui_number_prediction").__doc__
  assert name.rsplit("_", 1)[0] in doc and configs.RENAMED[name].split(":")[1].split(",")[0] in doc
  record = RESULTS_DIR / f"{name}.json"
  if record.exists():  # a run of this protocol: its published record holds this very config
    published = json.loads(record.read_text())["config"]
    assert published["data"]["train_examples"] == 100000
    assert published["hparams"] == config.hparams.to_dict()


# ----------------------------------------------------------------------------- the entropy


def test_summed_step_entropy_estimates_the_trajectory_entropy():
  """E[sum_t H(pi_t | s_t)] = H(a_1:T) = E[-sum_t log pi(a_t | s_t)] for the dynamic-skip agent
  (state-dependent: the agent reads h_{t-1}); and entropy_weight multiplies exactly that sum,
  averaged over the batch, in the loss. So entropy_weight=1 is the paper's weight."""
  config = dynamic_skip.ModelConfig(num_outputs=10, input_dim=6, hidden_dim=8, vocab_size=10,
                                    num_skips=4, agent_dim=8)
  # One jitted initialiser (eager initialisers compile op by op: seconds on CPU).
  params = jax.jit(dynamic_skip.init_params, static_argnames="config")(jax.random.key(0),
                                                                      config=config)
  layer = params["forward"][0]
  agent = jax.tree.map(lambda w: 4.0 * w, layer.agent)          # a far-from-uniform policy
  params["forward"] = (layer._replace(agent=agent),)
  n, t = 8000, 9
  tokens = jax.random.randint(jax.random.key(1), (1, t), 0, 10)
  batch = {"inputs": jnp.repeat(tokens, n, axis=0), "lengths": jnp.full((n,), t, jnp.int32),
           "labels": jnp.zeros((n,), jnp.int32), "mask": jnp.ones((n,), jnp.float32)}
  loss_fn = dynamic_skip.make_loss_fn(config, "classification")

  @jax.jit
  def estimates(params, batch, key):
    hparams = {"lam": 0.5}
    dec = dynamic_skip.apply(params, config, batch["inputs"], batch["lengths"], key, hparams,
                             train=True).decisions[0]
    logp = jax.nn.log_softmax(dec.logits, axis=-1)
    step_entropy = -jnp.sum(jnp.exp(logp) * logp, axis=-1).sum(axis=1)    # [n]
    surprisal = -dec.log_probs.sum(axis=1)                                 # [n]
    # The loss term: (loss at weight 1) - (loss at weight 0), the same samples (same key).
    loss = jax.vmap(lambda w: loss_fn(params, {}, batch, key,
                                      {**hparams, "entropy_weight": w})[0])(jnp.array([1., 0.]))
    term = loss[0] - loss[1]
    return step_entropy, surprisal, term

  step_entropy, surprisal, term = estimates(params, batch, jax.random.key(2))
  assert float(jnp.std(step_entropy)) > 0.05        # the states, so the policies, vary
  se = float(jnp.std(surprisal - step_entropy)) / np.sqrt(n)
  assert abs(float(jnp.mean(step_entropy) - jnp.mean(surprisal))) < 5 * se + 1e-3
  np.testing.assert_allclose(float(term), -float(jnp.mean(step_entropy)), rtol=1e-4)
