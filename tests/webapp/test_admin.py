"""Admin pages: login, the moderation log (escaping, filters, review, CSV, chart), models."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update

from safety.verdict import Verdict
from webapp.db import session_factory, session_scope
from webapp.models import Refusal
from webapp.refusal_log import get_refusal_log

XSS_PROMPT = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">'


@pytest.fixture
def record(fake_app):
    """Stores one refusal, optionally back-dated: ``record(prompt=..., days_ago=2)``."""

    def record(
        prompt="a gory scene",
        stage="blocklist",
        categories=("violence",),
        requester="key:1",
        days_ago=0,
    ):
        verdict = Verdict(
            allowed=False,
            stage=stage,
            categories=tuple(categories),
            scores={c: 0.91 for c in categories},
            matched_terms=("gory",),
            reason="test",
            moderator_version="mod-1",
        )
        with fake_app.app_context():
            row = get_refusal_log().record(verdict, prompt, "", requester, "api", "v1")
            if days_ago:
                when = datetime.now(timezone.utc) - timedelta(days=days_ago)
                with session_scope(session_factory()) as session:
                    stmt = update(Refusal).where(Refusal.id == row.id).values(created_at=when)
                    session.execute(stmt)
        return row.id

    return record


@pytest.fixture
def admin(runner, client):
    """A logged-in admin's client."""
    result = runner.invoke(args=["create-admin", "alice", "--password", "correct-horse"])
    assert result.exit_code == 0, result.output
    response = client.post("/admin/login", data={"username": "alice", "password": "correct-horse"})
    assert response.status_code == 302
    return client


def test_admin_pages_need_a_login(client):
    response = client.get("/admin/moderation?stage=image")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")
    assert client.get("/admin/models").status_code == 302


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong-pass"), ("bob", "x")])
def test_wrong_credentials_are_refused(runner, client, username, password):
    runner.invoke(args=["create-admin", "alice", "--password", "correct-horse"])
    response = client.post("/admin/login", data={"username": username, "password": password})
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/admin/moderation").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:x"])
def test_login_never_redirects_off_site(runner, client, target):
    runner.invoke(args=["create-admin", "alice", "--password", "correct-horse"])
    data = {"username": "alice", "password": "correct-horse", "next": target}
    assert client.post("/admin/login", data=data).headers["Location"] == "/admin/moderation"


def test_log_shows_refusals_newest_first_with_prompts_escaped(record, admin):
    record(prompt="older prompt", days_ago=1)
    record(prompt=XSS_PROMPT, stage="classifier", categories=("hate", "harassment"))
    page = admin.get("/admin/moderation").get_data(as_text=True)
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=" in page
    assert "<script>window.pwned" not in page and "<img src=x" not in page
    assert page.index("&lt;script&gt;") < page.index("older prompt")
    for text in ("classifier", "hate", "harassment", "gory", "hate 0.91", "key:1"):
        assert text in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("stage=image", {"image-refusal"}),
        ("category=hate", {"hate-refusal"}),
        ("requester=key:9", {"key9-refusal"}),
        ("review_status=confirmed", set()),
        ("since={today}", {"hate-refusal", "image-refusal", "key9-refusal"}),
        ("until={last_week}", {"old-refusal"}),
    ],
)
def test_filters_narrow_the_log(record, admin, query, expected):
    record(prompt="old-refusal", days_ago=10)
    record(prompt="hate-refusal", categories=("hate",))
    record(prompt="image-refusal", stage="image", categories=("sexual",))
    record(prompt="key9-refusal", requester="key:9")
    today = datetime.now(timezone.utc).date()
    query = query.format(today=today, last_week=today - timedelta(days=7))
    page = admin.get(f"/admin/moderation?{query}").get_data(as_text=True)
    shown = set(re.findall(r"[a-z0-9]+-refusal", page))
    assert shown == expected


def test_a_bad_filter_is_a_clear_400(admin):
    response = admin.get("/admin/moderation?stage=nonsense")
    assert response.status_code == 400
    assert "must be one of" in response.get_data(as_text=True)
    assert admin.get("/admin/moderation?since=yesterday").status_code == 400


