"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, jsonify

from webapp.generation_service import get_generation_service
from webapp.loaded_models import get_loaded_models
from webapp.schema import get_schema_check

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """The process is alive (says nothing about the model, and never asks the database)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """200 once the schema is current and the model (with Celery: the broker) and every
    moderator are ready; 503 naming what is not.

    With Celery, ``workers`` says how many GPU workers answer; none is no reason for 503,
    since jobs wait in the broker until a worker comes.
    """
    ready, components = get_loaded_models().readiness()
    components["database"] = get_schema_check().state()
    queue_ready, queue_components = get_generation_service().readiness()
    ready = ready and queue_ready and components["database"] == "ready"
    components.update(queue_components)
    body = {"status": "ready" if ready else "not ready", "components": components}
    return jsonify(body), (200 if ready else 503)
