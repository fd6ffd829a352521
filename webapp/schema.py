"""Is the database at the schema this code expects? Asked before serving, never by /healthz."""

from __future__ import annotations

import logging
import threading

from alembic.runtime.migration import MigrationContext
from flask import Flask, current_app, request
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from webapp.db import session_factory
from webapp.errors import ServiceUnavailable
from webapp.migrate import head_revision, known_revision

log = logging.getLogger(__name__)
EXTENSION = "safecanvas.schema"
UPGRADE = "run `flask --app webapp db upgrade`"
# Blueprints whose views must answer without the database (liveness; readiness asks itself).
DATABASE_FREE = frozenset({"health"})


class SchemaCheck:
    """Compares the database's Alembic revision with the code's; remembers success."""

    def __init__(self, engine: Engine) -> None:
        """Check through ``engine``; the code's head revision is read once."""
        self.engine = engine
        self.head = head_revision()
        self._current = False
        self._reported: str | None = None
        self._lock = threading.Lock()

    def problem(self) -> str | None:
        """None when the schema is current (or the database cannot be asked); else what to do."""
        try:
            return self._check()
        except SQLAlchemyError:
            return None  # unreachable is not a schema problem: /readyz reports it

    def state(self) -> str:
        """'ready', or what is wrong: the database component of /readyz."""
        try:
            problem = self._check()
        except SQLAlchemyError as exc:
            return f"error: database unreachable ({type(exc).__name__})"
        return "ready" if problem is None else f"error: {problem}"

    def _check(self) -> str | None:
        """Ask the database for its revision (until it once matched the code's)."""
        if self._current:
            return None
        with self.engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
        if revision == self.head:
            self._current = True
            return None
        if revision is None:
            message = f"the database was never migrated; {UPGRADE}"
        elif known_revision(revision):
            message = (
                f"the database is at revision {revision}, the code needs {self.head}; {UPGRADE}"
            )
        else:
            message = f"the database is at revision {revision}, which this code does not know"
        self._report(message)
        return message

    def _report(self, message: str) -> None:
        """One log line per distinct problem, not one per request."""
        with self._lock:
            if message != self._reported:
                self._reported = message
                log.error("database schema: %s", message)


def init_app(app: Flask) -> None:
    """Refuse requests with 503 while the schema is out of date (before any hook uses it)."""
    app.extensions[EXTENSION] = SchemaCheck(session_factory(app).kw["bind"])
    app.before_request(_require_current_schema)


def uses_database() -> bool:
    """Whether this request's view may touch the database (not the probes, not a 404)."""
    return request.endpoint not in (None, "static") and request.blueprint not in DATABASE_FREE


def _require_current_schema() -> None:
    """503 naming the upgrade command, instead of a 500 from the first missing table."""
    if not uses_database():
        return
    problem = get_schema_check().problem()
    if problem is not None:
        raise ServiceUnavailable(f"The server is not ready: {problem}.", retry_after=30)


def get_schema_check(app: Flask | None = None) -> SchemaCheck:
    """The app's schema check."""
    return (app or current_app).extensions[EXTENSION]
