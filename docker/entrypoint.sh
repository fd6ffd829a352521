#!/bin/sh
# Container entry point: apply database migrations, then hand the process to gunicorn.
# Also runs outside Docker (tests/ops/test_entrypoint.py) with the venv's bin on PATH.
set -eu

cd "${SAFECANVAS_APP_DIR:-/app}"
# Migrating needs no model: don't start loading one only to wait for it at exit.
SAFECANVAS_LOAD_MODELS=off flask --app webapp db upgrade
exec gunicorn -c gunicorn.conf.py "webapp:create_app()" "$@"
