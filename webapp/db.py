"""Database engine and sessions: SQLite (WAL) by default, any SQLAlchemy URL by config."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

EXTENSION = "safecanvas.db"
POOL_TIMEOUT_S = 10


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        create_private_file(Path(make_url(url).database))
    # Sized for gunicorn's request threads plus the generation worker; a request that still
    # finds no connection in POOL_TIMEOUT_S gets 503 + Retry-After, not a hang.
    pool = {"pool_size": 10, "max_overflow": 30, "pool_timeout": POOL_TIMEOUT_S}
    if url.startswith("sqlite"):
        args = {"timeout": 30, "check_same_thread": False}
        engine = create_engine(url, connect_args=args, **pool)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def create_private_file(path: Path) -> None:
    """Create an empty SQLite file readable by its owner only (its -wal/-shm inherit that)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # an existing database keeps the mode its operator gave it


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """WAL lets readers run beside the one writer; synchronous=NORMAL is durable in WAL."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def init_app(app: Flask) -> None:
    """Create the engine for the app and close the request session on teardown."""
    engine = make_engine(app.config["SAFECANVAS_DATABASE_URL"])
    app.extensions[EXTENSION] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(close_session)


def session_factory(app: Flask | None = None) -> sessionmaker:
    """The app's session factory (for worker threads, which have no request)."""
    return (app or current_app).extensions[EXTENSION]


def get_session() -> Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = session_factory()()
    return g.db_session


def close_session(_exc: BaseException | None = None) -> None:
    """Close the request session, rolling back anything left uncommitted."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def session_scope(factory: sessionmaker) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
