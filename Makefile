# Every target installs what it needs into .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
EVAL_STAMP := $(VENV)/.eval-stamp
CORPORA ?= ../shared/corpora

.PHONY: install demo test lint train check-seeds serve bench bench-throughput bench-service bench-scale eval compare clean

# setup.py and the .pyx files: pip install -e compiles filter/fast*.pyx in place.
$(STAMP): pyproject.toml setup.py $(wildcard filter/*.pyx)
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
	$(BIN)/ruff check filter training service tests benchmarks

## make train: retrain the shipped model from seeds/ (cross-validated metrics printed)
## (`make train CORPORA=../shared/corpora` adds the real pages; only when CORPORA is given)
## TRAIN_ARGS="--gate-seed N", "--gate-members 3" (three gates averaged) or "--seed-share S"
## (the seeds' share of the gate's training weight; README, The model and how it is made)
train: $(STAMP)
	$(BIN)/python -m training.train $(if $(filter command line,$(origin CORPORA)),--corpora $(CORPORA)) $(TRAIN_ARGS)

## make serve: the HTTP service on 127.0.0.1:8000 (WORKERS=2 for two processes)
serve: $(STAMP)
	$(BIN)/contamfilter serve --host 127.0.0.1 --port $(or $(PORT),8000) --workers $(or $(WORKERS),1)

## make bench: every benchmark (each prints PASS/FAIL per target; exits 1 if one is missed)
bench: $(EVAL_STAMP)
	status=0; \
	$(BIN)/python -m benchmarks.throughput $(if $(wildcard $(CORPORA)),--corpora $(CORPORA)) || status=1; \
	$(BIN)/python -m benchmarks.service_load || status=1; \
	exit $$status

## make bench-throughput: one core, text mode vs its target, HTML mode vs trafilatura
bench-throughput: $(EVAL_STAMP)
	$(BIN)/python -m benchmarks.throughput $(if $(wildcard $(CORPORA)),--corpora $(CORPORA))

## make bench-scale: CLI --workers 1 and 2 and Ray (2 CPUs) on 20,000 seed-sized records,
## then the memory of a 1 GB JSON Lines run (reports/bench-scale.json; about 15 minutes)
bench-scale: $(STAMP)
	$(BIN)/python -m benchmarks.scale $(SCALE_ARGS)

## make bench-service: load-test a real server with 2 scorer processes from a second process
bench-service: $(STAMP)
	$(BIN)/python -m benchmarks.service_load

## make eval: contamfilter (html and text mode) against trafilatura, readability-lxml, jusText,
## resiliparse and the whole page's text on $(CORPORA); reports/eval.{md,json} and a plot.
## EVAL_ARGS="--limit 20 --tools contamfilter" for a quick run; EVAL_ARGS="--gate-seed 1" trains
## the out-of-fold models with another seed (what retraining alone moves each figure).
$(EVAL_STAMP): $(STAMP) pyproject.toml
	$(BIN)/pip install --quiet -e ".[test,eval]"
	touch $(EVAL_STAMP)

eval: $(EVAL_STAMP)
	$(BIN)/python -m training.evaluate --corpora $(CORPORA) $(EVAL_ARGS)

## make compare BEFORE=DIR AFTER=DIR: two make eval report folders, page by page (paired
## bootstrap intervals of each figure's change)
compare: $(STAMP)
	$(BIN)/python -m training.compare $(BEFORE) $(AFTER) $(COMPARE_ARGS)

check-seeds: $(STAMP)
	$(BIN)/python -m training.check

clean:
	rm -rf build dist *.egg-info .pytest_cache .ruff_cache test-output
