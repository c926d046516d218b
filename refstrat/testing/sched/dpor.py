"""Dynamic partial-order reduction for the exhaustive exploration (SC only).

Without it the depth-first search (refstrat.testing.sched.search) tries every option at every decision.  Most
of those runs only reorder steps that commute: two loads, or accesses to different addresses,
give the same state in either order.  This module names the options that the search must try: an
option only where a run shows a race (Flanagan and Godefroid, "Dynamic partial-order reduction for
model checking software", POPL 2005): two steps of different threads that do not commute and are
not ordered by the steps between them.  The race's later thread is then tried at the decision
before the earlier step; where it could not run there, every option is.  Under a preemption bound,
reversing a race at that point may cost more preemptions than the bound allows, so the later
thread is also tried where the earlier step's thread last took over from another (Coons,
Musuvathi and McKinley, "Bounded partial-order reduction", OOPSLA 2013).  Sleep sets (in the
scheduler, src/check.c) stop a run that would only repeat one already run.

The scheduler finds the races as it runs (``rs_check_step.race``, vector clocks), with the
dependence of its sleep sets (src/check.c, ``chk_dependent``): accesses that overlap, one of them
a write (stores, read-modify-writes, compare-and-swaps; a mutex lock or unlock writes its mutex);
a spin or yield and any write (it parks unless another thread wrote); condition waits, wake-ups,
naps and timeouts and anything; fences (no store buffers in SC) and thread starts commute with
everything.  A step is a primitive plus its thread's own code up to the next primitive, which the
primitives' rule (every shared access goes through one) keeps private.  A helper thread still
able to run when the last worker finishes has an unknown next step (it runs free from there):
it counts as racing with the latest step it is not ordered after (``end_race``), or a helper
that never ran in one schedule would never be tried in any.

A timeout option is always tried (timeouts are few and their effect is not an address).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any


def option_threads(cur: int, runnable: int) -> list[int]:
    """The threads of a decision's run options, in the scheduler's order: the thread that reached
    the point first if it can go on, then the others round-robin from it (src/check.c)."""
    others = [t for t in range(runnable.bit_length()) if runnable >> t & 1 and t != cur]
    others.sort(key=lambda t: (t < cur, t))
    return ([cur] if cur >= 0 and runnable >> cur & 1 else []) + others


def first_options(decision: tuple[int, ...]) -> set[int]:
    """The options a decision must try whatever the races: the one its run took, every timeout,
    and where the run stopped at a sleeping thread, the first thread awake (to go on from there)."""
    nopts, choice, _, nrun, asleep = decision
    todo = {choice, *range(nrun, nopts)}
    if asleep >> choice & 1:
        todo.update([o for o in range(nrun) if not asleep >> o & 1][:1])
    return todo


def race_options(out: Any) -> Iterator[tuple[int, Iterable[int]]]:
    """The options that the races of run ``out`` (``want_trace``) ask to try, as (decision, its
    options): each race's later thread at the decision before the earlier step, and where the
    earlier step's thread last took over from another; where that thread could not run, every
    thread that could."""
    trace = out.trace
    decision_of = {j: k for k, j in enumerate(j for j, st in enumerate(trace) if st[4] > 1)}
    for i, q in [(st[8], st[0]) for st in trace if st[8] >= 0] + out.end_race:
        p = trace[i][0]
        b = i  # back to where p last took over from another thread
        while b > 0 and trace[b - 1][0] == p:
            b -= 1
        for s in {i, b}:
            k = decision_of.get(s)
            if k is not None:
                threads = option_threads(trace[s][6], trace[s][7])
                yield k, [threads.index(q)] if q in threads else range(out.decisions[k][3])
