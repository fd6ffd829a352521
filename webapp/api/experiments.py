"""/admin/api/experiments: traffic splits and canaries as JSON, for admin keys and sessions."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request
from flask_login import current_user

from webapp.api import json_object
from webapp.auth import api_key_from_request, require_admin
from webapp.errors import InvalidRequest
from webapp.experiments import get_experiments

bp = Blueprint("experiments_api", __name__, url_prefix="/admin/api/experiments")
bp.before_request(require_admin)


def _actor() -> str:
    """Who acts: the admin's name, or the admin key's requester id."""
    return current_user.username if current_user.is_authenticated else g.requester


def _body() -> dict:
    """The JSON body of a write; a session must send JSON (a forged form cannot)."""
    if api_key_from_request() is None and not request.is_json:
        raise InvalidRequest("Send the request as application/json.")
    return json_object()


@bp.get("")
def list_experiments():
    """Every experiment, newest first, and which one runs."""
    exps = get_experiments()
    return jsonify(items=exps.store.history(), running=exps.store.running_id())


@bp.post("")
def start_experiment():
    """Start a split or a canary: 201 with the experiment."""
    return jsonify(get_experiments().start(_body(), _actor())), 201


@bp.get("/<int:exp_id>")
def get_experiment(exp_id: int):
    """One experiment with its arms, events and per-version figures."""
    exps = get_experiments()
    exp = exps.store.get(exp_id)
    return jsonify({**exp, "versions": [r.to_dict() for r in exps.report(exp)]})


@bp.post("/<int:exp_id>/weights")
def set_weights(exp_id: int):
    """Change the weights; a rolled-back arm given weight comes back on."""
    return jsonify(get_experiments().set_weights(exp_id, _body().get("weights"), _actor()))


@bp.post("/<int:exp_id>/rollback")
def roll_back(exp_id: int):
    """Take an arm's traffic away now."""
    version = _body().get("version")
    if not isinstance(version, str):
        raise InvalidRequest("'version' is required.", param="version")
    return jsonify(get_experiments().roll_back(exp_id, version, _actor()))


@bp.post("/<int:exp_id>/end")
def end_experiment(exp_id: int):
    """Promote the winner (it becomes the active version) or abandon the experiment."""
    body = _body()
    return jsonify(get_experiments().end(exp_id, body.get("action"), body.get("winner"), _actor()))
