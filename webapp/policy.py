"""``/policy``: the content policy (docs/policy.md, or the operator's own), rendered once.

The Markdown is rendered at start-up with raw HTML off, so the page holds no markup the file
did not spell in Markdown (and no script, whatever the file says); it is served inside the
site's template and its Content-Security-Policy. Each heading gets an id: the category it
names (``/policy#violence``), else its words, so refusals can link their category's section.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import Blueprint, Flask, current_app, has_request_context, render_template, url_for
from markdown_it import MarkdownIt
from markupsafe import Markup

from safety.verdict import CATEGORIES

bp = Blueprint("policy", __name__)
EXTENSION = "safecanvas.policy"
DEFAULT_FILE = Path(__file__).resolve().parents[1] / "docs" / "policy.md"


def anchor(name: str) -> str:
    """The id of a heading or category: lower-case words joined by hyphens."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def render_policy(text: str) -> Markup:
    """Markdown to safe HTML: raw HTML is escaped, unsafe link schemes are dropped."""
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    tokens = md.parse(text)
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type != "heading_open":
            continue
        named = [c.content for c in inline.children or [] if c.type == "code_inline"]
        category = next((n for n in named if n in CATEGORIES), None)
        opening.attrSet("id", anchor(category or inline.content))
    return Markup(md.renderer.render(tokens, md.options, {}))


def policy_link(category: str | None = None) -> str:
    """The policy page (at a category's section) as a path, for templates."""
    return url_for("policy.page", _anchor=anchor(category) if category else None)


def policy_url(category: str | None = None) -> str:
    """Where the policy (or one category's section) is, for clients.

    Under SAFECANVAS_PUBLIC_URL when set, else a relative path (like webapp.api.public_url):
    never from the request's Host header, which the client chooses.
    """
    section = anchor(category) if category else None
    path = "/policy" + (f"#{section}" if section else "")
    if has_request_context():
        path = url_for("policy.page", _anchor=section)
    base = current_app.config.get("SAFECANVAS_PUBLIC_URL") if has_request_context() else None
    return f"{base}{path}" if base else path


@bp.get("/policy")
def page():
    """The content policy; 404 when this server publishes none."""
    html = current_app.extensions[EXTENSION]
    if html is None:
        return render_template("policy.html", policy=None), 404
    return render_template("policy.html", policy=html)


def init_app(app: Flask) -> None:
    """Render the policy file once; the default file may be missing (a bare package)."""
    path = app.config.get("SAFECANVAS_POLICY_FILE") or str(DEFAULT_FILE)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        text = None
    app.extensions[EXTENSION] = None if text is None else render_policy(text)
    app.add_template_global(policy_link)
