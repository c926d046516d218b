"""The registry is the only list: the C registries (RS_STRATEGIES, RS_WORKLOADS, RS_KNOBS,
RS_LOCKS) are where a scheme, a workload, a knob or a lock scheme is added, and everything else,
tests included, derives from them. This file fails when a hand-kept list creeps back into the Python sources."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover - core not built yet
    pytest.skip("refstrat core not built", allow_module_level=True)

import registry_source  # noqa: E402  (tests/registry_source.py)

from refstrat.bench import twins  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
REGISTRIES = {
    "strategies": {s.name for s in refstrat.strategies()},
    "workloads": {w.name for w in refstrat.workloads()},
    "knobs": {k.name for k in refstrat.knobs()},
    "locks": {lk.name for lk in refstrat.locks()},
}


def _python_sources() -> list[Path]:
    return sorted(p for top in ("refstrat", "tests", "bench", "docs") for p in (ROOT / top).rglob("*.py"))


def hand_kept_lists(source: str) -> list[tuple[int, str]]:
    """Literal lists, tuples and sets of str that name every entry of a registry, or all but one
    (every thread-safe scheme, every workload but trace): (line, registry) for each."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            names = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            for registry, every in REGISTRIES.items():
                if len(every) >= 3 and len(names & every) >= len(every) - (len(every) >= 4):
                    found.append((node.lineno, registry))
    return found


def test_no_python_source_keeps_a_registry_by_hand() -> None:
    creeping = [
        f"{path.relative_to(ROOT)}:{line}: a literal list of the {registry}"
        for path in _python_sources()
        for line, registry in hand_kept_lists(path.read_text())
    ]
    assert not creeping, "derive these from refstrat.strategies()/workloads()/knobs():\n" + "\n".join(creeping)


def test_the_guard_sees_a_hand_kept_list() -> None:
    every = sorted(REGISTRIES["strategies"])
    assert hand_kept_lists(f"CORRECT = {every[1:]!r}") == [(1, "strategies")]
    assert hand_kept_lists(f"X = {sorted(REGISTRIES['workloads'])!r}") == [(1, "workloads")]
    assert hand_kept_lists("SOME = ['atomic', 'biased', 'gil']") == []


def test_the_bindings_follow_the_c_registries() -> None:
    assert [s.name for s in refstrat.strategies()] == registry_source.strategies()
    assert [w.name for w in refstrat.workloads()] == registry_source.workloads()
    assert [k.name for k in refstrat.knobs()] == registry_source.knobs()
    assert [lk.name for lk in refstrat.locks()] == registry_source.locks()


def test_each_workload_row_names_its_limit_and_twin() -> None:
    """RS_WORKLOADS carries the limit kernel and the Python twin, or RS_NONE: refstrat.limit()
    refuses a workload without a limit, and the bench's --real rows run exactly the twins."""
    rows = refstrat.workloads()
    assert {w.twin for w in rows if w.twin} == set(twins.WORKLOADS)
    for w in rows:
        if w.has_limit:
            continue
        with pytest.raises(ValueError, match=f"limit has no '{w.name}' workload; valid choices: "):
            refstrat.limit(w.name, 1)
