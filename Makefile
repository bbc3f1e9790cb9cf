# Lantern: `make run` starts the assistant, `make test` runs everything CI runs.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
export PYTHONPATH := $(CURDIR)
# Rasa 3.6 runs on SQLAlchemy 1.4 and warns about 2.0 on every start.
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
# Rasa's telemetry and error reports (to Rasa's Segment and Sentry) stay off for
# every Rasa command here: training, tests, benchmarks (scripts/run and the image too).
export RASA_TELEMETRY_ENABLED := false
MODEL = $(shell scripts/fingerprint)

.PHONY: help install run test lint typecheck check-texts content-check deploy-check unit validate train test-stories e2e bench bench-load bench-handoff bench-safety bench-danger lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

install: ## create .venv (Python 3.10) and install the locked dependencies
	@scripts/bootstrap

run: ## start action server, Rasa and the gateway (terminal chat without a token)
	@scripts/run

test: install lint typecheck check-texts content-check deploy-check unit validate train test-stories e2e ## everything CI runs
	@echo "make test: all stages passed"

lint: ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: ## mypy (strict) on bot, actions, rasa_ext and catalogue
	$(BIN)/mypy

check-texts: ## every text key in every language, placeholders and buttons valid
	$(BIN)/python -m catalogue.check

content-check: ## every topic in every language, sourced, dated, within limits, RTL-safe
	$(BIN)/python -m catalogue.content_check

deploy-check: ## Dockerfile, docker-compose.yml and deploy/k8s checked against their schemas
	@scripts/deploy-check

unit: ## pytest without the end-to-end tests
	$(BIN)/pytest -q -m "not e2e"

validate: ## rasa data validate
	$(BIN)/rasa data validate --quiet

train: ## train the model if training data or config changed
	@scripts/train

test-stories: train ## rasa test stories; any prediction error fails
	$(BIN)/rasa test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/stories --quiet

e2e: train ## gateway end to end: fake Bot API server, real Rasa and action server
	LANTERN_MODEL=$(MODEL) $(BIN)/pytest -q -m e2e

bench: train ## start-up time, memory per process, reply latency (bench/startup.py)
	LANTERN_MODEL=$(MODEL) $(BIN)/python bench/startup.py

bench-load: train ## messages/s, latency, CPU and memory under load, beside stock Rasa (bench/load.py)
	LANTERN_MODEL=$(MODEL) $(BIN)/python bench/load.py

bench-safety: train ## danger recall and false alarms per language, every set in bench/data (bench/safety.py)
	LANTERN_MODEL=$(MODEL) $(BIN)/python bench/safety.py --all

bench-danger: train ## refit the danger model per setting, judged as the pipeline judges (bench/danger.py)
	LANTERN_MODEL=$(MODEL) $(BIN)/python bench/danger.py

bench-handoff: train ## time to reach a counsellor and relay latency (bench/handoff.py)
	LANTERN_MODEL=$(MODEL) $(BIN)/python bench/handoff.py

lock: ## regenerate requirements.lock from requirements.in
	$(BIN)/uv pip compile requirements.in --python-version 3.10 \
	  --python-platform x86_64-manylinux_2_28 --override overrides.txt \
	  --generate-hashes -o requirements.lock

clean: ## remove models, results and local data (keeps .venv and .env)
	rm -rf models results var .venv-deploy .mypy_cache .ruff_cache .pytest_cache
