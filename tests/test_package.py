"""The top-level package: public API present, and importing it never imports TensorFlow."""

import subprocess
import sys


def test_import_skipjax_does_not_import_tensorflow():
  code = ("import sys, skipjax, skipjax.train.loop, skipjax.data, skipjax.bench.harness;"
          "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
          "('tensorflow', 'tensorflow_datasets'));"
          "print(bad); sys.exit(1 if bad else 0)")
  proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
  assert proc.returncode == 0, proc.stdout + proc.stderr


def test_public_api():
  import skipjax
  for name in ("cells", "recurrence", "nn", "estimators", "classifier", "skip_rnn", "skim_rnn",
               "lstm_jump", "dynamic_skip", "conlleval", "lstm_init", "lstm_step", "gru_step",
               "lstm_layer", "gru_layer", "scan_rnn", "masked_update", "lstm_params_from_torch",
               "gru_params_from_torch"):
    assert hasattr(skipjax, name), name


def test_pyproject_license_is_an_spdx_string():
  """A TOML-table license makes setuptools (>= 77) warn 'project.license as a TOML table is
  deprecated' on every install (issue 16); the SPDX string needs setuptools >= 77 to build."""
  import pathlib  # pylint: disable=g-import-not-at-top
  import tomllib  # pylint: disable=g-import-not-at-top
  pyproject = tomllib.loads(
      (pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
  assert pyproject["project"]["license"] == "Apache-2.0"
  assert "setuptools>=77" in pyproject["build-system"]["requires"]


def test_tensorboard_viewer_is_pinned():
  import pathlib  # pylint: disable=g-import-not-at-top
  lines = (pathlib.Path(__file__).resolve().parents[1] / "requirements.txt").read_text()
  assert "tensorboard==2.21.0" in lines.splitlines()  # `tensorboard --logdir ...` (README)


def _import_graph() -> dict[str, set[str]]:
  """module -> the project modules it imports (at the top or inside functions), over skipjax/,
  experiments/ and tests/. `from package import module` depends on the module only."""
  import ast  # pylint: disable=g-import-not-at-top
  import pathlib  # pylint: disable=g-import-not-at-top
  root = pathlib.Path(__file__).resolve().parents[1]
  paths = {}
  for top in ("skipjax", "experiments", "tests"):
    for path in (root / top).rglob("*.py"):
      parts = list(path.relative_to(root).with_suffix("").parts)
      if parts[-1] == "__init__":
        parts = parts[:-1]
      paths[".".join(parts)] = path
  graph = {}
  for name, path in paths.items():
    deps = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
      if isinstance(node, ast.Import):
        deps.update(alias.name for alias in node.names)
      elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
        for alias in node.names:
          sub = f"{node.module}.{alias.name}"
          deps.add(sub if sub in paths else node.module)
    graph[name] = {d for d in deps if d in paths and d != name}
  return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
  """The strongly connected components of more than one module (Tarjan's algorithm)."""
  index, low, stack, on_stack, found = {}, {}, [], set(), []

  def visit(v):
    index[v] = low[v] = len(index)
    stack.append(v)
    on_stack.add(v)
    for w in sorted(graph[v]):
      if w not in index:
        visit(w)
        low[v] = min(low[v], low[w])
      elif w in on_stack:
        low[v] = min(low[v], index[w])
    if low[v] == index[v]:
      component = []
      while True:
        w = stack.pop()
        on_stack.discard(w)
        component.append(w)
        if w == v:
          break
      if len(component) > 1:
        found.append(sorted(component))

  for v in sorted(graph):
    if v not in index:
      visit(v)
  return found


def test_cycle_finder_finds_a_cycle():
  assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
  assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_in_the_tree():
  """Issue 15: no import cycle anywhere (function-level imports included), e.g. none between
  experiments/registry.py and its builders, or experiments/run.py and experiments/sweep.py."""
  graph = _import_graph()
  assert "experiments.build_dynamic_skip" in graph and "skipjax.dynamic_skip.core" in graph
  assert "experiments.model_api" in graph["experiments.build_dynamic_skip"]
  assert _cycles(graph) == []
