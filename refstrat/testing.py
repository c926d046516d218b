"""Correctness fuzzing for refstrat schemes, built on Hypothesis.

Point it at a strategy::

    >>> import refstrat.testing as rt
    >>> report = rt.check("biased", threads=2)          # Hypothesis + seeded stress
    >>> report.ok, report.examples
    (True, 100)

What it does:

* :func:`programs` is a Hypothesis strategy of valid multithreaded refcount programs
  (:class:`~refstrat.model.Program`): per-thread operation lists over private, shared and
  immortal objects, with allocation, incref, decref, handing a reference to another
  thread's mailbox, taking it from there, and releasing everything at the end.  Valid by
  construction: it generates one feasible global execution and projects it onto the
  threads, so a thread never releases a reference it does not hold and no recv can wait
  forever.
* :func:`refstrat.model.expect` computes exactly what every correct scheme must give.
* :func:`check` runs programs on real OS threads with the GIL released (the ``trace``
  workload), with a Hypothesis-drawn ``jitter`` seed that inserts deterministic pauses and
  spins between operations, and compares with the model.  A failure carries the minimal
  program Hypothesis shrank to; :func:`replay` reruns it.
* :func:`stress` adds volume (races on a 2-core machine need it): seeded, large programs
  with hot shared and handed-off objects, at growing sizes.
* :func:`arena_machine` is a ``RuleBasedStateMachine`` driving one ``refstrat.Arena`` step
  by step, checking invariants after every step, flush and quiesce.
"""

from __future__ import annotations

import operator
import os
import random
import time
from collections import Counter
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from . import _api
from . import _check as _chk
from . import _corpus
from ._api import knobs as _knobs
from ._core import RunError
from .model import Expectation, Program, ProgramError, expect
from .results import KnobInfo
from .trace import MAX_OPS, MAX_THREADS

__all__ = [
    "Program",
    "ProgramError",
    "Expectation",
    "expect",
    "Case",
    "Failure",
    "CheckFailed",
    "BoundReached",
    "Report",
    "programs",
    "cases",
    "run_program",
    "compare",
    "check",
    "replay",
    "minimize",
    "stress",
    "stress_program",
    "STRESS_SHAPES",
    "DEFAULT_TICK",
    "DEFAULT_LOG_SIZE",
    "arena_machine",
    "build_plugin",
    "SCHEDULES",
    "MEMORIES",
]

SCHEDULES = _chk.SCHEDULES
MEMORIES = _chk.MEMORIES


# --------------------------------------------------------------------------- generation

# Kind codes: shrinking moves towards 0 ("new"); sends and decs get more codes because the
# interesting bugs need references to cross threads and counts to fall.
_KINDS = ("new", "inc", "inc", "dec", "dec", "send", "send", "send", "recv", "push", "pop")


@st.composite
def programs(
    draw: st.DrawFn,
    threads: int | st.SearchStrategy[int] = 2,
    *,
    max_steps: int = 40,
    max_shared: int = 3,
    immortal: bool = True,
    release_all: bool | None = True,
    layers: bool = True,
) -> Program:
    """Hypothesis strategy of valid programs for ``threads`` threads.

    Guarantees every drawn program passes :func:`refstrat.model.expect`: it is built as one
    feasible global execution and then split into per-thread lists, so every dec/send
    releases a reference the thread holds and every recv has a send before it. Some releases
    of a private object are ``kill`` (the creator's reference, at most once per object): a
    drawn dec with a high object pick, and the first final release of an object not yet
    killed; both shrink to a plain dec.  With
    ``release_all=True`` (the default) each thread finally takes all its mail and drops
    every reference it holds, so all private objects must end up freed and all shared
    objects back at their setup count; ``False`` keeps the leftovers (testing exact
    nonzero final counts) and ``None`` lets Hypothesis choose.

    Shapes that once raised a false alarm are always in reach: some threads may be idle (no
    operation at all, thread 0 included), and private ids may be sparse (a gap after the
    shared ids and a stride between ids, so ids below the highest are never allocated).
    Both shrink away: towards every thread active and dense ids.

    Stack references (push/pop) are drawn too, and with ``layers=True`` some objects are
    marked deferred (shared or private) or sharded (shared): each thread pops every push
    before it ends. Marks shrink away towards none.
    """
    n = draw(threads) if isinstance(threads, st.SearchStrategy) else _check_threads(threads)
    nshared = draw(st.integers(0, max_shared))
    imm: tuple[int, ...] = ()
    if immortal and nshared:
        imm = tuple(sorted(draw(st.sets(st.integers(0, nshared - 1), max_size=nshared))))
    shard: tuple[int, ...] = ()
    deferred_shared: tuple[int, ...] = ()
    deferred_private = 0  # bit j: the j-th private object created (mod 8) is deferred
    if layers:
        if nshared:
            shard = tuple(sorted(draw(st.sets(st.integers(0, nshared - 1), max_size=nshared))))
            deferred_shared = tuple(sorted(draw(st.sets(st.integers(0, nshared - 1), max_size=nshared))))
        deferred_private = draw(st.integers(0, 255))
    # Steps are drawn as a plain list of (thread, kind, object pick, destination offset,
    # repeat) and then interpreted against the current state.  A list shrinks by deleting
    # elements, every element shrinks towards (thread 0, "new", once), and any list
    # interprets to a valid program, so Hypothesis's shrinker can cut a failing program
    # down freely.  The destination is an offset from the sender, so it shrinks towards
    # "the next thread": a cross-thread hand-off.
    idle = draw(st.sets(st.integers(0, n - 1), max_size=n - 1))
    active = [t for t in range(n) if t not in idle]
    gap, stride = draw(st.integers(0, 3)), draw(st.integers(1, 3))
    bursts = draw(st.lists(
        st.tuples(st.integers(0, len(active) - 1), st.integers(0, len(_KINDS) - 1),
                  st.integers(0, 255), st.integers(0, len(active) - 1), st.integers(1, 6)),
        max_size=max_steps))
    steps = [(active[a], k, pick, active[(a + 1 + off) % len(active)])
             for a, k, pick, off, rep in bursts for _ in range(rep)]
    hold = [Counter() for _ in range(n)]
    mail = [Counter() for _ in range(n)]
    stack: list[list[int]] = [[] for _ in range(n)]
    ops: list[list[tuple]] = [[] for _ in range(n)]
    deferred = list(deferred_shared)
    next_id = nshared
    killed: set[int] = set()
    for t, k, pick, dst in steps:
        held = sorted(o for o, c in hold[t].items() if c > 0)
        waiting = sorted(o for o, c in mail[t].items() if c > 0)
        kind = _KINDS[k]
        # A kind that is not enabled here falls back to "new", which always is.
        if kind in ("inc", "push") and not (held or nshared or stack[t]):
            kind = "new"
        elif kind == "pop" and not stack[t]:
            kind = "new"
        elif kind in ("dec", "send") and not held:
            kind = "new"
        elif kind == "recv" and not waiting:
            kind = "new"
        if kind == "new":
            oid = nshared + gap + stride * (next_id - nshared)
            next_id += 1
            if deferred_private >> ((next_id - 1 - nshared) % 8) & 1:
                deferred.append(oid)
            hold[t][oid] += 1
            ops[t].append(("new", oid))
        elif kind in ("inc", "push"):
            cands = sorted(set(held) | set(range(nshared)) | set(stack[t]))
            oid = cands[pick % len(cands)]
            if kind == "inc":
                hold[t][oid] += 1
            else:
                stack[t].append(oid)
            ops[t].append((kind, oid))
        elif kind == "pop":
            oid = stack[t].pop(len(stack[t]) - 1 - pick % len(stack[t]))
            ops[t].append(("pop", oid))
        elif kind == "dec":
            oid = held[pick % len(held)]
            hold[t][oid] -= 1
            kill = pick >= 128 and oid >= nshared and oid not in killed
            if kill:
                killed.add(oid)
            ops[t].append(("kill" if kill else "dec", oid))
        elif kind == "send":
            oid = held[pick % len(held)]
            hold[t][oid] -= 1
            mail[dst][oid] += 1
            ops[t].append(("send", oid, dst))
        else:
            oid = waiting[pick % len(waiting)]
            mail[t][oid] -= 1
            hold[t][oid] += 1
            ops[t].append(("recv", oid))
    release = draw(st.booleans()) if release_all is None else release_all
    for t in range(n):
        # Mail left undelivered would be a reference nobody can release: always take it.
        for oid in sorted(mail[t]):
            for _ in range(mail[t][oid]):
                ops[t].append(("recv", oid))
                hold[t][oid] += 1
        if release:
            for oid in sorted(hold[t]):
                k = hold[t][oid]
                if k and oid >= nshared and oid not in killed:
                    killed.add(oid)
                    ops[t].append(("kill", oid))
                    k -= 1
                ops[t].extend([("dec", oid)] * k)
        # Stack references never outlive their thread: pop them all, the latest first, after the
        # heap references are gone (a deferred object then lives on its stack roots alone).
        ops[t].extend(("pop", oid) for oid in reversed(stack[t]))
    return Program(threads=tuple(tuple(o) for o in ops), shared=nshared, immortal=imm,
                   deferred=tuple(deferred), sharded=shard)


