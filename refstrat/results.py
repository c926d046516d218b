"""Result and description types returned by refstrat's API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from . import _core


@dataclass(frozen=True)
class StrategyInfo:
    """A reference-counting strategy compiled into the core."""

    name: str
    summary: str
    reference: str
    thread_safe: bool
    layers: tuple[str, ...] = ()  # the per-object layers always on ("immortal", "deferred", "sharded")
    refuses: tuple[str, ...] = ()  # the layers run() refuses for it (a ValueError)


@dataclass(frozen=True)
class LockInfo:
    """A lock scheme compiled into the core (include/refstrat/locks.h): the second axis of a run."""

    name: str
    summary: str
    reference: str
    excludes: bool  # gives mutual exclusion (False only for "none": the GIL's job)


@dataclass(frozen=True)
class WorkloadInfo:
    """A workload kernel: how operations are generated, and where the model comes from.

    ``has_limit``: a hand-written limit kernel exists (:func:`refstrat.limit` refuses the others);
    ``twin``: the name of its pure-Python twin, which ``python -m refstrat.bench --real`` runs on
    real interpreters, or None when it has none."""

    name: str
    summary: str
    reference: str
    has_limit: bool
    twin: str | None


@dataclass(frozen=True)
class KnobInfo:
    """A scheme knob: a keyword of :func:`refstrat.run` that one strategy reads.

    ``kind`` is "int" (an unsigned integer; ``default``, ``low`` and ``high`` are ints) or
    "real" (a float; NaN is refused). ``low <= default <= high``; the range is inclusive and is
    the one the C core checks (include/refstrat/knobs.h)."""

    name: str
    strategy: str
    kind: str
    default: int | float
    low: int | float
    high: int | float
    doc: str


@dataclass(frozen=True)
class RunResult:
    """What one run measured and what its checks found.

    Times cover the run from the start barrier's release to the end of quiesce. ``cpu_seconds``
    is every worker's thread CPU clock plus the strategy's helper threads (the buffered commit
    thread) plus the main thread's quiesce work: every hidden cost of the scheme is in it.
    The correctness counters are exact counts, never estimates: ``lost_updates`` is the sum over
    objects that must survive of |true count - expected count| after quiesce (plus the expected
    count of any of them that was freed); ``premature_frees`` counts those that were freed.

    Two runs stand behind a result of :func:`refstrat.run` (``timed == "unchecked"``): the times
    and ``ops`` come from the *unchecked* kernel copy, which performs the scheme's operations and
    nothing else; the correctness counters (``allocs`` to ``premature_frees``, ``final_counts``)
    come from a separate, untimed run of the same configuration on the *checked* copy, which
    validates every handle (``check_wall_seconds`` is its wall time, never part of a figure).
    ``checked`` is False when no checked run was made (``check=False``, speed_of_light, limit):
    the counters then come from the timed run's final scan, which finds leaks and lost updates but
    cannot see a use after free, and sees a double free only of a setup object or of a slot that
    ends up on the free stacks twice (the timed copy's pool objects carry no generation, as a
    runtime's allocator keeps none). The trace workload runs checked only (``timed ==
    "checked"``). ``explain`` holds the explain flavour's counters when asked for.
    """

    strategy: str
    workload: str
    threads: int
    immortal: bool
    layout: str
    ops: int
    ops_per_thread: tuple[int, ...]
    wall_seconds: float
    cpu_seconds: float
    worker_cpu_seconds: tuple[float, ...]
    helper_cpu_seconds: float
    allocs: int
    frees: int
    double_frees: int
    use_after_free: int
    leaks: int
    lost_updates: int
    premature_frees: int
    pinned: bool
    cpus: tuple[int, ...] | None
    final_counts: tuple[int | None, ...] | None = None
    first_use_after_free: tuple[int | None, ...] | None = None
    timed: str = "unchecked"  # the kernel copy the times come from: unchecked, checked or limit
    checked: bool = True  # the correctness counters come from a checked run
    check_wall_seconds: float | None = None  # the separate checked run's wall time (untimed)
    explain: Explain | None = None  # the explain flavour's account, when run(..., explain=True)
    layers: tuple[str, ...] = ()  # the per-object layers honoured: immortal, deferred, sharded
    helper_threads: int = 0  # threads the scheme ran beside the workers (buffered's commit thread)
    locks: str = "none"  # the lock scheme the run's lock operations took (refstrat.locks())
    final_payloads: tuple[int, ...] | None = None  # trace: each object's guarded payload after the run
    exclusion_violations: int = 0  # trace: a lock entered while another thread was inside

    @property
    def ns_per_op(self) -> float:
        """CPU nanoseconds per operation, all threads and helpers included: the cost of an op."""
        return self.cpu_seconds * 1e9 / self.ops if self.ops else float("nan")

    @property
    def thread_ns_per_op(self) -> float:
        """Wall nanoseconds per operation as one thread sees it (flat when a scheme scales)."""
        return self.wall_seconds * 1e9 * self.threads / self.ops if self.ops else float("nan")

    @property
    def ok(self) -> bool:
        """No double free, no use after free, no leak, no lost update, no premature free (a use
        after free is only seen when ``checked``)."""
        return not (self.double_frees or self.use_after_free or self.leaks or self.lost_updates or self.premature_frees)


@dataclass(frozen=True)
class HotObject:
    """One object of the hot-objects report: whose count changed hands between threads most."""

    label: str  # e.g. "fib: code", "shared object 3", "private slot 1234"
    cross_thread_ops: int  # operations by a thread other than the one before
    share: float  # of every cross-thread operation in the run


@dataclass(frozen=True)
class Explain:
    """The explain flavour's account of one checked run (``refstrat.run(..., explain=True)``).

    ``slow_fraction``: operations that took the atomic, shared or locked path (biased: a
    non-owner's; coalesced: one that evicted a table slot; atomic, locked: all), the rest took
    the owner's or local path. ``events``: the scheme's own events (see ``EVENTS``).
    Memory: ``header_bytes`` the scheme uses in every object; ``side_bytes`` its per-run and
    per-thread structures as configured, ``side_bytes_peak`` at their largest.
    Reclamation delay, over ``frees_measured`` frees: from the operation that made the object's
    true count zero (a shadow count kept by this flavour only) to its free, in operations of all
    threads (``delay_ops``) and in ns (``delay_ns``), each (median, p99, max); ``dead_peak`` is
    the most objects dead but not yet freed at once. ``early_frees`` counts frees of objects whose
    true count was not zero (a broken scheme), ``delay_dropped`` frees not measured (no memory).
    ``hot``: the objects with the most cross-thread operations, most first.
    """

    ops: int
    slow_fraction: float
    events: dict[str, int]
    header_bytes: int
    side_bytes: int
    side_bytes_peak: int
    frees_measured: int
    delay_ops: tuple[float, float, float]
    delay_ns: tuple[float, float, float]
    dead_peak: int
    early_frees: int
    delay_dropped: int
    cross_thread_ops: int
    hot: tuple[HotObject, ...]

    #: The event names, from the core's one list (RS_STAT_FIELDS in include/refstrat/explain.h).
    EVENTS: ClassVar[tuple[str, ...]] = tuple(name for name, _ in _core.explain_events())
