"""Pure-Python reference model for refstrat trace programs.

A *program* is what the ``trace`` workload runs: one operation list per thread over
shared objects (ids ``0 .. shared-1``, created before the run with one permanent setup
reference), immortal objects (a subset of the shared ids) and private objects (ids
``>= shared``, each created by exactly one ``("new", id)``).  References move between
threads through per-thread mailboxes (``("send", id, dst)`` / ``("recv", id)``).

The model needs no C code.  For any valid program it computes, independently of the
interleaving the threads actually ran in, the exact final count of every object and
which objects must have been freed; for an invalid program it names the thread and the
position in that thread's program order where the program would release a reference it
does not hold (the point where a use after free would occur) or would deadlock.
:func:`compare` names every way a run's result differs from that :class:`Expectation`; it lives
here, beside what it compares with, so that the checker (``refstrat.testing``) and the scheduler's
runs (``refstrat.testing.sched``) both depend on the model and the model on neither.

Why the result does not depend on the interleaving: every operation changes the count by
a fixed amount (new, inc and push +1; dec, pop and kill -1; send/recv 0), so the final count is
the sum over all operations; and as long as every thread only releases references it holds, the true
count never touches zero while a reference exists, so no correct scheme may free early.

Stack references (``("push", id)``/``("pop", id)``) are references for liveness: an object a
thread has pushed and not popped is live.  A deferred object's stack references are not in
its count (include/refstrat/deferred.h), every other object's are; since every thread pops
all it pushed before it ends, the final counts are the same either way.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .trace import LOCK_OPS, MAX_OBJECTS, MAX_OPS, MAX_THREADS, lock_discipline

__all__ = [
    "Op",
    "Program",
    "ProgramError",
    "Expectation",
    "expect",
    "compare",
    "IMMORTAL_COUNT",
]

#: One operation: ``("new", id)``, ``("inc", id)``, ``("dec", id)``, ``("send", id, dst)``,
#: ``("recv", id)`` or ``("kill", id)`` -- exactly the tuples ``refstrat.Trace`` takes.
Op = tuple

#: The count the core reports for an immortal object at any time (the contract: "immortal
#: ones keep 1").  Immortal objects must be untouched, so their final count is this.
IMMORTAL_COUNT = 1

# ("kill", id): the creator's decref (percpu_ref_kill), at most once per private object, by a
# thread holding a reference (references are interchangeable: the creator's may have been passed on).
# ("push", id) / ("pop", id): a stack reference (CPython's _PyStackRef), popped by the pushing thread.
# ("lock", id) / ("unlock", id) / ("read", id) / ("write", id): the object's lock and its guarded
# payload (refstrat.trace.lock_discipline says what a program must keep); a write adds 1.
_ARITY = {"new": 2, "inc": 2, "dec": 2, "send": 3, "recv": 2, "push": 2, "pop": 2, "kill": 2}
_ARITY.update({name: 2 for name in LOCK_OPS})


class ProgramError(ValueError):
    """A program that is not valid.  ``thread``/``index`` locate the offending operation
    in that thread's program order (``None`` for whole-program problems)."""

    def __init__(self, message: str, thread: int | None = None, index: int | None = None):
        where = "" if thread is None else f"thread {thread}, op {index}: "
        super().__init__(where + message)
        self.thread = thread
        self.index = index


