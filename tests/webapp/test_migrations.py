"""Alembic migrations on SQLite and PostgreSQL: empty databases and existing rows."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, inspect, text

from webapp.migrate import current_revision, head_revision, upgrade


def test_upgrade_creates_every_table(database_url):
    upgrade(database_url)
    engine = create_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"users", "api_keys", "jobs", "images", "refusals", "image_blobs"} <= tables
    assert current_revision(database_url) == head_revision()


def test_upgrade_keeps_existing_rows(database_url):
    upgrade(database_url, "0001")
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_keys (name, prefix, key_hash, is_admin, created_at) "
                "VALUES ('ops', 'sc_abc', 'h1', false, CURRENT_TIMESTAMP)"
            )
        )
    upgrade(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, last_used_at FROM api_keys")).all()
    engine.dispose()
    assert rows == [("ops", None)]
    assert current_revision(database_url) == head_revision()


def test_upgrade_twice_is_a_no_op(database_url):
    upgrade(database_url)
    upgrade(database_url)
    assert current_revision(database_url) == head_revision()


@pytest.mark.parametrize("url", ["sqlite:///{tmp}/fresh.db"])
def test_cli_upgrade(tmp_path, monkeypatch, url):
    from webapp import create_app

    db_url = url.format(tmp=tmp_path)
    monkeypatch.setenv("SAFECANVAS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SAFECANVAS_DATABASE_URL", db_url)
    monkeypatch.setenv("SAFECANVAS_LOAD_MODELS", "off")
    result = create_app().test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"database at revision {head_revision()}" in result.output


def test_sqlite_runs_in_wal_mode(tmp_path):
    from webapp.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    with engine.connect() as conn:
        mode = conn.execute(text("PRAGMA journal_mode")).scalar()
    engine.dispose()
    assert mode == "wal"


def test_existing_log_entries_become_refused_ones(database_url):
    upgrade(database_url, "0005")  # the revision before outcomes
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO refusals (created_at, stage, categories, scores, matched_terms,"
                " reason, prompt, negative_prompt, requester, source, moderator_version,"
                " review_status) VALUES (CURRENT_TIMESTAMP, 'blocklist', '[]', '{}', '[]', 'r',"
                " 'p', '', 'key:1', 'api', 'm', 'confirmed')"
            )
        )
    upgrade(database_url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT outcome, language, job_id FROM refusals")).all()
        jobs = conn.execute(text("SELECT COUNT(*) FROM jobs WHERE moderation IS NULL")).scalar()
    engine.dispose()
    assert rows == [("refused", "", None)] and jobs == 0
