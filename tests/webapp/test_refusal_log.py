"""The refusal log on SQLite and PostgreSQL, and its admin JSON API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from limits.storage import MemoryStorage
from sqlalchemy import update

from generation.types import GenerationRequest
from safety.verdict import Verdict
from tests.webapp.helpers import bearer
from webapp.db import make_engine, session_scope
from webapp.errors import TooManyRequests
from webapp.limits import RefusalGuard
from webapp.metrics import REGISTRY
from webapp.migrate import upgrade
from webapp.models import Refusal
from webapp.refusal_filters import RefusalFilters
from webapp.refusal_log import RefusalLog


def _verdict(stage, *categories):
    return Verdict(False, stage, categories, {c: 0.9 for c in categories}, ("term",), "why", "m1")


@pytest.fixture
def log(database_url):
    """A refusal log with four refusals, the oldest two days ago."""
    from sqlalchemy.orm import sessionmaker

    upgrade(database_url)
    engine = make_engine(database_url)
    guard = RefusalGuard(MemoryStorage(), "2/minute", cooldown_s=60)
    log = RefusalLog(sessionmaker(engine, expire_on_commit=False), guard)
    log.record(_verdict("blocklist", "violence"), "p1", "", "key:1", "api", "v1")
    log.record(_verdict("classifier", "sexual/minors"), "p2", "n", "key:2", "api", "v1")
    log.record(_verdict("image", "sexual"), "p3", "", "key:1", "openai", "v1")
    old = log.record(_verdict("blocklist", "hate", "violence"), "p4", "", "web:x", "form", None)
    with session_scope(log.factory) as session:
        two_days_ago = datetime.now(timezone.utc) - timedelta(days=2)
        session.execute(update(Refusal).where(Refusal.id == old.id).values(created_at=two_days_ago))
    yield log
    engine.dispose()


def test_query_filters_newest_first(log):
    rows, total = log.query()
    assert total == 4 and [r.prompt for r in rows] == ["p3", "p2", "p1", "p4"]
    assert [r.prompt for r in log.query(RefusalFilters(stage="blocklist"))[0]] == ["p1", "p4"]
    assert [r.prompt for r in log.query(RefusalFilters(category="sexual"))[0]] == ["p3"]
    assert [r.prompt for r in log.query(RefusalFilters(category="violence"))[0]] == ["p1", "p4"]
    assert [r.prompt for r in log.query(RefusalFilters(requester="key:1"))[0]] == ["p3", "p1"]
    yesterday = datetime.now(timezone.utc) - timedelta(days=1)
    assert log.query(RefusalFilters(since=yesterday))[1] == 3
    assert log.query(RefusalFilters(until=yesterday))[1] == 1
    page2, total = log.query(page=2, per_page=3)
    assert total == 4 and [r.prompt for r in page2] == ["p4"]


def refusals_counted(stage: str, category: str, version: str = "v2") -> float:
    """The refusal counter of the metrics, for one stage, category and model version."""
    labels = {"stage": stage, "category": category, "version": version}
    return REGISTRY.get_sample_value("safecanvas_refusals_total", labels) or 0.0


def test_refuse_records_counts_cools_down_and_answers(log):
    req = GenerationRequest("p5", negative_prompt="n5", version="v2")
    counted = refusals_counted("image", "sexual")
    prompt = log.refuse(_verdict("blocklist", "violence"), req, "key:7", "api")
    log.guard.check("key:7")  # one refusal: no cool-down yet
    image = log.refuse(_verdict("image", "sexual"), req, "key:7", "api", guard_keys=["key:7"])
    assert prompt.message == (
        "The prompt was refused by the content policy (violence). The refusal was logged."
    )
    assert image.message == "A generated image was refused by moderation (sexual)."
    assert image.extra == {
        "moderation": {"action": "refuse", "stage": "image", "categories": ["sexual"]}
    }
    assert prompt.status == image.status == 400 and prompt.param == "prompt"
    rows = {r.id: r for r in log.query(RefusalFilters(requester="key:7"))[0]}
    assert set(rows) == {prompt.refusal_id, image.refusal_id}
    assert rows[image.refusal_id].model_version == "v2"
    assert rows[image.refusal_id].negative_prompt == "n5"
    assert refusals_counted("image", "sexual") == counted + 1
    with pytest.raises(TooManyRequests):  # the second refusal reached 2/minute
        log.guard.check("key:7")


def test_review_and_counts_per_day(log):
    row = log.review(1, "false_positive", "alice", "a drawing of a sword")
    assert row.review_status == "false_positive" and row.reviewer == "alice"
    assert [r.id for r in log.query(RefusalFilters(review_status="false_positive"))[0]] == [1]
    assert log.query(RefusalFilters(review_status="unreviewed"))[1] == 3
    counts = log.counts_per_day()
    assert sum(c["count"] for c in counts) == 5  # p4 counts under both of its categories
    assert len({c["day"] for c in counts}) == 2
    with pytest.raises(Exception, match="status must be one of"):
        log.review(1, "maybe", "alice", None)


@pytest.fixture
def refused(client, api_key):
    """One prompt refusal, recorded through the API."""
    response = client.post(
        "/api/v1/jobs", json={"prompt": "forbidden <script>"}, headers=bearer(api_key)
    )
    assert response.status_code == 400


def test_admin_api_lists_filters_and_reviews(refused, client, admin_key):
    body = client.get(
        "/admin/api/refusals?stage=blocklist&category=violence", headers=bearer(admin_key)
    ).get_json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["prompt"] == "forbidden <script>" and item["matched_terms"] == ["forbidden"]
    assert item["model_version"] == "fake-1" and item["moderator_version"] == "fake-mod-1"
    response = client.post(
        f"/admin/api/refusals/{item['id']}/review",
        json={"status": "confirmed", "note": "probing"},
        headers=bearer(admin_key),
    )
    assert response.status_code == 200 and response.get_json()["review_status"] == "confirmed"
    since = client.get("/admin/api/refusals?since=2999-01-01", headers=bearer(admin_key))
    assert since.get_json()["total"] == 0


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("stage=nope", "stage"),
        ("category=nope", "category"),
        ("since=yesterday", "since"),
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("review_status=x", "review_status"),
    ],
)
def test_admin_api_rejects_bad_filters(refused, client, admin_key, query, param):
    response = client.get(f"/admin/api/refusals?{query}", headers=bearer(admin_key))
    assert response.status_code == 400 and response.get_json()["error"]["param"] == param


def test_admin_review_errors(refused, client, admin_key):
    bad = client.post(
        "/admin/api/refusals/1/review", json={"status": "x"}, headers=bearer(admin_key)
    )
    assert bad.status_code == 400 and bad.get_json()["error"]["param"] == "status"
    gone = client.post(
        "/admin/api/refusals/99/review", json={"status": "confirmed"}, headers=bearer(admin_key)
    )
    assert gone.status_code == 404
    huge = client.post(
        f"/admin/api/refusals/{2**120}/review",
        json={"status": "confirmed"},
        headers=bearer(admin_key),
    )
    assert huge.status_code == 404
