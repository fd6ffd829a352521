"""The database engine: SQLite files are private to the server's user."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text

from webapp.db import make_engine
from webapp.migrate import upgrade


@pytest.fixture
def umask_022():
    """The usual umask, under which SQLite would create its files world-readable (0644)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _modes(folder) -> dict[str, int]:
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


def test_new_sqlite_database_is_not_world_readable(tmp_path, umask_022):
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'safecanvas.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        modes = _modes(tmp_path / "data")  # while connected: the -wal and -shm files exist too
    engine.dispose()
    assert {"safecanvas.db", "safecanvas.db-wal", "safecanvas.db-shm"} <= set(modes)
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes


def test_migrated_database_is_not_world_readable(tmp_path, umask_022):
    upgrade(f"sqlite:///{tmp_path / 'safecanvas.db'}")
    assert stat.S_IMODE((tmp_path / "safecanvas.db").stat().st_mode) == 0o600


def test_an_existing_database_keeps_its_mode(tmp_path):
    path = tmp_path / "safecanvas.db"
    path.touch(mode=0o640)
    os.chmod(path, 0o640)
    make_engine(f"sqlite:///{path}").dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
