"""The one definition of the refusal filters: parsed and checked the same for page and API."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from webapp.errors import InvalidRequest
from webapp.refusal_filters import RefusalFilters, link_args

UTC = timezone.utc


def test_arguments_become_typed_filters():
    args = {"stage": "image", "category": "sexual", "requester": " key:3 ", "review_status": ""}
    filters = RefusalFilters.from_args(args)
    assert filters == RefusalFilters(stage="image", category="sexual", requester="key:3")


@pytest.mark.parametrize(
    ("raw", "whole_days", "expected"),
    [
        ("2026-01-31", False, datetime(2026, 1, 31, tzinfo=UTC)),
        ("2026-01-31", True, datetime(2026, 2, 1, tzinfo=UTC)),  # the page: that day included
        ("2026-01-31T10:30", True, datetime(2026, 1, 31, 10, 30, tzinfo=UTC)),  # naive: UTC
        ("2026-01-31T10:30Z", False, datetime(2026, 1, 31, 10, 30, tzinfo=UTC)),
        ("2026-01-31T10:30+02:00", False, datetime(2026, 1, 31, 8, 30, tzinfo=UTC)),
    ],
)
def test_until_is_exclusive_and_a_page_date_includes_its_day(raw, whole_days, expected):
    until = RefusalFilters.from_args({"until": raw}, whole_days=whole_days).until
    assert until == expected and until.tzinfo is not None
    assert (
        RefusalFilters.from_args({"since": raw}).since.date()
        == datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC).date()
    )


@pytest.mark.parametrize(
    ("args", "param"),
    [
        ({"stage": "nope"}, "stage"),
        ({"category": "sexual/adults"}, "category"),
        ({"review_status": "maybe"}, "review_status"),
        ({"since": "yesterday"}, "since"),
        ({"since": "0001-01-01T00:00+01:00"}, "since"),  # out of range once in UTC
        ({"until": "9999-12-31"}, "until"),  # the next day does not exist
        ({"requester": "a\x00b"}, "requester"),
    ],
)
def test_bad_arguments_name_themselves(args, param):
    with pytest.raises(InvalidRequest) as info:
        RefusalFilters.from_args(args, whole_days=True)
    assert info.value.param == param


def test_links_keep_the_given_arguments_only():
    args = {"stage": "image", "since": " ", "page": "3", "until": "2026-01-31"}
    assert link_args(args) == {"stage": "image", "until": "2026-01-31"}
