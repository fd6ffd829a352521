"""CSV export of the moderation log, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable

from webapp.models import Refusal

COLUMNS = tuple(
    "id created outcome requester source stage categories scores matched_terms prompt"
    " negative_prompt model_version moderator_version language job_id review_status reviewer"
    " review_note reviewed_at reason image_id".split()
)
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell as text, quoted with a leading apostrophe when a spreadsheet would run it.

    Spreadsheets skip leading spaces and line breaks before they look for a formula, so
    ``" =1+1"`` and ``"\\n@SUM(A1)"`` are formulas too; invisible marks are skipped as well.
    """
    text = "" if value is None else str(value)
    risky = text.startswith(FORMULA_PREFIXES) or _first_visible(text) in FORMULA_PREFIXES[:4]
    return "'" + text if risky else text


def _first_visible(text: str) -> str:
    """The first character that is neither whitespace nor an invisible format mark, or ''."""
    for ch in text:
        if not ch.isspace() and unicodedata.category(ch) != "Cf":
            return ch
    return ""


def refusal_row(row: Refusal) -> list[str]:
    """One refusal as CSV cells in COLUMNS order."""
    scores = "; ".join(f"{k}={v:.3f}" for k, v in sorted((row.scores or {}).items()))
    values = (
        row.id,
        row.created_at.isoformat(),
        row.outcome,
        row.requester,
        row.source,
        row.stage,
        "; ".join(row.categories or []),
        scores,
        "; ".join(row.matched_terms or []),
        row.prompt,
        row.negative_prompt,
        row.model_version,
        row.moderator_version,
        row.language,
        row.job_id,
        row.review_status,
        row.reviewer,
        row.review_note,
        row.reviewed_at and row.reviewed_at.isoformat(),
        row.reason,  # a user report's own words
        row.image_id,  # the image a user report is about
    )
    return [safe_cell(v) for v in values]


def refusals_csv(rows: Iterable[Refusal]) -> str:
    """The whole CSV document, header first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(refusal_row(r) for r in rows)
    return out.getvalue()
