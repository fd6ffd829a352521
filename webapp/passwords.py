"""Admin passwords: the policy for new ones, and checks that take as long for any username."""

from __future__ import annotations

import secrets
from functools import cache

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 12
MAX_LENGTH = 1024


class WeakPassword(ValueError):
    """A new password breaks the policy; the message says which rule."""


@cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of leaked password sets (zxcvbn's list, MIT)."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def check_strength(username: str, password: str) -> None:
    """Raise WeakPassword unless ``password`` is long enough, not the name, and not common."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_LENGTH} characters")
    lowered, name = password.lower(), username.strip().lower()
    if name and (lowered == name or (len(name) >= 3 and name in lowered)):
        raise WeakPassword("the password must not contain the username")
    if lowered in common_passwords():
        raise WeakPassword("this password is one of the 30,000 most common ones")


@cache
def _dummy_hash() -> str:
    """A hash made like real ones (same method and cost) of a password nobody knows."""
    return generate_password_hash(secrets.token_hex(16))


def matches(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; without a hash it still spends a full check.

    Answering at once for an unknown user told an attacker which usernames exist (5 ms
    against 115 ms for a wrong password).
    """
    if not password_hash:
        check_password_hash(_dummy_hash(), password)
        return False
    return check_password_hash(password_hash, password)
