# Every target installs what it needs into .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint train check-seeds clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

## make demo: run the CLI with the shipped model on the seed documents
demo: $(STAMP)
	$(BIN)/python -m training.demo

## make test: lint, then the whole test suite against the real shipped model
test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check filter training service tests

## make train: retrain the shipped model from seeds/ (cross-validated metrics printed)
train: $(STAMP)
	$(BIN)/python -m training.train

check-seeds: $(STAMP)
	$(BIN)/python -m training.check

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache test-output
