"""Partial-order reduction of the exhaustive exploration (issue 7): the sleep sets and the race
detection of the scheduler (src/check.c) against a pure-Python oracle, the three reductions
against each other, and their limits (SC only).
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

refstrat = pytest.importorskip("refstrat")
from refstrat.model import expect  # noqa: E402
from refstrat.testing import check, sched  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_check import PROGRAMS  # noqa: E402
from test_fuzz_broken import CATALOG  # noqa: E402

# enum rs_chk_op (include/refstrat/check.h)
(
    LOAD,
    STORE,
    FAA,
    XCHG,
    CAS,
    CAS_STRONG,
    FENCE,
    LOCK,
    UNLOCK,
    WAIT,
    TIMEDWAIT,
    SIGNAL,
    BROADCAST,
    SPIN,
    YIELD,
    NAP,
    START,
    TIMEOUT,
    DRAIN,
) = range(19)

_NONE, _READ, _WRITE, _WAIT, _ALL = range(5)
_CLASS = {
    LOAD: _READ,
    STORE: _WRITE,
    FAA: _WRITE,
    XCHG: _WRITE,
    CAS: _WRITE,
    CAS_STRONG: _WRITE,
    LOCK: _WRITE,
    UNLOCK: _WRITE,
    FENCE: _NONE,
    START: _NONE,
    SPIN: _WAIT,
    YIELD: _WAIT,
}


def _blocks(addr: int, size: int) -> range:
    """The 8-byte blocks an access touches (accesses are aligned and at most 8 bytes wide; a
    mutex counts as one byte)."""
    return range(addr >> 3, ((addr + max(size, 1) - 1) >> 3) + 1)


def oracle_races(trace: list[tuple[int, ...]], pending: Iterable[int] = ()) -> list[tuple[int, int]]:
    """The races the scheduler must report, computed independently from a run's trace: every
    (step i, thread q) such that a step of q does not commute with step i (of another thread)
    and is not ordered after it by the steps between; for each step of q, only the latest such
    i.  ``pending``: threads whose unknown next step (after the trace) commutes with nothing."""
    steps = [st[:4] for st in trace] + [(q, TIMEOUT, 0, 0) for q in pending]
    n = 1 + max((st[0] for st in steps), default=0)
    clock = [[0] * n for _ in range(n)]  # thread -> its vector clock
    ev_clock: list[list[int]] = []  # step -> its thread's clock after it
    last = [[-1] * n for _ in range(_ALL + 1)]  # class -> thread -> its latest step of the class
    last_w: dict[int, list[int]] = {}  # block -> thread -> its latest write there
    last_r: dict[int, list[int]] = {}  # block -> thread -> its latest read there
    others = [[p for p in range(n) if p != q] for q in range(n)]
    out = []
    for j, (q, op, addr, size) in enumerate(steps):
        cls = _CLASS.get(op, _ALL)
        cq = clock[q]
        cq[q] += 1
        if cls == _NONE:
            ev_clock.append(cq[:])
            continue
        blocks = _blocks(addr, size) if cls <= _WRITE else ()
        race = -1
        for p in others[q]:
            c = _oracle_latest(p, cls, blocks, last, last_w, last_r)
            if c < 0:
                continue
            ce = ev_clock[c]
            if ce[p] > cq[p]:  # c is not ordered before q's step: a race
                race = max(race, c)
                for t in range(n):
                    if ce[t] > cq[t]:
                        cq[t] = ce[t]
        if race >= 0:
            out.append((race, q))
        ev_clock.append(cq[:])
        last[cls][q] = j
        for b in blocks:
            (last_w if cls == _WRITE else last_r).setdefault(b, [-1] * n)[q] = j
    return out


def _oracle_latest(
    p: int,
    cls: int,
    blocks: Iterable[int],
    last: list[list[int]],
    last_w: dict[int, list[int]],
    last_r: dict[int, list[int]],
) -> int:
    """The latest step of thread p that does not commute with a step of class cls on blocks (its
    index, or -1).  Earlier steps of p are ordered before it, so the latest one is enough."""
    if cls == _ALL:
        return max(last[k][p] for k in (_READ, _WRITE, _WAIT, _ALL))
    c = last[_ALL][p]
    if cls == _WAIT:
        return max(c, last[_WRITE][p])
    if cls == _WRITE:
        c = max(c, last[_WAIT][p])
    for b in blocks:
        w = last_w.get(b)
        if w is not None and w[p] > c:
            c = w[p]
        if cls == _WRITE:
            r = last_r.get(b)
            if r is not None and r[p] > c:
                c = r[p]
    return c


#: Schemes with different primitives: RMWs only, CAS loops and queues, a helper thread with
#: mutexes and condition waits, epochs, a mutex per object, the GIL's timed waits.
SCHEMES = ["atomic", "biased", "buffered", "coalesced", "locked", "gil"]


def _schedules(program, n: int = 12) -> list[list[int]]:
    """A few choice sequences: the default, and single preemptions spread over the run."""
    return [[]] + [[0] * k + [1] for k in range(0, 4 * n, 4)]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_scheduler_races_match_the_oracle(scheme: str) -> None:
    checked = 0
    for prog in PROGRAMS[:4]:
        exp = expect(prog)
        for choices in _schedules(prog):
            out = sched.run_scheduled(scheme, prog, exp, choices=choices, want_trace=True)
            assert out.verdict == "done" and not out.problems
            got = sorted([(st[8], st[0]) for st in out.trace if st[8] >= 0] + out.end_race)
            want = sorted(oracle_races(out.trace, [q for _, q in out.end_race]))
            assert got == want, (prog, choices)
            checked += len(out.trace)
    print(f"{scheme}: races of {checked} steps agree")


def test_a_helper_that_never_ran_still_races() -> None:
    """buffered's commit thread never runs in the default schedule of a short program (the
    workers finish first): its unknown next step is reported as a race at the end."""
    prog = PROGRAMS[1]
    out = sched.run_scheduled("buffered", prog, expect(prog), want_trace=True)
    helpers = {q for _, q in out.end_race}
    assert helpers and all(q >= prog.nthreads for q in helpers)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_reductions_agree_and_only_prune(scheme: str) -> None:
    bound = 1 if scheme in ("biased", "buffered", "coalesced") else 2
    for prog in PROGRAMS[:3]:
        counts = {}
        for reduction in sched.REDUCTIONS:
            r = check(
                scheme, prog, schedule="exhaustive", preemption_bound=bound, reduction=reduction, max_schedules=50_000
            )
            assert r.ok and r.complete
            counts[reduction] = r.schedules
        print(scheme, counts)
        assert counts["dpor"] <= counts["none"] and counts["sleep"] <= counts["none"]


def test_a_sleeping_thread_prunes_the_run() -> None:
    """T0 explored first from the start decision, T1 chosen: T0's start commutes with every step,
    so T0 sleeps to the end and the run stops where T0 would run."""
    prog = PROGRAMS[0]
    out = sched.run_scheduled("atomic", prog, expect(prog), choices=[1], sleep_add=[1], want_log=True)
    assert out.verdict == "pruned" and out.problems == []
    assert out.steps[0].thread == 1 and out.steps[-1].thread == 0
    assert all(s.thread == 1 for s in out.steps[1:-1])
    free = sched.run_scheduled("atomic", prog, expect(prog), choices=[1])
    assert free.verdict == "done" and free.nsteps > out.nsteps


def test_bad_reduction_names_the_choices() -> None:
    with pytest.raises(ValueError, match="'none', 'sleep', 'dpor'"):
        check("atomic", PROGRAMS[0], schedule="exhaustive", reduction="fast")
    with pytest.raises(ValueError, match="memory='sc'"):
        check("atomic", PROGRAMS[0], schedule="exhaustive", memory="tso", reduction="dpor")
    assert check("atomic", PROGRAMS[0], schedule="exhaustive", memory="tso", preemption_bound=1).ok


@pytest.mark.parametrize("kw", [dict(sleep_add=[0]), dict(want_trace=True)])
def test_core_refuses_reduction_under_tso(kw: dict) -> None:
    """The C core validates its own configuration: sleep sets and races model SC only."""
    prog = PROGRAMS[0]
    with pytest.raises(ValueError, match="SC memory"):
        sched.run_scheduled("atomic", prog, expect(prog), memory="tso", **kw)


def test_coalesced_review_cannot_end_inside_a_flush(broken_plugin: list[str]) -> None:
    """What partial-order reduction found in coalesced at three preemptions: a review that ended
    between another worker's flush to zero and its zero test freed the object, which the zero test
    then queued again (a double free). The fixed scheme marks the review dirty before the add and
    passes; the variant that leaves the mark to the zero test (the old order) fails."""
    name = "broken_coalesced_mark_late"
    prog = CATALOG.CATALOG[name].program
    exp = expect(prog)
    for scheme, tick in [("coalesced", t) for t in (3, 5, 8)] + [(name, CATALOG.KNOBS[name]["tick"])]:

        def run(choices, pct=None, sleep_add=None, want_trace=False, scheme=scheme, tick=tick):
            return sched.run_scheduled(
                scheme, prog, exp, choices=choices, tick=tick, sleep_add=sleep_add, want_trace=want_trace
            )

        ex = sched.explore_exhaustive(run, 3, 50_000, reduction="dpor")
        print(scheme, "tick", tick, ex.schedules, "schedules")
        if scheme == name:
            assert ex.failure is not None and any("double free" in p for p in ex.failure.problems)
        else:
            assert ex.failure is None and ex.complete
