"""Back-off for failed admin logins, per account and address, in the rate-limit storage.

Five failures for one username from one address are free; after that the address waits
1 s, 2 s, 4 s ... (at most 15 minutes) between attempts on that username, right password
or not. A success clears it. Keyed by address too, so someone elsewhere who guesses at an
admin's name slows only themselves and can never lock that admin out.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from webapp.errors import TooManyRequests

log = logging.getLogger(__name__)
FREE_FAILURES = 5
MAX_DELAY_S = 15 * 60
FAILURES_KEPT_S = 24 * 3600  # a failure streak is forgotten a day after its last failure


def backoff_delay(failures: int) -> int:
    """Seconds to wait after the ``failures``-th failure in a row (0 while still free)."""
    if failures < FREE_FAILURES:
        return 0
    return min(2 ** (failures - FREE_FAILURES), MAX_DELAY_S)


class LoginThrottle:
    """Counts failed logins per (username, address) and enforces the back-off."""

    def __init__(self, storage, prefix: str = "safecanvas") -> None:
        """Keep the counters in ``storage`` (the limiter's: memory or Redis)."""
        self.storage = storage
        self.prefix = prefix

    def _keys(self, username: str, address: str) -> tuple[str, str]:
        """Counter and wait keys; hashed, so the storage holds no usernames or addresses."""
        who = hashlib.sha256(f"{username.strip().lower()}|{address}".encode()).hexdigest()[:32]
        return f"{self.prefix}/login-failures/{who}", f"{self.prefix}/login-wait/{who}"

    def check(self, username: str, address: str) -> None:
        """Raise TooManyRequests (with Retry-After) while this address must wait."""
        _, wait = self._keys(username, address)
        try:
            if self.storage.get(wait) <= 0:
                return
            retry = max(1, math.ceil(self.storage.get_expiry(wait) - time.time()))
        except Exception:  # storage down: the back-off is a deterrent, the password the gate
            log.warning("login back-off storage unavailable", exc_info=True)
            return
        raise TooManyRequests(
            f"Too many failed logins for this account from your address; try again in {retry} s.",
            retry_after=retry,
        )

    def failed(self, username: str, address: str) -> None:
        """Count a failure; from the sixth on, start the next wait."""
        failures_key, wait = self._keys(username, address)
        try:
            failures = self.storage.incr(failures_key, FAILURES_KEPT_S)
            delay = backoff_delay(failures)
            if delay:
                self.storage.clear(wait)
                self.storage.incr(wait, delay)
        except Exception:
            log.warning("login back-off storage unavailable", exc_info=True)

    def succeeded(self, username: str, address: str) -> None:
        """Forget the failures of this username from this address."""
        try:
            for key in self._keys(username, address):
                self.storage.clear(key)
        except Exception:
            log.warning("login back-off storage unavailable", exc_info=True)
