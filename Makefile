# Set-up, build and test in one place; README's commands call these targets.
# Everything installs itself on a clean machine (Python 3.10+ with venv).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# torch is pinned and installed first: 2.13.0 is the CPU build this project is tested with.
TORCH_PIN := torch==2.13.0

.PHONY: venv demo test test-unit bench lint clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_PIN)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: venv
	$(VENV)/bin/liquid-controller demo

test-unit: venv
	$(PY) -m pytest -n 2 test

test: test-unit

bench: venv
	$(VENV)/bin/liquid-controller bench

lint: venv
	$(VENV)/bin/ruff check liquid_controller test bench
	$(VENV)/bin/ruff format --check liquid_controller test bench

clean:
	rm -rf $(VENV) build install log .pytest_cache .hypothesis
