"""The app's logging: one stderr handler, text or JSON lines, each with its request id, and
no log line that a client's input can forge.

``EscapeControlChars`` is a filter on the handlers, so any formatter (the JSON one too) gets
the escaped message from ``record.getMessage()``. The request id comes from a context
variable (``bound``): the web tier binds it per request, the generation workers per job.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from pythonjsonlogger.core import RESERVED_ATTRS
from pythonjsonlogger.json import JsonFormatter

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ("levelname", "name", "message")
JSON_NAMES = {"levelname": "level", "name": "logger"}
# Celery puts a task's arguments, the job's prompt among them, in its lines' ``data``: prompts
# are private, and a JSON formatter would write every extra attribute.
JSON_LEFT_OUT = (*RESERVED_ATTRS, "data")
MAX_REQUEST_ID = 128
# Ids that proxies and tracers send (UUIDs, hex, base64, "Root=1-5e1b-…"): nothing that
# could break a log line, a header or a query by it.
_SAFE_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:+=/-]{{1,{MAX_REQUEST_ID}}}")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# (request id, job id) of the work this thread or task is doing now.
_context: ContextVar[tuple[str | None, str | None]] = ContextVar(
    "safecanvas_log_context", default=(None, None)
)


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


def is_safe_request_id(value: object) -> bool:
    """Whether ``value`` may be a request id: 1-128 of ``A-Z a-z 0-9 . _ : + = / -``."""
    return isinstance(value, str) and _SAFE_REQUEST_ID.fullmatch(value) is not None


def _safe(request_id: str | None) -> str | None:
    return request_id if is_safe_request_id(request_id) else None


def current_request_id() -> str | None:
    """The request id bound in this context (None outside a request or job)."""
    return _context.get()[0]


@contextmanager
def bound(request_id: str | None, job_id: str | None = None) -> Iterator[None]:
    """Log lines inside carry this request id (and job id); the previous ones after.

    An id that is not a safe one (``is_safe_request_id``: one off a broker, say) is not
    bound: the text format writes it as it is.
    """
    token = _context.set((_safe(request_id), job_id))
    try:
        yield
    finally:
        _context.reset(token)


def bind(request_id: str | None) -> object:
    """Bind a request id until ``unbind(token)`` (Flask's before/teardown hooks)."""
    return _context.set((_safe(request_id), None))


def unbind(token: object) -> None:
    """Restore what ``bind`` replaced (nothing bound, if it was bound in another context)."""
    try:
        _context.reset(token)  # type: ignore[arg-type]
    except ValueError:
        _context.set((None, None))


def _add_context(record: logging.LogRecord) -> logging.LogRecord:
    """Give a record the bound request id and job id, as attributes (JSON: fields)."""
    request_id, job_id = _context.get()
    if request_id is not None:
        record.request_id = request_id
    if job_id is not None:
        record.job_id = job_id
    return record


def _with_context(make):
    """Wrap a log record factory so each record it makes carries the context."""

    def make_record(*args, **kwargs) -> logging.LogRecord:
        return _add_context(make(*args, **kwargs))

    make_record.safecanvas = True
    return make_record


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

    def __init__(self, fmt: str = FORMAT) -> None:
        """Lines not about a request show ``-`` for its id."""
        super().__init__(fmt, defaults={"request_id": "-"})

    def formatException(self, ei) -> str:  # noqa: N802 (logging's name)
        """The traceback, indented."""
        return _indent(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 (logging's name)
        """The stack, indented."""
        return _indent(super().formatStack(stack_info))


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def formatter(fmt: str) -> logging.Formatter:
    """``text`` (the default) or ``json``: one JSON object per line, extras as fields.

    A JSON line has ``level``, ``logger``, ``message``, and ``request_id`` and
    ``job_id`` when the line is about one, and ``time`` (ISO 8601, UTC); a traceback is the
    ``exc_info`` string.
    """
    if fmt == "json":
        return JsonFormatter(
            list(JSON_FIELDS),
            rename_fields=JSON_NAMES,
            reserved_attrs=JSON_LEFT_OUT,
            timestamp="time",
        )
    return TextFormatter()


class _StderrHandler(logging.StreamHandler):
    """The handler ``configure`` adds (found again by its type when the app is rebuilt)."""


def configure(level: str, fmt: str = "text") -> None:
    """Log to stderr once per process (gunicorn and flask capture it), escaped, at ``level``.

    Records carry the bound request id whichever handler takes them; ``fmt`` applies to
    the stderr handler this adds when the process had none.
    """
    if not getattr(logging.getLogRecordFactory(), "safecanvas", False):
        logging.setLogRecordFactory(_with_context(logging.getLogRecordFactory()))
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(_StderrHandler())
    for handler in root.handlers:
        if isinstance(handler, _StderrHandler):
            handler.setFormatter(formatter(fmt))
        if not any(isinstance(f, EscapeControlChars) for f in handler.filters):
            handler.addFilter(EscapeControlChars())
    logging.getLogger("safecanvas").setLevel(level)
    logging.getLogger("webapp").setLevel(level)
