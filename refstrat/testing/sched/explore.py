"""The ways of exploring schedules that :func:`refstrat.testing.check` offers beside Hypothesis's
(``schedule="pct" | "exhaustive"``), each over a ``run`` callable that makes one scheduled run
(:func:`refstrat.testing.sched.runner.run_scheduled` with the program bound), and the shrinking of
a failing choice sequence.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from refstrat.testing.sched import search as _search
from refstrat.testing.sched.runner import REDUCTIONS, Outcome


@dataclass
class Exploration:
    schedules: int = 0  # runs, the pruned ones included
    pruned: int = 0  # runs the sleep sets stopped early
    steps: int = 0  # scheduling points over all runs
    complete: bool = True
    failure: Outcome | None = None
    bound_reached: bool = False  # a run hit max_steps; the exploration stopped there


def _cut(ex: Exploration, out: Outcome) -> bool:
    """Whether run ``out`` ends the exploration ``ex``: a failure, or a run cut by the step bound
    (its verdict says nothing about the scheme, and the search's next schedules would branch off
    its thousands of decisions, most of them as long)."""
    if out.problems:
        ex.failure = out
    elif out.verdict == "step bound":
        ex.bound_reached, ex.complete = True, False
    else:
        return False
    return True


def explore_exhaustive(
    run: Callable[..., Outcome], bound: int, max_schedules: int, *, reduction: str = "none"
) -> Exploration:
    """Every schedule with at most ``bound`` preemptions (CHESS), by depth-first search
    (refstrat.testing.sched.search): rerun with the prefix of the last schedule up to its deepest decision
    that has an option still to try within the bound, that option taken, and choice 0 after it.

    ``reduction`` (one of ``REDUCTIONS``; the reductions are SC only): ``"sleep"``, sleep sets
    (Godefroid 1996): the threads of the options already explored from a decision sleep below
    it until a step that does not commute with their pending primitive runs; a sleeping
    thread's option is not tried, and a run that reaches a step of a sleeping thread stops.
    ``"dpor"``: sleep sets, and an option is tried only where a run shows a race that it
    reverses (refstrat.testing.sched.dpor).  Without a bound neither skips a distinct outcome; with one, a
    schedule whose explored equivalents all need more preemptions than the bound is skipped."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; valid: {', '.join(map(repr, REDUCTIONS))}")
    ex = Exploration()
    search = _search.Search(bound, reduction)
    prefix: list[int] = []
    adds: list[int] | None = None if reduction == "none" else []
    while True:
        out = run(prefix, sleep_add=adds, want_trace=reduction == "dpor")
        ex.schedules += 1
        ex.steps += out.nsteps
        ex.pruned += out.verdict == "pruned"
        if _cut(ex, out):
            return ex
        nxt = search.successor(out)
        if nxt is None:
            return ex
        if ex.schedules >= max_schedules:
            ex.complete = False
            return ex
        prefix, adds = nxt


def explore_pct(
    run: Callable[..., Outcome], runs: int, depth: int, seed: int, max_schedules: int | None = None
) -> Exploration:
    """PCT (Burckhardt et al., ASPLOS 2010): ``runs`` seeded runs with random thread priorities
    and ``depth - 1`` priority change points among k steps, k estimated from a first run; at
    most ``max_schedules`` runs in all, the first one included."""
    ex = Exploration()
    first = run(())
    ex.schedules += 1
    if _cut(ex, first):
        return ex
    k = max(1, first.nsteps)
    rng = random.Random(seed)
    for _ in range(runs):
        if max_schedules is not None and ex.schedules >= max_schedules:
            ex.complete = False
            break
        out = run((), pct=(rng.getrandbits(63), depth, k))
        ex.schedules += 1
        if _cut(ex, out):
            return ex
    return ex


def shrink_choices(run: Callable[[Sequence[int]], Outcome], choices: Sequence[int]) -> tuple[int, ...]:
    """Make a failing choice sequence shorter and closer to zeros while it still fails: drop the
    trailing zeros, then try zeroing and deleting single choices (fewer preemptions)."""
    cur = list(choices)
    while cur and cur[-1] == 0:
        cur.pop()
    changed, budget = True, 300
    while changed and budget > 0:
        changed = False
        for i in range(len(cur) - 1, -1, -1):
            for cand in (cur[:i] + cur[i + 1 :], cur[:i] + [0] + cur[i + 1 :]):
                if cand == cur or budget <= 0:
                    continue
                budget -= 1
                if run(cand).problems:
                    cur = cand
                    while cur and cur[-1] == 0:
                        cur.pop()
                    changed = True
                    break
            if changed:
                break
    return tuple(cur)
