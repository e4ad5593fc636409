# One command to try it, one to test it. Both create ./.venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo web test bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,web]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/workbench demo

web: $(STAMP)
	$(BIN)/workbench web --demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	for script in bench/[!_]*.py; do echo "== $$script"; $(BIN)/python $$script || echo "!! $$script: a figure is over its target"; done

clean:
	rm -rf $(VENV) build *.egg-info