@dataclass(frozen=True)
class Program:
    """A multithreaded refcount program, valid for ``refstrat.Trace``.

    ``repr(program)`` is valid Python (with ``from refstrat.testing import Program``), so a
    failing program printed in a report can be pasted back into ``refstrat.testing.replay``.
    """

    threads: tuple[tuple[Op, ...], ...]
    shared: int = 0
    immortal: tuple[int, ...] = ()
    #: Objects each worker's pool holds under the systematic scheduler (None: one per object the
    #: worker creates, plus slack). Smaller, a pool runs dry and takes back the slots other
    #: threads freed (the arena's remote stack): the program must then never hold more of its
    #: own objects at once, or a worker waits for ever for a free.
    pool: int | None = None
    deferred: tuple[int, ...] = ()
    sharded: tuple[int, ...] = ()
    #: The lock scheme (``refstrat.locks()``) the program's lock operations run under in the
    #: systematic checks (a run parameter carried by the program, as ``pool`` is).
    locks: str = "none"

    def __post_init__(self) -> None:
        # Normalise to hashable, canonical tuples of plain values so equal programs compare
        # equal, the repr is stable whatever sequences the caller passed, and an int or str
        # subclass whose comparisons lie cannot steer the model.
        object.__setattr__(
            self, "threads", tuple(tuple(tuple(_plain(x) for x in op) for op in t) for t in self.threads)
        )
        object.__setattr__(self, "shared", _plain(self.shared))
        object.__setattr__(self, "immortal", tuple(sorted(set(_plain(i) for i in self.immortal))))
        object.__setattr__(self, "pool", None if self.pool is None else _plain(self.pool))
        object.__setattr__(self, "deferred", tuple(sorted(set(_plain(i) for i in self.deferred))))
        object.__setattr__(self, "sharded", tuple(sorted(set(_plain(i) for i in self.sharded))))
        object.__setattr__(self, "locks", _plain(self.locks))

    @property
    def nthreads(self) -> int:
        return len(self.threads)

    @property
    def objects(self) -> int:
        """Number of object ids the program uses (shared ids plus every private id)."""
        top = self.shared - 1
        for ops in self.threads:
            for op in ops:
                if len(op) >= 2 and isinstance(op[1], int):
                    top = max(top, op[1])
        return top + 1

    def __len__(self) -> int:
        """Total number of operations over all threads."""
        return sum(len(t) for t in self.threads)

    def refcount_ops(self) -> int:
        """Number of operations that count as operations (new, inc, dec, push, pop, kill)."""
        return sum(1 for t in self.threads for op in t if op[0] in ("new", "inc", "dec", "push", "pop", "kill"))

    def compact(self) -> Program:
        """The same program with private ids renumbered ``shared, shared + 1, ...`` in the
        order the threads create them (thread 0 first), so no id is left unused."""
        mapping: dict[int, int] = {}
        for ops in self.threads:
            for op in ops:
                if op[0] == "new" and op[1] not in mapping:
                    mapping[op[1]] = self.shared + len(mapping)

        def ren(op: Op) -> Op:
            return (op[0], mapping.get(op[1], op[1])) + tuple(op[2:])

        return Program(
            threads=tuple(tuple(ren(op) for op in ops) for ops in self.threads),
            shared=self.shared,
            immortal=self.immortal,
            deferred=tuple(mapping.get(i, i) for i in self.deferred),
            sharded=self.sharded,
            pool=self.pool,
            locks=self.locks,
        )

    def to_trace(self) -> Any:
        """The ``refstrat.Trace`` for this program (imports the compiled core)."""
        import refstrat

        return refstrat.Trace(
            self.threads, shared=self.shared, immortal=self.immortal, deferred=self.deferred, sharded=self.sharded
        )

    def pretty(self) -> str:
        """Human-readable listing, one line per thread."""
        lines = [
            f"shared={self.shared} immortal={list(self.immortal)}"
            + (f" deferred={list(self.deferred)}" if self.deferred else "")
            + (f" sharded={list(self.sharded)}" if self.sharded else "")
            + ("" if self.pool is None else f" pool={self.pool}")
            + ("" if self.locks == "none" else f" locks={self.locks}")
        ]
        for t, ops in enumerate(self.threads):
            body = " ".join(_fmt(op) for op in ops) or "(nothing)"
            lines.append(f"  T{t}: {body}")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    """The plain int or str a subclass instance holds; anything else unchanged."""
    if isinstance(value, int) and not isinstance(value, bool):
        return operator.index(value)
    if isinstance(value, str):
        return str.__str__(value)
    return value


def _fmt(op: Op) -> str:
    if op[0] == "send":
        return f"send({op[1]}->T{op[2]})"
    return f"{op[0]}({op[1]})"


@dataclass(frozen=True)
class Expectation:
    """What every correct scheme must produce for a program.

    ``final_counts[i]`` is the exact count object ``i`` has after quiesce, ``None`` when it
    must have been freed.  ``last_use[i]`` lists, per thread that touches object ``i``, the
    ``(thread, index)`` of the last operation on it in that thread's program order: the
    object must stay live until each of these has run, so a use-after-free report on ``i``
    means the scheme freed it before one of them.
    """

    final_counts: tuple[int | None, ...]
    freed: frozenset[int]
    immortal: frozenset[int]
    last_use: dict[int, tuple[tuple[int, int], ...]] = field(default_factory=dict)
    refcount_ops: int = 0
    #: ``payloads[i]``: the guarded payload object ``i`` ends with (its writes: each adds 1,
    #: under the object's lock, so none may be lost).
    payloads: tuple[int, ...] = ()

    @property
    def live(self) -> frozenset[int]:
        return frozenset(i for i, c in enumerate(self.final_counts) if c is not None)


