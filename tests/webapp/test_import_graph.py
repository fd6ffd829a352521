"""The webapp package imports without cycles: every import counts, function-level ones too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "webapp"


def module_name(path: Path) -> str:
    """``webapp/api/routes.py`` -> ``webapp.api.routes``; a package is its ``__init__``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def webapp_modules() -> dict[str, Path]:
    """Every module of the package (migrations included), by dotted name."""
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, name: str, known: set[str]) -> set[str]:
    """The webapp modules one file imports, wherever the import statement stands."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:  # `from webapp import api` names a module, not webapp
                module = f"{base}.{alias.name}"
                found.add(module if module in known else base)
    return (found & known) - {name}


def import_graph() -> dict[str, set[str]]:
    """Module -> the webapp modules it imports."""
    modules = webapp_modules()
    known = set(modules)
    return {name: imported(path, name, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_reads_lazy_relative_and_from_imports(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text(
        "from webapp.db import get_session\n"
        "def f():\n"
        "    from webapp import api\n"
        "    from .. import models\n"
        "    import webapp.jobs.base\n"
    )
    known = {"webapp", "webapp.api", "webapp.db", "webapp.models", "webapp.jobs.base"}
    found = imported(source, "webapp.admin.mod", known)
    assert found == {"webapp.db", "webapp.api", "webapp.models", "webapp.jobs.base"}
    assert "webapp.db" in import_graph()["webapp"]  # create_app imports it inside the function


def test_the_cycle_finder_finds_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d", "a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_webapp_has_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles in webapp/: " + "; ".join(" <-> ".join(c) for c in found)
