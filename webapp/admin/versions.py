"""Model versions: list them, activate one, roll back to the previous one."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for

from generation.errors import GenerationError
from webapp.admin import bp
from webapp.auth import admin_required
from webapp.services import get_services


@bp.get("/models")
@admin_required
def models():
    """Every model version, the active one marked."""
    generator = get_services().generator
    if generator.external:  # a Hub model is one fixed version; nothing to switch
        return render_template("admin_models.html", rows=[], external=generator.model)
    registry = generator.registry
    active = registry.active
    rows = [{"version": v, "active": v.name == active} for v in registry.list()]
    return render_template("admin_models.html", rows=rows, external=None)


@bp.post("/models/activate")
@admin_required
def activate():
    """Make the chosen version the one new jobs use."""
    try:
        version = get_services().generator.registry.activate(request.form.get("version", ""))
    except GenerationError as exc:  # unknown name, unreadable metadata
        flash(f"Not activated: {exc}", "error")
    else:
        flash(f"Version {version.name} is now active for new jobs.", "info")
    return redirect(url_for("admin.models"), code=303)


@bp.post("/models/rollback")
@admin_required
def rollback():
    """Go back to the version that was active before the current one."""
    try:
        version = get_services().generator.registry.rollback()
    except GenerationError as exc:  # nothing to roll back to
        flash(f"Not rolled back: {exc}.", "error")
    else:
        flash(f"Rolled back: {version.name} is active again.", "info")
    return redirect(url_for("admin.models"), code=303)
