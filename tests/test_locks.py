"""The lock axis (include/refstrat/locks.h): the registry, bad input, the model's lock discipline,
mutual exclusion on real threads and under the systematic scheduler, for every lock scheme."""

from __future__ import annotations

from dataclasses import replace

import pytest
import registry_source  # tests/registry_source.py
from hypothesis import given, settings
from hypothesis import strategies as st

import refstrat
from refstrat import Trace, TraceError, _core
from refstrat.model import Program, ProgramError, compare, expect
from refstrat.testing import check
from refstrat.testing.programs import programs
from refstrat.testing.timing import run_program

LOCKS = [lk.name for lk in refstrat.locks()]
EXCLUDING = [lk.name for lk in refstrat.locks() if lk.excludes]

TWO_LOCKERS = Program(
    threads=tuple(((("lock", 0), ("write", 0), ("read", 0), ("write", 0), ("unlock", 0)),) * 2), shared=1
)
PROMOTION_RACE = Program(
    threads=(
        (
            ("new", 1), ("inc", 1), ("send", 1, 1), ("lock", 1), ("write", 1), ("unlock", 1),
            ("lock", 1), ("write", 1), ("unlock", 1), ("dec", 1),
        ),
        (("recv", 1), ("lock", 1), ("write", 1), ("unlock", 1), ("dec", 1)),
    ),
    shared=1,
)  # fmt: skip


def test_registry() -> None:
    assert LOCKS == registry_source.locks()
    assert LOCKS[0] == "none" and EXCLUDING == LOCKS[1:]
    for s in refstrat.strategies():
        assert _core.strategy_locks(s.name) == LOCKS


def test_unknown_lock_names_the_choices() -> None:
    with pytest.raises(ValueError, match="unknown lock scheme .futex.; valid choices: none, global, mutex, pymutex"):
        refstrat.run("atomic", "private", 1, ops=100, locks="futex")
    with pytest.raises(TypeError, match="locks must be a str"):
        refstrat.run("atomic", "private", 1, ops=100, locks=3)


@pytest.mark.parametrize(
    "ops, message",
    [
        ([("unlock", 0)], "unlock of an object it has not locked"),
        ([("lock", 0), ("unlock", 0), ("unlock", 0)], "unlock of an object it has not locked"),
        ([("write", 0)], "write without its lock"),
        ([("lock", 0), ("lock", 0)], "one lock at a time"),
        ([("lock", 0)], "ends holding the lock of object 0"),
        ([("new", 1), ("lock", 1), ("dec", 1), ("unlock", 1)], "while holding its lock"),
        ([("new", 1), ("dec", 1), ("lock", 1), ("unlock", 1)], "use after free|without holding"),
    ],
)
def test_discipline_is_an_error_in_model_and_api(ops: list[tuple], message: str) -> None:
    with pytest.raises(ProgramError, match=message):
        expect(Program(threads=(tuple(ops),), shared=1))
    with pytest.raises(TraceError, match=message.replace("use after free|without holding", "holds no reference")):
        refstrat.run("atomic", "trace", 1, trace=Trace([ops], shared=1), locks="pymutex")


def test_unlock_by_a_non_holder_is_refused() -> None:
    ops = [[("lock", 0), ("unlock", 0)], [("unlock", 0)]]
    with pytest.raises(TraceError, match=r"thread 1, op 0: unlock\(0\): unlock of an object it has not locked"):
        Trace(ops, shared=1).compile()


def test_model_payloads() -> None:
    assert expect(TWO_LOCKERS).payloads == (4,)
    assert expect(PROMOTION_RACE).payloads == (0, 3)


@pytest.mark.parametrize("lock", EXCLUDING)
@pytest.mark.parametrize("strategy", ["atomic", "biased", "locked"])
def test_guarded_counter_exact_on_threads(strategy: str, lock: str) -> None:
    ops = [("lock", 0), ("write", 0), ("read", 0), ("write", 0), ("unlock", 0)] * 300
    r = refstrat.run(strategy, "trace", 4, trace=Trace([ops] * 4, shared=1), locks=lock)
    assert r.locks == lock
    assert r.final_payloads == (2400,)
    assert r.exclusion_violations == 0
    assert r.final_counts == (1,)


@pytest.mark.parametrize("lock", EXCLUDING)
@pytest.mark.parametrize("program", [TWO_LOCKERS, PROMOTION_RACE], ids=["two-lockers", "promotion-race"])
def test_correct_locks_pass_exhaustively(lock: str, program: Program) -> None:
    report = check("atomic", replace(program, locks=lock), schedule="exhaustive")
    assert report.ok and report.schedules > 1 and not report.bound_reached


@pytest.mark.parametrize("program", [TWO_LOCKERS, PROMOTION_RACE], ids=["two-lockers", "promotion-race"])
def test_none_is_caught(program: Program) -> None:
    report = check("atomic", replace(program, locks="none"), schedule="exhaustive", raise_on_failure=False)
    assert report.failure is not None
    assert "mutual exclusion" in str(report.failure) or "lost guarded writes" in str(report.failure)


@settings(max_examples=max(10, settings().max_examples // 10))
@given(program=programs(threads=st.integers(2, 4), locks=True))
def test_fuzzed_critical_sections_match_the_model(program: Program) -> None:
    """Hypothesis's programs with critical sections, on real threads, each count scheme drawn with
    the program's lock scheme: counts and guarded payloads as the model says, nobody inside
    together."""
    for strategy in ("atomic", "biased", "coalesced"):
        r = run_program(strategy, program, jitter=1)
        assert compare(expect(program), r) == [], (strategy, program)
    assert expect(program).payloads == tuple(
        sum(op == ("write", i) for ops in program.threads for op in ops) for i in range(program.objects)
    )


@pytest.mark.parametrize("lock", EXCLUDING)
def test_explain_counts_lock_events(lock: str) -> None:
    """The explain flavour counts acquisitions, contention, parks and wake-ups, promotions."""
    own = [("new", 1), ("inc", 1), ("send", 1, 1), *[("lock", 1), ("write", 1), ("unlock", 1)] * 50, ("dec", 1)]
    other = [("recv", 1), *[("lock", 1), ("write", 1), ("unlock", 1)] * 50, ("dec", 1)]
    r = refstrat.run("atomic", "trace", 2, trace=Trace([own, other], shared=1), locks=lock, explain=True)
    assert r.explain is not None and r.final_payloads == (0, 100)
    events = r.explain.events
    assert events["lock_acquisitions"] == 100
    assert events["lock_parks"] == events["lock_wakeups"] <= 100
    assert events["lock_contended"] <= 100
    assert events["lock_promotions"] == (1 if lock == "private" else 0)
    alone = refstrat.run("atomic", "trace", 1, trace=Trace([own[:1] + own[3:]], shared=1), locks=lock, explain=True)
    assert alone.explain is not None
    assert alone.explain.events["lock_promotions"] == alone.explain.events["lock_contended"] == 0


@pytest.mark.parametrize("lock", ["pymutex", "private"])
@pytest.mark.parametrize("program", [TWO_LOCKERS, PROMOTION_RACE], ids=["two-lockers", "promotion-race"])
def test_lock_free_paths_pass_exhaustively_under_tso(lock: str, program: Program) -> None:
    """The schemes built on atomics (the parking lot's flags, the promotion's mode and byte) under
    x86-TSO's store buffers, every schedule (no reduction: the reductions model SC only)."""
    report = check("atomic", replace(program, locks=lock), schedule="exhaustive", memory="tso")
    assert report.ok and report.schedules > 100 and not report.bound_reached
