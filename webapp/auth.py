"""Who is asking: API keys (Bearer, stored as sha256), admin sessions (Flask-Login)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from flask import Flask, Response, g, request
from flask_login import LoginManager, current_user
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from webapp.db import get_session
from webapp.errors import Forbidden, Unauthorized, wants_json
from webapp.models import ApiKey, User, utcnow
from webapp.passwords import check_strength, matches

KEY_PREFIX = "sc_"
# Writing last_used_at on every request would make each API call a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

login_manager = LoginManager()
login_manager.login_message = "Please log in as an administrator."


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The user of a session cookie (``User.get_id``: "id:session version"), or None.

    None when the user is gone, or logged out or changed their password since the cookie was
    issued: that bumped their session version.
    """
    user_pk, _, version = session_id.partition(":")
    if not (user_pk.isdigit() and version.isdigit()) or len(user_pk) > 18:
        return None
    session = get_session()
    user = session.get(User, int(user_pk))
    session.commit()  # release the connection: the request's own work opens its sessions
    if user is None or (user.session_version or 0) != int(version):
        return None
    return user


def hash_key(key: str) -> str:
    """The sha256 hex digest under which a key is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(session: Session, name: str, is_admin: bool = False) -> tuple[ApiKey, str]:
    """Store a new key's hash; returns the row and the key itself (shown once)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=key[:10], key_hash=hash_key(key), is_admin=is_admin)
    session.add(row)
    session.flush()
    return row, key


def set_password(user: User, password: str) -> None:
    """Replace the user's password hash and end the sessions started with the old one.

    Raises:
        WeakPassword: the password breaks the policy (``webapp.passwords``).
    """
    check_strength(user.username, password)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Invalidate every session cookie issued to the user so far (committed by the caller)."""
    user.session_version = (user.session_version or 0) + 1


def verify_password(user: User | None, password: str) -> bool:
    """Whether ``password`` is the user's; as slow for a missing user as for a wrong password."""
    return matches(user.password_hash if user is not None else None, password)


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def api_key_from_request() -> ApiKey | None:
    """The valid, unrevoked key of this request (cached on ``g``), or None."""
    if "api_key" in g:
        return g.api_key
    token = bearer_token()
    key = None
    if token and token.startswith(KEY_PREFIX):
        digest = hash_key(token)
        session = get_session()
        key = session.scalar(select(ApiKey).where(ApiKey.key_hash == digest))
        if key is not None and key.revoked_at is not None:
            key = None
        if key is not None:
            _touch(key)
        # End the transaction now: holding this connection for the whole request while the
        # service opens its own starved the pool under load (tests/e2e/test_load.py).
        session.commit()
    g.api_key = key
    if key is not None:
        g.requester = f"key:{key.id}"
    return key


def _touch(key: ApiKey) -> None:
    """Record when a key was last used, at most once a minute (committed by the caller)."""
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now


def requester_key() -> str:
    """Rate-limit key of the API: the key's requester id, else the client address."""
    key = api_key_from_request()
    return f"key:{key.id}" if key is not None else f"addr:{request.remote_addr}"


def require_api_key() -> None:
    """Before each request of a blueprint: 401 unless the request carries a valid API key."""
    if api_key_from_request() is None:
        raise Unauthorized("A valid API key is required: send 'Authorization: Bearer <key>'.")


def is_admin_request() -> bool:
    """Whether this request comes from an admin API key or a logged-in admin."""
    key = api_key_from_request()
    if key is not None:
        return bool(key.is_admin)
    return bool(current_user.is_authenticated and current_user.is_admin)


def require_admin() -> Response | None:
    """/admin/api: an admin API key or an admin session (None); others get 401/403."""
    if is_admin_request():
        if current_user.is_authenticated and api_key_from_request() is None:
            g.requester = f"user:{current_user.username}"
        return None
    if api_key_from_request() is not None or current_user.is_authenticated:
        raise Forbidden("This needs an administrator.")
    if wants_json():
        raise Unauthorized("An admin API key or an admin session is required.")
    return login_manager.unauthorized()


def require_admin_session() -> Response | None:
    """The admin pages: a logged-in admin only (API keys are for /admin/api and /api/v1)."""
    if api_key_from_request() is not None:
        raise Forbidden("API keys are for /admin/api; the admin pages need an admin login.")
    if current_user.is_authenticated and current_user.is_admin:
        g.requester = f"user:{current_user.username}"
        return None
    if current_user.is_authenticated:
        raise Forbidden("This needs an administrator.")
    if wants_json():
        raise Unauthorized("An admin session is required.")
    return login_manager.unauthorized()


def admin_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """Run an admin page's view for a logged-in admin only (see ``require_admin_session``)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        """Check, then run the view."""
        return require_admin_session() or view(*args, **kwargs)

    return wrapped


def init_app(app: Flask) -> None:
    """Set up Flask-Login; browsers that need an admin login go to the admin login page."""
    login_manager.login_view = "admin.login"
    login_manager.login_message_category = "error"
    login_manager.init_app(app)
