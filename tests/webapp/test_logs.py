"""Logging: nothing a client sends can start a line of its own in the log."""

from __future__ import annotations

import io
import json
import logging

import pytest

from webapp import logs
from webapp.logs import FORMAT, EscapeControlChars, TextFormatter, escape_controls


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("/api/v1/jobs/x\n2026-01-01 INFO forged", "/api/v1/jobs/x\\n2026-01-01 INFO forged"),
        ("a\r\nb\tc", "a\\r\\nb\\tc"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("line\u2028sep\u2029para\x85", "line\\u2028sep\\u2029para\\x85"),
        ("\u202eevil\u202c zero\u200bwidth", "\\u202eevil\\u202c zero\\u200bwidth"),
        ("plain text, ünïcode and 漢字", "plain text, ünïcode and 漢字"),
    ],
)
def test_escape_controls(raw, shown):
    assert escape_controls(raw) == shown


def _logger(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    handler.addFilter(EscapeControlChars())
    logger = logging.getLogger(f"test.logs.{id(out)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return logger, out


def test_text_lines_cannot_be_forged_by_arguments_or_tracebacks():
    logger, out = _logger(TextFormatter(FORMAT))
    logger.warning("GET %s 404", "/x\nFORGED request line")
    try:
        int("7\nFORGED from an exception")
    except ValueError:
        logger.exception("bad number")
    lines = out.getvalue().splitlines()
    assert "GET /x\\nFORGED request line 404" in lines[0]
    assert not any(line.startswith("FORGED") for line in lines)
    assert all(line.startswith("    ") for line in lines[2:])  # the traceback, indented


def test_a_json_formatter_gets_the_escaped_message():
    class JsonFormatter(logging.Formatter):
        def format(self, record):
            return json.dumps({"message": record.getMessage()})

    logger, out = _logger(JsonFormatter())
    logger.info("path=%s", "/a\u202eb\n")
    assert json.loads(out.getvalue())["message"] == "path=/a\\u202eb\\n"


def test_the_json_formatter_writes_one_object_per_line_even_for_a_traceback():
    logs.configure("INFO")  # installs the record factory that adds the bound ids
    logger, out = _logger(logs.formatter("json"))
    with logs.bound("req-1", "job-1"):
        try:
            int("7\nFORGED")
        except ValueError:
            logger.exception("bad %s", "number\n")
    logger.info("outside", extra={"status": 200})
    # As Celery logs a task: its arguments (a prompt) in ``data``, which must stay out.
    logger.info("Task received", extra={"data": {"args": "[{'prompt': 'private'}]"}})
    first, second, third = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["request_id"] == "req-1" and first["job_id"] == "job-1"
    assert first["message"] == "bad number\\n" and "ValueError" in first["exc_info"]
    assert "request_id" not in second and second["level"] == "INFO" and second["status"] == 200
    assert "private" not in json.dumps(third) and third["message"] == "Task received"


@pytest.mark.parametrize("raw", ["with space", "x\nFORGED", "a" * 129, "", 7, None])
def test_only_a_safe_request_id_is_bound(raw):
    logs.configure("INFO")
    logger, out = _logger(TextFormatter())
    with logs.bound(raw):  # e.g. a payload off the broker
        logger.info("line")
        assert logs.current_request_id() is None
    assert out.getvalue().splitlines()[0].endswith(" [-]: line")
