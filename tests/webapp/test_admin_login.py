"""Admin login: no username oracle, revocable sessions, a password policy, per-account back-off."""

from __future__ import annotations

import time

import pytest

from webapp.login_throttle import MAX_DELAY_S, backoff_delay

PASSWORD = "plum-orbit-cactus-41"
ELSEWHERE = {"REMOTE_ADDR": "203.0.113.9"}


@pytest.fixture
def alice(runner) -> str:
    """An admin named alice; returns her password."""
    result = runner.invoke(args=["create-admin", "alice", "--password", PASSWORD])
    assert result.exit_code == 0, result.output
    return PASSWORD


def login(client, username: str, password: str, **environ):
    """POST the login form, optionally from another address."""
    data = {"username": username, "password": password}
    return client.post("/admin/login", data=data, environ_base=environ)


def test_unknown_usernames_take_as_long_as_wrong_passwords(client, alice):
    def seconds(username: str) -> float:
        started = time.perf_counter()
        assert login(client, username, "not-the-password").status_code == 401
        return time.perf_counter() - started

    login(client, "warm-up", "x")  # the first unknown name also makes the stand-in hash
    # Interleaved, and the fastest of each: other work on the machine only adds time.
    pairs = [(seconds("alice"), seconds(f"nobody-{i}")) for i in range(5)]
    wrong, unknown = min(w for w, _ in pairs), min(u for _, u in pairs)
    assert unknown > 0.5 * wrong, (unknown, wrong)  # was 5 ms against 115 ms


def test_a_copied_session_cookie_stops_working_at_logout(client, alice):
    assert login(client, "alice", alice).status_code == 302
    copied = client.get_cookie("session").value
    assert client.get("/admin/moderation").status_code == 200
    client.post("/admin/logout")
    client.set_cookie("session", copied)
    assert client.get("/admin/moderation").status_code == 302  # back to the login page


def test_a_password_change_ends_earlier_sessions(runner, client, alice):
    assert login(client, "alice", alice).status_code == 302
    new = "a-brand-new-passphrase"
    assert runner.invoke(args=["create-admin", "alice", "--password", new]).exit_code == 0
    assert client.get("/admin/moderation").status_code == 302
    assert login(client, "alice", new).status_code == 302
    assert client.get("/admin/moderation").status_code == 200


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("12345678", "at least 12 characters"),
        ("alice", "at least 12 characters"),
        ("alice-in-wonderland", "must not contain the username"),
        ("ALICEALICEALICE", "must not contain the username"),
        ("password1234", "most common"),
        ("qwertyuiop12", "most common"),
    ],
)
def test_weak_admin_passwords_are_refused(runner, password, rule):
    result = runner.invoke(args=["create-admin", "alice", "--password", password])
    assert result.exit_code != 0 and rule in result.output


def test_a_password_equal_to_the_username_is_refused(runner):
    name = "administrator-one"
    result = runner.invoke(args=["create-admin", name, "--password", name])
    assert result.exit_code != 0 and "must not contain the username" in result.output


@pytest.mark.parametrize("username", ["alice", "nobody"])  # unknown names back off alike
def test_failures_back_off_per_account_and_address(client, alice, username):
    for _ in range(5):
        assert login(client, username, "wrong-guess").status_code == 401
    held = login(client, "alice" if username == "alice" else username, alice)
    assert held.status_code == 429 and held.headers["Retry-After"] == "1"
    assert "try again in 1 s" in held.get_data(as_text=True)
    # The same account from another address, and another account from here, are not held.
    assert login(client, "alice", alice, **ELSEWHERE).status_code == 302
    client.post("/admin/logout")
    time.sleep(1.1)
    assert login(client, "alice", alice).status_code == 302  # the wait is over


def test_the_back_off_doubles_and_is_capped():
    assert [backoff_delay(n) for n in range(1, 9)] == [0, 0, 0, 0, 1, 2, 4, 8]
    assert backoff_delay(10_000) == MAX_DELAY_S == 900