def _knob(name: str) -> KnobInfo:
    return next(k for k in _knobs() if k.name == name)


#: The core's defaults for the scheme knobs a case may vary (refstrat.run options).
DEFAULT_TICK = int(_knob("tick").default)          # coalesced: safepoints between epoch ticks
DEFAULT_LOG_SIZE = int(_knob("log_size").default)  # buffered: entries per log


@dataclass(frozen=True)
class Case:
    """One fuzzing example: a program, the jitter seed that perturbs its interleaving, and the
    scheme knobs it runs with (small values make epochs and log rotations happen inside a
    short program instead of only at quiesce)."""

    program: Program
    jitter: int = 0
    tick: int = DEFAULT_TICK
    log_size: int = DEFAULT_LOG_SIZE


def _small_values(name: str, wanted: Sequence[int]) -> list[int]:
    """Of ``wanted`` (short epochs and logs, which make the slow paths run inside a short
    program), the values the knob's range admits, and its low end in any case."""
    knob = _knob(name)
    return sorted({int(knob.low), *(v for v in wanted if knob.low <= v <= knob.high)})


def _check_threads(threads: object) -> int:
    """A thread count the core accepts: an int in [1, MAX_THREADS] (its plain value)."""
    if not isinstance(threads, int) or isinstance(threads, bool):
        raise TypeError(f"threads must be an int, got {type(threads).__name__}")
    n = operator.index(threads)
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"threads must be in [1, {MAX_THREADS}], got {n}")
    return n


def cases(threads: int | st.SearchStrategy[int] = 2, **program_kwargs: Any) -> st.SearchStrategy[Case]:
    """Hypothesis strategy of :class:`Case`: a program plus a jitter seed (0 = no pauses) and
    the knobs (default or tiny); everything shrinks towards the plain defaults.  Drawing the
    seed lets Hypothesis explore different interleavings of the same program and reproduce
    the one that failed."""
    return st.builds(
        Case,
        program=programs(threads, **program_kwargs),
        jitter=st.one_of(st.just(0), st.integers(1, 2**31 - 1)),
        tick=st.sampled_from([DEFAULT_TICK, *_small_values("tick", (1, 2, 3, 5, 8, 64))]),
        log_size=st.sampled_from([DEFAULT_LOG_SIZE, *_small_values("log_size", (16, 17, 64))]),
    )


# --------------------------------------------------------------------------- running

@dataclass(frozen=True)
class Failure:
    """A program on which a scheme disagreed with the model, and how to rerun it."""

    strategy: str
    program: Program
    jitter: int
    immortal: bool
    problems: tuple[str, ...]
    source: str = "check"  # "check" (one program), "hypothesis", "stress" or "replay"
    tick: int = DEFAULT_TICK
    log_size: int = DEFAULT_LOG_SIZE
    result: Any = field(default=None, compare=False, repr=False)
    #: Checked runs (schedule=...): the choice sequence that replays the schedule, the memory
    #: model, and the schedule as printed (one line per step).
    choices: tuple[int, ...] | None = None
    memory: str = "sc"
    schedule_text: str = field(default="", compare=False, repr=False)

    def _knobs(self) -> str:
        default_tick, default_log = ((_chk.CHECK_TICK, _chk.CHECK_LOG_SIZE) if self.choices is not None
                                     else (DEFAULT_TICK, DEFAULT_LOG_SIZE))
        k = ""
        if self.immortal:
            k += ", immortal=True"
        if self.tick != default_tick:
            k += f", tick={self.tick}"
        if self.log_size != default_log:
            k += f", log_size={self.log_size}"
        return k

    @property
    def replay_code(self) -> str:
        """Python that reruns this failure (paste it after ``import refstrat.testing``)."""
        how = (f"choices={list(self.choices)!r}, memory={self.memory!r}" if self.choices is not None
               else f"jitter={self.jitter}")
        return (f"refstrat.testing.replay({self.strategy!r}, refstrat.testing.{self.program!r}, "
                f"{how}{self._knobs()})")

    def describe(self) -> str:
        size = f"{len(self.program)} ops on {self.program.nthreads} thread(s)"
        prog = self.program.pretty() if len(self.program) <= 200 else f"(large program: {size})"
        how = (f"memory={self.memory}, {len(self.choices)} choice(s)" if self.choices is not None
               else f"jitter={self.jitter}")
        lines = [f"{self.strategy}: {len(self.problems)} problem(s) on a {size} program "
                 f"({how}{self._knobs()}, found by {self.source})"]
        lines += [f"  - {p}" for p in self.problems[:12]]
        if len(self.problems) > 12:
            lines.append(f"  - ... {len(self.problems) - 12} more")
        lines.append(prog)
        if self.schedule_text:
            lines.append(self.schedule_text)
        if len(self.program) <= 200:
            lines.append("replay: " + self.replay_code)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


class CheckFailed(AssertionError):
    """Raised by :func:`check`/:func:`replay` when a scheme disagrees with the model."""

    def __init__(self, failure: Failure):
        super().__init__(failure.describe())
        self.failure = failure


class BoundReached(RunError):
    """Raised by :func:`replay` when the checked run it replays reaches ``max_steps``: a limit of
    the check, not a bug (a livelock and a run longer than the bound look alike there; a larger
    ``max_steps`` looks further).  :func:`check` never raises it: it counts such programs in
    :attr:`Report.bound_reached`."""


