"""The second hostile round against the public API (issue 31): reserved row names, exceptions
that were not the documented ones, and a refusal that came only after gigabytes of setup.

Calls that could crash or hang run in a child process (test_defence.child), the rest here."""

from __future__ import annotations

from pathlib import Path

import pytest

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover - core not built yet
    pytest.skip("refstrat core not built", allow_module_level=True)

from test_defence import build_test_plugin, child  # noqa: E402

from refstrat import _core  # noqa: E402
from refstrat.trace import Trace, TraceError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESERVED = _core.reserved_rows()


def _build_reserved(name: str, out: Path) -> Path:
    return build_test_plugin("reserved.c", out, f'RS_RESERVED_NAME="{name}"')


def test_the_reserved_rows_are_one_list() -> None:
    assert RESERVED == ["speed_of_light", "limit", "limit+atomic"]
    for name in RESERVED:  # none of them is a strategy
        assert _core.find_strategy(name) is None
        assert name not in [s.name for s in refstrat.strategies()]


@pytest.mark.parametrize("name", RESERVED)
def test_a_plugin_named_like_a_reserved_row_is_refused(tmp_path: Path, name: str) -> None:
    """A plugin called "limit" was accepted, then run() ran the built-in limit kernel in its place
    (and reported the correct plugin buggy), Arena ran the plugin and check() stalled."""
    lib = _build_reserved(name, tmp_path / "reserved.so")
    got = child(f"""
        out.append(outcome(lambda: _core.load_plugin({str(lib)!r})))
        out.append(outcome(lambda: _core.find_strategy({name!r})))
        out.append(outcome(lambda: refstrat.Arena({name!r})))
    """)
    assert got[0][0] == "ValueError" and "already taken" in got[0][1] and repr(name) in got[0][1], got
    assert got[1] == ["ok", "None"], got  # nothing was registered
    assert got[2][0] == "ValueError" and "unknown strategy" in got[2][1], got


def test_the_reserved_rows_still_run() -> None:
    assert refstrat.limit("shared", 1, ops=10_000).strategy == "limit"
    assert refstrat.limit("shared", 1, ops=10_000, atomic=True).strategy == "limit+atomic"
    assert refstrat.speed_of_light("private", 1, ops=10_000).strategy == "speed_of_light"


@pytest.mark.parametrize("option", ["switch_interval", "zipf", "shared_fraction"])
@pytest.mark.parametrize("value", [10**400, -(10**400), 10**5000], ids=["1e400", "-1e400", "1e5000"])
def test_a_huge_int_for_a_real_option_is_a_value_error(option: str, value: int) -> None:
    with pytest.raises(ValueError, match=rf"{option}.*must be in \[.*got (an|a negative) int of \d+ bits"):
        refstrat.run("gil", "mixed", 2, ops=1000, **{option: value})


def test_a_huge_int_option_names_its_bound_without_printing_it() -> None:
    with pytest.raises(ValueError, match=r"ops must be in \[1, 1000000000000\], got an int of 16610 bits"):
        refstrat.run("atomic", "private", 1, ops=10**5000)


@pytest.mark.parametrize(
    "call",
    [
        lambda: refstrat.run("gil\ud800", "private", 1, ops=100),
        lambda: refstrat.Arena("atomic\udfff"),
        lambda: _core.find_strategy("\ud800"),
    ],
)
def test_a_name_with_a_lone_surrogate_is_a_value_error(call) -> None:
    with pytest.raises(ValueError, match="not valid text"):
        call()


@pytest.mark.parametrize(
    "field, value, kind",
    [
        ("immortal", None, "NoneType"),
        ("sharded", 5, "int"),
        ("deferred", "12", "str"),
    ],
)
def test_trace_id_sets_must_be_iterables(field: str, value: object, kind: str) -> None:
    with pytest.raises(TypeError, match=f"{field} must be an iterable of object ids, got {kind}"):
        Trace([[("new", 1), ("dec", 1)]], **{field: value})


def test_a_tampered_compiled_trace_is_refused_before_allocating() -> None:
    """The validated form is cached on the frozen Trace; one rewritten to claim 2^40 objects made
    Python allocate a list of that size (an empty MemoryError)."""
    trace = Trace([[("new", 1), ("dec", 1)]])
    compiled, final = trace._validated()
    object.__setattr__(trace, "_validation", ((2**40, *compiled[1:]), final))
    with pytest.raises(TraceError, match="at most 16777216 objects"):
        refstrat.run("atomic", "trace", 1, trace=trace)


def test_a_type_error_names_a_foreign_type_by_its_module() -> None:
    """numpy's bool_ is called "bool": "check must be a bool, got bool" said nothing."""
    fake = type("bool", (), {"__module__": "numpy"})()
    with pytest.raises(TypeError, match=r"check must be a bool, got numpy\.bool$"):
        refstrat.run("atomic", "private", 1, ops=100, check=fake)
    with pytest.raises(TypeError, match=r"ops must be an int, got numpy\.bool$"):
        refstrat.run("atomic", "private", 1, ops=fake)


def test_a_refused_configuration_costs_no_arena() -> None:
    """percpu's counters for 1024 threads over 10^8 slots: refused only after the arena's 5 GB
    were zeroed (16 s). The scheme's init now runs before the arena's pages are touched, so the
    child's peak memory stays near an idle interpreter's."""
    got = child(
        """
        out.append(outcome(lambda: refstrat.run('percpu', 'private', 1024, objects=10**5, ops=10)))
        # VmHWM, this image's own peak: getrusage's ru_maxrss keeps the forking parent's (Linux
        # carries the old image's peak across exec), so it reads the test runner's size.
        with open('/proc/self/status') as status:
            out.append(next(int(l.split()[1]) for l in status if l.startswith('VmHWM:')))  # KiB
    """,
        timeout=60,
    )
    assert got[0][0] == "ValueError" and "per-thread counters need" in got[0][1], got
    assert got[1] < 512 * 1024, f"peak RSS {got[1]} KiB: the arena was touched before the refusal"
