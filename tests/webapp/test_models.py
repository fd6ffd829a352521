"""Timestamps are stored as UTC and read back timezone-aware, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from webapp.db import make_engine, session_scope
from webapp.migrate import upgrade
from webapp.models import ApiKey

UTC = timezone.utc


def test_timestamps_come_back_aware_utc_and_compare_as_utc(database_url):
    upgrade(database_url)
    engine = make_engine(database_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    plus_two = timezone(timedelta(hours=2))
    with session_scope(factory) as session:
        session.add(ApiKey(name="a", prefix="sc_a", key_hash="a" * 64))
        session.add(
            ApiKey(
                name="b",
                prefix="sc_b",
                key_hash="b" * 64,
                revoked_at=datetime(2026, 1, 1, 12, tzinfo=plus_two),  # 10:00 UTC
                last_used_at=datetime(2026, 1, 1, 9),  # naive: taken as UTC
            )
        )
    with session_scope(factory) as session:
        a, b = session.scalars(select(ApiKey).order_by(ApiKey.name)).all()
        assert a.created_at.tzinfo == UTC and b.revoked_at.tzinfo == UTC
        assert b.revoked_at == datetime(2026, 1, 1, 10, tzinfo=UTC)
        assert b.last_used_at == datetime(2026, 1, 1, 9, tzinfo=UTC)
        cutoff = datetime(2026, 1, 1, 11, 30, tzinfo=plus_two)  # 09:30 UTC
        later = session.scalars(select(ApiKey.name).where(ApiKey.revoked_at > cutoff)).all()
        earlier = session.scalars(select(ApiKey.name).where(ApiKey.last_used_at < cutoff)).all()
        assert later == ["b"] and earlier == ["b"]
    engine.dispose()
