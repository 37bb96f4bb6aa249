# The two commands of the README's quick start, and the pieces they are made of.
#   make up     sets everything up and runs the main job on embedded defaults (Ctrl-C stops it)
#   make test   sets everything up and runs lint, type checks and the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup chromium up demo test lint typecheck pytest bench clean

setup: $(STAMP) chromium

# The Studio's browser test drives Debian's Chromium (never a browser download); installed when missing.
chromium:
	@command -v chromium >/dev/null || { \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo -n"; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq --no-install-recommends chromium \
	  || echo "could not install chromium: the Studio's browser test will be skipped"; }

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The CPU build of torch (no CUDA download); a plain install would fetch the CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0 || echo "torch 2.13.0 not available here; the default build will be installed"
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

up: setup
	$(BIN)/factory up

demo: setup
	$(BIN)/factory demo

# The checks run side by side with the tests: the type check takes about a minute of one core.
test: setup
	@$(MAKE) --no-print-directory -j3 lint typecheck pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# Test modules run side by side in three workers (a module's fixtures stay in one worker): much of a
# module's time is spent waiting on servers and subprocesses, so three workers keep two cores busy. The
# slowest modules are handed out first (tests/conftest.py orders them by their `slow(minutes=...)` marker).
pytest: setup
	$(BIN)/pytest -q -n 3 --dist loadfile --no-loadscope-reorder --durations=25

bench: setup
	$(BIN)/python -m bench.kg

clean:
	rm -rf $(VENV) .factory .pytest_cache .mypy_cache .ruff_cache
