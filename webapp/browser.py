"""What the browser pages get on top of the APIs: CSRF protection and security headers."""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from webapp.auth import api_key_from_request
from webapp.errors import JSON_PREFIXES

csrf = CSRFProtect()

# Scripts and styles come only from our own static folder, so an injected tag cannot run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    """Check CSRF tokens on the forms browsers post, and add security headers to pages."""
    if not app.config.get("SESSION_COOKIE_SAMESITE"):  # Flask's default is None
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # The bearer-key APIs carry no ambient credentials, so only the browser pages are checked.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    # Tokens live as long as the session, so a form left open for hours still submits.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    csrf.init_app(app)
    app.before_request(_protect_browser_forms)
    app.after_request(_browser_headers)
    if app.config["SAFECANVAS_HTTPS"]:
        # Served over HTTPS (behind the TLS proxy): cookies never travel in clear, and
        # browsers stop trying plain HTTP for a year.
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True
        app.after_request(_strict_transport_security)


def _protect_browser_forms() -> None:
    """Check the CSRF token on state-changing requests that a browser's cookie authenticates."""
    if request.method in {"GET", "HEAD", "OPTIONS"} or not current_app.config["WTF_CSRF_ENABLED"]:
        return
    if request.path.startswith(JSON_PREFIXES) and not _admin_api_by_cookie():
        return
    csrf.protect()


def _admin_api_by_cookie() -> bool:
    """The admin JSON API also accepts an admin's session cookie, which a forged form sends.

    Only a key that authenticates the request exempts it: with a junk ``Authorization``
    header, the cookie is still what lets it in.
    """
    return (
        request.path.startswith("/admin/api")
        and api_key_from_request() is None
        and current_user.is_authenticated
    )


def _strict_transport_security(response):
    """HSTS on every response of an app served over HTTPS."""
    response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _browser_headers(response):
    """Security headers on HTML pages; an API helper's own headers win."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response
