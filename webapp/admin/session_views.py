"""Admin login and logout (Flask-Login sessions)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from sqlalchemy import select

from webapp.admin import bp
from webapp.auth import verify_password
from webapp.db import get_session
from webapp.limits import client_ip, limiter
from webapp.models import User

LOGIN_FAILED = "Wrong username or password, or not an administrator."


def safe_next(target: str | None, default: str) -> str:
    """A same-site path to go to after login; anything else (``//evil``, ``https:``) is ignored."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


@bp.get("/")
def home():
    """The admin area starts at the moderation log."""
    return redirect(url_for("admin.moderation"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    "20/minute", key_func=client_ip, methods=["POST"], deduct_when=lambda r: r.status_code >= 400
)
def login():
    """Show the login form; on POST check the password and start an admin session."""
    next_url = safe_next(request.values.get("next"), url_for("admin.moderation"))
    if request.method == "GET":
        return render_template("admin_login.html", next_url=next_url)
    username = request.form.get("username", "").strip()
    user = get_session().scalar(select(User).where(User.username == username))
    if not verify_password(user, request.form.get("password", "")) or not user.is_admin:
        page = render_template(
            "admin_login.html", next_url=next_url, username=username, error=LOGIN_FAILED
        )
        return page, 401
    login_user(user)
    return redirect(next_url)


@bp.post("/logout")
def logout():
    """End the admin session."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("admin.login"))
