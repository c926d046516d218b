"""The ``refstrat`` package has no import circle, read from the source with ``ast`` (nothing is
imported, so the test needs no built core and sees every module, whatever modules exist).

An edge goes from a module to each module it imports anywhere in its text (at the top, inside a
function or under ``TYPE_CHECKING``): ``import a.b`` and ``from a import b`` name the module
``a.b`` where it exists, else the package ``a``. A module's import of its own parent package,
which Python makes anyway before the module runs, is not an edge of its own.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "refstrat"


def modules(root: Path = PACKAGE) -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__.py``)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The most specific module of the package that ``name`` names (None: outside it)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The package's modules that module ``name`` imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str | None] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(_resolve(alias.name, known) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..a import b
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found.update(_resolve(f"{base}.{alias.name}" if base else alias.name, known) for alias in node.names)
    parents = {".".join(name.split(".")[:k]) for k in range(1, name.count(".") + 1)}
    return {m for m in found if m and m != name and m not in parents}


def graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """The package's import graph: module -> the modules it imports."""
    known = modules(root)
    return {name: imports(name, path, known) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected set of more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_the_package_has_no_import_circle() -> None:
    edges = graph()
    # the graph saw the packages, subpackages included
    assert {
        "refstrat.bench.cells",
        "refstrat.bench.report",
        "refstrat.testing",
        "refstrat.testing.sched.runner",
    } <= set(edges)
    assert cycles(edges) == []


def test_a_circle_would_be_found(tmp_path: Path) -> None:
    pkg = tmp_path / "refstrat"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from refstrat.sub import a\n")
    (pkg / "sub" / "a.py").write_text("from . import b\n")
    (pkg / "sub" / "b.py").write_text("def f():\n    from refstrat.sub.a import g\n")
    edges = graph(pkg)
    assert edges["refstrat.sub.a"] == {"refstrat.sub.b"}
    assert edges["refstrat.sub.b"] == {"refstrat.sub.a"}
    assert cycles(edges) == [["refstrat.sub.a", "refstrat.sub.b"]]


if __name__ == "__main__":  # the picture: python tests/test_imports.py | dot -Tpng > imports.png
    edges = graph()
    print("digraph refstrat_imports {\n  rankdir=LR;")
    for module in sorted(edges):
        for dep in sorted(edges[module] - {module}):
            print(f'  "{module}" -> "{dep}";')
    print("}")
