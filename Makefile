# Two commands matter on a fresh machine: `make run` and `make test`. Everything else is a step they call.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
BIN         := $(VENV)/bin
PY          := $(BIN)/python
STAMP       := $(VENV)/.installed
SPACY_DIR   := build/spacy/aftercare_en
SPACY_STAMP := $(SPACY_DIR)/.built
MODEL_DIR   := models
LEXICON     := $(wildcard data/lexicon/*.yml)
# Rasa's own fingerprinting decides whether training is needed; we only tell make what it depends on.
# Only these are Rasa training data (data/lexicon, data/triage/criteria.yml and data/triage_eval are not).
RASA_DATA   := data/nlu data/stories data/rules data/triage/advice_responses.yml
TRAIN_INPUTS := config.yml domain.yml data/triage/advice_responses.yml $(shell find data/nlu data/stories data/rules -name '*.yml' 2>/dev/null) $(SPACY_STAMP)

export PYTHONUNBUFFERED := 1
export TF_CPP_MIN_LOG_LEVEL := 3
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# Rasa phones home by default; a clinic's machine should not.
export RASA_TELEMETRY_ENABLED := false

.PHONY: help venv spacy second-reading train run test test-fast validate lint format eval bench profile clean db

help:
	@echo "make run   - set everything up and chat with the assistant in this terminal"
	@echo "make test  - set everything up and run every test"
	@echo "make eval  - triage evaluation table and confusion matrix (results/)"
	@echo "make bench - latency/throughput/alert benchmark against stock Rasa (results/bench/, ~10 min)"
	@echo "make profile - where the CPU of a message goes, by stage, with flame graphs (results/bench/profile/)"

# --- environment -------------------------------------------------------------------------------------------
# .python-version says 3.10; pyenv's shim honours it. Rasa 3.6 does not run on 3.11+.
PYTHON310 := $(shell python3.10 -c 'import sys; print(sys.executable)' 2>/dev/null)

$(STAMP): pyproject.toml requirements.lock
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "ERROR: Python 3.10 is required (Rasa 3.6 does not support 3.11+), but 'python3.10' was not found."; \
	  echo "       Install Python 3.10 (e.g. 'pyenv install 3.10') and run make again."; exit 1; fi
	@echo ">> creating $(VENV) with $(PYTHON310) (first time takes a few minutes: Rasa brings TensorFlow)"
	@test -x $(PY) || $(PYTHON310) -m venv $(VENV)
	@$(PY) -m pip install --quiet --upgrade "pip<25" "setuptools<71" wheel 2> >(grep -v "is ignored" >&2)
	@$(PY) -m pip install --progress-bar off -c requirements.lock -e ".[dev]" > $(VENV)/pip.log 2>&1 \
	  || { tail -30 $(VENV)/pip.log; echo "ERROR: pip install failed; full log in $(VENV)/pip.log"; exit 1; }
	@$(PY) -c "import rasa, spacy, negspacy, telegram, sqlalchemy, alembic" || { echo "ERROR: install incomplete"; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)

# --- the project's own spaCy pipeline (blank English + entity ruler + negation), no downloads ------------
$(SPACY_STAMP): $(STAMP) $(LEXICON) $(shell find bot/nlp -name '*.py')
	@echo ">> building the spaCy pipeline from data/lexicon into $(SPACY_DIR)"
	@$(PY) -m bot.nlp.build --out $(SPACY_DIR)
	@touch $(SPACY_STAMP)

spacy: $(SPACY_STAMP)

# --- the second reading: a model learned from the labelled sets (data/triage/second_reading.yml) ------------
SECOND_READING := build/second_reading/model.joblib
$(SECOND_READING): $(SPACY_STAMP) data/triage/second_reading.yml $(wildcard data/triage_eval/*.jsonl) bot/nlp/second_reading.py
	@echo ">> training the second reading from the labelled sets"
	@$(PY) -m bot.nlp.second_reading --spacy $(SPACY_DIR) --out $(SECOND_READING)

second-reading: $(SECOND_READING)

# --- Rasa model ----------------------------------------------------------------------------------------------
$(MODEL_DIR)/.trained: $(TRAIN_INPUTS) $(SECOND_READING) $(shell find bot/rasa_nlu -name '*.py')
	@echo ">> training the Rasa model (skipped by Rasa when nothing changed)"
	@$(BIN)/rasa train --data $(RASA_DATA) --fixed-model-name aftercare --out $(MODEL_DIR) --quiet
	@touch $(MODEL_DIR)/.trained

train: $(MODEL_DIR)/.trained $(SECOND_READING)

validate: $(STAMP) $(SPACY_STAMP)
	@$(BIN)/rasa data validate --data $(RASA_DATA) --quiet

db: $(STAMP)
	@$(BIN)/aftercare db upgrade

# --- habits: style and layering (make test runs these first) -------------------------------------------------
lint: $(STAMP)
	@echo ">> ruff (lint and format check; pyproject.toml [tool.ruff])"
	@$(BIN)/ruff check --quiet .
	@$(BIN)/ruff format --check --quiet .
	@echo ">> import contracts (lint-imports; pyproject.toml [tool.importlinter])"
	@$(BIN)/lint-imports --no-cache

format: $(STAMP)
	@$(BIN)/ruff check --fix --quiet .
	@$(BIN)/ruff format --quiet .

# --- the two commands ------------------------------------------------------------------------------------------
run: train
	@$(PY) -m bot.run.launcher

test: train validate lint
	@$(BIN)/pytest -q -ra $(PYTEST_ARGS)
	@echo ">> Rasa conversation tests (tests/stories)"
	@$(BIN)/rasa test core --stories tests/stories --model $(MODEL_DIR)/aftercare.tar.gz \
	  --out results/core --fail-on-prediction-errors --quiet

test-fast: $(SPACY_STAMP) $(SECOND_READING) lint
	@$(BIN)/pytest -q -m "not rasa and not e2e and not postgres and not browser" $(PYTEST_ARGS)

# One table per data set in data/triage_eval/, results in $(EVAL_OUT)/<set>/ (the README's commands test passes its
# own EVAL_OUT so it never writes over yours). Exit code 1 when a safety gate fails on any set.
EVAL_OUT    ?= results/eval
eval: train
	@PYTHONWARNINGS=ignore $(PY) -m devtools.evaluate --data $(sort $(wildcard data/triage_eval/*.jsonl)) --out $(EVAL_OUT)

# A benchmark, not a test: prints a table and writes results/bench/bench.json. Needs PostgreSQL and Redis on
# loopback (AFTERCARE_BENCH_POSTGRES_URL, AFTERCARE_BENCH_REDIS_*). BENCH_ARGS="--no-training" skips timing
# the two fresh trainings (2-4 min of the run).
bench: train
	@$(PY) -m devtools.bench.run --rasa-data $(RASA_DATA) $(BENCH_ARGS)

# Where the CPU of a message goes, by stage, ours and stock: py-spy flame graphs and a table in
# results/bench/profile/ (~2 min; needs PostgreSQL and Redis like make bench, and a quiet machine).
profile: train
	@$(PY) -m devtools.bench.profile $(PROFILE_ARGS)

clean:
	rm -rf build models results .pytest_cache
