# skipjax: `make test` and `make demo` are the two commands a user needs (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.skipjax-installed
PYTEST_ARGS ?=

.PHONY: install test test-slow test-all demo bench reproduce clean

install: $(STAMP)

# (Re)install whenever the pinned requirements or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "skipjax needs Python >= 3.11 (jax 0.10.2 and chex 0.1.92 have no 3.10 wheels);" \
		"$(PYTHON) is $$($(PYTHON) -V 2>&1): run make PYTHON=python3.11 ..."; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	@# torch is a test-only reference. Install the CPU build only where its wheel lies on this
	@# machine (pip's find-links); elsewhere a plain `pip install torch` pulls a multi-GB CUDA
	@# build, so the torch comparison tests skip instead (install torch yourself to run them).
	@if $(PY) -m pip download -q --no-deps --no-index -d $(VENV)/.torch-probe torch==2.13.0 >/dev/null 2>&1; then \
		$(PY) -m pip install -q torch==2.13.0; \
	else echo "torch CPU wheel not found locally: torch reference tests will be skipped"; fi
	rm -rf $(VENV)/.torch-probe
	touch $(STAMP)

# `make test`: everything but the slow end-to-end tests (tests/conftest.py SLOW_TESTS);
# `make test-slow`: those; `make test-all`: both (CI runs both). -rs prints why a test skipped.
PYTEST := $(PY) -m pytest -n 2 --dist loadfile -q -rs
test: $(STAMP)
	$(PYTEST) -m "not slow" $(PYTEST_ARGS) tests

test-slow: $(STAMP)
	$(PYTEST) -m slow $(PYTEST_ARGS) tests

test-all: $(STAMP)
	$(PYTEST) $(PYTEST_ARGS) tests

demo: $(STAMP)
	$(PY) -m skipjax.demo

# A new file per run: committed benchmark JSON is never overwritten (skipjax.bench refuses an
# existing --json file unless --overwrite).
BENCH_JSON ?= experiments/bench/cpu-$(shell date -u +%Y%m%dT%H%M%SZ).json
bench: $(STAMP)
	$(PY) -m skipjax.bench all --json $(BENCH_JSON)

# The papers' seed tables as a resumable queue (experiments/queue.py); rerun to continue.
# REPRODUCE_ARGS: e.g. --only skip_rnn/table1, --dry_run, --cpus 1 --threads 1.
REPRODUCE_ARGS ?=
reproduce: $(STAMP)
	$(PY) -m experiments.reproduce $(REPRODUCE_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
