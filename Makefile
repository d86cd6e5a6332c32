# One command per job. Everything runs from a local virtual environment that `make install` creates.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,deploy]" --config-settings editable_mode=compat
	touch $@

demo: install  ## the main job: the BYOC example on the local emulator, end to end
	$(PY) examples/byoc/demo.py

test: install  ## the whole test suite (unit, end-to-end against the emulator)
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/hadolint Dockerfile examples/byoc/Dockerfile

bench: install  ## the four benchmark tables (see the README's Performance section)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
