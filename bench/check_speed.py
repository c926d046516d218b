"""Scheduling points per second of the check build (issue 7): one long program under the
deterministic scheduler, SC, TSO and C11, with the default schedule (choice 0: a thread switch only
where a thread waits or ends) and with a switch at every scheduling point (choice 1 throughout:
the worst case, one futex hand-off per point); in SC also with the race detection and sleep sets
that partial-order reduction uses.  Then whole explorations: one program explored completely at
preemption bound 2 under each reduction (SC) and under TSO and C11 (no reduction), the
schedules, points and seconds it took, Python included.  A benchmark, not a test:

    nice -n 10 .venv/bin/python bench/check_speed.py
"""

import time

from refstrat.model import Program, expect
from refstrat.testing import sched

#: The corpus's "a hand-off keeping a reference, then work, then the last drop".
HAND_OFF = Program(
    threads=((("new", 1), ("inc", 1), ("send", 1, 1), ("inc", 0), ("dec", 0), ("dec", 1)), (("recv", 1), ("dec", 1))),
    shared=1,
)


def main() -> None:
    n = 20_000
    prog = Program(threads=tuple(tuple([("inc", 0), ("dec", 0)] * n) for _ in range(2)), shared=1)
    exp = expect(prog)
    for switches, choices in (("few switches", []), ("switch every point", [1] * 10**6)):
        for strategy in ("atomic", "biased", "coalesced"):
            for memory in ("sc", "tso", "c11"):
                best = 0.0
                for _ in range(3):
                    out = sched.run_scheduled(strategy, prog, exp, memory=memory, choices=choices, max_steps=10**8)
                    assert not out.problems, out.problems
                    best = max(best, out.nsteps / out.seconds)
                print(
                    f"{switches:18s} {strategy:10s} {memory}: {out.nsteps:,} points, {best:,.0f} points/s (best of 3)"
                )
            best = 0.0
            for _ in range(3):
                out = sched.run_scheduled(
                    strategy, prog, exp, choices=choices, max_steps=10**8, sleep_add=[], want_trace=True
                )
                assert not out.problems, out.problems
                best = max(best, out.nsteps / out.seconds)
            print(
                f"{switches:18s} {strategy:10s} sc, races + sleep sets: {out.nsteps:,} points, "
                f"{best:,.0f} points/s (best of 3)"
            )
    explorations()


def explorations() -> None:
    exp = expect(HAND_OFF)
    for strategy in ("atomic", "biased", "buffered"):
        for memory, reduction in [("sc", r) for r in sched.REDUCTIONS] + [("tso", "none"), ("c11", "none")]:

            def run(choices, pct=None, sleep_add=None, want_trace=False):
                return sched.run_scheduled(
                    strategy, HAND_OFF, exp, choices=choices, memory=memory, sleep_add=sleep_add, want_trace=want_trace
                )

            t0 = time.perf_counter()
            ex = sched.explore_exhaustive(run, 2, 10**6, reduction=reduction)
            dt = time.perf_counter() - t0
            assert ex.failure is None and ex.complete
            print(
                f"explore hand-off   {strategy:10s} {memory:3s} {reduction:5s}: {ex.schedules:,} schedules "
                f"({ex.pruned:,} pruned), {ex.steps:,} points, {dt:.2f} s, {ex.schedules / dt:,.0f} "
                f"schedules/s, {ex.steps / dt:,.0f} points/s"
            )


if __name__ == "__main__":
    import sys

    explorations() if sys.argv[1:] == ["--explorations"] else main()
