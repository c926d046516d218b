"""Scheduling points per second of the check build (issue 7): one long program under the
deterministic scheduler, SC and TSO, with the default schedule (choice 0: a thread switch only
where a thread waits or ends) and with a switch at every scheduling point (choice 1 throughout:
the worst case, one futex hand-off per point).  A benchmark, not a test:

    nice -n 10 .venv/bin/python bench/check_speed.py
"""
import time

from refstrat import _check
from refstrat.model import Program, expect


def main() -> None:
    n = 20_000
    prog = Program(threads=tuple(tuple([("inc", 0), ("dec", 0)] * n) for _ in range(2)), shared=1)
    exp = expect(prog)
    for switches, choices in (("few switches", []), ("switch every point", [1] * 10**6)):
        for strategy in ("atomic", "biased", "coalesced"):
            for memory in ("sc", "tso"):
                best = 0.0
                for _ in range(3):
                    out = _check.run_checked(strategy, prog, exp, memory=memory, choices=choices,
                                             max_steps=10**8)
                    assert not out.problems, out.problems
                    best = max(best, out.nsteps / out.seconds)
                print(f"{switches:18s} {strategy:10s} {memory}: {out.nsteps:,} points, "
                      f"{best:,.0f} points/s (best of 3)")


if __name__ == "__main__":
    main()
