"""Errors raised by the safety layer."""

from __future__ import annotations


class ModerationUnavailable(RuntimeError):
    """A moderator could not load or failed while checking: the request must be refused."""
