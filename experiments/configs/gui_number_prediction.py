"""Gui et al. (AAAI 2019)'s number prediction: every row of its table from one config, the row
given by the argument `MODEL,LENGTH[,lam=X][,k=K]`.

MODEL: lstm, dynamic_skip (K=10 past states), attention_skip_lstm (attention over the last 10
states; the paper does not specify its attention baseline further, so its lam is the
dynamic-skip row's 0.5, our choice) or fixed_skip_lstm (the agent's choice replaced by k, default
3; no row of the paper's table: an ablation of ours). LENGTH: 11 or 21. lam: the skip models' h~
mix (default 0.5; lam=1 is the table's h~ = h_{t-k} row). The default is dynamic_skip,11.

| argument | experiment | paper (test) |
|---|---|---|
| lstm,11 / lstm,21 | lstm_number_prediction_11 / _21 | 70.4% / 26.4% |
| attention_skip_lstm,11 / ,21 | attention_skip_number_prediction_11 / _21 | 72.5% / 26.9% |
| dynamic_skip,11,lam=1 / 21,lam=1 | dynamic_skip_lam1_number_prediction_11 / _21 | 80.5% / 77.7% |
| dynamic_skip,11 / dynamic_skip,21 | dynamic_skip_number_prediction_11 / _21 | 90.5% / 88.5% |
| fixed_skip_lstm,11 | fixed_skip3_number_prediction_11 | - |

Setting: `experiments.configs.GUI_NUMBER_PREDICTION_PROTOCOL` (a fixed training set of 100,000
sequences, 10,000 dev and 10,000 test disjoint from it, patience 5 epochs on dev).

Command:

    python -m experiments.run \
        --config experiments/configs/gui_number_prediction.py:dynamic_skip,21 \
        --workdir experiments/workdirs/dynamic_skip_number_prediction_21

Hardware: 2-core x86_64 CPU, a run pinned to one core, one XLA thread. Time: each row's line
of experiments/RESULTS.md (e.g. dynamic_skip,21: 97.5% test after 92,000 steps,
134.8 min over one restart; dynamic_skip,11: 96.7% after 77,000 steps, 63.3 min).
"""

from experiments.configs import number_prediction_config

MODELS = ("lstm", "dynamic_skip", "attention_skip_lstm", "fixed_skip_lstm")
# (model, length, lam) -> the paper's test accuracy.
PAPER_VALUES = {("lstm", 11, None): 0.704, ("lstm", 21, None): 0.264,
                ("attention_skip_lstm", 11, 0.5): 0.725, ("attention_skip_lstm", 21, 0.5): 0.269,
                ("dynamic_skip", 11, 1.0): 0.805, ("dynamic_skip", 21, 1.0): 0.777,
                ("dynamic_skip", 11, 0.5): 0.905, ("dynamic_skip", 21, 0.5): 0.885}
_PREFIX = {"lstm": "lstm", "dynamic_skip": "dynamic_skip", "attention_skip_lstm": "attention_skip",
           "fixed_skip_lstm": "fixed_skip"}


def _tag(value: float) -> str:
  return f"{value:g}".replace(".", "p")


def parse_arg(arg: str | None) -> tuple[str, int, float | None, int | None]:
  """(model, length, lam, k) of an argument 'MODEL,LENGTH[,lam=X][,k=K]' (None: the default)."""
  usage = ("gui_number_prediction.py takes MODEL,LENGTH[,lam=X][,k=K] with MODEL one of "
           f"{', '.join(MODELS)} and LENGTH 11 or 21")
  parts = [p.strip() for p in (arg or "dynamic_skip,11").split(",")]
  if len(parts) < 2 or parts[0] not in MODELS or parts[1] not in ("11", "21"):
    raise ValueError(f"{usage}; got {arg!r}")
  model, length = parts[0], int(parts[1])
  options = {}
  for part in parts[2:]:
    key, sep, value = part.partition("=")
    if not sep or key not in ("lam", "k") or key in options:
      raise ValueError(f"{usage}; got {arg!r} (unknown, repeated or valueless option {part!r})")
    try:
      options[key] = float(value) if key == "lam" else int(value)
    except ValueError:
      raise ValueError(f"{usage}; got {arg!r} ({key} must be a number)") from None
  if model == "lstm" and options:
    raise ValueError(f"{usage}; got {arg!r} (the plain LSTM takes no lam or k)")
  if "k" in options and model != "fixed_skip_lstm":
    raise ValueError(f"{usage}; got {arg!r} (k is fixed_skip_lstm's skip)")
  lam = None if model == "lstm" else options.get("lam", 0.5)
  k = options.get("k", 3) if model == "fixed_skip_lstm" else None
  return model, length, lam, k


def experiment_name(model: str, length: int, lam: float | None, k: int | None) -> str:
  """lstm_number_prediction_11, dynamic_skip_lam1_number_prediction_21, fixed_skip3_...: the
  table row's name (lam 0.5 is not named)."""
  name = _PREFIX[model] + (str(k) if k is not None else "")
  if lam is not None and lam != 0.5:
    name += f"_lam{_tag(lam)}"
  return f"{name}_number_prediction_{length}"


def get_config(arg: str | None = None):
  model, length, lam, k = parse_arg(arg)
  c = number_prediction_config(experiment_name(model, length, lam, k), model, length,
                               paper_value=PAPER_VALUES.get((model, length, lam)), lam=lam)
  if k is not None:
    c.net.fixed_skip = k
  return c
