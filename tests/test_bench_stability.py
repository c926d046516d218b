"""The bench's stability helpers: work scaling, confidence intervals, the idle-machine flag."""

from __future__ import annotations

import math
from collections.abc import Callable

from refstrat.bench import stability as st


def test_fib_depth_grows_until_a_run_covers_the_target() -> None:
    cost = lambda n: 1e-3 * 1.618 ** (n - 20)  # noqa: E731 - 1 ms at fib(20), x1.618 per level
    n = st.scale_fib_n(cost, 20)
    assert cost(n) >= st.MIN_WORK_SECONDS and cost(n - 1) < st.MIN_WORK_SECONDS * 1.7
    assert st.scale_fib_n(cost, 35) == 35  # never shrinks what is already enough
    assert st.scale_fib_n(lambda n: 0.0, 20, limit=24) == 24  # bounded


def test_ops_grow_proportionally() -> None:
    ops = st.scale_ops(lambda o: o * 1e-9, 200_000)
    assert ops * 1e-9 >= st.MIN_WORK_SECONDS and ops % 1000 == 0
    assert st.scale_ops(lambda o: 1.0, 5000) == 5000


def _fib_run(per_op: Callable[[int], float]) -> Callable[[int], tuple[float, float]]:
    """One fib(n) run's (CPU seconds, per operation) at a cost per operation given by n."""
    return lambda n: (per_op(n) * 27 * 1.618**n, per_op(n))


FIB4 = 1.618**4
FIB_GROWTH = lambda n, m: 1.618 ** (m - n)  # noqa: E731


def test_a_size_is_kept_only_where_the_cost_per_operation_has_settled() -> None:
    # a step in the cost per operation, as buffered's on fib (cheaper in a short run)
    step = lambda n: 5e-9 if n <= 22 else 30e-9  # noqa: E731
    asked: list[int] = []

    def cost(n: int) -> tuple[float, float]:
        asked.append(n)
        return _fib_run(step)(n)

    nxt = lambda n: n + 4  # noqa: E731
    assert st.settled_size(cost, 20, 31, nxt, FIB_GROWTH) == (24, "")  # 20 -> 24 steps, 24 -> 28 flat
    assert asked == [20, 24, 20, 24, 24, 28]  # in turn; the second pair only where the first steps
    # a phase (every run dearer for a while) that covers one pair's larger run is not a step
    phase = iter([1.0, 2.0, 2.0, 2.0])
    assert st.settled_size(lambda n: (1e-3, next(phase)), 20, 31, nxt, FIB_GROWTH) == (20, "")
    assert st.settled_size(_fib_run(step), 23, 31, nxt, FIB_GROWTH) == (23, "")  # past the step: as sized
    assert st.settled_size(_fib_run(lambda n: 1e-10), 20, 31, nxt, FIB_GROWTH) == (20, "")  # flat: as sized
    rising = _fib_run(lambda n: 1e-11 * 1.1**n)  # never settles: the cap (fib(31) ~0.1 s)
    assert st.settled_size(rising, 20, 31, nxt, FIB_GROWTH) == (31, "")
    assert st.settled_size(_fib_run(lambda n: 1e-9), 31, 31, nxt, FIB_GROWTH) == (31, "")  # at the cap: no probe
    ops_run = lambda o: (o * 1e-9 * (1 + (o > 400_000)), 1e-9 * (1 + (o > 400_000)))  # noqa: E731
    assert st.settled_size(ops_run, 200_000, 10**6, lambda o: o * 4, lambda o, p: p / o) == (800_000, "")


def test_the_settling_check_stops_at_its_cost_ceiling_and_says_so_where_the_cost_was_rising() -> None:
    """On 16 CPUs the check grew buffered's cell at T = 4 to runs of 9 s of CPU, and at T = 16
    the cell did not finish in minutes; it now stops where the next run would cost over
    SETTLE_CEILING, and flags the cell only where a step was seen on the way."""
    asked: list[int] = []

    def rising(n: int) -> tuple[float, float]:  # 10 ns/op at fib(20), x1.3 every 4 levels
        asked.append(n)
        return _fib_run(lambda n: 1e-8 * 1.3 ** ((n - 20) / 4))(n)

    size, why = st.settled_size(rising, 20, 40, lambda n: n + 4, FIB_GROWTH)
    assert why.startswith("cost per operation not shown settled") and size < 40
    cpu = rising(size)[0]
    assert cpu * FIB4 > st.SETTLE_CEILING >= rising(size - 4)[0] * FIB4
    assert max(rising(n)[0] for n in set(asked)) <= st.SETTLE_CEILING * 1.3  # no probe beyond the ceiling
    # the matrix's cap one level up: the check costs 1.6x the operations, not 6.9x, and is made
    near_cap = _fib_run(lambda n: 1.5e-8 if n <= 28 else 3e-8)  # 0.29 s of CPU at fib(28)
    assert near_cap(28)[0] * FIB4 > st.SETTLE_CEILING
    assert st.settled_size(near_cap, 28, 29, lambda n: n + 4, FIB_GROWTH) == (29, "")
    # already past the ceiling at the first size, with no step seen: kept as sized, not flagged
    assert st.settled_size(_fib_run(lambda n: 1e-6), 25, 40, lambda n: n + 4, FIB_GROWTH) == (25, "")


def test_bootstrap_ci_brackets_the_median_and_narrows_with_agreement() -> None:
    noisy = [1.0, 1.3, 0.8, 1.1, 0.9, 1.25, 0.95, 1.05]
    lo, hi = st.bootstrap_ci(noisy)
    assert lo <= sorted(noisy)[4] and hi >= sorted(noisy)[3] and lo < hi
    tight = st.bootstrap_ci([1.0, 1.001, 0.999, 1.0, 1.0005, 0.9995, 1.0, 1.0])
    assert tight[1] - tight[0] < (hi - lo) / 10
    assert st.bootstrap_ci(noisy) == (lo, hi)  # seeded: the report does not wobble
    one = st.bootstrap_ci([2.0])
    assert one == (2.0, 2.0) and all(math.isnan(x) for x in st.bootstrap_ci([]))


def test_busy_flag_sees_other_processes_and_steal() -> None:
    idle0, idle1 = st.Snapshot(0.0, 10.0, 0.0, 5.0, 0.1), st.Snapshot(1.0, 10.95, 0.0, 5.9, 0.1)
    assert st.busy_flag(idle0, idle1) == ""  # 0.95 s busy of which 0.9 s ours: 5% foreign
    busy = st.Snapshot(1.0, 11.5, 0.0, 5.9, 2.5)
    assert "others used 60% of a CPU" in st.busy_flag(idle0, busy)
    stolen = st.Snapshot(1.0, 10.9, 0.1, 5.9, 0.1)
    assert "steal 10%" in st.busy_flag(idle0, stolen)
    assert st.busy_flag(None, idle1) == ""
    snap = st.snapshot()
    assert snap is None or (snap.busy > 0 and snap.own >= 0)
