# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# CPU build of torch: pinned here (not in pyproject, whose range stays loose for users) so
# that CI never pulls the multi-GB CUDA build. /opt/wheels holds it on the project machines.
TORCH_SPEC ?= torch==2.13.0
WHEELS := $(wildcard /opt/wheels)
# torch alone from its CPU wheel index (or the local wheels); the project and its
# other dependencies from pip's default index, in a second call
TORCH_SOURCE := $(if $(WHEELS),--find-links $(WHEELS),--index-url https://download.pytorch.org/whl/cpu)
FIND_LINKS := $(if $(WHEELS),--find-links $(WHEELS),)
DATA_DIR ?= $(abspath ../shared/datasets)

.PHONY: venv demo test test-slow lint bench-speed docs clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH_SOURCE) "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet $(FIND_LINKS) -e ".[test,bench]"
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(PY) -m skdistill.demo

test: venv
	$(PY) -m ruff check skdistill tests examples
	$(PY) -m pytest -m "not slow" -q

test-slow: venv
	SKDISTILL_DATA_DIR=$(DATA_DIR) $(PY) -m pytest -m slow -q

bench-speed: venv
	$(PY) -m skdistill.bench speed --data-dir $(DATA_DIR)

# The documentation (docs/_build/html/index.html), warnings as errors; it runs every
# example of the gallery. SKDISTILL_DOCS_INTERSPHINX=1 links to other projects' docs
# (fetched from the web); SKDISTILL_DOCS_PLOT_GALLERY=0 skips running the examples.
$(VENV)/.docs-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet $(FIND_LINKS) -e ".[docs]"
	touch $@

docs: $(VENV)/.docs-installed
	$(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	rm -rf docs/_build docs/auto_examples docs/gen_modules docs/generated docs/sg_execution_times.rst