def _immortal_active(strategy: str, immortal: bool) -> bool:
    """Whether a run honours immortality: asked for, or the strategy's own (``immortal``, or a
    plugin registered with immortality always on)."""
    if immortal:
        return True
    try:
        from refstrat import _core

        row = _core.find_strategy(strategy)
        return bool(row and row.get("immortal"))
    except (ImportError, AttributeError):
        return strategy == "immortal"


def run_program(strategy: str, program: Program, *, jitter: int = 0, immortal: bool = False,
                **run_kwargs: Any) -> Any:
    """Run ``program`` once through ``refstrat.run(..., "trace")`` on real OS threads (one per
    program thread, GIL released) and return the ``RunResult``."""
    import refstrat

    return refstrat.run(strategy, "trace", program.nthreads, trace=program.to_trace(),
                        jitter=jitter, immortal=immortal, **run_kwargs)


def compare(expected: Expectation, result: Any) -> list[str]:
    """Every way ``result`` (a trace ``RunResult``) differs from what the model requires:
    operations on freed objects, double frees, leaks after quiesce, premature frees, wrong
    final counts (lost updates) and touched immortal objects.  Empty means correct."""
    problems: list[str] = []
    if result.use_after_free:
        first = getattr(result, "first_use_after_free", None) or ()
        where = ", ".join(f"T{t} op {k}" for t, k in enumerate(first) if k is not None)
        problems.append(f"{result.use_after_free} operation(s) on a freed object (use after free"
                        + (f"; first at {where} in program order)" if where else ")"))
    if result.double_frees:
        problems.append(f"{result.double_frees} double free(s)")
    if result.leaks:
        problems.append(f"{result.leaks} leak(s) after quiesce (count 0 but not freed)")
    if getattr(result, "lost_updates", 0):
        problems.append(f"{result.lost_updates} lost update(s) reported by the arena")
    if getattr(result, "premature_frees", 0):
        problems.append(f"{result.premature_frees} premature free(s) reported by the arena")
    got = result.final_counts
    if got is None:
        return problems + ["the run returned no final counts"]
    for oid, want in enumerate(expected.final_counts):
        have = got[oid] if oid < len(got) else None
        if oid in expected.immortal:
            if have != want:
                problems.append(f"immortal object {oid} was touched: count {have}, must stay {want}")
        elif want is None and have is not None:
            problems.append(f"object {oid} must be freed after quiesce but has count {have} (leak)")
        elif want is not None and have is None:
            uses = ", ".join(f"T{t}#{k}" for t, k in expected.last_use.get(oid, ()))
            problems.append(f"object {oid} was freed but must have count {want} "
                            f"(freed while referenced; last uses {uses})")
        elif want != have:
            problems.append(f"object {oid} has final count {have}, model says {want} "
                            f"({'lost increments' if have < want else 'lost decrements'})")
    if len(got) > len(expected.final_counts):
        problems.append(f"run reported {len(got)} objects, program has {len(expected.final_counts)}")
    return problems


def _run_once(strategy: str, program: Program, jitter: int, immortal: bool, source: str,
              expected: Expectation | None = None, tick: int = DEFAULT_TICK,
              log_size: int = DEFAULT_LOG_SIZE) -> Failure | None:
    exp = expected or expect(program, immortal_active=_immortal_active(strategy, immortal))
    result = run_program(strategy, program, jitter=jitter, immortal=immortal, tick=tick,
                         log_size=log_size)
    problems = compare(exp, result)
    if not problems:
        return None
    return Failure(strategy, program, jitter, immortal, tuple(problems), source, tick, log_size,
                   result)


def replay(strategy: str | Failure, program: Program | None = None, *, jitter: int = 0,
           immortal: bool = False, tick: int | None = None, log_size: int | None = None,
           repeats: int = 1, choices: Sequence[int] | None = None, memory: str = "sc",
           max_steps: int = _chk.DEFAULT_MAX_STEPS) -> None:
    """Rerun a failing program (or a :class:`Failure`) ``repeats`` times with the same jitter
    seed and knobs.  Raises :class:`CheckFailed` on the first disagreement with the model,
    returns ``None`` if every run was correct.  Failures that depend on a data race may need
    several repeats to show again; the jitter seed makes the pauses identical each time.

    With ``choices`` (a checked failure's schedule) the program runs under the check build's
    scheduler with ``memory`` ("sc" or "tso"): the run, its log included, is identical every
    time, so one repeat reproduces it; a run that reaches ``max_steps`` raises
    :class:`BoundReached` (a limit of the check, not a bug)."""
    if isinstance(strategy, Failure):
        f = strategy
        strategy, program, jitter, immortal = f.strategy, f.program, f.jitter, f.immortal
        tick, log_size, choices, memory = f.tick, f.log_size, f.choices, f.memory
    strategy = _api._check_strategy(strategy)
    if program is None:
        raise TypeError("replay needs a program (or a Failure)")
    _check_program(program)
    repeats = _int_arg("repeats", repeats, 1)
    max_steps = _int_arg("max_steps", max_steps, 1, _chk.MAX_STEPS)
    tick = None if tick is None else _api._check_int("tick", tick)
    log_size = None if log_size is None else _api._check_int("log_size", log_size)
    exp = expect(program, immortal_active=_immortal_active(strategy, immortal))
    if choices is not None:
        choices = _check_choices(choices)
        memory = _check_memory(memory)
        _check_flavour(strategy)
        tick = _chk.CHECK_TICK if tick is None else tick
        log_size = _chk.CHECK_LOG_SIZE if log_size is None else log_size
        f = _checked_failure(strategy, program, exp, choices, memory, immortal, tick, log_size,
                             max_steps, "replay")
        if f is not None:
            raise CheckFailed(f)
        return
    tick = DEFAULT_TICK if tick is None else tick
    log_size = DEFAULT_LOG_SIZE if log_size is None else log_size
    for _ in range(repeats):
        f = _run_once(strategy, program, jitter, immortal, "replay", exp, tick, log_size)
        if f is not None:
            raise CheckFailed(f)


# --------------------------------------------------------------------------- stress

STRESS_SHAPES = ("symmetric", "early_exit")


