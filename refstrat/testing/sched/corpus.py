"""The built-in corpus that ``check(..., schedule="exhaustive")`` explores first when no
program is given: canonical litmus-style shapes of reference counting, generic to every
scheme (none is derived from a particular bug).

Hypothesis-drawn programs rarely contain the racing shapes (two last drops at once, a
hand-off followed by safepoints, a reference sent back), so the exhaustive search runs each
of these first, at a few knob settings: a short epoch or log (``tick``, ``log_size``) makes
the rotations and commit rounds of deferred schemes happen inside a short program.
:func:`explore_corpus` explores them in three passes of growing depth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from refstrat.model import Program
from refstrat.testing.sched.explore import Exploration

F = TypeVar("F")  # what explore() returns for a failure (refstrat.testing.Failure)

#: (tick, log_size) settings each corpus program is explored at: the check build's default,
#: the shortest epoch, and a longer epoch (deltas held across several safepoints); the log is
#: at its smallest valid size throughout.
KNOBS: tuple[tuple[int, int], ...] = ((3, 16), (1, 16), (5, 16))

#: Schedules explored per corpus program and knob setting: the depth-first search is complete
#: within it for the short shapes on most schemes; a scheme with a helper thread (buffered's
#: commit thread) has far more schedules and is cut off here (the report says incomplete).
SCHEDULES_PER_PROGRAM = 300

#: Schedules of the second pass, for each program and knob setting the first pass cut off: a
#: commit round between two given steps of a worker (buffered) lies thousands of schedules
#: into the depth-first order.
DEEP_SCHEDULES = 5_000

#: Schedules of the third pass, one preemption deeper, for each program and knob setting whose
#: exploration completed at the bound: a reviewer's tick between another worker's add and its
#: zero test (coalesced), after a hand-off and a re-taken reference, needs three preemptions.
DEEPER_SCHEDULES = 20_000


@dataclass(frozen=True)
class Litmus:
    """One corpus entry: a program and what race it sets up (printed on a failure)."""

    name: str
    program: Program
    schedules: int = 0  #: the exploration's cap for this program (0: SCHEDULES_PER_PROGRAM)


def _p(*threads: tuple, shared: int = 0, immortal: tuple[int, ...] = (), pool: int | None = None) -> Program:
    return Program(threads=threads, shared=shared, immortal=immortal, pool=pool)


_WORK = (("inc", 0), ("dec", 0))  # safepoints on shared object 0 (epochs, commits, drains)

CORPUS: tuple[Litmus, ...] = (
    Litmus("two threads race increments on a shared object", _p((("inc", 0),), (("inc", 0),), shared=1)),
    Litmus("two threads race inc/dec pairs on a shared object", _p(_WORK, _WORK, shared=1)),
    # Three: where one worker owns the object (biased), the other two race on its shared count.
    Litmus("three threads race inc/dec pairs on a shared object", _p(_WORK, _WORK, _WORK, shared=1)),
    Litmus(
        "two holders drop the last references at once",
        _p((("new", 0), ("inc", 0), ("send", 0, 1), ("dec", 0)), (("recv", 0), ("dec", 0))),
    ),
    Litmus("a hand-off, then the receiver drops it", _p((("new", 0), ("send", 0, 1)), (("recv", 0), ("dec", 0)))),
    Litmus(
        "a hand-off keeping a reference, then work, then the last drop",
        _p((("new", 1), ("inc", 1), ("send", 1, 1)) + _WORK + (("dec", 1),), (("recv", 1), ("dec", 1)), shared=1),
    ),
    Litmus(
        "a hand-off, then the receiver drops it and works",
        _p((("new", 1), ("inc", 1), ("send", 1, 1)), (("recv", 1), ("dec", 1)) + _WORK * 2, shared=1),
        schedules=2_500,
    ),  # a commit thread's rounds need the depth
    Litmus(
        "a reference sent back twice, the owner works after the sender has left",
        _p(
            (("new", 1), ("send", 1, 1), ("recv", 1), ("recv", 1), ("dec", 1)) + _WORK * 8 + (("dec", 1),),
            (("recv", 1), ("inc", 1), ("send", 1, 0), ("send", 1, 0)),
            shared=1,
        ),
    ),
    Litmus(
        "work that fills a log of 16 entries many times over, then a hand-off",
        _p((("new", 1),) + _WORK * 64 + (("send", 1, 1),), (("recv", 1), ("dec", 1)), shared=1),
    ),
    Litmus(
        "a reference sent back to its owner",
        _p(
            (("new", 0), ("send", 0, 1), ("recv", 0), ("dec", 0)), (("recv", 0), ("inc", 0), ("send", 0, 0), ("dec", 0))
        ),
    ),
    Litmus(
        "two objects handed over, the owner works while they are dropped",
        _p(
            (("new", 1), ("new", 2), ("send", 1, 1), ("send", 2, 1)) + _WORK * 2,
            (("recv", 1), ("recv", 2), ("dec", 1), ("dec", 2)),
            shared=1,
        ),
    ),
    Litmus(
        "objects handed both ways",
        _p(
            (("new", 1), ("inc", 1), ("send", 1, 1), ("recv", 2), ("dec", 2), ("dec", 1)),
            (("recv", 1), ("dec", 1), ("new", 2), ("send", 2, 0)),
        ),
    ),
    Litmus(
        "two references handed over, the giver drops its own; the receiver drops one, takes "
        "one again, drops both, then works",
        _p(
            (("new", 1), ("inc", 1), ("inc", 1), ("send", 1, 1), ("send", 1, 1), ("dec", 1)),
            (("recv", 1), ("recv", 1), ("dec", 1), ("inc", 1), ("dec", 1), ("dec", 1)) + _WORK * 2,
            shared=1,
        ),
    ),
    Litmus(
        "a three-thread hand-off chain",
        _p((("new", 0), ("send", 0, 1)), (("recv", 0), ("send", 0, 2)), (("recv", 0), ("dec", 0))),
    ),
    # Tight pools (Program.pool): the owner's allocations wait for the receiver's frees and take
    # the freed slots back from the arena's remote stack while the receiver pushes more. A scheme
    # that frees only later (coalesced: the receiver's reviews; percpu: objects never killed; both
    # at quiesce) waits for ever here, which the exploration reads as "not applicable".
    Litmus(
        "a freed slot comes back to its dry owner's pool",
        _p((("new", 0), ("send", 0, 1), ("new", 1), ("dec", 1)), (("recv", 0), ("dec", 0)), pool=1),
    ),
    Litmus(
        "the owner takes its remote frees while the receiver pushes more",
        _p(
            (
                ("new", 0),
                ("new", 1),
                ("send", 0, 1),
                ("send", 1, 1),
                ("new", 2),
                ("new", 3),
                ("send", 2, 1),
                ("new", 4),
                ("dec", 3),
                ("dec", 4),
            ),
            (("recv", 0), ("recv", 1), ("dec", 0), ("dec", 1), ("recv", 2), ("dec", 2)),
            pool=2,
        ),
        schedules=1_500,
    ),
    Litmus(
        "a killed object freed while another works, its slot reused by a new object killed in turn",
        _p(
            (("new", 1), ("inc", 1), ("send", 1, 1), ("kill", 1))
            + _WORK
            + (("new", 2), ("inc", 2), ("send", 2, 1), ("kill", 2)),
            (("recv", 1),) + _WORK + (("dec", 1), ("recv", 2), ("dec", 2)),
            shared=1,
            pool=1,
        ),
    ),
    Litmus(
        "immortal beside mortal, both shared",
        _p(
            (("inc", 0), ("inc", 1), ("dec", 0), ("dec", 1)),
            (("inc", 1), ("inc", 0), ("dec", 1), ("dec", 0)),
            shared=2,
            immortal=(0,),
        ),
    ),
    Litmus(
        "a hand-off keeping a reference, the receiver works on it while the creator kills it",
        _p((("new", 0), ("inc", 0), ("send", 0, 1), ("kill", 0)), (("recv", 0), ("inc", 0), ("dec", 0), ("dec", 0))),
    ),
    Litmus(
        "a kill, then both threads keep operating on the object (grace period and fold under work)",
        _p(
            (("new", 1), ("inc", 1), ("inc", 1), ("send", 1, 1), ("kill", 1))
            + _WORK
            + (("inc", 1), ("dec", 1), ("dec", 1)),
            (("recv", 1), ("inc", 1), ("dec", 1)) + _WORK * 2 + (("dec", 1),),
            shared=1,
        ),
    ),
    Litmus(
        "a stack reference outlives the last heap reference (deferred: only a collection frees)",
        Program(threads=((("new", 0), ("push", 0), ("dec", 0), ("pop", 0)),), deferred=(0,)),
    ),
    Litmus(
        "two threads race increments on a sharded shared object",
        Program(threads=((("inc", 0),), (("inc", 0),)), shared=1, sharded=(0,)),
    ),
    Litmus(
        "both threads work on a deferred and a sharded object, the layers on for every scheme",
        Program(
            threads=(
                (("new", 1), ("push", 1), ("inc", 1), ("send", 1, 1), ("inc", 0), ("dec", 0), ("pop", 1), ("dec", 1)),
                (("recv", 1), ("inc", 0), ("dec", 1), ("dec", 0)),
            ),
            shared=1,
            deferred=(1,),
            sharded=(0,),
        ),
    ),
    Litmus(
        "a deferred object handed over while its sender still holds it on its stack",
        Program(
            threads=((("new", 0), ("push", 0), ("send", 0, 1), ("pop", 0)), (("recv", 0), ("dec", 0))), deferred=(0,)
        ),
    ),
)


def explore_corpus(explore: Callable[..., F | None], last: Exploration) -> F | None:
    """The first phase of a program-less exhaustive check: the built-in litmus programs
    (:data:`CORPUS`) at each of their knob settings, in a fixed order (so the same
    scheme always gets the same verdict), in three passes; the first failure.

    Pass 1 gives each program ``SCHEDULES_PER_PROGRAM`` schedules (or its own cap); a
    program whose exploration completes within that deepens by one preemption with what is
    left of it.  Pass 2 explores every program that pass 1 cut off again, with
    ``DEEP_SCHEDULES``, the programs with the shortest runs first (the most schedules
    for the budget; the runs' lengths are deterministic, so is the order): the bugs that need a
    helper thread's round at a chosen point sit deep in a schedule, past what the first pass
    reaches.  Pass 3 explores every program whose exploration completed at the bound but not
    one preemption deeper, one preemption deeper, with ``DEEPER_SCHEDULES``, again the
    shortest runs first: a reviewer's tick between another worker's add and its zero test, after
    a hand-off, takes three preemptions.

    A run cut by the step bound ends its program at every knob setting (they run as long), and
    all three passes together stay within ``max_schedules`` (explore() runs nothing once it is
    spent)."""
    cut: list[tuple[float, int, Litmus, int, int]] = []  # (steps per run, order, ...)
    shallow: list[tuple[float, int, Litmus, int, int]] = []  # complete at the bound only
    for litmus in CORPUS:
        cap = litmus.schedules or SCHEDULES_PER_PROGRAM
        waits_ok = litmus.program.pool is not None
        for tick, log_size in KNOBS:
            failure = explore(litmus.program, tick, log_size, cap, waits_ok=waits_ok)
            if not last.schedules:
                return None  # max_schedules is spent
            if failure is None and not last.bound_reached:
                if last.complete and last.schedules < cap:
                    per_run = last.steps / last.schedules
                    failure = explore(litmus.program, tick, log_size, cap - last.schedules, extra=1, waits_ok=waits_ok)
                    if failure is None and not last.complete and not last.bound_reached:
                        shallow.append((per_run, len(shallow), litmus, tick, log_size))
                elif not last.complete:
                    cut.append((last.steps / last.schedules, len(cut), litmus, tick, log_size))
                else:
                    shallow.append((last.steps / last.schedules, len(shallow), litmus, tick, log_size))
            if last.bound_reached or pool_waits(litmus, failure):
                break
            if failure is not None:
                return failure
    for _, _, litmus, tick, log_size in sorted(cut):
        failure = explore(litmus.program, tick, log_size, DEEP_SCHEDULES, waits_ok=litmus.program.pool is not None)
        if failure is None and last.complete:
            shallow.append((last.steps / last.schedules, len(shallow), litmus, tick, log_size))
        if failure is not None and not pool_waits(litmus, failure):
            return failure
    for _, _, litmus, tick, log_size in sorted(shallow):
        failure = explore(
            litmus.program, tick, log_size, DEEPER_SCHEDULES, extra=1, waits_ok=litmus.program.pool is not None
        )
        if failure is not None and not pool_waits(litmus, failure):
            return failure
    return None


def pool_waits(litmus: Litmus, failure: Any) -> bool:
    """A tight-pool program only waited: a scheme that frees later than the pool needs (coalesced,
    percpu: at quiesce) parks for good (or spins through the step bound, which explore() already
    takes for no failure); not a bug."""
    return (
        failure is not None
        and litmus.program.pool is not None
        and all(p.startswith("DEADLOCK") for p in failure.problems)
    )
