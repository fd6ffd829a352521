"""The canary rule on figures: each margin, the boundary, and which failures count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from webapp.db import session_factory, session_scope
from webapp.experiments.canary import ArmFigures, arm_figures, worse_by
from webapp.models import Job, utcnow

GUARD = {"min_sample": 10, "error_margin": 0.05, "refusal_margin": 0.05, "latency_margin": 0.5}
CONTROL = ArmFigures("base", jobs=100, errors=2, refusals=1, p95_s=2.0)


@pytest.mark.parametrize(
    ("canary", "reason"),
    [
        (ArmFigures("new", 100, errors=8, refusals=1, p95_s=2.0), "error rate 8.0% vs 2.0%"),
        (ArmFigures("new", 100, errors=2, refusals=7, p95_s=2.0), "image-check refusal rate"),
        (ArmFigures("new", 100, errors=2, refusals=1, p95_s=3.2), "p95 latency 3.20 s vs 2.00 s"),
    ],
)
def test_each_margin_rolls_back_on_its_own(canary, reason):
    reasons = worse_by(canary, CONTROL, GUARD)
    assert len(reasons) == 1 and reason in reasons[0]


@pytest.mark.parametrize(
    "canary",
    [
        ArmFigures("new", 100, errors=7, refusals=6, p95_s=3.0),  # exactly at every margin
        ArmFigures("new", 100, errors=0, refusals=0, p95_s=0.5),  # better
        ArmFigures("new", 100, errors=2, refusals=1, p95_s=None),  # no succeeded job to time
    ],
)
def test_at_or_within_the_margins_it_stays(canary):
    assert worse_by(canary, CONTROL, GUARD) == []


def test_the_figures_count_what_the_version_can_cause(fake_app):
    since = utcnow() - timedelta(minutes=1)
    start = utcnow()
    rows = [
        ("succeeded", None, 1.0),
        ("succeeded", None, 3.0),
        ("failed", "generation_failed", None),
        ("failed", "timeout", None),
        ("refused", "content_policy_violation", None),
        ("failed", "queue_full", None),  # not the version's doing
        ("failed", "interrupted", None),
        ("cancelled", "cancelled", None),
    ]
    with session_scope(session_factory(fake_app)) as session:
        for n, (status, code, seconds) in enumerate(rows):
            session.add(
                Job(
                    id=f"job-{n}",
                    requester="key:1",
                    source="api",
                    status=status,
                    params={},
                    error_code=code,
                    experiment_id=1,
                    experiment_arm="new",
                    started_at=start,
                    finished_at=start + timedelta(seconds=seconds or 0.1),
                )
            )
        session.add(  # before the arm's window: not counted
            Job(
                id="old",
                requester="key:1",
                source="api",
                status="failed",
                params={},
                error_code="generation_failed",
                experiment_id=1,
                experiment_arm="new",
                created_at=since - timedelta(minutes=5),
            )
        )
    with session_scope(session_factory(fake_app)) as session:
        figures = arm_figures(session, 1, "new", since)
    assert (figures.jobs, figures.errors, figures.refusals) == (5, 2, 1)
    assert figures.p95_s == pytest.approx(3.0)


def test_the_check_and_the_report_on_sqlite_and_postgresql(database_url):
    from sqlalchemy.orm import sessionmaker

    from webapp.db import make_engine
    from webapp.experiments.canary import check_jobs
    from webapp.experiments.report import build_report
    from webapp.experiments.store import ExperimentStore
    from webapp.migrate import upgrade

    upgrade(database_url)
    engine = make_engine(database_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    store = ExperimentStore(factory)
    guard = {**GUARD, "min_sample": 4}
    exp_id = store.start("t", "canary", "base", {"base": 50, "new": 50}, guard, "test")
    start = utcnow()
    rows = [("base", "succeeded", None)] * 4 + [("base", "failed", "generation_failed")]
    rows += [("new", "succeeded", None)] * 2 + [("new", "failed", "generation_failed")] * 2
    rows += [("new", "failed", "queue_full")]
    with session_scope(factory) as session:
        for n, (arm, status, code) in enumerate(rows):
            session.add(
                Job(
                    id=f"job-{n}",
                    requester=f"key:{n}",
                    source="api",
                    status=status,
                    params={},
                    error_code=code,
                    model_version=arm,
                    experiment_id=exp_id,
                    experiment_arm=arm,
                    started_at=start,
                    finished_at=start + timedelta(seconds=n + 1),
                )
            )
    try:
        check_jobs(factory, ["job-5"])
        exp = store.get(exp_id)
        new = next(a for a in exp["arms"] if a["version"] == "new")
        assert (new["state"], new["weight"]) == ("rolled_back", 0)
        assert new["last_check"]["canary"]["error_rate"] == 0.5  # queue_full not counted
        with session_scope(factory) as session:
            base, tuned = build_report(session, exp)
        assert (base.version, base.counted, base.errors, base.p95_s) == ("base", 5, 1, 4.0)
        assert (tuned.requests, tuned.counted, tuned.errors) == (5, 4, 2)
    finally:
        engine.dispose()
