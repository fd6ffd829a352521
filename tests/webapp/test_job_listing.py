"""GET /api/v1/jobs: a key's own jobs and images, paged and filtered."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import update

from tests.webapp.helpers import bearer, wait_final


def make_jobs(client, key: str, prompts: list[str], **extra) -> list[str]:
    """Run one job per prompt to its end; their ids in submission order."""
    ids = []
    for prompt in prompts:
        job = client.post("/api/v1/jobs", json={"prompt": prompt, **extra}, headers=bearer(key))
        assert job.status_code == 202, job.get_json()
        ids.append(job.get_json()["id"])
        wait_final(client, ids[-1], key)
    return ids


def set_created(app, job_id: str, when: datetime) -> None:
    """Move a job's creation time (to test the date filters on known times)."""
    from webapp.db import session_factory, session_scope
    from webapp.models import Job

    with session_scope(session_factory(app)) as session:
        session.execute(update(Job).where(Job.id == job_id).values(created_at=when))


def listing(client, key: str, query: str = "") -> dict:
    answer = client.get(f"/api/v1/jobs{query}", headers=bearer(key))
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_pages_are_newest_first_and_cover_every_job_once(fake_app, client, api_key):
    ids = make_jobs(client, api_key, [f"square {i}" for i in range(5)])
    for i, job_id in enumerate(ids):  # distinct, known times: job i is i days later
        set_created(fake_app, job_id, datetime(2026, 3, 1 + i, 12, tzinfo=timezone.utc))
    pages = [listing(client, api_key, f"?per_page=2&page={p}") for p in (1, 2, 3)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    seen = [item["id"] for p in pages for item in p["items"]]
    assert seen == list(reversed(ids))
    assert listing(client, api_key, "?per_page=2&page=4")["items"] == []
    first = pages[0]["items"][0]
    assert first["status"] == "succeeded" and first["params"]["prompt"] == "square 4"
    assert first["images"][0]["url"].startswith("/api/v1/images/")
    image = client.get(first["images"][0]["url"], headers=bearer(api_key))
    assert image.status_code == 200 and image.mimetype == "image/png"


def test_filters_by_status_dates_and_model(fake_app, client, api_key, fake_generator):
    fake_generator.version_names = ["fake-1", "fake-2"]
    done, refused = make_jobs(client, api_key, ["a square", "red-flag square"])
    (other,) = make_jobs(client, api_key, ["a circle"], model="fake-2")
    set_created(fake_app, done, datetime(2026, 1, 10, 9, tzinfo=timezone.utc))
    set_created(fake_app, refused, datetime(2026, 1, 11, 9, tzinfo=timezone.utc))
    set_created(fake_app, other, datetime(2026, 1, 12, 9, tzinfo=timezone.utc))

    def ids(query: str) -> list[str]:
        return [item["id"] for item in listing(client, api_key, query)["items"]]

    assert ids("?status=refused") == [refused]
    assert ids("?status=succeeded") == [other, done]
    assert ids("?status=cancelled") == []
    assert ids("?since=2026-01-11") == [other, refused]
    assert ids("?until=2026-01-11") == [done]  # exclusive
    assert ids("?since=2026-01-11T00:00:00Z&until=2026-01-12") == [refused]
    assert ids("?model=fake-2") == [other]
    assert ids("?model=fake-1&status=succeeded") == [done]
    assert listing(client, api_key, "?model=fake-1")["total"] == 2


def test_a_key_sees_only_its_own_jobs(client, api_key, make_key, admin_key):
    other_key = make_key("other")
    mine = make_jobs(client, api_key, ["mine"])
    theirs = make_jobs(client, other_key, ["theirs"])
    assert [i["id"] for i in listing(client, api_key)["items"]] == mine
    assert [i["id"] for i in listing(client, other_key)["items"]] == theirs
    assert listing(client, admin_key)["items"] == []  # admins list their own jobs too
    image_url = listing(client, api_key)["items"][0]["images"][0]["url"]
    assert client.get(image_url, headers=bearer(other_key)).status_code == 404


def test_listing_needs_a_key(client):
    assert client.get("/api/v1/jobs").status_code == 401


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("?status=done", "status"),
        ("?since=yesterday", "since"),
        ("?until=2026-13-01", "until"),
        ("?page=0", "page"),
        ("?per_page=201", "per_page"),
        ("?per_page=-1", "per_page"),
        ("?model=%00", "model"),
    ],
)
def test_bad_filters_are_400_naming_the_argument(client, api_key, query, param):
    answer = client.get(f"/api/v1/jobs{query}", headers=bearer(api_key))
    assert answer.status_code == 400
    assert answer.get_json()["error"]["param"] == param
