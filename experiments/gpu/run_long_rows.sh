#!/usr/bin/env bash
# The long rows of issue 13 (PTB for 39 epochs, sequential MNIST, frequency discrimination at 200
# steps) on an NVIDIA GPU, inside a time budget. Run from the repository root:
#
#   experiments/gpu/run_long_rows.sh [--budget SECONDS] [--only ROW_OR_TABLE]... [--root DIR]
#       [--results_dir DIR] [--cache_dir DIR] [--wheels DIR] [--python PY] [--queue FILE]
#       [--platform gpu|cpu]
#
# 1. Python. --python PY (or $PYTHON) if given. Else python3, if its JAX sees a GPU (an image
#    with a CUDA build of JAX, e.g. a cloud deep-learning image). Else a fresh venv, .venv-gpu,
#    with requirements.txt and the CUDA build of the pinned jax (`jax[cuda12]`): from the package
#    index, or offline from --wheels DIR (`pip download` them where the index is reachable).
# 2. Packages that Python lacks among skipjax's own needs (ml_collections, tensorboardX, ...):
#    installed from --wheels DIR when given, else from the index; a missing one is named.
# 3. Data. The rows read PTB and MNIST from --cache_dir (default: $SKIPJAX_TFDS_DIR, else the
#    repository's .cache/tfds): tfds-prepared data, or splits exported as NumPy files, which need
#    no TensorFlow on the GPU machine. Make them where TensorFlow and the raw files are:
#        python -m skipjax.data export ptb mnist --out DIR
# 4. `python -m experiments.reproduce --queue experiments/gpu/queue.py --platform gpu
#    --stop_after BUDGET`: the rows at the papers' length, one after another, each published as
#    <name>_gpu.json in --results_dir (RESULTS.md beside it) with its training time and the GPU
#    it ran on. When the budget runs out, the running row checkpoints and stops: the same command
#    continues it (on the same machine: the workdirs are under --root).
# Prints the device, each row's state and time, and the total; exits with reproduce's status
# (0: every row done; 8: stopped by the budget; 1: a row failed).
#
# --platform cpu runs the same path on the CPU (the tests do, with a tiny --queue).
set -euo pipefail

BUDGET=600
ROOT=""
RESULTS=""
CACHE="${SKIPJAX_TFDS_DIR:-}"
WHEELS=""
PY="${PYTHON:-}"
QUEUE="experiments/gpu/queue.py"
PLATFORM="gpu"
ONLY=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --budget) BUDGET="$2"; shift 2 ;;
    --only) ONLY+=(--only "$2"); shift 2 ;;
    --root) ROOT="$2"; shift 2 ;;
    --results_dir) RESULTS="$2"; shift 2 ;;
    --cache_dir) CACHE="$2"; shift 2 ;;
    --wheels) WHEELS="$2"; shift 2 ;;
    --python) PY="$2"; shift 2 ;;
    --queue) QUEUE="$2"; shift 2 ;;
    --platform) PLATFORM="$2"; shift 2 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "FATAL run_long_rows.sh: unknown argument $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
[[ -f requirements.txt && -d experiments ]] || {
  echo "FATAL run_long_rows.sh: run it from the repository root" >&2; exit 2; }
[[ "$BUDGET" =~ ^[0-9]+$ ]] || {
  echo "FATAL run_long_rows.sh: --budget $BUDGET: give whole seconds" >&2; exit 2; }
[[ "$PLATFORM" == gpu || "$PLATFORM" == cpu ]] || {
  echo "FATAL run_long_rows.sh: --platform $PLATFORM: gpu or cpu" >&2; exit 2; }
ROOT="${ROOT:-experiments/workdirs/reproduce}"
RESULTS="${RESULTS:-experiments/results}"
START=$(date +%s)
PIP_OFFLINE=()
[[ -n "$WHEELS" ]] && PIP_OFFLINE=(--no-index --find-links "$WHEELS")

