"""Small helpers of the web tests: auth headers and waiting for a job to end."""

from __future__ import annotations

import time


def bearer(key: str) -> dict[str, str]:
    """Authorization header for ``key``."""
    return {"Authorization": f"Bearer {key}"}


def wait_final(client, job_id: str, key: str, timeout: float = 10.0) -> dict:
    """Poll a job until it reaches a final state (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = client.get(f"/api/v1/jobs/{job_id}", headers=bearer(key)).get_json()
        if view["status"] in {"succeeded", "refused", "failed", "cancelled"}:
            return view
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {view}")