def expect(program: Program, *, immortal_active: bool = True) -> Expectation:
    """Validate ``program`` and compute the exact outcome every correct scheme must give.

    Guarantees: raises :class:`ProgramError` (naming thread and op index) for anything
    ``refstrat.Trace`` must reject -- unknown op, bad arity, id out of range, new twice,
    a reference used or released while not held, a send to a bad thread, a recv nobody
    sends, a send nobody receives, a trace that can deadlock.  Otherwise returns an
    :class:`Expectation` whose counts hold for every interleaving.  ``immortal_active`` says whether the run honours
    immortality (``immortal=True`` or the ``immortal`` strategy); when it does not,
    immortal ids behave as ordinary shared objects.

    Bounds (those of ``refstrat.Trace``, checked first, each a ProgramError): at most
    ``MAX_THREADS`` threads and ``MAX_OPS`` operations, ids and ``shared`` below
    ``MAX_OBJECTS``. Cost: linear in the operations times the threads that wait on a recv,
    plus one list entry per id up to the highest.
    """
    _validate_bounds(program)
    _validate_ops(program)
    created, hold, mail, last = _run_round_robin(program)
    return _expectation(program, immortal_active, created, hold, mail, last)


def _validate_bounds(program: Program) -> None:
    """The bounds of ``refstrat.Trace``, checked before any operation is read."""
    n = program.nthreads
    if not 1 <= n <= MAX_THREADS:
        raise ProgramError(f"a program needs 1 to {MAX_THREADS} threads, got {n}")
    if len(program) > MAX_OPS:
        raise ProgramError(f"a program may hold at most {MAX_OPS} operations, got {len(program)}")
    shared = program.shared
    if not isinstance(shared, int) or isinstance(shared, bool) or not 0 <= shared <= MAX_OBJECTS:
        raise ProgramError(f"shared must be an int in [0, {MAX_OBJECTS}], got {shared!r}")
    for i in program.immortal:
        if not isinstance(i, int) or not 0 <= i < shared:
            raise ProgramError(f"immortal id {i} is not a shared id (0..{shared - 1})")
    pool = program.pool
    if pool is not None and (not isinstance(pool, int) or isinstance(pool, bool) or not 1 <= pool <= MAX_OBJECTS):
        raise ProgramError(f"pool must be None or an int in [1, {MAX_OBJECTS}], got {pool!r}")
    for i in program.sharded:
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < shared:
            raise ProgramError(f"sharded id {i} is not a shared id (0..{shared - 1})")
    for i in program.deferred:
        if not isinstance(i, int) or isinstance(i, bool) or not 0 <= i < MAX_OBJECTS:
            raise ProgramError(f"deferred id {i!r} is not an object id")
    if not isinstance(program.locks, str):
        raise ProgramError(f"locks must be a lock scheme's name (refstrat.locks()), got {program.locks!r}")


def _validate_ops(program: Program) -> None:
    """What needs no schedule: each operation's shape, news and kills at most once per id, sends
    to existing threads, deferred ids that exist."""
    n, shared = program.nthreads, program.shared
    creator: dict[int, tuple[int, int]] = {}
    killer: dict[int, tuple[int, int]] = {}
    for t, ops in enumerate(program.threads):
        for k, op in enumerate(ops):
            if not op or op[0] not in _ARITY:
                raise ProgramError(f"unknown op {op!r}", t, k)
            if len(op) != _ARITY[op[0]]:
                raise ProgramError(f"{op[0]} takes {_ARITY[op[0]] - 1} argument(s), got {op!r}", t, k)
            oid = op[1]
            if not isinstance(oid, int) or isinstance(oid, bool) or not 0 <= oid < MAX_OBJECTS:
                raise ProgramError(f"bad object id {oid!r} (ids are in [0, {MAX_OBJECTS}))", t, k)
            if op[0] == "new":
                if oid < shared:
                    raise ProgramError(f"new({oid}): ids below {shared} are shared objects", t, k)
                if oid in creator:
                    raise ProgramError(f"new({oid}) twice (first in thread {creator[oid][0]})", t, k)
                creator[oid] = (t, k)
            if op[0] == "kill":
                if oid < shared:
                    raise ProgramError(
                        f"kill({oid}): shared objects are never killed (their setup reference is released at quiesce)",
                        t,
                        k,
                    )
                if oid in killer:
                    raise ProgramError(
                        f"kill({oid}) twice (first in thread {killer[oid][0]}, op {killer[oid][1]})", t, k
                    )
                killer[oid] = (t, k)
            if op[0] == "send":
                dst = op[2]
                if not isinstance(dst, int) or isinstance(dst, bool) or not 0 <= dst < n:
                    raise ProgramError(f"send to bad thread {dst!r} (0..{n - 1})", t, k)

    for i in program.deferred:
        if i >= shared and i not in creator:
            raise ProgramError(f"deferred id {i} is neither shared nor created by a new")
    for t, ops in enumerate(program.threads):
        breach = lock_discipline(ops)
        if breach is not None:
            raise ProgramError(breach[1], t, breach[0])


