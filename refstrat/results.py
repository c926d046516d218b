"""Result and description types returned by refstrat's API."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StrategyInfo:
    """A reference-counting strategy compiled into the core."""

    name: str
    summary: str
    reference: str
    thread_safe: bool


@dataclass(frozen=True)
class WorkloadInfo:
    """A workload kernel: how operations are generated, and where the model comes from."""

    name: str
    summary: str
    reference: str


@dataclass(frozen=True)
class RunResult:
    """What one run measured and what its checks found.

    Times cover the run from the start barrier's release to the end of quiesce. ``cpu_seconds``
    is every worker's thread CPU clock plus the strategy's helper threads (the buffered commit
    thread) plus the main thread's quiesce work: every hidden cost of the scheme is in it.
    The correctness counters are exact counts, never estimates: ``lost_updates`` is the sum over
    objects that must survive of |true count - expected count| after quiesce (plus the expected
    count of any of them that was freed); ``premature_frees`` counts those that were freed.
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
        """No double free, no use after free, no leak, no lost update, no premature free."""
        return not (self.double_frees or self.use_after_free or self.leaks or self.lost_updates
                    or self.premature_frees)
