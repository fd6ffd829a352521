"""The app's logging: one stderr handler, and no log line that a client's input can forge.

``EscapeControlChars`` is a filter on the handlers, so any formatter (a JSON one too) gets the
escaped message from ``record.getMessage()``.
"""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """Every unprintable character (controls, line separators, bidi and zero-width marks)
    as a visible escape: ``\\n``, ``\\x1b``, ``\\u202e``."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    """One character as Python writes it in a string literal."""
    code = ord(ch)
    return _NAMED.get(ch) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class EscapeControlChars(logging.Filter):
    """Escape what a client sent (a path with %0a, a prompt) in every record's message."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the message by its escaped form; never drops a record."""
        message = record.getMessage()
        escaped = escape_controls(message)
        if escaped != message:
            record.msg, record.args = escaped, None
        return True


class TextFormatter(logging.Formatter):
    """One line per record; a traceback's lines are indented, so none passes for a record."""

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        """The traceback, indented."""
        return _indent(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 (logging's name)
        """The stack, indented."""
        return _indent(super().formatStack(stack_info))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def configure(level: str) -> None:
    """Log to stderr once per process (gunicorn and flask capture it), escaped, at ``level``."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(TextFormatter(FORMAT))
        root.addHandler(handler)
    for handler in root.handlers:
        if not any(isinstance(f, EscapeControlChars) for f in handler.filters):
            handler.addFilter(EscapeControlChars())
    logging.getLogger("safecanvas").setLevel(level)
    logging.getLogger("webapp").setLevel(level)
