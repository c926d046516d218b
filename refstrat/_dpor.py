"""Dynamic partial-order reduction for the exhaustive exploration (SC only).

The depth-first search of :func:`refstrat._check.explore_exhaustive` tries every option at every
decision.  Most of those runs only reorder steps that commute: two loads, or accesses to
different addresses, give the same state in either order.  This module tries an option only
where the last run shows a race (Flanagan and Godefroid, "Dynamic partial-order reduction for
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

from typing import Any


def option_threads(cur: int, runnable: int) -> list[int]:
    """The threads of a decision's run options, in the scheduler's order: the thread that reached
    the point first if it can go on, then the others round-robin from it (src/check.c)."""
    others = [t for t in range(runnable.bit_length()) if runnable >> t & 1 and t != cur]
    others.sort(key=lambda t: (t < cur, t))
    return ([cur] if cur >= 0 and runnable >> cur & 1 else []) + others


class _Node:
    """One decision of the current path: its options, what was and is to be tried there."""

    __slots__ = ("cur", "runnable", "nrun", "nopts", "asleep", "spent", "choice", "done", "todo", "ran")

    def __init__(self, st: tuple[int, ...], nrun: int, asleep: int, spent: int) -> None:
        self.cur, self.runnable = st[6], st[7]   # whose options these are (option_threads)
        self.nrun, self.nopts = nrun, st[4]      # options < nrun run a thread; the rest time out
        self.asleep = asleep                     # options whose thread slept (bits)
        self.spent = spent                       # preemptions spent before this decision
        self.choice = st[5]
        self.done = {self.choice}
        self.todo = {self.choice, *range(nrun, self.nopts)}
        self.ran = 0                             # the options run before the current choice (bits)
        if asleep >> self.choice & 1:            # the run stopped here: go on with a thread awake
            self.todo.update([o for o in range(nrun) if not asleep >> o & 1][:1])

    def add_thread(self, q: int) -> None:
        """Try q here; if q could not run here, every thread that could."""
        threads = option_threads(self.cur, self.runnable)
        if q in threads:
            self.todo.add(threads.index(q))
        else:
            self.todo.update(range(self.nrun))


def _new_nodes(nodes: list[_Node], trace: list[tuple[int, ...]], decisions: list[tuple[int, ...]],
               step_of: list[int]) -> None:
    spent = nodes[-1].spent + (nodes[-1].choice > 0) if nodes else 0
    for k in range(len(nodes), len(step_of)):
        node = _Node(trace[step_of[k]], decisions[k][3], decisions[k][4], spent)
        nodes.append(node)
        spent += node.choice > 0


def _add_races(nodes: list[_Node], trace: list[tuple[int, ...]], end_race: list[tuple[int, int]],
               node_of: dict[int, int]) -> None:
    """Try each race's later thread at the decision before the earlier step, and where the
    earlier step's thread last took over from another."""
    races = [(st[8], st[0]) for st in trace if st[8] >= 0] + end_race
    for i, q in races:
        p = trace[i][0]
        b = i
        while b > 0 and trace[b - 1][0] == p:
            b -= 1
        for s in {i, b}:
            k = node_of.get(s)
            if k is not None:
                nodes[k].add_thread(q)


def _successor(nodes: list[_Node], bound: int) -> tuple[list[int], list[int]] | None:
    """The deepest decision with an option to try within the bound, that option taken: the
    choices and the sleep sets' additions of the next run."""
    for k in range(len(nodes) - 1, -1, -1):
        n = nodes[k]
        cands = [c for c in n.todo - n.done
                 if not n.asleep >> c & 1 and n.spent + (c > 0) <= bound]
        if not cands:
            continue
        n.ran |= sum(1 << c for c in n.done if c < min(n.nrun, 64))
        n.choice = min(cands)
        n.done.add(n.choice)
        del nodes[k + 1:]
        return [m.choice for m in nodes], [m.ran for m in nodes]
    return None


class Search:
    """The reduced depth-first search within ``bound`` preemptions: given each run (its trace and
    races, ``want_trace``), the choices and sleep-set additions of the next run, or None when
    every decision has tried all it must."""

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self.nodes: list[_Node] = []  # the decisions of the current path

    def successor(self, out: Any) -> tuple[list[int], list[int]] | None:
        trace = out.trace
        step_of = [j for j, st in enumerate(trace) if st[4] > 1]
        _new_nodes(self.nodes, trace, out.decisions, step_of)
        _add_races(self.nodes, trace, out.end_race, {j: k for k, j in enumerate(step_of)})
        return _successor(self.nodes, self.bound)
