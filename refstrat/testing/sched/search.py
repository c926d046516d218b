"""The depth-first search of the exhaustive exploration
(:func:`refstrat.testing.sched.explore.explore_exhaustive`), one search for every reduction.

The search keeps the decisions of the last run's path, each with the options it has run and the
options it must try.  The next run takes the deepest decision with an option still to try within
the preemption bound, its smallest such option, and choice 0 after it (CHESS); so a decision runs
its options in increasing order, and the choices of a run before that decision replay its prefix.
Without partial-order reduction (``"none"``, ``"sleep"``) a decision must try every option; with
it (``"dpor"``) only those that :mod:`refstrat.testing.sched.dpor` names: the run's own choice,
the timeouts, and the options that reverse a race of some run through the decision.  A sleeping thread's option is never
tried: the sleep sets (src/check.c) show that it repeats a run already made.
"""

from __future__ import annotations

from typing import Any

from refstrat.testing.sched import dpor as _dpor


def _cost(choice: int) -> int:
    """What a choice costs against the bound: every choice but the default (0) -- leaving a thread
    that could go on, timing a wait out, draining a store buffer, and also, at a wait, picking
    another thread than the next one round-robin (free picks there could starve a thread
    forever: two waiters that wake each other)."""
    return int(choice > 0)


class _Node:
    """One decision of the current path: its options, what was and is to be tried there."""

    __slots__ = ("nrun", "asleep", "spent", "choice", "done", "todo", "ran")

    def __init__(self, decision: tuple[int, ...], spent: int, todo: set[int]) -> None:
        self.nrun = decision[3]  # options < nrun run a thread; the rest time out
        self.asleep = decision[4]  # options whose thread slept (bits)
        self.spent = spent  # preemptions spent before this decision
        self.choice = decision[1]
        self.done = {self.choice}
        self.todo = todo
        self.ran = 0  # the options run before the current choice (bits)


class Search:
    """The depth-first search within ``bound`` preemptions under ``reduction`` (one of
    ``refstrat.testing.sched.runner.REDUCTIONS``): given each run, in order (with ``want_trace`` under
    ``"dpor"``), the choices of the next run and the sleep sets' additions (None under
    ``"none"``), or None when every decision has tried all it must."""

    def __init__(self, bound: int, reduction: str) -> None:
        self.bound = bound
        self.dpor = reduction == "dpor"
        self.sleep = reduction != "none"
        self.nodes: list[_Node] = []  # the decisions of the current path

    def successor(self, out: Any) -> tuple[list[int], list[int] | None] | None:
        nodes = self.nodes
        # The run replayed the path's decisions; the ones after them are new.
        spent = nodes[-1].spent + _cost(nodes[-1].choice) if nodes else 0
        for d in out.decisions[len(nodes) :]:
            nodes.append(_Node(d, spent, _dpor.first_options(d) if self.dpor else set(range(d[0]))))
            spent += _cost(d[1])
        if self.dpor:
            for k, options in _dpor.race_options(out):
                nodes[k].todo.update(options)
        for k in range(len(nodes) - 1, -1, -1):
            n = nodes[k]
            cands = [c for c in n.todo - n.done if not n.asleep >> c & 1 and n.spent + _cost(c) <= self.bound]
            if not cands:
                continue
            # A timeout puts no thread to sleep, and the sleep sets hold 64 options.  (A choice
            # whose thread slept, where the run stopped, is added too: that changes nothing.)
            if n.choice < min(n.nrun, 64):
                n.ran |= 1 << n.choice
            n.choice = min(cands)
            n.done.add(n.choice)
            del nodes[k + 1 :]
            return [m.choice for m in nodes], [m.ran for m in nodes] if self.sleep else None
        return None