def _run_round_robin(program: Program) -> tuple[set[int], list[Counter], list[Counter], dict[int, dict[int, int]]]:
    """The ids created, what each thread holds and has in its mailbox at the end, and each id's
    last use per thread, from one round-robin run that raises on the first misuse."""
    n, shared = program.nthreads, program.shared
    # Dynamic check: run the threads round-robin, each as far as it can go.  Mailboxes are
    # counting (a send never blocks, a recv blocks only while its count is zero), so the
    # threads form a confluent system: if this schedule finishes, every schedule does, and
    # if it gets stuck, some schedule of the real run deadlocks too.
    hold: list[Counter[int]] = [Counter() for _ in range(n)]
    stack: list[Counter[int]] = [Counter() for _ in range(n)]  # stack references: pushes not yet popped
    mail: list[Counter[int]] = [Counter() for _ in range(n)]
    created: set[int] = set()
    pc = [0] * n
    last: dict[int, dict[int, int]] = {}
    progressed = True
    while progressed:
        progressed = False
        for t in range(n):
            ops = program.threads[t]
            while pc[t] < len(ops):
                k = pc[t]
                op = ops[k]
                kind, oid = op[0], op[1]
                if kind == "recv":
                    if mail[t][oid] == 0:
                        break  # blocked until someone sends
                    mail[t][oid] -= 1
                    hold[t][oid] += 1
                elif kind == "new":
                    created.add(oid)
                    hold[t][oid] += 1
                elif kind in ("inc", "push", "lock"):
                    if oid >= shared and hold[t][oid] == 0 and stack[t][oid] == 0:
                        what = "before its new" if oid not in created else "without holding a reference"
                        raise ProgramError(f"{kind}({oid}) {what} (use after free)", t, k)
                    if kind != "lock":
                        (hold if kind == "inc" else stack)[t][oid] += 1
                elif kind == "pop":
                    if stack[t][oid] == 0:
                        raise ProgramError(f"pop({oid}) without a matching push on this thread", t, k)
                    stack[t][oid] -= 1
                elif kind in ("dec", "kill", "send"):
                    if hold[t][oid] == 0:
                        raise ProgramError(
                            f"{kind}({oid}) releases a reference this thread does not hold "
                            "(use after free / over-release)",
                            t,
                            k,
                        )
                    hold[t][oid] -= 1
                    if kind == "send":
                        mail[op[2]][oid] += 1
                last.setdefault(oid, {})[t] = k
                pc[t] += 1
                progressed = True
    stuck = [t for t in range(n) if pc[t] < len(program.threads[t])]
    if stuck:
        t = stuck[0]
        oid = program.threads[t][pc[t]][1]
        raise ProgramError(f"recv({oid}) can wait forever (no matching send, or a deadlock)", t, pc[t])

    for t in range(n):
        left = sorted(oid for oid, c in stack[t].items() if c)
        if left:
            raise ProgramError(
                f"thread {t} ends holding stack references to object {left[0]} "
                "(every push must be popped by its thread)"
            )
    for t in range(n):
        for oid, c in sorted(mail[t].items()):
            if c:
                # refstrat.Trace rejects this too: such a reference could never be released.
                raise ProgramError(f"{c} reference(s) to object {oid} sent to thread {t} are never received")

    return created, hold, mail, last


