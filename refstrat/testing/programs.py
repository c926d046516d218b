"""The programs the checker runs: :func:`programs`, a Hypothesis strategy of valid multithreaded
refcount programs, and :func:`cases` (a program plus the jitter seed and knobs a timing run uses);
what a strategy's runs of them must honour (:func:`immortal_active`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from refstrat._api import knobs as _knobs
from refstrat._api import locks as _locks
from refstrat.model import Program
from refstrat.results import KnobInfo
from refstrat.testing.args import validate_threads

# Kind codes: shrinking moves towards 0 ("new"); sends and decs get more codes because the
# interesting bugs need references to cross threads and counts to fall.
_KINDS = ("new", "inc", "inc", "dec", "dec", "send", "send", "send", "recv", "push", "pop")
# With locks=True: "crit", a critical section (lock, write, maybe a read, unlock) on an object
# the thread may lock.
_LOCK_KINDS = (*_KINDS, "crit", "crit")
#: The lock schemes a drawn program with critical sections runs under: those that exclude.
EXCLUDING_LOCKS = tuple(lk.name for lk in _locks() if lk.excludes)


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
    locks: bool = False,
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

    With ``locks=True`` some steps are critical sections (``lock``, ``write``, maybe ``read``,
    ``unlock`` of an object the thread holds, or a shared one), which keep the lock discipline
    (refstrat.trace.lock_discipline), and the program's ``locks`` is drawn among the lock schemes
    that exclude (it shrinks towards the first, ``global``).
    """
    n = draw(threads) if isinstance(threads, st.SearchStrategy) else validate_threads(threads)
    nshared = draw(st.integers(0, max_shared))
    marks = _draw_marks(draw, nshared, immortal, layers)
    # Steps are drawn as a plain list of (thread, kind, object pick, destination offset,
    # repeat) and then interpreted against the current state.  A list shrinks by deleting
    # elements, every element shrinks towards (thread 0, "new", once), and any list
    # interprets to a valid program, so Hypothesis's shrinker can cut a failing program
    # down freely.  The destination is an offset from the sender, so it shrinks towards
    # "the next thread": a cross-thread hand-off.
    idle = draw(st.sets(st.integers(0, n - 1), max_size=n - 1))
    active = [t for t in range(n) if t not in idle]
    gap, stride = draw(st.integers(0, 3)), draw(st.integers(1, 3))
    kinds = _LOCK_KINDS if locks else _KINDS
    bursts = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(active) - 1),
                st.integers(0, len(kinds) - 1),
                st.integers(0, 255),
                st.integers(0, len(active) - 1),
                st.integers(1, 6),
            ),
            max_size=max_steps,
        )
    )
    state = _Execution(n, nshared, gap, stride, marks.deferred_private, list(marks.deferred_shared))
    for a, k, pick, off, rep in bursts:
        for _ in range(rep):
            state.step(active[a], kinds[k], pick, active[(a + 1 + off) % len(active)])
    state.finish(draw(st.booleans()) if release_all is None else release_all)
    return Program(
        threads=tuple(tuple(o) for o in state.ops),
        shared=nshared,
        immortal=marks.immortal,
        deferred=tuple(state.deferred),
        sharded=marks.sharded,
        locks=draw(st.sampled_from(EXCLUDING_LOCKS)) if locks else "none",
    )


@dataclass(frozen=True)
class _Marks:
    """The drawn object marks: immortal and sharded shared ids, deferred shared ids, and which
    private objects are deferred (bit j: the j-th private object created, mod 8)."""

    immortal: tuple[int, ...] = ()
    sharded: tuple[int, ...] = ()
    deferred_shared: tuple[int, ...] = ()
    deferred_private: int = 0


def _draw_marks(draw: st.DrawFn, nshared: int, immortal: bool, layers: bool) -> _Marks:
    """The marks, drawn in a fixed order (so a failure's example replays); all shrink to none."""
    imm: tuple[int, ...] = ()
    if immortal and nshared:
        imm = tuple(sorted(draw(st.sets(st.integers(0, nshared - 1), max_size=nshared))))
    if not layers:
        return _Marks(imm)
    shard: tuple[int, ...] = ()
    deferred_shared: tuple[int, ...] = ()
    if nshared:
        shard = tuple(sorted(draw(st.sets(st.integers(0, nshared - 1), max_size=nshared))))
        deferred_shared = tuple(sorted(draw(st.sets(st.integers(0, nshared - 1), max_size=nshared))))
    return _Marks(imm, shard, deferred_shared, draw(st.integers(0, 255)))


