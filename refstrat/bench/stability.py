"""Results that hold still: enough work per value, an idle-machine check and confidence intervals.

Used by ``refstrat.bench``'s sizing and measuring modules.
"""

from __future__ import annotations

import math
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

MIN_WORK_SECONDS = 0.05  # CPU seconds one timed value must cover: well above scheduler noise
FOREIGN_CPU_LIMIT = 0.10  # of one CPU: others' use above this during a cell flags it
STEAL_LIMIT = 0.02  # of one CPU: hypervisor steal above this flags a cell
FIB_RATIO = 1.618  # fib(n + 1) makes about this many times the calls of fib(n)


def scale_fib_n(cpu_at: Callable[[int], float], start: int, limit: int = 40, target: float = MIN_WORK_SECONDS) -> int:
    """The smallest fib depth >= start whose run costs at least ``target`` CPU seconds.

    fib(n + 1) makes FIB_RATIO times the calls of fib(n), so one probe predicts the step; a
    second probe confirms it (the machine may be noisy)."""
    n = start
    for _ in range(4):
        cpu = cpu_at(n)
        if cpu >= target or n >= limit:
            return n
        n = min(limit, n + max(1, math.ceil(math.log(target / max(cpu, 1e-9)) / math.log(FIB_RATIO))))
    return n


def scale_ops(cpu_at: Callable[[int], float], start: int, limit: int = 10**10, target: float = MIN_WORK_SECONDS) -> int:
    """Operations per thread (>= start) whose run costs at least ``target`` CPU seconds."""
    ops = start
    for _ in range(4):
        cpu = cpu_at(ops)
        if cpu >= target or ops >= limit:
            return ops
        ops = min(limit, math.ceil(ops * 1.2 * target / max(cpu, 1e-9) / 1000) * 1000)
    return ops


SETTLE = 1.25  # a size whose cost per operation a larger run exceeds by this much has not settled
SETTLE_CEILING = 1.0  # CPU seconds: no run of the settling check is predicted to cost more


def settled_size(
    cost_at: Callable[[int], tuple[float, float]],
    size: int,
    limit: int,
    larger: Callable[[int], int],
    growth: Callable[[int, int], float],
) -> tuple[int, str]:
    """The first of size, larger(size), ... (up to limit) whose cost per operation the next one
    does not exceed by SETTLE or more, and "" -- or the size where the check stopped and why.

    ``cost_at(size)`` is one run's (CPU seconds, CPU seconds per operation). A run too short to
    reach a scheme's steady state (a helper thread not yet at its pace, a log not yet full) must
    not stand for its cost. ``larger`` should look well ahead (the bench: fib 4 levels, 6.9x the
    calls; loops 4x the operations), for a step lies where the run first outgrows something;
    ``growth(size, nxt)`` is how many times size's operations a run of nxt makes. The two sizes
    are probed in turn, twice, and both pairs must show the step: the 2-CPU VM's phases (a line
    transfer between its CPUs five times dearer for seconds at a time: bench/noise-floor.txt)
    would otherwise pass for one. Noise can then only make the size larger than it needs to be,
    never the figure wrong.

    The check stops where the next size's run would cost over SETTLE_CEILING of CPU (its cost
    predicted from this one's, times ``growth``): a run that long is no longer one too short for
    a steady state, and a cell must not take minutes (buffered at 16 threads on 16 CPUs, its one
    commit thread serving all of them, grew to 9 s of CPU per value at 4). Where a step had
    been seen on the way, the size is returned with the reason, for the report to flag."""

    def steps(size: int, nxt: int, here: float | None = None) -> bool:
        here = cost_at(size)[1] if here is None else here
        return cost_at(nxt)[1] >= SETTLE * here

    grew = False
    while size < limit:
        nxt = min(limit, larger(size))
        cpu, here = cost_at(size)
        ratio = growth(size, nxt)
        if cpu * ratio > SETTLE_CEILING:
            if not grew:
                return size, ""
            return size, (
                f"cost per operation not shown settled: it rose up to this size, and the next check "
                f"({ratio:.3g}x the operations) would take ~{cpu * ratio:.1f} s of CPU per run"
            )
        if not (steps(size, nxt, here) and steps(size, nxt)):
            return size, ""
        size, grew = nxt, True
    return size, ""


