"""CSV export of the moderation log, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from webapp.models import Refusal

COLUMNS = tuple(
    "id created requester source stage categories scores matched_terms prompt negative_prompt"
    " model_version moderator_version review_status reviewer review_note reviewed_at".split()
)
# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell as text, quoted with a leading apostrophe when a spreadsheet would run it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def refusal_row(row: Refusal) -> list[str]:
    """One refusal as CSV cells in COLUMNS order."""
    scores = "; ".join(f"{k}={v:.3f}" for k, v in sorted((row.scores or {}).items()))
    values = (
        row.id,
        row.created_at.isoformat(),
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
        row.review_status,
        row.reviewer,
        row.review_note,
        row.reviewed_at and row.reviewed_at.isoformat(),
    )
    return [safe_cell(v) for v in values]


def refusals_csv(rows: Iterable[Refusal]) -> str:
    """The whole CSV document, header first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(refusal_row(r) for r in rows)
    return out.getvalue()
