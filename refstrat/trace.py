"""Explicit multithreaded operation lists (the ``trace`` workload) and their validation.

A trace is valid when every thread only releases or passes on references it holds, in its own
program order, whatever the interleaving: a thread's holdings change only through its own
operations, so validity can be checked thread by thread. It must also be free of deadlock (a
``recv`` whose ``send`` can never happen); that is checked by running the mailboxes to a fixed
point. Validation happens in Python before any thread starts.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Iterable, Sequence

OPS = {"new": 0, "inc": 1, "dec": 2, "send": 3, "recv": 4}
_ARITY = {"new": 2, "inc": 2, "dec": 2, "send": 3, "recv": 2}
MAX_OBJECTS = 1 << 24
MAX_OPS = 1 << 26


class TraceError(ValueError):
    """A trace that could not run correctly on any scheme (the message says where and why)."""


@dataclass(frozen=True)
class Trace:
    """Per-thread operation lists over numbered objects.

    Objects ``0 .. shared - 1`` exist before the run, each with one setup reference that is never
    released; any thread may ``inc`` them (borrowing that reference) and ``dec`` what it added.
    Objects in ``immortal`` (a subset of the shared ones) are immortal when the run honours
    immortality. Every other id is a private object created by exactly one ``("new", id)``.

    Operations, as tuples: ``("new", id)``, ``("inc", id)``, ``("dec", id)``,
    ``("send", id, thread)`` (moves one held reference to that thread's mailbox) and
    ``("recv", id)`` (takes one from this thread's mailbox, waiting for it).
    """

    threads: tuple[tuple[tuple, ...], ...]
    shared: int = 0
    immortal: frozenset[int] = field(default_factory=frozenset)

    def __init__(self, threads: Sequence[Sequence[Sequence]], shared: int = 0,
                 immortal: Iterable[int] = ()) -> None:
        if isinstance(threads, (str, bytes)) or not isinstance(threads, Sequence):
            raise TypeError("threads must be a sequence of per-thread operation lists")
        object.__setattr__(self, "threads", tuple(tuple(tuple(op) if isinstance(op, (list, tuple)) else op
                                                        for op in ops) for ops in threads))
        object.__setattr__(self, "shared", shared)
        object.__setattr__(self, "immortal", frozenset(immortal))

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

    def compile(self) -> tuple:
        """The flat form the native runner takes (validates first)."""
        return self._validated()[0]

    def _validated(self) -> tuple[tuple, list[int]]:
        cached = self.__dict__.get("_validation")
        if cached is None:
            cached = _validate(self)
            object.__setattr__(self, "_validation", cached)  # immutable inputs: safe to memoise
        return cached


def _validate(trace: Trace) -> tuple[tuple, list[int]]:
    shared = trace.shared
    if not isinstance(shared, int) or isinstance(shared, bool) or not 0 <= shared <= MAX_OBJECTS:
        raise TraceError(f"shared must be an int in [0, {MAX_OBJECTS}], got {shared!r}")
    nthreads = len(trace.threads)
    if nthreads < 1:
        raise TraceError("a trace needs at least one thread")
    for i in trace.immortal:
        if not isinstance(i, int) or not 0 <= i < shared:
            raise TraceError(f"immortal object {i!r} is not a shared object id (0 <= id < {shared})")
    total = sum(len(ops) for ops in trace.threads)
    if total > MAX_OPS:
        raise TraceError(f"a trace may hold at most {MAX_OPS} operations, got {total}")

    # Pass 1: shape of every op, and who creates what.
    created: dict[int, tuple[int, int]] = {}
    nobjects = shared
    for t, ops in enumerate(trace.threads):
        for k, op in enumerate(ops):
            where = f"thread {t}, op {k} {op!r}"
            if not isinstance(op, tuple) or not op or op[0] not in OPS:
                raise TraceError(f"{where}: unknown operation; valid: {', '.join(OPS)}")
            name = op[0]
            if len(op) != _ARITY[name]:
                raise TraceError(f"{where}: {name!r} takes {_ARITY[name] - 1} argument(s)")
            obj = op[1]
            if not isinstance(obj, int) or isinstance(obj, bool) or not 0 <= obj < MAX_OBJECTS:
                raise TraceError(f"{where}: object id must be an int in [0, {MAX_OBJECTS})")
            nobjects = max(nobjects, obj + 1)
            if name == "new":
                if obj < shared:
                    raise TraceError(f"{where}: ids below {shared} are shared objects and exist already")
                if obj in created:
                    ct, ck = created[obj]
                    raise TraceError(f"{where}: object {obj} is already created by thread {ct}, op {ck}")
                created[obj] = (t, k)
            if name == "send":
                dst = op[2]
                if not isinstance(dst, int) or isinstance(dst, bool) or not 0 <= dst < nthreads:
                    raise TraceError(f"{where}: destination must be a thread in [0, {nthreads})")
    for obj in range(shared, nobjects):
        if obj not in created:
            used = any(len(op) > 1 and op[1] == obj for ops in trace.threads for op in ops)
            if used:
                raise TraceError(f"object {obj} is used but never created by a ('new', {obj})")

    # Pass 2: run the mailboxes to a fixed point; check holdings in each thread's program order.
    holdings = [dict() for _ in range(nthreads)]
    mailbox: dict[tuple[int, int], int] = {}
    pos = [0] * nthreads
    remaining = nthreads
    while remaining:
        progressed = False
        for t, ops in enumerate(trace.threads):
            held = holdings[t]
            while pos[t] < len(ops):
                k = pos[t]
                op = ops[k]
                name, obj = op[0], op[1]
                where = f"thread {t}, op {k} {op!r}"
                if name == "recv":
                    if mailbox.get((t, obj), 0) == 0:
                        break
                    mailbox[(t, obj)] -= 1
                    held[obj] = held.get(obj, 0) + 1
                elif name == "new":
                    held[obj] = 1
                elif name == "inc":
                    if obj >= shared and held.get(obj, 0) == 0:
                        raise TraceError(f"{where}: thread {t} holds no reference to object {obj}")
                    held[obj] = held.get(obj, 0) + 1
                else:  # dec, send
                    if held.get(obj, 0) == 0:
                        raise TraceError(f"{where}: thread {t} holds no reference to object {obj} to "
                                         f"{'release' if name == 'dec' else 'send'}")
                    held[obj] -= 1
                    if name == "send":
                        mailbox[(op[2], obj)] = mailbox.get((op[2], obj), 0) + 1
                pos[t] += 1
                progressed = True
        remaining = sum(pos[t] < len(ops) for t, ops in enumerate(trace.threads))
        if remaining and not progressed:
            stuck = [f"thread {t} at op {pos[t]} {ops[pos[t]]!r}"
                     for t, ops in enumerate(trace.threads) if pos[t] < len(ops)]
            raise TraceError("the trace can deadlock: no matching send for " + "; ".join(stuck))
    unclaimed = {key: n for key, n in mailbox.items() if n}
    if unclaimed:
        (dst, obj), n = next(iter(unclaimed.items()))
        raise TraceError(f"{n} reference(s) to object {obj} sent to thread {dst} are never received")

    final = [0] * nobjects
    for held in holdings:
        for obj, n in held.items():
            final[obj] += n
    for obj in range(shared):
        final[obj] += 1
    immortal = bytes(1 if i in trace.immortal else 0 for i in range(shared))
    flat = array("I")
    begin = array("Q", [0])
    for ops in trace.threads:
        for op in ops:
            flat.extend((OPS[op[0]], op[1], op[2] if op[0] == "send" else 0))
        begin.append(len(flat) // 3)
    return (nobjects, shared, immortal, flat, begin), final
