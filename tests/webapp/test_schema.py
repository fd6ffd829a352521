"""A database that was never migrated (or is behind): probes and requests say what to do."""

from __future__ import annotations

import logging

import pytest

from webapp import create_app
from webapp.config import test_config
from webapp.migrate import upgrade

UPGRADE = "flask --app webapp db upgrade"


@pytest.fixture
def unmigrated_app(tmp_path):
    """An app on a SQLite file that no migration ever ran on."""
    return create_app(test_config(str(tmp_path)))


def test_healthz_never_touches_the_database(tmp_path):
    # Nothing listens on port 9: any query would fail, so a 200 means none was made.
    cfg = test_config(str(tmp_path), SAFECANVAS_DATABASE_URL="postgresql+psycopg://x@127.0.0.1:9/x")
    client = create_app(cfg).test_client()
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json["components"]["database"].startswith("error: database unreachable")


def test_unmigrated_database_is_named_by_readyz_and_by_requests(unmigrated_app, caplog):
    client = unmigrated_app.test_client()
    with caplog.at_level(logging.INFO):
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        api = client.get("/api/v1/jobs/x", headers={"Authorization": "Bearer sc_x"})
        page = client.get("/admin/login")
    assert ready.status_code == 503
    assert UPGRADE in ready.json["components"]["database"]
    assert api.status_code == 503 and UPGRADE in api.json["error"]["message"]
    assert page.status_code == 503 and UPGRADE in page.get_data(as_text=True)
    assert "Traceback" not in caplog.text
    named = [r for r in caplog.records if UPGRADE in r.getMessage()]
    assert len(named) == 1 and named[0].levelno == logging.ERROR  # one line, not one per request


def test_a_server_started_before_the_migration_serves_after_it(unmigrated_app):
    client = unmigrated_app.test_client()
    assert client.get("/api/v1/jobs/x").status_code == 503
    upgrade(unmigrated_app.config["SAFECANVAS_DATABASE_URL"])
    assert client.get("/readyz").json["components"]["database"] == "ready"
    assert client.get("/api/v1/jobs/x").status_code == 401  # past the schema check


def test_a_database_behind_the_code_names_both_revisions(tmp_path):
    cfg = test_config(str(tmp_path))
    upgrade(cfg["SAFECANVAS_DATABASE_URL"], "0001")
    ready = create_app(cfg).test_client().get("/readyz")
    assert "at revision 0001, the code needs" in ready.json["components"]["database"]
    assert UPGRADE in ready.json["components"]["database"]
