"""Invisible characters: an empty prompt is empty; the admin log shows the marks by name."""

from __future__ import annotations

import re

import pytest

from safety.verdict import Verdict
from tests.webapp.helpers import bearer
from webapp.admin.marks import show_invisible
from webapp.refusal_log import get_refusal_log

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
PASSWORD = "plum-orbit-cactus-41"


@pytest.mark.parametrize(
    "prompt", [" \u200b \u200b ", "\u202e", "\u2060\ufeff\u200d", BIDI_CONTROLS, "\u200b\n\t"]
)
@pytest.mark.parametrize("path", ["/api/v1/jobs", "/v1/images/generations"])
def test_a_prompt_of_invisible_characters_is_empty(client, api_key, fake_app, prompt, path):
    response = client.post(path, json={"prompt": prompt}, headers=bearer(api_key))
    assert response.status_code == 400
    assert response.json["error"]["param"] == "prompt"
    assert "must not be empty" in response.json["error"]["message"]
    with fake_app.app_context():
        assert get_refusal_log().query()[1] == 0  # never reached moderation


def test_the_admin_log_names_invisible_marks(fake_app, runner, client):
    prompt = "a \u202egory\u202c scene with zero\u200bwidth <b>tags</b>"
    verdict = Verdict(allowed=False, stage="blocklist", categories=("violence",), scores={})
    with fake_app.app_context():
        get_refusal_log().record(verdict, prompt, "calm\u2067", "key:1", "api", "v1")
    runner.invoke(args=["create-admin", "alice", "--password", PASSWORD])
    client.post("/admin/login", data={"username": "alice", "password": PASSWORD})
    page = client.get("/admin/moderation").get_data(as_text=True)
    assert "\u202e" not in page and "\u200b" not in page and "\u2067" not in page
    assert re.search(r"⟨U\+202E⟩</span>gory<span [^>]+>⟨U\+202C⟩", page)
    assert 'title="ZERO WIDTH SPACE">⟨U+200B⟩' in page
    assert 'title="RIGHT-TO-LEFT ISOLATE">⟨U+2067⟩' in page  # the negative prompt too
    assert "&lt;b&gt;tags&lt;/b&gt;" in page  # still escaped


def test_show_invisible_keeps_ordinary_text_and_escapes_it():
    assert str(show_invisible("two red circles\non blue")) == "two red circles\non blue"
    assert str(show_invisible("<i>")) == "&lt;i&gt;"
    assert "⟨U+0007⟩" in str(show_invisible("bell\x07"))
