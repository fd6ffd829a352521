"""Rate limits (flask-limiter) and the cool-down for requesters who probe the filter.

The generation quota is charged only for requests that were served, so a refusal never
counts against it; refusals have their own counter instead (``SAFECANVAS_REFUSAL_LIMIT``),
and a requester who reaches it gets 429 for ``SAFECANVAS_REFUSAL_COOLDOWN_S`` seconds.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from flask import Flask, Response, current_app, has_request_context, request
from flask_limiter import Limiter, RateLimitExceeded
from limits import RateLimitItemPerSecond, parse
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from webapp.auth import requester_key
from webapp.errors import TooManyRequests, error_response
from webapp.login_throttle import LoginThrottle

EXTENSION = "safecanvas.refusal_guard"
LOGIN_EXTENSION = "safecanvas.login_throttle"
log = logging.getLogger(__name__)

# No X-RateLimit-*/Retry-After on every response: flask-limiter would also stretch the
# Retry-After of our own 503s to its window's reset. A 429 gets its Retry-After below.
limiter = Limiter(key_func=requester_key, headers_enabled=False)


def _api_rate() -> str:
    """The API quota, read per request so tests and reloads can change it."""
    return current_app.config["SAFECANVAS_RATE_LIMIT"]


def _form_rate() -> str:
    """The browser form's quota per address."""
    return current_app.config["SAFECANVAS_FORM_RATE_LIMIT"]


def client_ip() -> str:
    """The client address (after ProxyFix, when trusted proxies are configured)."""
    return request.remote_addr or "unknown"


def served(response: Response) -> bool:
    """Charge the quota only for requests that were served (never for refusals or errors)."""
    return response.status_code < 400


# One quota per API key across every generating endpoint (JSON and OpenAI APIs alike);
# per client address for the browser form.
api_limit = limiter.shared_limit(
    _api_rate, scope="generation", key_func=requester_key, deduct_when=served
)
form_limit = limiter.limit(_form_rate, key_func=client_ip, deduct_when=served)


def ip_requester(ip: str | None = None) -> str:
    """``ip:<salted sha256>``: an address we can count without storing it."""
    salt = current_app.config["SAFECANVAS_IP_HASH_SALT"]
    value = ip if ip is not None else client_ip()
    return "ip:" + hashlib.sha256(f"{salt}:{value}".encode()).hexdigest()[:24]


class RefusalGuard:
    """Counts refusals per requester in the limiter's storage and enforces the cool-down."""

    def __init__(self, storage, rate: str, cooldown_s: int, prefix: str = "") -> None:
        """Count in the limiter's storage with its own strategies."""
        self.item = parse(rate)
        self.cooldown = RateLimitItemPerSecond(1, cooldown_s)
        self.counter = MovingWindowRateLimiter(storage)
        self.marker = FixedWindowRateLimiter(storage)
        self.prefix = prefix or "safecanvas"

    def _keys(self, requester: str) -> list[str]:
        """Browser requesters are also counted by address, so a new cookie does not reset it."""
        keys = [requester]
        if not requester.startswith(("key:", "user:")) and has_request_context():
            keys.append(ip_requester())
        return keys

    def check(self, requester: str) -> None:
        """Raise TooManyRequests (with Retry-After) while the requester is cooling down."""
        for key in self._keys(requester):
            try:
                cooling = not self.marker.test(self.cooldown, self.prefix, "cooldown", key)
                reset, _ = self.marker.get_window_stats(self.cooldown, self.prefix, "cooldown", key)
            except Exception:  # storage down: the cool-down is a deterrent, not a safety gate
                log.warning("refusal cool-down storage unavailable", exc_info=True)
                return
            if cooling:
                raise TooManyRequests(
                    "Too many refused requests in a short time; try again later.",
                    retry_after=max(1, math.ceil(reset - time.time())),
                )

    def record(self, requester: str, keys: list[str] | None = None) -> None:
        """Count one refusal; reaching the limit starts the cool-down."""
        try:
            for key in keys or self._keys(requester):
                self.counter.hit(self.item, self.prefix, "refusals", key)
                if not self.counter.test(self.item, self.prefix, "refusals", key):
                    self.marker.hit(self.cooldown, self.prefix, "cooldown", key)
        except Exception:  # the refusal itself is already logged in the database
            log.warning("refusal cool-down storage unavailable", exc_info=True)

    def keys_for(self, requester: str) -> list[str]:
        """The counter keys of a requester, captured in a request for later use in a worker."""
        return self._keys(requester)


def init_app(app: Flask) -> None:
    """Bind the limiter to the configured storage and attach the refusal guard."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["SAFECANVAS_RATE_LIMIT_STORAGE"])
    # A Redis outage must not turn every API call into a 500: count in memory meanwhile.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter.init_app(app)
    app.register_error_handler(RateLimitExceeded, _rate_limited)
    app.extensions[EXTENSION] = RefusalGuard(
        limiter.storage,
        app.config["SAFECANVAS_REFUSAL_LIMIT"],
        app.config["SAFECANVAS_REFUSAL_COOLDOWN_S"],
        app.config.get("RATELIMIT_KEY_PREFIX", ""),
    )
    app.extensions[LOGIN_EXTENSION] = LoginThrottle(
        limiter.storage, app.config.get("RATELIMIT_KEY_PREFIX", "") or "safecanvas"
    )


def _rate_limited(exc: RateLimitExceeded) -> Response:
    """429 in our error shape, with Retry-After until the breached window resets."""
    current = limiter.current_limit
    retry = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    return error_response(
        429,
        f"Rate limit exceeded ({exc.description}); retry after {retry} s.",
        "rate_limit_exceeded",
        "rate_limit_error",
        retry_after=retry,
    )


def get_refusal_guard(app: Flask | None = None) -> RefusalGuard:
    """The app's refusal guard."""
    return (app or current_app).extensions[EXTENSION]


def get_login_throttle(app: Flask | None = None) -> LoginThrottle:
    """The app's back-off for failed admin logins."""
    return (app or current_app).extensions[LOGIN_EXTENSION]
