# Two commands matter: `make demo` (set up + quickstart) and `make test` (set up + test suite).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PLUGINS := $(sort $(wildcard plugins/*))
STAMP := $(VENV)/.hfplug-installed
DEMO_PROMPT ?= Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?

.PHONY: install demo test lint clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements-offline.txt $(wildcard plugins/*/pyproject.toml) scripts/system-deps.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev,bench]' $(addprefix -e ,$(PLUGINS))
	$(BIN)/pip install --quiet --no-deps -r requirements-offline.txt
	bash scripts/system-deps.sh
	touch $@

demo: install
	$(BIN)/hfplug assets prepare smollm2-135m-instruct gsm8k
	@echo "== before training =="
	$(BIN)/hfplug generate --model asset:smollm2-135m-instruct --max-new-tokens 96 --prompt "$(DEMO_PROMPT)"
	$(BIN)/hfplug train --config examples/quickstart/sft.yaml
	@echo "== after training =="
	$(BIN)/hfplug generate --model outputs/quickstart-sft --max-new-tokens 96 --prompt "$(DEMO_PROMPT)"

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) outputs