@dataclass
class _Execution:
    """The one feasible global execution that :func:`programs` builds, step by step: what each
    thread holds, has in its mailbox and on its stack, and its operations so far."""

    n: int
    nshared: int
    gap: int
    stride: int
    deferred_private: int
    deferred: list[int]
    hold: list[Counter] = field(init=False)
    mail: list[Counter] = field(init=False)
    stack: list[list[int]] = field(init=False)
    ops: list[list[tuple]] = field(init=False)
    killed: set[int] = field(default_factory=set)
    next_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.hold = [Counter() for _ in range(self.n)]
        self.mail = [Counter() for _ in range(self.n)]
        self.stack = [[] for _ in range(self.n)]
        self.ops = [[] for _ in range(self.n)]
        self.next_id = self.nshared

    def _enabled(self, t: int, kind: str, held: list[int], waiting: list[int]) -> str:
        """``kind``, or "new" (always enabled) where thread ``t`` cannot do it now."""
        if kind in ("inc", "push", "crit") and not (held or self.nshared or self.stack[t]):
            return "new"
        if (
            (kind == "pop" and not self.stack[t])
            or (kind in ("dec", "send") and not held)
            or (kind == "recv" and not waiting)
        ):
            return "new"
        return kind

    def step(self, t: int, kind: str, pick: int, dst: int) -> None:
        """Thread ``t`` does ``kind`` (or "new" where it cannot) on the object ``pick`` selects."""
        held = sorted(o for o, c in self.hold[t].items() if c > 0)
        waiting = sorted(o for o, c in self.mail[t].items() if c > 0)
        kind = self._enabled(t, kind, held, waiting)
        ops = self.ops[t]
        if kind == "new":
            oid = self.nshared + self.gap + self.stride * (self.next_id - self.nshared)
            self.next_id += 1
            if self.deferred_private >> ((self.next_id - 1 - self.nshared) % 8) & 1:
                self.deferred.append(oid)
            self.hold[t][oid] += 1
            ops.append(("new", oid))
        elif kind in ("inc", "push"):
            cands = sorted(set(held) | set(range(self.nshared)) | set(self.stack[t]))
            oid = cands[pick % len(cands)]
            if kind == "inc":
                self.hold[t][oid] += 1
            else:
                self.stack[t].append(oid)
            ops.append((kind, oid))
        elif kind == "crit":
            cands = sorted(set(held) | set(range(self.nshared)) | set(self.stack[t]))
            oid = cands[pick % len(cands)]
            ops.extend([("lock", oid), ("write", oid)] + [("read", oid)] * (pick & 1) + [("unlock", oid)])
        elif kind == "pop":
            ops.append(("pop", self.stack[t].pop(len(self.stack[t]) - 1 - pick % len(self.stack[t]))))
        elif kind == "dec":
            oid = held[pick % len(held)]
            self.hold[t][oid] -= 1
            kill = pick >= 128 and oid >= self.nshared and oid not in self.killed
            if kill:
                self.killed.add(oid)
            ops.append(("kill" if kill else "dec", oid))
        elif kind == "send":
            oid = held[pick % len(held)]
            self.hold[t][oid] -= 1
            self.mail[dst][oid] += 1
            ops.append(("send", oid, dst))
        else:
            oid = waiting[pick % len(waiting)]
            self.mail[t][oid] -= 1
            self.hold[t][oid] += 1
            ops.append(("recv", oid))

    def finish(self, release: bool) -> None:
        """Every thread takes its mail, drops what it holds (with ``release``) and pops its stack."""
        for t in range(self.n):
            ops, hold = self.ops[t], self.hold[t]
            # Mail left undelivered would be a reference nobody can release: always take it.
            for oid in sorted(self.mail[t]):
                for _ in range(self.mail[t][oid]):
                    ops.append(("recv", oid))
                    hold[oid] += 1
            if release:
                for oid in sorted(hold):
                    k = hold[oid]
                    if k and oid >= self.nshared and oid not in self.killed:
                        self.killed.add(oid)
                        ops.append(("kill", oid))
                        k -= 1
                    ops.extend([("dec", oid)] * k)
            # Stack references never outlive their thread: pop them all, the latest first, after the
            # heap references are gone (a deferred object then lives on its stack roots alone).
            ops.extend(("pop", oid) for oid in reversed(self.stack[t]))


def _knob(name: str) -> KnobInfo:
    return next(k for k in _knobs() if k.name == name)


#: The core's defaults for the scheme knobs a case may vary (refstrat.run options).
DEFAULT_TICK = int(_knob("tick").default)  # coalesced: safepoints between epoch ticks
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


def immortal_active(strategy: str, immortal: bool) -> bool:
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