UNSTABLE_SPREAD = 0.10  # std dev over mean at or above this: pyperf's "may be unstable"
OUTLIER = 0.50  # a value this far from the mean: pyperf's outlier warning


def instability(values: Sequence[float]) -> str:
    """ "" when ``values`` hold still by pyperf's own criteria (std dev under 10 % of the mean,
    no value 50 % or more away from it), else why not.

    pyperf also prints "may be unstable" when its std dev is small but it would want more
    processes for 95 % certainty of 1 % variation; that is a request for precision, not
    instability, and the bench reports it apart."""
    if len(values) < 2:
        return ""
    mean = sum(values) / len(values)
    if mean <= 0:
        return ""
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    reasons = []
    if sd / mean >= UNSTABLE_SPREAD:
        reasons.append(f"std dev {sd / mean:.0%} of the mean")
    worst = max(values, key=lambda v: abs(v - mean))
    if abs(worst - mean) / mean >= OUTLIER:
        reasons.append(f"a value {abs(worst - mean) / mean:.0%} from the mean")
    return ", ".join(reasons)


def bootstrap_ci(
    values: Sequence[float], level: float = 0.95, resamples: int = 2000, seed: int = 1
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of the median (deterministic: seeded)."""
    if len(values) < 2:
        v = values[0] if values else math.nan
        return v, v
    rng = random.Random(seed)
    n = len(values)
    meds = sorted(_median([values[rng.randrange(n)] for _ in range(n)]) for _ in range(resamples))
    lo = meds[int((1 - level) / 2 * (resamples - 1))]
    hi = meds[int((1 + level) / 2 * (resamples - 1))]
    return lo, hi


def _median(v: list[float]) -> float:
    v = sorted(v)
    n = len(v)
    return v[n // 2] if n % 2 else 0.5 * (v[n // 2 - 1] + v[n // 2])


@dataclass(frozen=True)
class Snapshot:
    """Machine-wide CPU accounting at one instant (/proc/stat), and this process tree's share."""

    when: float
    busy: float  # seconds of CPU every process used (user, nice, system, irq, softirq)
    steal: float  # seconds the hypervisor gave to other guests
    own: float  # seconds this process and its waited-for children used
    load1: float


def snapshot() -> Snapshot | None:
    """None where /proc/stat is unreadable (not Linux)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = f.readline().split()
        with open("/proc/loadavg", encoding="ascii") as f:
            load1 = float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    hz = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    t = os.times()
    return Snapshot(
        time.monotonic(),
        (user + nice + system + irq + softirq) / hz,
        steal / hz,
        t.user + t.system + t.children_user + t.children_system,
        load1,
    )


def busy_flag(before: Snapshot | None, after: Snapshot | None) -> str:
    """ "" when the machine was idle but for this benchmark, else why not (for the report)."""
    if before is None or after is None:
        return ""
    elapsed = after.when - before.when
    if elapsed <= 0:
        return ""
    foreign = max(0.0, (after.busy - before.busy) - (after.own - before.own)) / elapsed
    steal = (after.steal - before.steal) / elapsed
    reasons = []
    if foreign > FOREIGN_CPU_LIMIT:
        reasons.append(f"others used {foreign:.0%} of a CPU")
    if steal > STEAL_LIMIT:
        reasons.append(f"steal {steal:.0%} of a CPU")
    if reasons:
        reasons.append(f"load {before.load1:.1f}->{after.load1:.1f}")
    return ", ".join(reasons)