def test_log_is_paginated(record, admin, monkeypatch):
    monkeypatch.setattr("webapp.admin.routes.PER_PAGE", 2)
    for i in range(5):
        record(prompt=f"prompt-{i}", categories=("hate",))
    first = admin.get("/admin/moderation?category=hate").get_data(as_text=True)
    assert "prompt-4" in first and "prompt-3" in first and "prompt-2" not in first
    assert "Page 1 of 3" in first and "page=2&amp;category=hate" in first
    last = admin.get("/admin/moderation?category=hate&page=3").get_data(as_text=True)
    assert "prompt-0" in last and "prompt-1" not in last


def test_review_marks_a_false_positive_with_a_note(record, admin):
    refusal_id = record()
    response = admin.post(
        f"/admin/moderation/{refusal_id}/review",
        data={"status": "false_positive", "note": "a film title", "next": "/admin/moderation"},
    )
    assert response.status_code == 303
    page = admin.get("/admin/moderation?review_status=false_positive").get_data(as_text=True)
    assert "by alice: a film title" in page and "a gory scene" in page


def test_review_rejects_an_unknown_status(record, admin):
    refusal_id = record()
    response = admin.post(f"/admin/moderation/{refusal_id}/review", data={"status": "lol"})
    assert response.status_code == 400


def test_review_needs_a_csrf_token(fake_app, record, admin):
    refusal_id = record()
    fake_app.config["WTF_CSRF_ENABLED"] = True
    response = admin.post(f"/admin/moderation/{refusal_id}/review", data={"status": "confirmed"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_csv_export_neutralises_spreadsheet_formulas(record, admin):
    record(prompt='=HYPERLINK("http://evil.example","click")')
    record(prompt="+1+2", requester="@admin")
    record(prompt="plain prompt", categories=("hate",))
    response = admin.get("/admin/moderation.csv?category=violence")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["prompt"] for r in rows] == ["'+1+2", '\'=HYPERLINK("http://evil.example","click")']
    assert rows[0]["requester"] == "'@admin"
    assert rows[0]["scores"] == "violence=0.910" and rows[0]["matched_terms"] == "gory"


def test_chart_counts_refusals_per_day_and_category(record, admin):
    record(categories=("violence",))
    record(categories=("violence", "hate"))
    record(categories=("hate",), days_ago=2)
    page = admin.get("/admin/moderation").get_data(as_text=True)
    today = datetime.now(timezone.utc).date()
    assert '<svg class="chart"' in page
    assert f"<title>{today} · violence: 2</title>" in page
    assert f"<title>{today - timedelta(days=2)} · hate: 1</title>" in page


def test_logout_ends_the_session(admin):
    assert admin.post("/admin/logout").status_code == 302
    assert admin.get("/admin/moderation").status_code == 302


@pytest.fixture
def versions(fake_generator, tmp_path):
    """A real registry with a base and an adapter on it (metadata only, no weights)."""
    from generation.versions import Registry, write_json_atomic

    root = tmp_path / "models"
    for name, kind, parent in (
        ("canvas-shapes", "base", None),
        ("shapes-v2", "adapter", "canvas-shapes"),
    ):
        write_json_atomic(
            root / name / "version.json",
            {
                "name": name,
                "kind": kind,
                "parent": parent,
                "created": "2026-11-21T10:00:00+00:00",
                "evaluation": {"colour_accuracy": 0.975, "note": "<b>not shown</b>"},
            },
        )
    fake_generator.external, fake_generator.registry = False, Registry(root, shipped_dir=None)
    return fake_generator.registry


def test_models_page_lists_versions_and_activates_and_rolls_back(admin, versions):
    page = admin.get("/admin/models").get_data(as_text=True)
    assert "<code>shapes-v2</code>" in page and "colour_accuracy 0.975" in page
    assert page.count('<span class="tag confirmed">Active</span>') == 1
    response = admin.post("/admin/models/activate", data={"version": "shapes-v2"})
    assert response.status_code == 303 and versions.active == "shapes-v2"
    assert "shapes-v2 is now active" in admin.get("/admin/models").get_data(as_text=True)
    admin.post("/admin/models/rollback")
    assert versions.active == "canvas-shapes"


def test_models_page_explains_what_could_not_be_done(admin, versions):
    admin.post("/admin/models/activate", data={"version": "nope"})
    assert "Not activated: unknown model version" in admin.get("/admin/models").get_data(
        as_text=True
    )
    admin.post("/admin/models/rollback")
    assert "Not rolled back: no previous version" in admin.get("/admin/models").get_data(
        as_text=True
    )
