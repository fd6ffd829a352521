"""Package boundaries, read from every import statement (lazy ones inside functions included).

safety/ and generation/ share the text encoder through textencoder/ and never import each
other; none of the three imports the web layer or Flask (docs in README, "Architecture").
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "safety": ("generation", "webapp", "flask"),
    "generation": ("safety", "webapp", "flask"),
    "textencoder": ("generation", "safety", "webapp", "flask"),
}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) for each import in a file; relative ones stay in-package."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def violations(package: str) -> list[str]:
    """Imports in ``package`` of a package it must not import."""
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".")[0]
            if top in FORBIDDEN[package]:
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_its_neighbours(package: str) -> None:
    assert violations(package) == []


def test_the_scan_sees_lazy_imports(tmp_path: Path) -> None:
    """A function-level import counts as much as a top-level one (the scan can fail)."""
    source = tmp_path / "mod.py"
    source.write_text(
        "import os\n\ndef f():\n    from generation.text import x\n    import flask.json\n",
        encoding="utf-8",
    )
    assert [m for _, m in imported_modules(source)] == ["os", "generation.text", "flask.json"]
