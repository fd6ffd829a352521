"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, jsonify

from webapp.loaded_models import get_loaded_models
from webapp.schema import get_schema_check

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive (says nothing about the model, and never asks the database)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """200 once the schema is current and every model is loaded; 503 naming what is not."""
    ready, components = get_loaded_models().readiness()
    components["database"] = get_schema_check().state()
    ready = ready and components["database"] == "ready"
    body = {"status": "ready" if ready else "not ready", "components": components}
    return jsonify(body), (200 if ready else 503)