def _expectation(
    program: Program,
    immortal_active: bool,
    created: set[int],
    hold: list[Counter],
    mail: list[Counter],
    last: dict[int, dict[int, int]],
) -> Expectation:
    """The final counts and frees that the run's end state implies, immortality applied."""
    shared = program.shared
    immortal = frozenset(program.immortal) if immortal_active else frozenset()
    # Ids nobody allocates never exist (None: freed-or-absent); shared ids keep their permanent
    # setup reference. Only the ids the program uses need a look, so this is linear in it.
    finals: list[int | None] = [None] * program.objects
    finals[:shared] = [1] * shared
    held: Counter[int] = Counter()
    for c in hold + mail:
        held.update(c)
    freed: set[int] = set()
    for oid in set(held) | created:
        if oid < shared:
            finals[oid] = 1 + held[oid]
        elif held[oid]:
            finals[oid] = held[oid]
        else:
            freed.add(oid)
    for oid in immortal:
        finals[oid] = IMMORTAL_COUNT
    return Expectation(
        final_counts=tuple(finals),
        freed=frozenset(freed),
        immortal=immortal,
        last_use={o: tuple(sorted(d.items())) for o, d in last.items()},
        refcount_ops=program.refcount_ops(),
        payloads=_payloads(program),
    )


def _payloads(program: Program) -> tuple[int, ...]:
    """Each object's writes: the payload every interleaving must end with under a lock that excludes."""
    writes: Counter[int] = Counter(op[1] for ops in program.threads for op in ops if op[0] == "write")
    return tuple(writes[i] for i in range(program.objects))


def sequential_counts(program: Program, order: Iterable[int]) -> list[Counter]:
    """Replay ``program`` in the global order given as a sequence of thread numbers (one
    entry per operation) and return the count of every object after each step.  Used to
    cross-check :func:`expect` and to explain a failure along one interleaving."""
    pcs = [0] * program.nthreads
    counts: Counter = Counter({i: 1 for i in range(program.shared)})
    history = []
    for t in order:
        op = program.threads[t][pcs[t]]
        pcs[t] += 1
        if op[0] in ("new", "inc", "push"):
            counts[op[1]] += 1
        elif op[0] in ("dec", "pop", "kill"):
            counts[op[1]] -= 1
        history.append(Counter(counts))
    return history


def compare(expected: Expectation, result: Any) -> list[str]:
    """Every way ``result`` (a trace ``RunResult``) differs from what the model requires:
    operations on freed objects, double frees, leaks after quiesce, premature frees, wrong
    final counts (lost updates) and touched immortal objects.  Empty means correct."""
    problems: list[str] = []
    if result.use_after_free:
        first = getattr(result, "first_use_after_free", None) or ()
        where = ", ".join(f"T{t} op {k}" for t, k in enumerate(first) if k is not None)
        problems.append(
            f"{result.use_after_free} operation(s) on a freed object (use after free"
            + (f"; first at {where} in program order)" if where else ")")
        )
    if result.double_frees:
        problems.append(f"{result.double_frees} double free(s)")
    if result.leaks:
        problems.append(f"{result.leaks} leak(s) after quiesce (count 0 but not freed)")
    if getattr(result, "lost_updates", 0):
        problems.append(f"{result.lost_updates} lost update(s) reported by the arena")
    if getattr(result, "premature_frees", 0):
        problems.append(f"{result.premature_frees} premature free(s) reported by the arena")
    problems += _lock_problems(expected, result)
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
            problems.append(
                f"object {oid} was freed but must have count {want} (freed while referenced; last uses {uses})"
            )
        elif want is not None and have is not None and want != have:
            problems.append(
                f"object {oid} has final count {have}, model says {want} "
                f"({'lost increments' if have < want else 'lost decrements'})"
            )
    if len(got) > len(expected.final_counts):
        problems.append(f"run reported {len(got)} objects, program has {len(expected.final_counts)}")
    return problems


def _lock_problems(expected: Expectation, result: Any) -> list[str]:
    """What a run's lock checks found: threads inside one object's lock together, and guarded
    payloads that lost writes (a run without lock operations has neither)."""
    problems = []
    if getattr(result, "exclusion_violations", 0):
        problems.append(
            f"{result.exclusion_violations} mutual exclusion violation(s): two threads inside one object's lock"
        )
    payloads = getattr(result, "final_payloads", None) or ()
    for oid, want in enumerate(expected.payloads if payloads else ()):
        have = payloads[oid] if oid < len(payloads) else 0
        if have != want:
            problems.append(f"object {oid} ends with payload {have}, model says {want} (lost guarded writes)")
    return problems
