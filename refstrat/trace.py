"""Explicit multithreaded operation lists (the ``trace`` workload) and their validation.

A trace is valid when every thread only releases or passes on references it holds, in its own
program order, whatever the interleaving: a thread's holdings change only through its own
operations, so validity can be checked thread by thread. It must also be free of deadlock (a
``recv`` whose ``send`` can never happen); that is checked by running the mailboxes to a fixed
point. Validation happens in Python before any thread starts.
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

OPS = {
    "new": 0,
    "inc": 1,
    "dec": 2,
    "send": 3,
    "recv": 4,
    "push": 5,
    "pop": 6,
    "kill": 7,
    "lock": 8,
    "unlock": 9,
    "read": 10,
    "write": 11,
}  # fmt: skip  (RS_T_*)
_ARITY = {name: 3 if name == "send" else 2 for name in OPS}
#: The operations that take or use an object's lock (include/refstrat/locks.h), not a count.
LOCK_OPS = ("lock", "unlock", "read", "write")
DEFERRED, SHARDED = 4, 8  # the core's RS_F_DEFERRED and RS_F_SHARDED header flags
MAX_OBJECTS = 1 << 24  # ids in [0, MAX_OBJECTS): the C core's RS_MAX_TRACE_OBJECTS
MAX_OPS = 1 << 26  # operations, all threads together: RS_MAX_TRACE_OPS
MAX_THREADS = 1024  # RS_MAX_THREADS (tests/test_defence.py checks all three against the core)


class TraceError(ValueError):
    """A trace that could not run correctly on any scheme (the message says where and why)."""


@dataclass(frozen=True)
class Trace:
    """Per-thread operation lists over numbered objects.

    Objects ``0 .. shared - 1`` exist before the run, each with one setup reference that is never
    released; any thread may ``inc`` them (borrowing that reference) and ``dec`` what it added.
    Objects in ``immortal`` (a subset of the shared ones) are immortal when the run honours
    immortality; objects in ``deferred`` (any ids) are deferred and those in ``sharded`` (shared
    ids) sharded when the run has those layers on (include/refstrat/deferred.h, sharded.h).
    Every other id is a private object created by exactly one ``("new", id)``.

    Operations, as tuples: ``("new", id)``, ``("inc", id)``, ``("dec", id)``,
    ``("send", id, thread)`` (moves one held reference to that thread's mailbox),
    ``("recv", id)`` (takes one from this thread's mailbox, waiting for it), ``("push", id)`` (a
    stack reference, taken while holding a reference), ``("pop", id)`` (drops this thread's
    latest push of id; every push is popped by its thread before the thread ends) and
    ``("kill", id)`` (releases the reference the object's creator was given by its ``new``, as
    percpu_ref_kill: a ``dec`` for every scheme without a kill hook). A kill is of a private
    object, at most once per object, by a thread holding a reference to it: references are
    interchangeable, so the holder may be any thread the creator's reference was passed to.

    Locks (the run's lock scheme, ``refstrat.locks()``): ``("lock", id)`` takes the object's lock
    (the thread must hold a reference, or the object be shared), ``("unlock", id)`` drops it,
    ``("read", id)``/``("write", id)`` read and increment the object's guarded payload while
    holding its lock. The discipline (:func:`lock_discipline`): one lock at a time, no recv while
    holding one, the locked object's references are not released while locked, every lock is
    unlocked by its thread before the thread ends.
    """

    threads: tuple[tuple[tuple[Any, ...], ...], ...]
    shared: int = 0
    immortal: frozenset[int] = field(default_factory=frozenset)
    deferred: frozenset[int] = field(default_factory=frozenset)
    sharded: frozenset[int] = field(default_factory=frozenset)

    def __init__(
        self,
        threads: Sequence[Sequence[Sequence[Any]]],
        shared: int = 0,
        immortal: Iterable[int] = (),
        deferred: Iterable[int] = (),
        sharded: Iterable[int] = (),
    ) -> None:
        if isinstance(threads, (str, bytes)) or not isinstance(threads, Sequence):
            raise TypeError("threads must be a sequence of per-thread operation lists")
        object.__setattr__(
            self,
            "threads",
            tuple(tuple(tuple(op) if isinstance(op, (list, tuple)) else op for op in ops) for ops in threads),
        )
        object.__setattr__(self, "shared", shared)
        object.__setattr__(self, "immortal", _iterable_ids("immortal", immortal))
        object.__setattr__(self, "deferred", _iterable_ids("deferred", deferred))
        object.__setattr__(self, "sharded", _iterable_ids("sharded", sharded))

    @property
    def nobjects(self) -> int:
        """One more than the highest object id used (at least ``shared``)."""
        top = self.shared - 1
        for ops in self.threads:
            for op in ops:
                if len(op) >= 2 and isinstance(op[1], int):
                    top = max(top, op[1])
        return top + 1

    def final_holdings(self) -> list[int]:
        """References each object must still have after the run (validates first).

        For shared objects this includes the setup reference; immortal objects of a run that
        honours immortality keep exactly 1 instead."""
        return list(self._validated()[1])

    def compile(self) -> tuple[Any, ...]:
        """The flat form the native runner takes (validates first)."""
        return self._validated()[0]

    def _validated(self) -> tuple[tuple[Any, ...], list[int]]:
        cached = self.__dict__.get("_validation")
        if cached is None:
            cached = _validate(self)
            object.__setattr__(self, "_validation", cached)  # immutable inputs: safe to memoise
        return cached


def lock_discipline(ops: Sequence[tuple[Any, ...]]) -> tuple[int, str] | None:
    """The first breach of the lock discipline in one thread's operations (plain (name, id, ...)
    tuples, already of valid shape), as (index, message), or None. Per thread: whether a program
    keeps it does not depend on the interleaving, and keeping it rules out deadlock by locks (a
    holder never waits while it holds, so every lock is released)."""
    held: int | None = None
    for k, op in enumerate(ops):
        name, obj = op[0], op[1]
        if name == "lock" and held is not None:
            return k, f"lock({obj}) while holding the lock of object {held} (one lock at a time)"
        if name == "lock":
            held = obj
        elif name in ("unlock", "read", "write") and held != obj:
            state = "no lock" if held is None else f"the lock of object {held}"
            what = "unlock of an object it has not locked" if name == "unlock" else f"{name} without its lock"
            why = "unlocking an unlocked object or another thread's lock is an error"
            return k, f"{name}({obj}): {what} (the thread holds {state}; {why})"
        elif name == "unlock":
            held = None
        elif name == "recv" and held is not None:
            return k, f"recv({obj}) while holding the lock of object {held} (a holder must not wait)"
        elif name in ("dec", "kill", "send", "pop") and obj == held:
            return k, f"{name}({obj}) releases a reference to object {obj} while holding its lock"
    if held is not None:
        return len(ops), f"the thread ends holding the lock of object {held}"
    return None


def run_arrays(compiled: tuple[Any, ...], expected: Sequence[int]) -> tuple[Any, ...]:
    """``compiled`` with the three arrays the native runner adds to it: the expected final counts,
    room for the final ones and room for the final payloads (in that order, last). The object
    count is judged again, so that a compiled form tampered with after validation gets a
    TraceError, not an allocation of its claimed size."""
    nobjects = compiled[0]
    if type(nobjects) is not int or not 0 <= nobjects <= MAX_OBJECTS or len(expected) != nobjects:
        raise TraceError(
            f"a compiled trace must hold at most {MAX_OBJECTS} objects and one expected "
            f"count each; got {nobjects!r} objects and {len(expected)} counts"
        )
    return compiled + (array("q", expected), array("q", bytes(8 * nobjects)), array("q", bytes(8 * nobjects)))


def _iterable_ids(what: str, ids: object) -> frozenset[Any]:
    """``ids`` as a frozenset, or a TypeError naming ``what`` (None or a bare int is no set)."""
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        raise TypeError(f"{what} must be an iterable of object ids, got {type(ids).__name__}")
    return frozenset(ids)


def _plain_int(value: object) -> int | None:
    """The value of an int (an int subclass's comparisons may lie; its value may not), or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return operator.index(value)
    return None


def _id_set(given: frozenset[Any], bound: int, message: str) -> list[int]:
    """The plain value of each id in ``given``, each in [0, bound), or a TraceError: ``message``
    with the offending id as given."""
    ids = []
    for raw in given:
        i = _plain_int(raw)
        if i is None or not 0 <= i < bound:
            raise TraceError(message.format(repr(raw)))
        ids.append(i)
    return ids


def _validate(trace: Trace) -> tuple[tuple[Any, ...], list[int]]:
    """Cost: linear in the number of operations plus the highest object id (per-id arrays)."""
    shared = _plain_int(trace.shared)
    if shared is None or not 0 <= shared <= MAX_OBJECTS:
        raise TraceError(f"shared must be an int in [0, {MAX_OBJECTS}], got {trace.shared!r}")
    nthreads = len(trace.threads)
    if nthreads < 1:
        raise TraceError("a trace needs at least one thread")
    shared_id = f"a shared object id (0 <= id < {shared})"
    immortal_ids = _id_set(trace.immortal, shared, f"immortal object {{}} is not {shared_id}")
    sharded_ids = _id_set(
        trace.sharded, shared, f"sharded object {{}} is not {shared_id}: unique ids are given at setup"
    )
    deferred_ids = _id_set(
        trace.deferred, MAX_OBJECTS, f"deferred object {{}} is not an object id in [0, {MAX_OBJECTS})"
    )
    total = sum(len(ops) for ops in trace.threads)
    if total > MAX_OPS:
        raise TraceError(f"a trace may hold at most {MAX_OPS} operations, got {total}")
    threads, nobjects = _plain_ops(trace, shared, deferred_ids)
    for t, mine in enumerate(threads):
        breach = lock_discipline(mine)
        if breach is not None:
            raise TraceError(f"thread {t}, op {breach[0]}: {breach[1]}")
    holdings = _holdings(trace, threads, shared)

    final = [0] * nobjects
    for held in holdings:
        for obj, n in held.items():
            final[obj] += n
    final[:shared] = [n + 1 for n in final[:shared]]
    immortal = bytearray(shared)
    for i in immortal_ids:
        immortal[i] = 1
    layers = bytearray(nobjects if deferred_ids or sharded_ids else 0)
    for i in deferred_ids:
        layers[i] |= DEFERRED
    for i in sharded_ids:
        layers[i] |= SHARDED
    return (nobjects, shared, bytes(immortal), *_flat(threads), bytes(layers)), final


def _flat(threads: list[list[tuple[Any, ...]]]) -> tuple[array[int], array[int]]:
    """The operations as the core reads them: (kind, id, destination) triples, and where each
    thread's begin."""
    flat = array("I")
    begin = array("Q", [0])
    for mine in threads:
        for name, obj, dst in mine:
            flat.extend((OPS[name], obj, dst))
        begin.append(len(flat) // 3)
    return flat, begin


def _plain_ops(trace: Trace, shared: int, deferred_ids: list[int]) -> tuple[list[list[tuple[Any, ...]]], int]:
    """Pass 1: the shape of every op, and who creates what; every op rebuilt from plain str/int
    values, which the later passes use. Returns the ops and one more than the highest id. Linear
    in the number of operations."""
    nthreads = len(trace.threads)
    created: dict[int, tuple[int, int]] = {}
    killed: dict[int, tuple[int, int]] = {}
    used: set[int] = set()
    nobjects = shared
    threads: list[list[tuple[Any, ...]]] = []
    for t, ops in enumerate(trace.threads):
        threads.append(plain := [])
        for k, op in enumerate(ops):
            where = f"thread {t}, op {k} {op!r}"
            name = str.__str__(op[0]) if isinstance(op, tuple) and op and isinstance(op[0], str) else None
            if name not in OPS:
                raise TraceError(f"{where}: unknown operation; valid: {', '.join(OPS)}")
            if len(op) != _ARITY[name]:
                raise TraceError(f"{where}: {name!r} takes {_ARITY[name] - 1} argument(s)")
            obj = _plain_int(op[1])
            if obj is None or not 0 <= obj < MAX_OBJECTS:
                raise TraceError(f"{where}: object id must be an int in [0, {MAX_OBJECTS})")
            nobjects = max(nobjects, obj + 1)
            used.add(obj)
            if name == "new":
                if obj < shared:
                    raise TraceError(f"{where}: ids below {shared} are shared objects and exist already")
                if obj in created:
                    ct, ck = created[obj]
                    raise TraceError(f"{where}: object {obj} is already created by thread {ct}, op {ck}")
                created[obj] = (t, k)
            elif name == "kill":
                if obj < shared:
                    raise TraceError(
                        f"{where}: object {obj} is a shared object: only private objects "
                        "are killed (setup objects are killed at quiesce)"
                    )
                if obj in killed:
                    kt, kk = killed[obj]
                    raise TraceError(f"{where}: object {obj} is already killed by thread {kt}, op {kk}")
                killed[obj] = (t, k)
            dst = _plain_int(op[2]) if name == "send" else 0
            if dst is None or not 0 <= dst < nthreads:
                raise TraceError(f"{where}: destination must be a thread in [0, {nthreads})")
            plain.append((name, obj, dst))
    orphans = sorted(obj for obj in used | set(deferred_ids) if obj >= shared and obj not in created)
    if orphans:
        raise TraceError(f"object {orphans[0]} is used but never created by a ('new', {orphans[0]})")

    return threads, nobjects


def _holdings(trace: Trace, threads: list[list[tuple[Any, ...]]], shared: int) -> list[dict[int, int]]:
    """Pass 2: run the mailboxes to a fixed point, checking holdings in each thread's program
    order; returns what each thread holds at its end."""
    nthreads = len(threads)
    holdings: list[dict[int, int]] = [dict() for _ in range(nthreads)]
    stacks: list[dict[int, int]] = [dict() for _ in range(nthreads)]  # push minus pop, per id
    mailbox: dict[tuple[int, int], int] = {}
    pos = [0] * nthreads
    # A worklist: each thread runs until it finishes or waits on an empty mailbox, and a send
    # wakes the thread waiting on it, so every op is looked at once (linear, whatever the schedule).
    ready = list(range(nthreads))
    waiting: dict[tuple[int, int], int] = {}
    while ready:
        t = ready.pop()
        mine, held = threads[t], holdings[t]
        while pos[t] < len(mine):
            k = pos[t]
            name, obj, dst = mine[k]
            where = f"thread {t}, op {k} {trace.threads[t][k]!r}"
            if name == "recv":
                if mailbox.get((t, obj), 0) == 0:
                    waiting[(t, obj)] = t
                    break
                mailbox[(t, obj)] -= 1
                held[obj] = held.get(obj, 0) + 1
            elif name == "new":
                held[obj] = 1
            elif name in ("inc", "push", "lock"):
                if obj >= shared and held.get(obj, 0) == 0 and stacks[t].get(obj, 0) == 0:
                    raise TraceError(f"{where}: thread {t} holds no reference to object {obj}")
                if name == "lock":
                    pass
                elif name == "inc":
                    held[obj] = held.get(obj, 0) + 1
                else:
                    stacks[t][obj] = stacks[t].get(obj, 0) + 1
            elif name == "pop":
                if stacks[t].get(obj, 0) == 0:
                    raise TraceError(f"{where}: pop of object {obj} without a matching push on thread {t}")
                stacks[t][obj] -= 1
            elif name in LOCK_OPS:
                pass  # the discipline (checked before) keeps a reference while locked
            else:  # dec, kill, send
                if held.get(obj, 0) == 0:
                    raise TraceError(
                        f"{where}: thread {t} holds no reference to object {obj} to "
                        f"{'send' if name == 'send' else 'release'}"
                    )
                held[obj] -= 1
                if name == "send":
                    mailbox[(dst, obj)] = mailbox.get((dst, obj), 0) + 1
                    if waiting.pop((dst, obj), None) is not None:
                        ready.append(dst)
            pos[t] += 1
    stuck = [
        f"thread {t} at op {pos[t]} {trace.threads[t][pos[t]]!r}" for t in range(nthreads) if pos[t] < len(threads[t])
    ]
    for t, stack in enumerate(stacks):
        left = sorted(obj for obj, n in stack.items() if n)
        if left and not stuck:
            raise TraceError(
                f"thread {t} ends holding stack references to object {left[0]} "
                "(every push must be popped by its thread)"
            )
    if stuck:
        raise TraceError("the trace can deadlock: no matching send for " + "; ".join(stuck))
    unclaimed = {key: n for key, n in mailbox.items() if n}
    if unclaimed:
        (dst, obj), n = next(iter(unclaimed.items()))
        raise TraceError(f"{n} reference(s) to object {obj} sent to thread {dst} are never received")

    return holdings
