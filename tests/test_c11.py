"""memory="c11" (src/check_c11.c) beyond the litmus tests: it catches a weak-memory bug that SC and
TSO cannot (tests/plugins/weak.c), prints which store each load read and both accesses of a data
race, replays a failure bit for bit, refuses the reductions, and passes the correct schemes on the
corpus's hand-off programs."""

from __future__ import annotations

from pathlib import Path

import pytest

import refstrat
import refstrat.testing as rt
from refstrat.model import Program
from refstrat.testing import build_plugin
from refstrat.testing.sched.corpus import CORPUS

ROOT = Path(__file__).resolve().parent.parent
#: two holders drop the last references at once; a hand-off then the receiver drops it
_NAMES = ("two holders drop the last references at once", "a hand-off, then the receiver drops it")
PROGRAMS = [next(c.program for c in CORPUS if c.name == name) for name in _NAMES]


@pytest.fixture(scope="module")
def weak() -> str:
    out = Path(__import__("tempfile").mkdtemp()) / "weak.so"
    build_plugin(
        [ROOT / "tests" / "plugins" / "weak.c"], out, extra_args=("-O1", "-DRS_KEEP_WORKLOAD(w)=((w)==RS_W_TRACE)")
    )
    refstrat.load_plugin(out)
    return "plugin_atomic_relaxed_dec"


def test_relaxed_decrement_caught_only_by_c11(weak: str) -> None:
    prog = PROGRAMS[0]
    for memory in ("sc", "tso"):
        assert rt.check(weak, prog, schedule="exhaustive", memory=memory, reduction="none").ok, memory
    report = rt.check(weak, prog, schedule="exhaustive", memory="c11", raise_on_failure=False)
    assert not report.ok
    text = str(report.failure)
    assert "DATA RACE" in text and "free of the object" in text, text
    assert "refstrat/object.h" in text  # the free's own source line


def test_c11_failure_prints_reads_and_replays(weak: str) -> None:
    report = rt.check(weak, PROGRAMS[0], schedule="exhaustive", memory="c11", raise_on_failure=False)
    f = report.failure
    assert f is not None
    with pytest.raises(rt.CheckFailed) as again:
        rt.replay(f)
    assert again.value.failure.problems == f.problems
    assert "(reads " in str(f)  # each load names the store it read


@pytest.mark.parametrize("scheme", ["atomic", "biased", "signed", "locked", "gil", "coalesced", "percpu", "buffered"])
def test_correct_schemes_pass_c11(scheme: str) -> None:
    for prog in PROGRAMS:
        r = rt.check(scheme, prog, schedule="exhaustive", memory="c11", max_schedules=400, raise_on_failure=False)
        assert r.failure is None, r.failure


def test_c11_refuses_reductions() -> None:
    with pytest.raises(ValueError, match="memory='c11'"):
        rt.check("atomic", PROGRAMS[0], schedule="exhaustive", memory="c11", reduction="dpor")


def test_relaxed_message_passing_reads_stale_value_only_under_c11() -> None:
    """The scheduler explores reads-from: some c11 execution of a hand-off reads an older store
    (a read_from decision with a nonzero choice exists)."""
    from refstrat.model import expect
    from refstrat.testing.sched.runner import run_scheduled

    prog = PROGRAMS[1]
    out = run_scheduled("atomic", prog, expect(prog), memory="c11", want_log=True)
    assert any(s.primitive == "read_from" for s in out.steps)
    assert all(
        s.primitive != "read_from"
        for s in run_scheduled("atomic", prog, expect(prog), memory="sc", want_log=True).steps
    )


#: A real C11 (ARM) ordering bug c11 found in biased, fixed in include/refstrat/biased.h:
#: rs_brc_merge stored local = 0 and owner = 0 AFTER the acq_rel CAS that publishes the merged
#: count, so a non-owner's decrement could take the count to zero and free the object before those
#: relaxed stores, which then raced with the free (CPython clears ob_tid and ob_ref_local before its
#: CAS since gh-119999). The program of the executions that showed it (found by the default corpus
#: under c11, max_schedules=20_000), for biased and for cpython314t, which counts with it. Its
#: choice lists are not kept: replayed on the fixed code they steer other steps, and judge nothing.
BIASED_MERGE = Program(
    threads=(
        (("new", 1), ("inc", 1), ("inc", 1), ("send", 1, 1), ("send", 1, 1), ("dec", 1)),
        (("recv", 1), ("recv", 1), ("dec", 1), ("inc", 1), ("dec", 1), ("dec", 1)) + (("inc", 0), ("dec", 0)) * 2,
    ),
    shared=1,
)


@pytest.mark.parametrize("scheme", ["biased", "cpython314t"])
def test_biased_merge_program_passes_c11(scheme: str) -> None:
    report = rt.check(scheme, BIASED_MERGE, schedule="exhaustive", memory="c11", max_schedules=3_000)
    assert report.ok, report.failure
