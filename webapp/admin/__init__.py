"""The admin area: login, the moderation log and model versions (``/admin``)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("admin", __name__, url_prefix="/admin")

from webapp.admin import moderation, session_views, versions  # noqa: E402,F401  (routes)


def init_app(app: Flask) -> None:
    """Register the admin pages and send browsers that need a login to our login page."""
    from webapp.auth import login_manager

    login_manager.login_view = "admin.login"
    login_manager.login_message_category = "error"
    app.register_blueprint(bp)
