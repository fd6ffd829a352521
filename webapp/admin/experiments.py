"""/admin/experiments: start a split or canary, watch each version, reweigh, roll back, end."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.auth import admin_required
from webapp.errors import ApiError
from webapp.experiments import GUARD_BOUNDS, get_experiments

bp = Blueprint("experiments", __name__, url_prefix="/admin/experiments")


def _form_weights(prefix: str = "weight:") -> dict[str, int | str]:
    """``weight:<version>`` fields as a mapping; blanks are left out, numbers made ints."""
    weights: dict[str, int | str] = {}
    for key, raw in request.form.items():
        if key.startswith(prefix) and raw.strip():
            value = raw.strip()
            weights[key[len(prefix) :]] = int(value) if value.isdigit() else value
    return weights


def _form_guard() -> dict[str, float]:
    """The canary rule fields that were filled in (numbers; anything else is left to fail)."""
    guard = {}
    for name in GUARD_BOUNDS:
        raw = request.form.get(name, "").strip()
        if raw:
            try:
                guard[name] = int(raw) if raw.isdigit() else float(raw)
            except ValueError:
                guard[name] = raw  # refused by the check, naming the field
    return guard


def _page(exp_id: int | None):
    """The page for one experiment (the running one by default), with the start form."""
    exps = get_experiments()
    exp_id = exp_id or exps.store.running_id()
    exp = exps.store.get(exp_id) if exp_id else None
    return render_template(
        "admin_experiments.html",
        exp=exp,
        versions=exps.report(exp) if exp else [],
        history=exps.store.history(),
        installed=exps.generator.versions(),
        active=exps.generator.active_version,
        guard_defaults={k: exps.app.config[key] for k, (key, _, _) in GUARD_BOUNDS.items()},
    )


@bp.get("")
@admin_required
def index():
    """The running experiment, the start form and the history."""
    return _page(None)


@bp.get("/<int:exp_id>")
@admin_required
def show(exp_id: int):
    """One experiment of the history."""
    return _page(exp_id)


def _act(done: str, exp_id: int | None, action, *args):
    """Run ``action(*args)``; flash its outcome or its error, then back to the page (303)."""
    try:
        result = action(*args)
    except ApiError as exc:
        flash(f"Nothing changed: {exc.message}", "error")
    else:
        flash(done, "info")
        exp_id = result["id"]
    target = url_for(".show", exp_id=exp_id) if exp_id else url_for(".index")
    return redirect(target, code=303)


@bp.post("/start")
@admin_required
def start():
    """Start a split or a canary from the form."""
    body = {"weights": _form_weights(), "kind": request.form.get("kind", "split")}
    body.update({k: v for k in ("control", "name") if (v := request.form.get(k, "").strip())})
    body.update(_form_guard() if body["kind"] == "canary" else {})
    exps = get_experiments()
    return _act("The experiment is running.", None, exps.start, body, current_user.username)


@bp.post("/<int:exp_id>/weights")
@admin_required
def weights(exp_id: int):
    """New weights; a rolled-back arm given weight comes back on."""
    exps = get_experiments()
    return _act("Weights changed.", exp_id, exps.set_weights, exp_id, _form_weights(), _user())


@bp.post("/<int:exp_id>/rollback")
@admin_required
def rollback(exp_id: int):
    """Take one version's traffic away now."""
    version = request.form.get("version", "")
    done = f"{version} rolled back: it gets no traffic until you give it weight again."
    return _act(done, exp_id, get_experiments().roll_back, exp_id, version, _user())


@bp.post("/<int:exp_id>/end")
@admin_required
def end(exp_id: int):
    """Promote the chosen version, or abandon the experiment."""
    what, winner = request.form.get("action"), request.form.get("winner") or None
    done = f"{winner} is now the active version." if what == "promote" else "Abandoned."
    return _act(done, exp_id, get_experiments().end, exp_id, what, winner, _user())


def _user() -> str:
    """The acting admin's name."""
    return current_user.username
