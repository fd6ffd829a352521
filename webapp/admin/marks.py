"""Characters a reader cannot see, made visible in the admin pages: ``⟨U+202E⟩``.

A right-to-left override in a logged prompt showed the rest of it reversed, and zero-width
marks hid inside words; the reviewer sees the prompt as moderation read it, marks named.
"""

from __future__ import annotations

import unicodedata

from markupsafe import Markup, escape

SHOWN_AS_IS = frozenset(" \n\t")
MARK = Markup('<span class="invisible-mark" title="{name}">⟨U+{code:04X}⟩</span>')


def show_invisible(text: str | None) -> Markup:
    """``text`` escaped for HTML, each unprintable character as a labelled ``⟨U+XXXX⟩``."""
    if not text:
        return Markup("")
    if text.isprintable():
        return escape(text)
    return Markup("").join(
        escape(ch)
        if ch.isprintable() or ch in SHOWN_AS_IS
        else MARK.format(name=unicodedata.name(ch, "control character"), code=ord(ch))
        for ch in text
    )
