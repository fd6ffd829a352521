"""/policy: the content policy rendered from Markdown, safely, inside the site's pages."""

from __future__ import annotations

import pytest

from tests.webapp.api_fakes import FakeGenerator, FakeModeration
from webapp.config import Config, ConfigError
from webapp.policy import DEFAULT_FILE, anchor, render_policy

HOSTILE = """# Our policy (`sexual`)

<script>window.pwned = 1</script>

Plain <b>html</b> stays text. [a link](javascript:alert(1)) and [fine](https://example.org/).

| allowed | refused |
|---|---|
| a cat | <img src=x onerror=alert(1)> |
"""


def _app(tmp_path, monkeypatch, **overrides):
    from webapp import create_app
    from webapp.config import test_config
    from webapp.loaded_models import LoadedModels
    from webapp.migrate import upgrade

    cfg = test_config(str(tmp_path), **overrides)
    upgrade(cfg["SAFECANVAS_DATABASE_URL"])
    monkeypatch.setenv("SAFECANVAS_INSTANCE_PATH", str(tmp_path))
    return create_app(cfg, LoadedModels(FakeGenerator(tmp_path / "models"), FakeModeration()))


def test_the_repositorys_policy_is_served_in_the_site(client):
    response = client.get("/policy")
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<h1" in page and "Content policy</h1>" in page
    for category in ("sexual", "sexual-minors", "violence", "hate", "self-harm", "illegal"):
        assert f'<h2 id="{category}">' in page
    assert "<table>" in page and "<td>a child flying a kite in a park</td>" in page
    assert 'class="topbar"' in page  # inside the site's own template
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_markup_in_the_file_stays_text_and_unsafe_links_are_dropped():
    html = str(render_policy(HOSTILE))
    assert "<script" not in html and "&lt;script&gt;window.pwned" in html
    assert "<b>" not in html and "&lt;b&gt;html&lt;/b&gt;" in html
    assert "<img" not in html and 'href="javascript' not in html
    assert '<a href="https://example.org/">fine</a>' in html
    assert '<h1 id="sexual">' in html  # a heading naming a category is that category's section


def test_an_operators_own_policy_file(tmp_path, monkeypatch):
    policy = tmp_path / "ours.md"
    policy.write_text(HOSTILE)
    app = _app(tmp_path, monkeypatch, SAFECANVAS_POLICY_FILE=str(policy))
    page = app.test_client().get("/policy").get_data(as_text=True)
    assert "Our policy" in page and "<script>window.pwned" not in page


def test_a_policy_file_that_is_not_there_stops_start_up(tmp_path):
    with pytest.raises(ConfigError, match="SAFECANVAS_POLICY_FILE"):
        Config.from_env({"SAFECANVAS_POLICY_FILE": str(tmp_path / "nope.md")}, str(tmp_path))


def test_without_the_default_file_the_page_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr("webapp.policy.DEFAULT_FILE", tmp_path / "missing.md")
    response = _app(tmp_path, monkeypatch).test_client().get("/policy")
    assert response.status_code == 404
    assert "publishes no content policy" in response.get_data(as_text=True)


def test_anchors_match_the_categories():
    assert DEFAULT_FILE.is_file()
    assert [anchor(c) for c in ("sexual/minors", "self-harm", "Languages")] == [
        "sexual-minors",
        "self-harm",
        "languages",
    ]


@pytest.mark.app_config(SAFECANVAS_PUBLIC_URL="https://canvas.example.org")
def test_refusals_link_the_policy_under_the_public_url_never_the_host_header(client, api_key):
    from tests.webapp.helpers import bearer

    response = client.post(
        "/api/v1/jobs",
        json={"prompt": "forbidden act"},
        headers={**bearer(api_key), "Host": "evil.example"},
    )
    assert response.get_json()["error"]["policy_url"] == "https://canvas.example.org/policy"