def stress_program(threads: int, ops: int, *, seed: int = 1, shared: int = 2,
                   immortal: Sequence[int] = (), handoff: int = 2,
                   shape: str = "symmetric") -> Program:
    """A large valid program built for data races, ~``ops`` operations per thread.

    ``symmetric``: every thread creates ``handoff`` objects, increments each and sends one
    reference to every other thread, takes the ones sent to it, then hammers the hot shared
    objects and all handed-over objects in short inc-runs followed by dec-runs (so an owner
    and a non-owner update one object at once), and drops everything (a creator's last release
    of its own object is a kill).

    ``early_exit``: thread 0 creates one object per other thread, increments it and sends it
    over, then hammers for the whole length; the other threads take their object, hammer
    briefly, drop it and leave early.  This is the shape where a scheme that trusts a
    partial count (a count that reads zero while another thread still holds unflushed
    increments) frees too early: the long thread then touches a freed object.

    Recvs only wait on sends that come before any recv, so neither shape can deadlock.
    """
    if shape not in STRESS_SHAPES:
        raise ValueError(f"unknown shape {shape!r}; valid: {', '.join(STRESS_SHAPES)}")
    rng = random.Random(seed)
    body: list[list[tuple]] = [[] for _ in range(threads)]
    hold = [Counter() for _ in range(threads)]
    next_id = shared
    pools: list[list[int]] = [list(range(shared)) for _ in range(threads)]
    mine_of: list[set[int]] = [set() for _ in range(threads)]  # objects each thread created

    def give(src: int, dst: int, oid: int) -> None:
        body[src].append(("inc", oid))
        body[src].append(("send", oid, dst))
        pools[dst].append(oid)

    if shape == "symmetric":
        created: list[list[int]] = []
        for t in range(threads):
            mine = list(range(next_id, next_id + handoff))
            next_id += handoff
            created.append(mine)
            for oid in mine:
                mine_of[t].add(oid)
                body[t].append(("new", oid))
                hold[t][oid] += 1
                pools[t].append(oid)
                for dst in range(threads):
                    if dst != t:
                        give(t, dst, oid)
        for t in range(threads):
            for src in range(threads):
                if src != t:
                    for oid in created[src]:
                        body[t].append(("recv", oid))
                        hold[t][oid] += 1
        lengths = [ops] * threads
    else:
        for dst in range(1, threads):
            oid = next_id
            next_id += 1
            body[0].append(("new", oid))
            mine_of[0].add(oid)
            hold[0][oid] += 1
            pools[0].append(oid)
            give(0, dst, oid)
            body[dst].append(("recv", oid))
            hold[dst][oid] += 1
        lengths = [ops] + [max(20, min(ops // 20, 2000))] * (threads - 1)
    for t in range(threads):
        n = 0
        while n < lengths[t]:
            oid = rng.choice(pools[t])
            k = rng.randint(1, 4)
            body[t].extend([("inc", oid)] * k)
            body[t].extend([("dec", oid)] * k)
            n += 2 * k
        for oid in sorted(hold[t]):
            k = hold[t][oid]
            if oid in mine_of[t] and k:  # the creator's own reference: percpu_ref_kill
                body[t].append(("kill", oid))
                k -= 1
            body[t].extend([("dec", oid)] * k)
    return Program(threads=tuple(tuple(b) for b in body), shared=shared, immortal=tuple(immortal))


@dataclass
class StressResult:
    """What :func:`stress` ran: sizes tried (ops per thread), total refcount ops, seconds."""

    sizes: list[int] = field(default_factory=list)
    ops: int = 0
    seconds: float = 0.0
    failure: Failure | None = None


def stress(strategy: str, threads: int = 2, *, sizes: Iterable[int] = (2_000, 20_000, 200_000),
           repeats: int = 2, seed: int = 1, immortal: bool = False) -> StressResult:
    """Seeded stress runs at growing sizes (ops per thread), ``repeats`` runs per size with
    different seeds, alternating the :func:`stress_program` shapes, stopping at the first
    failure.  Deterministic programs; the interleaving is whatever the hardware does (no
    jitter: pauses would thin the races).  The result's ``failure`` is ``None`` when every
    run matched the model."""
    out = StressResult()
    t0 = time.perf_counter()
    act = _immortal_active(strategy, immortal)
    for size in sizes:
        out.sizes.append(size)
        for r in range(repeats):
            prog = stress_program(threads, size, seed=seed * 1000 + r,
                                  immortal=(0,) if act else (),
                                  shape=STRESS_SHAPES[r % len(STRESS_SHAPES)])
            out.ops += prog.refcount_ops()
            f = _run_once(strategy, prog, 0, immortal, "stress")
            if f is not None:
                out.failure = f
                out.seconds = time.perf_counter() - t0
                return out
    out.seconds = time.perf_counter() - t0
    return out


# --------------------------------------------------------------------------- check

@dataclass
class Report:
    """The outcome of :func:`check`."""

    strategy: str
    threads: int | str         # a count, or the Hypothesis strategy of counts that was fuzzed
    examples: int = 0          # Hypothesis examples run (each one real multithreaded run)
    seconds: float = 0.0       # whole check, Hypothesis and stress
    stress: StressResult | None = None
    failure: Failure | None = None
    schedule: str | None = None  # the exploration mode of a checked run
    memory: str = "sc"
    schedules: int = 0           # checked runs (one schedule each)
    pruned: int = 0              # of those, runs the sleep sets stopped early (reduction)
    complete: bool = True        # exhaustive: every schedule within the bound was run
    #: Programs whose exploration stopped at a run cut by ``max_steps`` (pct, exhaustive) and
    #: random runs cut so: a limit of the check, not a failure.
    bound_reached: int = 0
    max_steps: int = _chk.DEFAULT_MAX_STEPS

    @property
    def ok(self) -> bool:
        """No run disagreed with the model (runs cut by the step bound included: not a bug)."""
        return self.failure is None

    @property
    def verdict(self) -> str:
        """``"FAILED"``, ``"bound reached, not a bug"`` (no failure, but some exploration stopped
        at the step bound) or ``"ok"``."""
        if self.failure is not None:
            return "FAILED"
        return _chk.BOUND_REACHED if self.bound_reached else "ok"

    def summary(self) -> str:
        if self.schedule is not None:
            cut = "" if self.complete or self.bound_reached else " (cut at max_schedules)"
            s = (f"{self.strategy}: {self.verdict} -- {self.schedule} ({self.memory}), "
                 f"{self.schedules} schedule(s) ({self.pruned} pruned) over {self.examples} program(s) "
                 f"at {self.threads} thread(s){cut}, {self.seconds:.1f} s")
            if self.bound_reached:
                s += (f"\n  {self.bound_reached} program(s) stopped at a run of max_steps={self.max_steps} "
                      "scheduling points: a limit of the check, not a bug (a livelock and a longer legal "
                      "run look alike there); a larger max_steps looks further")
            return s + ("\n" + self.failure.describe() if self.failure is not None else "")
        s = (f"{self.strategy}: {self.verdict} -- {self.examples} Hypothesis "
             f"examples at {self.threads} thread(s)")
        if self.stress is not None:
            s += (f", stress {self.stress.ops:,} refcount ops "
                  f"(sizes {', '.join(f'{n:,}' for n in self.stress.sizes)} per thread)")
        s += f", {self.seconds:.1f} s"
        if self.failure is not None:
            s += "\n" + self.failure.describe()
        return s


def check(
    strategy: str,
    program: Program | None = None,
    *,
    schedule: str | None = None,
    memory: str = "sc",
    threads: int | st.SearchStrategy[int] = 2,
    jitter: int | None = None,
    immortal: bool = False,
    max_examples: int | None = None,
    stress_sizes: Iterable[int] | None = (2_000, 20_000, 200_000),
    hypothesis_settings: settings | None = None,
    raise_on_failure: bool = True,
    preemption_bound: int = 2,
    max_schedules: int = 250_000,
    pct_runs: int = 200,
    pct_depth: int = 3,
    seed: int = 0,
    max_steps: int = _chk.DEFAULT_MAX_STEPS,
    max_ops: int = 8,
    reduction: str | None = None,
) -> Report:
    """Check ``strategy`` against the reference model.

    ``schedule`` picks how interleavings are found:

    * ``None`` or ``"timing"``: real threads at full speed, jitter and stress (below).
    * ``"random"``, ``"pct"``, ``"exhaustive"``: the check build -- one thread at a time,
      a scheduling point at every shared-memory primitive, ``memory`` ``"sc"`` or ``"tso"``
      (per-thread store buffers, x86).  ``"random"``: Hypothesis draws the program (unless
      given; at most ``max_ops`` bursts) and the choice sequence, and shrinks both.
      ``"pct"``: ``pct_runs`` PCT runs of depth ``pct_depth`` per program (seeded by
      ``seed``).  ``"exhaustive"``: every schedule with at most ``preemption_bound``
      preemptions (a buffer drain counts as one), up to ``max_schedules`` runs.  ``reduction``
      skips schedules that only reorder commuting steps of one already run: ``"dpor"``
      (the default in SC) tries an option only where a run shows a race it reverses, with
      sleep sets; ``"sleep"``, sleep sets alone; ``"none"`` (the default in TSO, which the
      reductions do not model) runs every schedule within the bound.  Without a
      program, pct and exhaustive use the programs Hypothesis draws.  The report's
      ``schedules`` counts the runs.  A failure's message prints the schedule and a
      :func:`replay` line with the exact choices.

    With ``program``: run that one program (jitter ``jitter``, or the seeds 0..3 if
    ``None``).  Without: fuzz with Hypothesis -- programs from :func:`cases` at ``threads``
    threads, ``max_examples`` examples (default: the loaded settings profile), each run on
    real threads and compared with :func:`refstrat.model.expect` -- then, if that passed
    and ``stress_sizes`` is not ``None``, :func:`stress` at those sizes.

    Guarantees: a returned report with ``ok`` true means no run showed an operation on a
    freed object, a double free, a leak after quiesce, a wrong final count or a touched
    immortal object.  On failure raises :class:`CheckFailed` (or returns the report, if
    ``raise_on_failure`` is false) carrying the smallest failing program seen -- after
    Hypothesis shrinking -- with the jitter seed that :func:`replay` needs.

    Every numeric argument is judged by its plain value (``operator.index``: an int subclass
    whose comparisons lie cannot slip past a bound); a bad one raises ``TypeError`` (not an int)
    or ``ValueError`` naming its bounds.  ``max_schedules`` is a hard cap on the pct and
    exhaustive runs counted in ``report.schedules``, the corpus's passes included.  A checked
    run cut by ``max_steps`` is no failure: that program's exploration stops there and
    ``report.bound_reached`` counts it (``report.verdict`` says ``"bound reached, not a bug"``).
    """
    strategy = _api._check_strategy(strategy)
    if program is not None:
        _check_program(program)
    if not isinstance(threads, st.SearchStrategy):
        threads = _check_threads(threads)
    if max_examples is not None:
        max_examples = _int_arg("max_examples", max_examples, 1)
    if stress_sizes is not None:
        n = threads if isinstance(threads, int) else 2
        stress_sizes = [_int_arg("stress_sizes entry", v, 1, MAX_OPS // n) for v in stress_sizes]
    preemption_bound = _int_arg("preemption_bound", preemption_bound, 0)
    max_schedules = _int_arg("max_schedules", max_schedules, 1)
    pct_runs = _int_arg("pct_runs", pct_runs, 0)
    pct_depth = _int_arg("pct_depth", pct_depth, 1, _chk.PCT_MAX_DEPTH)
    seed = _int_arg("seed", seed, 0, 2**64 - 1)
    max_steps = _int_arg("max_steps", max_steps, 1, _chk.MAX_STEPS)
    max_ops = _int_arg("max_ops", max_ops, 0)
    if schedule is not None:
        schedule = _api._check_name("schedule", schedule)
    if schedule not in (None, "timing"):
        return _check_scheduled(strategy, program, schedule, memory, threads, immortal, max_examples,
                                hypothesis_settings, raise_on_failure, preemption_bound, max_schedules,
                                pct_runs, pct_depth, seed, max_steps, max_ops, reduction)
    report = Report(strategy, threads if isinstance(threads, int) else repr(threads))
    t0 = time.perf_counter()
    if program is not None:
        report.threads = program.nthreads
        exp = expect(program, immortal_active=_immortal_active(strategy, immortal))
        for j in ([jitter] if jitter is not None else [0, 1, 2, 3]):
            report.examples += 1
            report.failure = _run_once(strategy, program, j, immortal, "check", exp)
            if report.failure:
                break
    else:
        report.failure = _fuzz(strategy, threads, immortal, max_examples, hypothesis_settings, report)
        if report.failure is None and stress_sizes is not None:
            n = threads if isinstance(threads, int) else 2
            report.stress = stress(strategy, n, sizes=stress_sizes, immortal=immortal)
            report.failure = report.stress.failure
    report.seconds = time.perf_counter() - t0
    if report.failure is not None and raise_on_failure:
        raise CheckFailed(report.failure)
    return report


def _fuzz(strategy: str, threads: int | st.SearchStrategy[int], immortal: bool,
          max_examples: int | None, base: settings | None, report: Report) -> Failure | None:
    failures: list[Failure] = []
    overrides: dict[str, Any] = dict(
        deadline=None,  # thread start-up times vary; a deadline would only add flakiness
        database=None,  # one test function serves every strategy: keep their examples apart
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        report_multiple_bugs=False,  # one minimal failure is what check() reports
    )
    if max_examples is not None:
        overrides["max_examples"] = max_examples

    @settings(base, **overrides) if base is not None else settings(**overrides)
    @given(case=cases(threads, release_all=None))
    def fuzz(case: Case) -> None:
        report.examples += 1
        f = _run_once(strategy, case.program, case.jitter, immortal, "hypothesis", None,
                      case.tick, case.log_size)
        if f is not None:
            failures.append(f)
            note(f.describe())
            raise CheckFailed(f)

    try:
        fuzz()
    except (CheckFailed, Flaky):
        # Flaky: a race that failed once and then not on Hypothesis's replay.  Either way the
        # failing programs are in `failures`; report the smallest, which after shrinking is
        # Hypothesis's minimal example.  Anything else (a bug in this module or the core)
        # propagates.
        if not failures:
            raise
    if not failures:
        return None
    best = min(failures, key=lambda f: (len(f.program), f.program.nthreads, f.jitter != 0,
                                        f.tick != DEFAULT_TICK, f.log_size != DEFAULT_LOG_SIZE))
    return minimize(best)


def _without(program: Program, drop: Any) -> Program:
    threads = tuple(tuple(op for k, op in enumerate(ops) if not drop(t, k, op))
                    for t, ops in enumerate(program.threads))
    created = {op[1] for ops in threads for op in ops if op[0] == "new"}
    return Program(threads=threads, shared=program.shared, immortal=program.immortal,
                   deferred=tuple(i for i in program.deferred if i < program.shared or i in created),
                   sharded=program.sharded)


def minimize(failure: Failure, *, budget: int = 400) -> Failure:
    """Greedily cut a failing program further after Hypothesis's shrinker: drop every
    operation on one object, then single operations, keeping a cut when the smaller program
    is still valid (:func:`expect`) and still fails with the same jitter and knobs, until no
    cut helps or ``budget`` runs are spent.  Why: Hypothesis shrinks the choices that build a
    program, and a cut that is trivial on the program (one object fewer) can be a
    coordinated change of several choices that its shrinker may not find.  Racy failures
    that do not reproduce on a rerun are simply left as they are.  Returns a failure whose
    program is no larger than the given one."""
    cur = failure
    act = _immortal_active(cur.strategy, cur.immortal)
    progress = True
    while progress and budget > 0:
        progress = False
        prog = cur.program
        objs = sorted({op[1] for ops in prog.threads for op in ops}, reverse=True)
        cands = [_without(prog, lambda t, k, op, o=o: op[1] == o) for o in objs]
        cands += [_without(prog, lambda t2, k2, op, t=t, k=k: (t2, k2) == (t, k))
                  for t in range(prog.nthreads) for k in range(len(prog.threads[t]))]
        for cand in cands:
            if budget <= 0:
                break
            try:
                exp = expect(cand, immortal_active=act)
                budget -= 1
                f = _run_once(cur.strategy, cand, cur.jitter, cur.immortal, cur.source, exp,
                              cur.tick, cur.log_size)
            except ValueError:  # ProgramError, or refstrat.TraceError if the core is stricter
                continue
            if f is not None:
                cur, progress = f, True
                break
    if budget > 0 and cur.program.compact() != cur.program:
        # Renumbering is cosmetic for a correct scheme; keep it only if it still fails.
        f = _run_once(cur.strategy, cur.program.compact(), cur.jitter, cur.immortal, cur.source,
                      None, cur.tick, cur.log_size)
        cur = f or cur
    return cur


# --------------------------------------------------------------------------- checked runs

def _check_memory(memory: object) -> str:
    memory = _api._check_name("memory", memory)
    if memory not in _chk.MEMORIES:
        raise ValueError(f"unknown memory model {memory!r}; valid: {', '.join(_chk.MEMORIES)}")
    return memory


def _check_program(program: object) -> None:
    """A program is a :class:`Program`: a bare list of per-thread operation lists cannot say which
    ids are shared, immortal, deferred or sharded, so it is refused rather than guessed at."""
    if not isinstance(program, Program):
        raise TypeError(f"program must be a refstrat.testing.Program, got {type(program).__name__}; "
                        "wrap per-thread operation lists as Program(threads=(...), shared=...)")


def _check_choices(choices: object) -> tuple[int, ...]:
    """A choice sequence as the scheduler reads it: plain ints in [0, 2**32 - 1] (an array("I"))."""
    if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
        raise TypeError(f"choices must be a sequence of ints, got {type(choices).__name__}")
    return tuple(_int_arg("each choice", c, 0, 2**32 - 1) for c in choices)


def _check_flavour(strategy: str) -> None:
    from refstrat import _core

    if _core.find_strategy(strategy) is None:
        raise ValueError(f"unknown strategy {strategy!r}")
    if not _core.has_check_flavour(strategy):
        raise ValueError(f"strategy {strategy!r} has no check flavour: build its plugin with "
                         "refstrat.testing.build_plugin (both objects), or use schedule=None")


def _int_arg(name: str, value: object, low: int, high: int | None = None) -> int:
    """The plain value of an integer argument (refstrat._api._as_int: a subclass's comparisons
    may lie, its value may not), within [low, high]; beyond a C field's width it is a ValueError
    naming the bound, never an OverflowError from the conversion."""
    v = _api._as_int(name, value)
    if v < low or (high is not None and v > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {bounds}, got {v}")
    return v


def _checked_failure(strategy: str, program: Program, exp: Expectation, choices: tuple[int, ...],
                     memory: str, immortal: bool, tick: int, log_size: int, max_steps: int,
                     source: str) -> Failure | None:
    """Run one schedule with its log; a Failure carrying the printed schedule, or None.  Raises
    :class:`BoundReached` for a run cut by ``max_steps`` (only a replay meets one here: an
    exploration passes on failures alone)."""
    out = _chk.run_checked(strategy, program, exp, choices=choices, memory=memory, immortal=immortal,
                           tick=tick, log_size=log_size, max_steps=max_steps, want_log=True)
    if out.verdict == "step bound":
        raise BoundReached(f"{strategy}: {_chk.BOUND_REACHED}: the replayed run did not finish in "
                           f"{max_steps} scheduling points (a livelock and a longer legal run look "
                           "alike there); a larger max_steps looks further")
    if not out.problems:
        return None
    taken = list(choices)
    while taken and taken[-1] == 0:  # choice 0 is also what an exhausted sequence gives
        taken.pop()
    return Failure(strategy, program, 0, immortal, tuple(out.problems), source, tick, log_size, out,
                   choices=tuple(taken), memory=memory,
                   schedule_text=_chk.format_schedule(out, program.nthreads))


def _check_scheduled(strategy: str, program: Program | None, schedule: str, memory: str,
                     threads: int | st.SearchStrategy[int], immortal: bool, max_examples: int | None,
                     base: settings | None, raise_on_failure: bool, bound: int, max_schedules: int,
                     pct_runs: int, pct_depth: int, seed: int, max_steps: int, max_ops: int,
                     reduction: str | None) -> Report:
    if schedule not in _chk.SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; valid: None, 'timing', "
                         + ", ".join(repr(x) for x in _chk.SCHEDULES))
    memory = _check_memory(memory)
    _check_flavour(strategy)
    reduction = _check_reduction(reduction, memory)
    report = Report(strategy, threads if isinstance(threads, int) else repr(threads),
                    schedule=schedule, memory=memory, max_steps=max_steps)
    t0 = time.perf_counter()
    act = _immortal_active(strategy, immortal)
    last = _chk.Exploration()  # how the latest explore() call ended (the corpus reads it)

    def runner(prog: Program, exp: Expectation, tick: int, log_size: int) -> Any:
        def run(choices: Sequence[int], pct: tuple[int, int, int] | None = None,
                sleep_add: Sequence[int] | None = None, want_trace: bool = False) -> Any:
            return _chk.run_checked(strategy, prog, exp, choices=choices, memory=memory, immortal=immortal,
                                    tick=tick, log_size=log_size, max_steps=max_steps, pct=pct,
                                    sleep_add=sleep_add, want_trace=want_trace)
        return run

    def explore(prog: Program, tick: int = _chk.CHECK_TICK, log_size: int = _chk.CHECK_LOG_SIZE,
                cap: int | None = None, extra: int = 0, waits_ok: bool = False) -> Failure | None:
        """pct / exhaustive on one program; the failure with a shrunk, printed schedule.
        ``extra``: preemptions beyond ``preemption_bound`` (the corpus's deepening); such a run
        does not count against the report's completeness.  ``waits_ok``: a corpus program that
        a correct scheme may never finish (_pool_waits), whose step bound is no limit reached."""
        left = max_schedules - report.schedules
        if left <= 0:
            # The budget is spent: every later program counts as not explored, so the cap holds
            # whatever the corpus's passes or Hypothesis ask for.
            report.complete = False
            last.complete, last.schedules, last.steps, last.bound_reached = False, 0, 0, False
            return None
        exp = expect(prog, immortal_active=act)
        run = runner(prog, exp, tick, log_size)
        report.examples += 1
        if schedule == "pct":
            ex = _chk.explore_pct(run, pct_runs, pct_depth, seed, left)
        else:
            ex = _chk.explore_exhaustive(run, bound + extra, left if cap is None else min(cap, left),
                                         reduction=reduction)
        report.schedules += ex.schedules
        report.pruned += ex.pruned
        report.bound_reached += ex.bound_reached and not waits_ok
        if not extra:
            report.complete &= ex.complete
        last.complete, last.schedules, last.steps = ex.complete, ex.schedules, ex.steps
        last.bound_reached = ex.bound_reached
        if ex.failure is None:
            return None
        choices = _chk.shrink_choices(run, ex.failure.choices)
        return _checked_failure(strategy, prog, exp, choices, memory, immortal, tick, log_size, max_steps,
                                schedule)

    if program is not None:
        report.threads = program.nthreads
        if schedule == "random":
            report.failure = _fuzz_schedules(strategy, program, threads, memory, immortal, max_examples,
                                             base, report, max_steps, max_ops)
        else:
            report.failure = explore(program)
    elif schedule == "random":
        report.failure = _fuzz_schedules(strategy, None, threads, memory, immortal, max_examples, base,
                                         report, max_steps, max_ops)
    else:
        if schedule == "exhaustive":
            report.failure = _explore_corpus(explore, last)
        if report.failure is None:
            report.failure = _for_programs(explore, threads, max_examples, base, max_ops)
    report.seconds = time.perf_counter() - t0
    if report.failure is not None and raise_on_failure:
        raise CheckFailed(report.failure)
    return report


def _check_reduction(reduction: str | None, memory: str) -> str:
    if reduction is None:
        return "dpor" if memory == "sc" else "none"
    reduction = _api._check_name("reduction", reduction)
    if reduction not in _chk.REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; valid: None, "
                         + ", ".join(repr(x) for x in _chk.REDUCTIONS))
    if reduction != "none" and memory != "sc":
        raise ValueError(f"reduction={reduction!r} needs memory='sc': the reductions do not model "
                         "store buffers; use reduction='none' with memory='tso'")
    return reduction


def _explore_corpus(explore: Any, last: _chk.Exploration) -> Failure | None:
    """The first phase of a program-less exhaustive check: the built-in litmus programs
    (:mod:`refstrat._corpus`) at each of their knob settings, in a fixed order (so the same
    scheme always gets the same verdict), in three passes; the first failure.

    Pass 1 gives each program ``_corpus.SCHEDULES_PER_PROGRAM`` schedules (or its own cap); a
    program whose exploration completes within that deepens by one preemption with what is
    left of it.  Pass 2 explores every program that pass 1 cut off again, with
    ``_corpus.DEEP_SCHEDULES``, the programs with the shortest runs first (the most schedules
    for the budget; the runs' lengths are deterministic, so is the order): the bugs that need a
    helper thread's round at a chosen point sit deep in a schedule, past what the first pass
    reaches.  Pass 3 explores every program whose exploration completed at the bound but not
    one preemption deeper, one preemption deeper, with ``_corpus.DEEPER_SCHEDULES``, again the
    shortest runs first: a reviewer's tick between another worker's add and its zero test, after
    a hand-off, takes three preemptions.

    A run cut by the step bound ends its program at every knob setting (they run as long), and
    all three passes together stay within ``max_schedules`` (explore() runs nothing once it is
    spent)."""
    cut: list[tuple[float, int, _corpus.Litmus, int, int]] = []  # (steps per run, order, ...)
    shallow: list[tuple[float, int, _corpus.Litmus, int, int]] = []  # complete at the bound only
    for litmus in _corpus.CORPUS:
        cap = litmus.schedules or _corpus.SCHEDULES_PER_PROGRAM
        waits_ok = litmus.program.pool is not None
        for tick, log_size in _corpus.KNOBS:
            failure = explore(litmus.program, tick, log_size, cap, waits_ok=waits_ok)
            if not last.schedules:
                return None  # max_schedules is spent
            if failure is None and not last.bound_reached:
                if last.complete and last.schedules < cap:
                    per_run = last.steps / last.schedules
                    failure = explore(litmus.program, tick, log_size, cap - last.schedules, extra=1,
                                      waits_ok=waits_ok)
                    if failure is None and not last.complete and not last.bound_reached:
                        shallow.append((per_run, len(shallow), litmus, tick, log_size))
                elif not last.complete:
                    cut.append((last.steps / last.schedules, len(cut), litmus, tick, log_size))
                else:
                    shallow.append((last.steps / last.schedules, len(shallow), litmus, tick, log_size))
            if last.bound_reached or _pool_waits(litmus, failure):
                break
            if failure is not None:
                return failure
    for _, _, litmus, tick, log_size in sorted(cut):
        failure = explore(litmus.program, tick, log_size, _corpus.DEEP_SCHEDULES,
                          waits_ok=litmus.program.pool is not None)
        if failure is None and last.complete:
            shallow.append((last.steps / last.schedules, len(shallow), litmus, tick, log_size))
        if failure is not None and not _pool_waits(litmus, failure):
            return failure
    for _, _, litmus, tick, log_size in sorted(shallow):
        failure = explore(litmus.program, tick, log_size, _corpus.DEEPER_SCHEDULES, extra=1,
                          waits_ok=litmus.program.pool is not None)
        if failure is not None and not _pool_waits(litmus, failure):
            return failure
    return None


def _pool_waits(litmus: _corpus.Litmus, failure: Failure | None) -> bool:
    """A tight-pool program only waited: a scheme that frees later than the pool needs (coalesced,
    percpu: at quiesce) parks for good (or spins through the step bound, which explore() already
    takes for no failure); not a bug."""
    return failure is not None and litmus.program.pool is not None and all(
        p.startswith("DEADLOCK") for p in failure.problems)


def _hyp_settings(base: settings | None, max_examples: int | None) -> settings:
    overrides: dict[str, Any] = dict(deadline=None, database=None, report_multiple_bugs=False,
                                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    return settings(base, **overrides) if base is not None else settings(**overrides)


def _for_programs(explore: Any, threads: int | st.SearchStrategy[int], max_examples: int | None,
                  base: settings | None, max_ops: int) -> Failure | None:
    """Run ``explore`` on Hypothesis-drawn small programs; the smallest failure."""
    failures: list[Failure] = []

    @_hyp_settings(base, max_examples)
    @given(prog=programs(threads, max_steps=max_ops, release_all=None))
    def body(prog: Program) -> None:
        f = explore(prog)
        if f is not None:
            failures.append(f)
            raise CheckFailed(f)

    return _smallest_failure(body, failures)


def _smallest_failure(body: Any, failures: list[Failure]) -> Failure | None:
    """Run a Hypothesis test ``body`` that records each failure before raising it; the smallest
    one (fewest operations, then fewest choices), or None when every example passed."""
    try:
        body()
    except (CheckFailed, Flaky):
        # Flaky: a failing example that passed when Hypothesis ran it again, as one does once
        # max_schedules is spent (explore() then runs nothing); the failure stands as recorded.
        if not failures:
            raise
    return min(failures, key=lambda f: (len(f.program), len(f.choices or ()))) if failures else None


def _fuzz_schedules(strategy: str, program: Program | None, threads: int | st.SearchStrategy[int],
                    memory: str, immortal: bool, max_examples: int | None, base: settings | None,
                    report: Report, max_steps: int, max_ops: int) -> Failure | None:
    """Hypothesis draws the program (unless given) and the choice sequence; a failure shrinks
    to a short program and a short schedule (few preemptions) and replays exactly."""
    act = _immortal_active(strategy, immortal)
    failures: list[Failure] = []
    progs = st.just(program) if program is not None else programs(threads, max_steps=max_ops,
                                                                   release_all=None)

    @_hyp_settings(base, max_examples)
    @given(prog=progs, choices=st.lists(st.integers(0, 3), max_size=200))
    def body(prog: Program, choices: list[int]) -> None:
        report.examples += 1
        report.schedules += 1
        exp = expect(prog, immortal_active=act)
        out = _chk.run_checked(strategy, prog, exp, choices=choices, memory=memory, immortal=immortal,
                               max_steps=max_steps)
        report.bound_reached += out.verdict == "step bound"
        if out.problems:
            f = _checked_failure(strategy, prog, exp, out.choices, memory, immortal, _chk.CHECK_TICK,
                                 _chk.CHECK_LOG_SIZE, max_steps, "hypothesis")
            if f is not None:
                failures.append(f)
                raise CheckFailed(f)

    return _smallest_failure(body, failures)


def build_plugin(sources: Sequence[str | Path], output: str | Path, *,
                 include_dirs: Sequence[str | Path] = (), cc: str | None = None,
                 extra_args: Sequence[str] = ("-O2",)) -> Path:
    """Compile a strategy plugin twice -- normal and ``-DRS_CHECK_BUILD`` -- and link both
    objects into ``output``, so that :func:`check` can run it under the scheduler.  The
    compilations run side by side, one per CPU.  Raises ``RuntimeError`` with the compiler's
    output when a step fails; returns the library path.  ``extra_args`` may narrow the normal
    flavour to the workloads a caller runs, e.g. ``-DRS_KEEP_WORKLOAD(w)=((w)==RS_W_TRACE)``
    (include/refstrat/registry.h): each kernel copy left out saves compile time, and a run of a
    workload left out is refused."""
    import shutil
    import subprocess
    import sysconfig
    import tempfile
    from concurrent.futures import ThreadPoolExecutor

    import refstrat

    cc = cc or (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not shutil.which(cc):
        cc = "cc"
    inc = [f"-I{refstrat.get_include()}"] + [f"-I{d}" for d in include_dirs]
    out = Path(output)
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [(flavour, defs, k, src) for flavour, defs in (("normal", []), ("check", ["-DRS_CHECK_BUILD=1"]))
                for k, src in enumerate(sources)]

        def compile_one(job: tuple) -> str:
            flavour, defs, k, src = job
            obj = Path(tmp) / f"{flavour}{k}.o"
            cmd = [cc, "-std=gnu11", "-fPIC", "-pthread", "-c", *extra_args, *defs, *inc, str(src),
                   "-o", str(obj)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"building {src} ({flavour}) failed:\n{' '.join(cmd)}\n{proc.stderr}")
            return str(obj)

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            objs = list(pool.map(compile_one, jobs))
        cmd = [cc, "-shared", "-pthread", *objs, "-o", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"linking {out} failed:\n{' '.join(cmd)}\n{proc.stderr}")
    return out


# --------------------------------------------------------------------------- state machines

def arena_machine(strategy: str, *, immortal: bool = False, capacity: int = 64
                  ) -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` that drives one ``refstrat.Arena(strategy)`` from the calling
    thread, step by step, against a dictionary model of counts.

    Invariants checked after every step: no double free and no use after free in the
    arena's counters; every object the model still references is live; immortal objects
    keep the count they were born with.  After ``flush()`` the same; after ``quiesce()``
    additionally every count is exactly the model's and every object whose model count is
    0 is freed (no leak).  Run it with ``run_state_machine_as_test(machine)`` or its
    ``.TestCase``.
    """
    import refstrat

    class ArenaMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.arena = refstrat.Arena(strategy, capacity, immortal=immortal)
            self.count: dict[int, int] = {}     # model true count per live object
            self.held: Counter = Counter()      # references the test holds (releasable)
            self.base: dict[int, int] = {}      # permanent references (shared setup ref)
            self.immortal_count: dict[int, int] = {}
            self.freed: set[int] = set()        # dead in the model (freed now or at a safepoint)
            self.model_frees = 0
            self.allocated = 0

        # Preconditions cannot read Bundles, so all state lives on self.
        @precondition(lambda self: self.allocated < capacity)
        @rule()
        def alloc(self) -> None:
            oid = self.arena.alloc()
            self.allocated += 1
            note(f"alloc() -> {oid}")
            assert oid not in self.count, f"alloc returned {oid}, which is still live"
            self.freed.discard(oid)
            self.count[oid] = 1
            self.held[oid] = 1
            self.base[oid] = 0

        @precondition(lambda self: self.allocated < capacity)
        @rule(make_immortal=st.booleans())
        def alloc_shared(self, make_immortal: bool) -> None:
            oid = self.arena.alloc_shared(immortal=make_immortal)
            self.allocated += 1
            note(f"alloc_shared(immortal={make_immortal}) -> {oid}")
            assert oid not in self.count
            self.freed.discard(oid)
            self.count[oid] = 1
            self.base[oid] = 1
            if make_immortal and self.arena.immortal:
                self.immortal_count[oid] = self.arena.count(oid)

        @precondition(lambda self: bool(self.count))
        @rule(data=st.data())
        def incref(self, data: st.DataObject) -> None:
            # Held private objects, or any shared object (it borrows the setup reference).
            choices = sorted(o for o in self.count if self.held[o] > 0 or self.base[o] > 0)
            if not choices:
                return
            oid = data.draw(st.sampled_from(choices), label="incref id")
            self.arena.incref(oid)
            self.held[oid] += 1
            if oid not in self.immortal_count:
                self.count[oid] += 1

        @precondition(lambda self: any(c > 0 for c in self.held.values()))
        @rule(data=st.data())
        def decref(self, data: st.DataObject) -> None:
            oid = data.draw(st.sampled_from(sorted(o for o, c in self.held.items() if c > 0)),
                            label="decref id")
            self.arena.decref(oid)
            self.held[oid] -= 1
            if oid not in self.immortal_count:
                self.count[oid] -= 1
                if self.count[oid] == 0:
                    # Dead in the model; the scheme may free it now or at its next safepoint.
                    del self.count[oid]
                    self.freed.add(oid)
                    self.model_frees += 1

        @rule()
        def flush(self) -> None:
            self.arena.flush()
            self._check_common()

        @rule()
        def quiesce(self) -> None:
            self.arena.quiesce()
            self._check_exact()

        @invariant()
        def no_corruption(self) -> None:
            self._check_common()

        def teardown(self) -> None:
            # Every run ends at rest with exact counts, whatever the last step was.
            self.arena.quiesce()
            self._check_exact()

        def _check_common(self) -> None:
            s = self.arena.stats()
            assert s["double_frees"] == 0, f"double free: {s}"
            assert s["use_after_free"] == 0, f"use after free: {s}"
            for oid in self.count:
                assert self.arena.is_live(oid), f"object {oid} freed while the model holds {self.count[oid]}"
            for oid, c in self.immortal_count.items():
                assert self.arena.count(oid) == c, f"immortal {oid} touched: {self.arena.count(oid)} != {c}"

        def _check_exact(self) -> None:
            self._check_common()
            for oid, c in self.count.items():
                if oid in self.immortal_count:
                    continue
                got = self.arena.count(oid)
                assert got == c, f"object {oid}: count {got} after quiesce, model {c}"
            for oid in self.freed:
                assert not self.arena.is_live(oid), f"object {oid} has count 0 but is not freed after quiesce"
            s = self.arena.stats()
            assert s["frees"] == self.model_frees, f"frees {s['frees']} != model {self.model_frees}"

    ArenaMachine.__name__ = ArenaMachine.__qualname__ = f"ArenaMachine_{strategy}"
    return ArenaMachine

