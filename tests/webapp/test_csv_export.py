"""CSV export: no cell a spreadsheet would run as a formula, however it is padded."""

from __future__ import annotations

import csv
import io

import pytest

from webapp.admin.export import safe_cell


@pytest.mark.parametrize(
    "cell",
    [
        "=1+1",
        "@SUM(A1)",
        ' =HYPERLINK("http://evil")',
        "\n=cmd|' /C calc'!A0",
        "\r\n+1",
        "  @SUM(A1)",
        " \t-2",
        "\u00a0\u3000=1",
        "\u200b=1",
        "\t",
    ],
)
def test_formulas_get_a_protective_prefix_even_after_whitespace(cell):
    assert safe_cell(cell) == "'" + cell
    written = io.StringIO()
    csv.writer(written).writerow([safe_cell(cell)])
    assert next(csv.reader(io.StringIO(written.getvalue())))[0].startswith("'")


@pytest.mark.parametrize("cell", ["a gory scene", "", " plain", "2026-01-01", "3 - 2", "a=b"])
def test_ordinary_cells_are_left_alone(cell):
    assert safe_cell(cell) == cell
