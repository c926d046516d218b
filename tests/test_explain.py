"""The explain flavour: scheme events, memory, reclamation delay and hot objects."""

from __future__ import annotations

import pytest

import refstrat
from refstrat import _api, _core

SMALL = dict(ops=20_000, fib_n=12, objects=256, shared_objects=8, switch_interval=0.0005, tick=256, log_size=64)


def explained(strategy: str, workload: str, threads: int, **options) -> refstrat.Explain:
    r = refstrat.run(strategy, workload, threads, explain=True, **dict(SMALL, **options))
    assert r.ok and r.explain is not None
    e = r.explain
    assert e.early_frees == 0 and e.delay_dropped == 0
    assert e.frees_measured == r.frees  # every free measured, from a zero true count
    return e


def test_atomic_takes_the_atomic_path_and_frees_at_once() -> None:
    e = explained("atomic", "private", 1)
    assert e.slow_fraction == 1.0 and e.events["slow"] == e.ops
    assert e.delay_ops == (0, 0, 0)  # the decrement that reaches zero frees
    assert (e.header_bytes, e.side_bytes, e.side_bytes_peak) == (8, 0, 0)


@pytest.mark.parametrize("strategy", ["nonatomic", "gil"])
def test_plain_schemes_stay_on_the_fast_path(strategy: str) -> None:
    e = explained(strategy, "fib", 1)
    assert e.slow_fraction == 0.0


def test_biased_reports_shared_operations_queues_and_merges() -> None:
    e = explained("biased", "handoff", 2)
    assert 0 < e.slow_fraction < 1
    assert e.events["queue_pushes"] > 0 and e.events["merges"] > 0
    assert e.header_bytes == 16 and e.side_bytes > 0
    private = explained("biased", "private", 1)
    assert private.slow_fraction == 0.0 and private.events["queue_pushes"] == 0


def test_deferred_schemes_show_their_reclamation_delay() -> None:
    buffered = explained("buffered", "private", 2)
    assert buffered.events["commit_rounds"] > 0 and buffered.events["log_full"] > 0
    assert buffered.delay_ops[0] > 0 and buffered.delay_ns[2] >= buffered.delay_ns[1] >= buffered.delay_ns[0]
    assert buffered.dead_peak > 0
    assert buffered.side_bytes >= 2 * 4 * 2 * SMALL["log_size"] * 8  # two workers' logs
    coalesced = explained("coalesced", "private", 2)
    assert coalesced.events["epochs"] > 0 and coalesced.events["reviews"] > 0
    assert coalesced.delay_ops[0] > 0 and coalesced.dead_peak > 0
    assert coalesced.side_bytes_peak >= coalesced.side_bytes > 0 and coalesced.header_bytes == 12


def test_collections_are_counted_where_the_layers_run_them() -> None:
    assert refstrat.Explain.EVENTS == tuple(name for name, _ in _core.explain_events())
    assert {"collections", "parks"} <= set(refstrat.Explain.EVENTS)
    one = explained("deferred", "fib", 1, collect_interval=16)
    # every 16 safepoints while it runs, and one more at quiesce
    assert one.events["collections"] > 1 and one.events["parks"] == 0
    # A worker parks at most once per collection. Whether it parks at all depends on both being
    # online at once, which a busy machine may deny a short run (CI's sanitizer builds beside the
    # tests denied three runs of fib_n=16): runs long enough to overlap, and five tries.
    parked = []
    for _ in range(5):
        two = explained("cpython314t", "fib314", 2, collect_interval=16, fib_n=21)
        assert 1 < two.events["collections"] and two.events["parks"] <= two.events["collections"]
        parked.append(two.events["parks"])
        if parked[-1]:
            break
    assert parked[-1] > 0, parked
    assert explained("biased", "fib", 2).events["collections"] == 0


def test_hot_objects_name_the_contended_ones() -> None:
    e = explained("atomic", "shared", 2, shared_objects=4, ops=200_000)
    assert e.cross_thread_ops > 0 and 1 <= len(e.hot) <= 4
    assert all(h.label.startswith("shared object ") for h in e.hot)
    assert [h.cross_thread_ops for h in e.hot] == sorted((h.cross_thread_ops for h in e.hot), reverse=True)
    assert sum(h.share for h in e.hot) == pytest.approx(1.0)
    fib = explained("atomic", "fib", 2, fib_n=18)
    assert fib.hot and all(h.label.startswith("fib: ") for h in fib.hot)
    alone = explained("atomic", "shared", 1)
    assert alone.cross_thread_ops == 0 and alone.hot == ()


def test_the_explain_flavour_counts_the_same_operations() -> None:
    r = refstrat.run("coalesced", "mixed", 2, explain=True, **SMALL)
    assert r.explain is not None and r.explain.ops == r.ops


def test_explain_is_refused_where_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="explain=True needs the checked run"):
        refstrat.run("atomic", "private", 1, check=False, explain=True)
    with pytest.raises(TypeError, match="explain must be a bool"):
        refstrat.run("atomic", explain="yes")
    cfg, _ = _api._config("private", 1, dict(ops=100))
    with pytest.raises(ValueError, match="needs the checked copy"):
        _core.execute("atomic", dict(cfg, checked=0, explain=1))