sees_platform() {  # does Python $1's JAX start on $PLATFORM?
  local jp=cpu
  [[ "$PLATFORM" == gpu ]] && jp=cuda
  JAX_PLATFORMS=$jp "$1" -c "import jax; jax.devices()" >/dev/null 2>&1
}

# 1. Python with a JAX that sees the platform.
if [[ -z "$PY" ]]; then
  if command -v python3 >/dev/null && sees_platform python3; then
    PY=python3
  else
    JAX_PIN=$(sed -n 's/^jax==//p' requirements.txt)
    echo "run_long_rows: no Python here sees a $PLATFORM through JAX; making .venv-gpu with" \
         "jax[cuda12]==$JAX_PIN" >&2
    python3 -m venv .venv-gpu
    .venv-gpu/bin/python -m pip install -q "${PIP_OFFLINE[@]}" -r requirements.txt \
        "jax[cuda12]==$JAX_PIN"
    PY=.venv-gpu/bin/python
  fi
fi
sees_platform "$PY" || {
  echo "FATAL run_long_rows.sh: $PY's JAX does not start on the $PLATFORM" >&2; exit 2; }

# 2. skipjax's own needs that this Python lacks.
MISSING=$("$PY" - <<'EOF'
import importlib.util
need = {"ml_collections": "ml-collections", "tensorboardX": "tensorboardX", "absl": "absl-py",
        "flax": "flax", "optax": "optax", "chex": "chex", "orbax.checkpoint": "orbax-checkpoint",
        "tqdm": "tqdm", "matplotlib": "matplotlib"}
print(" ".join(pkg for mod, pkg in need.items() if importlib.util.find_spec(mod.split(".")[0]) is None))
EOF
)
if [[ -n "$MISSING" ]]; then
  echo "run_long_rows: installing $MISSING" >&2
  # Pinned where requirements.txt pins them.
  PINS=()
  for pkg in $MISSING; do
    pin=$(grep -i "^${pkg}==" requirements.txt || true)
    PINS+=("${pin:-$pkg}")
  done
  "$PY" -m pip install -q --no-deps "${PIP_OFFLINE[@]}" --target .gpu-site "${PINS[@]}" || {
    echo "FATAL run_long_rows.sh: could not install ${PINS[*]} (give --wheels DIR with them)" >&2
    exit 2; }
  export PYTHONPATH="$PWD/.gpu-site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
[[ -n "$CACHE" ]] && export SKIPJAX_TFDS_DIR="$CACHE"

echo "run_long_rows: $("$PY" -c 'import jax, sys; d = jax.devices()[0]; print(f"python {sys.version.split()[0]}, jax {jax.__version__}, {d.platform} {d.device_kind}")' 2>/dev/null)"
echo "run_long_rows: budget ${BUDGET} s; setup took $(( $(date +%s) - START )) s"
LEFT=$(( BUDGET - ($(date +%s) - START) ))
(( LEFT > 0 )) || LEFT=0
set +e
"$PY" -m experiments.reproduce --queue "$QUEUE" --platform "$PLATFORM" --stop_after "$LEFT" \
    --root "$ROOT" --results_dir "$RESULTS" --status_every 60 "${ONLY[@]}"
RC=$?
set -e
echo "run_long_rows: reproduce exited $RC after $(( $(date +%s) - START )) s in all"
"$PY" - "$RESULTS" "$PLATFORM" <<'EOF'
import json, pathlib, sys
results, platform = pathlib.Path(sys.argv[1]), sys.argv[2]
for path in sorted(results.glob(f"*_{platform}.json")):
  r = json.loads(path.read_text())
  print(f"  {path.stem}: {r.get('metric')} {r.get('value')} after {r.get('train_steps')} steps, "
        f"{r.get('train_minutes', 0):.1f} min of training on {r.get('hardware')}")
EOF
exit $RC
