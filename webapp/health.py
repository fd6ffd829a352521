"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, jsonify

from webapp.loaded_models import get_loaded_models

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive (says nothing about the model)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """200 once the model and every moderator are loaded; 503 naming what is not."""
    ready, components = get_loaded_models().readiness()
    body = {"status": "ready" if ready else "not ready", "components": components}
    return jsonify(body), (200 if ready else 503)
