"""The bench's stability helpers: work scaling, confidence intervals, the idle-machine flag."""
from __future__ import annotations

import math

from refstrat import _bench_stability as st


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


def test_a_size_is_kept_only_where_the_cost_per_operation_has_settled() -> None:
    # a step in the cost per operation, as buffered's on fib (cheaper in a short run)
    step = lambda n: 5e-9 if n <= 22 else 30e-9  # noqa: E731
    asked: list[int] = []

    def cost(n: int) -> float:
        asked.append(n)
        return step(n)

    assert st.settled_size(cost, 20, 31, lambda n: n + 4) == 24  # 20 -> 24 steps, 24 -> 28 flat
    assert asked == [20, 24, 20, 24, 24, 28]  # in turn; the second pair only where the first steps
    # a phase (every run dearer for a while) that covers one pair's larger run is not a step
    phase = iter([1.0, 2.0, 2.0, 2.0])
    assert st.settled_size(lambda n: next(phase), 20, 31, lambda n: n + 4) == 20
    assert st.settled_size(step, 23, 31, lambda n: n + 4) == 23  # past the step: as sized
    assert st.settled_size(lambda n: 1e-9, 20, 31, lambda n: n + 4) == 20  # flat: as sized
    assert st.settled_size(lambda n: 1.1 ** n, 20, 31, lambda n: n + 4) == 31  # never settles: the cap
    assert st.settled_size(lambda n: 1e-9, 31, 31, lambda n: n + 4) == 31  # at the cap: no probe
    assert st.settled_size(lambda o: 1e-9 * (1 + (o > 400_000)), 200_000, 10**6, lambda o: o * 4) == 800_000


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
