"""The core: every thread-safe strategy on every workload is exact, and bad input never crashes."""

from __future__ import annotations

import math

import pytest
import registry_source

import refstrat
from refstrat import Trace, TraceError

STRATEGIES = [s.name for s in refstrat.strategies()]
THREAD_SAFE = [s.name for s in refstrat.strategies() if s.thread_safe]
LOOP_WORKLOADS = [w.name for w in refstrat.workloads() if w.name != "trace"]  # generated kernels
IMMORTAL_ALWAYS = {s.name for s in refstrat.strategies() if "immortal" in s.layers}  # the registry forces it
SMALL = dict(ops=20_000, fib_n=12, objects=256, shared_objects=8, switch_interval=0.0005, tick=256, log_size=64)

# A trace with cross-thread hand-offs, shared and immortal objects, ending with everything released.
HANDOFF_TRACE = Trace(
    [
        [
            ("new", 3),
            ("inc", 3),
            ("send", 3, 1),
            ("inc", 0),
            ("inc", 1),
            ("dec", 1),
            ("new", 4),
            ("send", 4, 1),
            ("dec", 3),
            ("recv", 5),
            ("dec", 5),
            ("dec", 0),
        ],
        [("recv", 3), ("inc", 2), ("dec", 3), ("recv", 4), ("inc", 4), ("send", 4, 2), ("dec", 4), ("dec", 2)],
        [("new", 5), ("send", 5, 0), ("recv", 4), ("inc", 0), ("dec", 4), ("dec", 0)],
        [("inc", 2), ("inc", 2), ("dec", 2), ("dec", 2)],
    ],
    shared=3,
    immortal={2},
)


def assert_clean(r: refstrat.RunResult) -> None:
    assert (r.double_frees, r.use_after_free, r.leaks, r.lost_updates, r.premature_frees) == (0, 0, 0, 0, 0), r
    assert r.ok


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("workload", LOOP_WORKLOADS)
@pytest.mark.parametrize("strategy", THREAD_SAFE)
def test_thread_safe_strategies_are_exact(strategy: str, workload: str, threads: int) -> None:
    r = refstrat.run(strategy, workload, threads, **SMALL)
    assert_clean(r)
    assert r.frees == r.allocs
    assert r.allocs > 0 or workload == "shared"  # shared allocates nothing
    assert len(r.ops_per_thread) == threads and all(n > 0 for n in r.ops_per_thread)
    assert r.ops == sum(r.ops_per_thread)
    assert r.wall_seconds > 0 and r.cpu_seconds > 0
    assert r.ns_per_op > 0 and r.thread_ns_per_op > 0
    assert r.helper_threads == (strategy == "buffered")  # its commit thread; no other scheme has one


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("strategy", THREAD_SAFE)
def test_thread_safe_strategies_replay_traces_exactly(strategy: str, threads: int) -> None:
    trace = Trace(HANDOFF_TRACE.threads[:threads] if threads == 4 else _trace_for(threads), shared=3, immortal={2})
    for jitter in (0, 1, 2):
        r = refstrat.run(strategy, "trace", threads, trace=trace, jitter=jitter)
        assert_clean(r)
        assert r.final_counts == tuple([1, 1, 1] + [None] * (len(r.final_counts) - 3))


def _trace_for(threads: int) -> list[list[tuple]]:
    if threads == 1:
        return [
            [
                ("new", 3),
                ("inc", 3),
                ("send", 3, 0),
                ("recv", 3),
                ("dec", 3),
                ("inc", 0),
                ("dec", 3),
                ("inc", 2),
                ("dec", 2),
                ("dec", 0),
            ]
        ]
    return [
        [("new", 3), ("inc", 3), ("send", 3, 1), ("inc", 1), ("dec", 3), ("dec", 1)],
        [("recv", 3), ("inc", 2), ("dec", 3), ("dec", 2)],
    ]


def test_trace_final_counts_follow_what_threads_still_hold() -> None:
    trace = Trace([[("new", 1), ("inc", 1), ("inc", 0)], [("inc", 0), ("inc", 0), ("dec", 0)]], shared=1)
    for strategy in THREAD_SAFE:
        r = refstrat.run(strategy, "trace", 2, trace=trace)
        assert_clean(r)
        assert r.final_counts == (3, 2), strategy


@pytest.mark.parametrize("strategy", THREAD_SAFE)
def test_immortal_flag_leaves_singletons_untouched(strategy: str) -> None:
    plain = refstrat.run(strategy, "fib", 2, fib_n=12)
    immortal = refstrat.run(strategy, "fib", 2, fib_n=12, immortal=True)
    assert_clean(plain)
    assert_clean(immortal)
    assert immortal.immortal and plain.immortal == (strategy in IMMORTAL_ALWAYS)
    assert immortal.ops == plain.ops  # skipped operations still count as performed
    trace = Trace([[("inc", 0), ("inc", 0)], [("inc", 0), ("dec", 0)]], shared=1, immortal={0})
    r = refstrat.run(strategy, "trace", 2, trace=trace, immortal=True)
    assert_clean(r)
    assert r.final_counts == (1,)  # immortal: the setup count, whatever threads did


def test_immortal_strategy_always_honours_immortality() -> None:
    r = refstrat.run("immortal", "fib", 1, fib_n=10)
    assert r.immortal and r.ok


@pytest.mark.parametrize("strategy", THREAD_SAFE)
def test_padded_layout(strategy: str) -> None:
    assert_clean(refstrat.run(strategy, "mixed", 2, layout="padded", **SMALL))


def test_nonatomic_is_exact_on_one_thread() -> None:
    for workload in LOOP_WORKLOADS:
        assert_clean(refstrat.run("nonatomic", workload, 1, **SMALL))


def test_nonatomic_loses_updates_on_shared_objects_with_two_threads() -> None:
    # Both threads must really overlap; on a busy machine that takes volume, so grow it.
    results = []
    for ops in (200_000, 2_000_000, 20_000_000, 100_000_000):
        r = refstrat.run("nonatomic", "shared", 2, ops=ops, shared_objects=2)
        results.append(r)
        if not r.ok:
            break
    assert not results[-1].ok, results
    assert results[-1].lost_updates > 0 or results[-1].premature_frees > 0


def test_speed_of_light_runs_the_same_operations() -> None:
    sol = refstrat.speed_of_light("fib", 1, fib_n=15)
    ref = refstrat.run("nonatomic", "fib", 1, fib_n=15)
    assert sol.strategy == "speed_of_light"
    assert sol.ops == ref.ops


def test_ten_million_object_arena() -> None:
    r = refstrat.run("atomic", "private", 1, ops=1000, arena_size=10_000_000)
    assert_clean(r)


def test_pinning_is_reported() -> None:
    assert refstrat.run("atomic", "private", 1, ops=1000, pin=False).pinned is False
    r = refstrat.run("atomic", "private", 1, ops=1000)
    assert isinstance(r.pinned, bool)
    assert (r.cpus is not None) == r.pinned
    many = refstrat.run("atomic", "private", 64, ops=100)  # more threads than this machine has cores
    assert many.ok and many.pinned is False and many.cpus is None


def test_listings() -> None:
    # Their names and order against the C registries: tests/test_registry.py.
    for item in refstrat.strategies() + refstrat.workloads():
        assert item.summary and item.reference


# ---- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(strategy="nope"), ValueError, "valid choices: nonatomic, locked"),
        (dict(strategy=3), TypeError, "strategy must be a str"),
        (dict(workload="nope"), ValueError, "valid choices: fib, private"),
        (dict(threads=0), ValueError, r"threads must be in \[1, 1024\]"),
        (dict(threads=-3), ValueError, "threads"),
        (dict(threads=1025), ValueError, "threads"),
        (dict(threads=True), TypeError, "threads must be an int"),
        (dict(threads=2.0), TypeError, "threads must be an int"),
        (dict(ops=0), ValueError, "ops"),
        (dict(fib_n=0), ValueError, "fib_n"),
        (dict(fib_n=41), ValueError, "fib_n"),
        (dict(objects=0), ValueError, "objects"),
        (dict(shared_objects=70000), ValueError, "shared_objects"),
        (dict(shared_fraction=1.5), ValueError, "shared_fraction"),
        (dict(shared_fraction=math.nan), ValueError, "shared_fraction"),
        (dict(zipf=-1), ValueError, "zipf"),
        (dict(switch_interval=0), ValueError, "switch_interval"),
        (dict(layout="sparse"), ValueError, "valid choices: packed, padded"),
        (dict(arena_size=10), ValueError, "arena_size 10 is too small: this workload needs at least"),
        (dict(arena_size=2**40), ValueError, "arena_size"),
        (dict(arena_size=2**32 - 2), ValueError, "more than 3/4 of this machine's"),
        (dict(depth=65), ValueError, "depth"),
        (dict(tick=0), ValueError, "tick"),
        (dict(log_size=1), ValueError, "log_size"),
        (dict(seed=-1), ValueError, "seed"),
        (dict(pin="yes"), TypeError, "pin must be a bool"),
        (dict(immortal=1), TypeError, "immortal must be a bool"),
        (dict(frobnicate=1), TypeError, "unknown option"),
        (dict(jitter=3), ValueError, "only for the trace workload"),
        (dict(trace=HANDOFF_TRACE), ValueError, "only for the trace workload"),
        (dict(workload="trace"), TypeError, "needs trace="),
        (dict(workload="trace", trace=HANDOFF_TRACE, threads=2), ValueError, "the trace has 4 thread"),
        (dict(workload="trace", trace=HANDOFF_TRACE, threads=4, work=5), ValueError, "not for the trace workload"),
        (dict(work=10**8 + 1), ValueError, "work"),
    ],
)
def test_run_rejects_bad_arguments(kwargs: dict, exc: type, match: str) -> None:
    args = dict(strategy="atomic", workload="private", threads=1)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        refstrat.run(args.pop("strategy"), args.pop("workload"), args.pop("threads"), **args)


@pytest.mark.parametrize(
    "threads, shared, immortal, match",
    [
        ([[("frob", 1)]], 1, (), "unknown operation; valid: new, inc, dec, send, recv"),
        ([["inc"]], 1, (), "unknown operation"),
        ([[("inc",)]], 1, (), "takes 1 argument"),
        ([[("inc", 0, 1)]], 1, (), "takes 1 argument"),
        ([[("inc", -1)]], 1, (), "object id must be an int"),
        ([[("inc", "a")]], 1, (), "object id must be an int"),
        ([[("dec", 0)]], 1, (), "holds no reference to object 0 to release"),
        ([[("inc", 1)]], 1, (), "object 1 is used but never created"),
        ([[("new", 1), ("dec", 1), ("dec", 1)]], 1, (), "holds no reference to object 1"),
        ([[("new", 0)]], 1, (), "shared objects and exist already"),
        ([[("new", 1)], [("new", 1)]], 1, (), "already created by thread 0"),
        ([[("new", 1), ("send", 1, 5)]], 1, (), r"destination must be a thread in \[0, 1\)"),
        ([[("new", 1), ("send", 1, 0)]], 1, (), "never received"),
        ([[("new", 1), ("recv", 1)]], 1, (), "can deadlock"),
        ([[("recv", 1), ("new", 2), ("send", 2, 1)], [("recv", 2), ("new", 1), ("send", 1, 0)]], 0, (), "can deadlock"),
        ([[("send", 0, 0)]], 1, (), "to send"),
        ([[]], 1, (5,), "immortal object 5 is not a shared object"),
        ([], 0, (), "at least one thread"),
        ([[]], -1, (), "shared must be an int"),
        ([[("new", 1), ("inc", 1), ("kill", 1), ("kill", 1)]], 0, (), "already killed by thread 0, op 2"),
        ([[("new", 1), ("dec", 1), ("kill", 1)]], 0, (), "holds no reference to object 1 to release"),
        ([[("inc", 0), ("kill", 0)]], 1, (), "only private objects are killed"),
        ([[("kill", 1)]], 1, (), "takes 1 argument|never created"),
    ],
)
def test_malformed_traces_are_rejected_before_running(threads, shared, immortal, match) -> None:
    trace = Trace(threads, shared=shared, immortal=immortal)
    with pytest.raises(TraceError, match=match):
        refstrat.run("atomic", "trace", max(1, len(threads)), trace=trace)


def test_trace_error_is_a_value_error() -> None:
    assert issubclass(TraceError, ValueError)
    with pytest.raises(TypeError):
        Trace("not a list")


def test_speed_of_light_has_no_trace() -> None:
    with pytest.raises(ValueError, match="no trace"):
        refstrat.speed_of_light("trace", 1)


def test_plugin_loading_errors_are_exceptions(tmp_path) -> None:
    from refstrat import _core

    with pytest.raises(OSError, match="cannot load plugin"):
        _core.load_plugin(str(tmp_path / "missing.so"))
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"not an ELF file")
    with pytest.raises(OSError):
        _core.load_plugin(str(bogus))


# ---- the stepping arena ---------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_arena_single_thread_semantics(strategy: str) -> None:
    arena = refstrat.Arena(strategy, capacity=64)
    a = arena.alloc()
    s = arena.alloc_shared()
    arena.incref(a)
    arena.incref(s)
    arena.flush()
    assert arena.count(a) == 2 and arena.count(s) == 2
    arena.decref(a)
    arena.decref(a)
    arena.decref(s)
    arena.quiesce()
    assert not arena.is_live(a) and arena.is_live(s) and arena.count(s) == 1
    assert arena.incref(a) is False  # a use after free is counted, not performed
    stats = arena.stats()
    assert stats["use_after_free"] == 1 and stats["double_frees"] == 0
    assert stats["allocs"] == 2 and stats["frees"] == 1
    with pytest.raises(ValueError, match="freed"):
        arena.count(a)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_arena_reuses_freed_slots_and_reports_full(strategy: str) -> None:
    if strategy == "percpu":
        pytest.skip(
            "percpu frees an object during a run only after its kill, which the stepping "
            "Arena does not offer; its un-killed objects are freed at quiesce"
        )
    arena = refstrat.Arena(strategy, capacity=4)
    for _ in range(20):
        obj = arena.alloc()
        arena.decref(obj)
    arena.quiesce()
    live = [arena.alloc() for _ in range(4)]
    with pytest.raises(refstrat.ArenaFullError, match="4 slots"):
        arena.alloc()
    assert all(arena.is_live(o) for o in live)


def test_arena_immortal_objects() -> None:
    arena = refstrat.Arena("biased", immortal=True)
    s = arena.alloc_shared(immortal=True)
    for _ in range(5):
        arena.decref(s)
    arena.quiesce()
    assert arena.is_live(s) and arena.count(s) == 1
    assert refstrat.Arena("immortal").immortal and not refstrat.Arena("atomic").immortal


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(strategy="nope"), ValueError, "valid choices"),
        (dict(capacity=0), ValueError, "capacity"),
        (dict(capacity=2**33), ValueError, "capacity"),
        (dict(capacity=2**32 - 2), ValueError, "more than 3/4 of this machine's"),
        (dict(capacity="8"), TypeError, "capacity"),
        (dict(layout="x"), ValueError, "packed, padded"),
        (dict(immortal="no"), TypeError, "immortal"),
    ],
)
def test_arena_rejects_bad_arguments(kwargs, exc, match) -> None:
    args = dict(strategy="atomic")
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        refstrat.Arena(args.pop("strategy"), **args)


def test_arena_rejects_bad_ids() -> None:
    arena = refstrat.Arena("atomic")
    with pytest.raises(IndexError, match="no alloc"):
        arena.incref(0)
    arena.alloc()
    for bad in (1, 1024, 1024 + 1, 1024 * 5):  # never issued: another slot, a later generation
        with pytest.raises(IndexError, match="no alloc"):
            arena.decref(bad)
    for bad in (-1, 10**30):
        with pytest.raises(IndexError, match="ids are in"):
            arena.decref(bad)
    with pytest.raises(TypeError):
        arena.incref("0")


def test_native_runner_rechecks_compiled_traces() -> None:
    """Behind Python's validation, the core refuses out-of-range indices rather than follow them."""
    from array import array

    from refstrat import _api, _core

    cfg, _ = _api._config("trace", 1, dict(trace=Trace([[("new", 1), ("dec", 1)]], shared=1)))
    tail = (b"", array("q", [1, 0]), array("q", [0, 0]))  # no layer marks, expected, final
    bad_kind = (2, 1, b"\0", array("I", [0, 1, 0, 99, 1, 0]), array("Q", [0, 2])) + tail
    bad_unlock = (2, 1, b"\0", array("I", [0, 1, 0, 9, 1, 0]), array("Q", [0, 2])) + tail  # unlock, not held
    bad_object = (2, 1, b"\0", array("I", [0, 7, 0, 1, 1, 0]), array("Q", [0, 2])) + tail
    bad_threads = (2, 1, b"\0", array("I", [0, 1, 0]), array("Q", [0, 1, 1])) + tail
    for compiled, match in (
        (bad_kind, "out of range"),
        (bad_object, "out of range"),
        (bad_threads, "malformed compiled trace"),
        (bad_unlock, "unlock of an object this thread has not locked"),
    ):
        with pytest.raises(ValueError, match=match):
            _core.execute("atomic", cfg, compiled)


def test_the_core_checks_work_itself() -> None:
    # Behind Python's validation: a work the kernels cannot represent never reaches them.
    from refstrat import _api, _core

    cfg, _ = _api._config("handoff", 2, {})
    cfg["work"] = 2**31
    with pytest.raises(ValueError, match=r"work must be in \[0, 100000000\]"):
        _core.execute("atomic", cfg)


@pytest.mark.parametrize("workload", ["private", "shared", "mixed", "handoff"])  # fib: per call
def test_work_is_spent_per_operation(workload: str) -> None:
    """work= adds the same spin after every operation: the operations are unchanged, CPU time grows."""
    plain = refstrat.run("gil", workload, 1, ops=20_000)
    busy = refstrat.run("gil", workload, 1, ops=20_000, work=2_000)
    assert busy.ok and busy.ops == plain.ops
    # 2000 spin iterations take well over 100 ns; an operation without them, a few ns.
    assert busy.cpu_seconds > plain.cpu_seconds + busy.ops * 100e-9


@pytest.mark.parametrize("immortal", [False, True])
@pytest.mark.parametrize("fib_n", [1, 2, 13, 14, 20])
def test_unchecked_fib_counts_its_operations_arithmetically(fib_n: int, immortal: bool) -> None:
    # The timed copy keeps no tally (rs_fib_ops); the checked copy counts one by one.
    from refstrat import _api, _core

    cfg, _ = _api._config("fib", 1, dict(fib_n=fib_n, immortal=immortal))
    counted = _core.execute("atomic", dict(cfg, checked=1))["ops"]
    computed = _core.execute("atomic", dict(cfg, checked=0))["ops"]
    assert counted == computed > 0


def test_run_times_the_unchecked_copy_and_checks_separately() -> None:
    r = refstrat.run("biased", "mixed", 2, **SMALL)
    assert (r.timed, r.checked) == ("unchecked", True)
    assert r.check_wall_seconds is not None and r.check_wall_seconds > 0
    assert_clean(r)
    quick = refstrat.run("biased", "mixed", 2, check=False, **SMALL)
    assert (quick.timed, quick.checked, quick.check_wall_seconds) == ("unchecked", False, None)
    assert quick.ops == r.ops
    traced = refstrat.run("atomic", "trace", 4, trace=HANDOFF_TRACE)
    assert (traced.timed, traced.checked) == ("checked", True)
    with pytest.raises(TypeError, match="check must be a bool"):
        refstrat.run("atomic", check=1)


@pytest.mark.parametrize("workload", LOOP_WORKLOADS)
def test_limit_performs_the_workloads_operations(workload: str) -> None:
    model = refstrat.run("atomic", workload, 2, **SMALL)
    for atomic in (False, True):
        r = refstrat.limit(workload, 2, atomic=atomic, **SMALL)
        assert r.strategy == ("limit+atomic" if atomic else "limit")
        assert (r.timed, r.checked) == ("limit", False)
        assert r.ops == model.ops and r.ops_per_thread == model.ops_per_thread
        assert r.cpu_seconds > 0
    # The atomic flavour keeps the shared counts exact; its final scan says so.
    assert refstrat.limit(workload, 2, atomic=True, **SMALL).lost_updates == 0


@pytest.mark.parametrize("workload", LOOP_WORKLOADS)
def test_limit_alone_reports_nothing_wrong(workload: str) -> None:
    """At T=1 nothing races, so every final check passes: a limit's kernels take their slots from
    the pool and never open them, which the arena's scan must not count as leaks."""
    for atomic in (False, True):
        r = refstrat.limit(workload, 1, atomic=atomic, **SMALL)
        assert r.ok and (r.leaks, r.lost_updates, r.double_frees) == (0, 0, 0), r


def test_limit_refuses_what_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="limit has no .trace. workload; valid choices: fib, private"):
        refstrat.limit("trace", 1)
    with pytest.raises(TypeError, match="atomic must be a bool"):
        refstrat.limit("fib", 1, atomic="yes")
    with pytest.raises(ValueError, match="unknown workload"):
        refstrat.limit("nope", 1)


def test_the_native_core_refuses_what_would_follow_a_null_handle() -> None:
    from refstrat import _api, _core

    cfg, _ = _api._config("trace", 1, dict(trace=Trace([[("new", 1), ("dec", 1)]], shared=1)))
    compiled = Trace([[("new", 1), ("dec", 1)]], shared=1).compile()
    from array import array

    compiled = compiled + (array("q", [1, 0]), array("q", [0, 0]))
    with pytest.raises(ValueError, match="checked copy only"):
        _core.execute("atomic", dict(cfg, checked=0), compiled)
    step = _core.StepArena("atomic", 4, False, False)
    with pytest.raises(IndexError):  # a slot past the arena is refused by the core itself
        step.inc(10**6, 1)


# ---- the vocabulary's kill (issue 8) ---------------------------------------------------------------

#: The creator gives up its initial reference while others still hold and use the object.
KILL_TRACE = [
    [("new", 3), ("inc", 3), ("send", 3, 1), ("inc", 0), ("kill", 3), ("dec", 0)],
    [("recv", 3), ("inc", 3), ("inc", 2), ("dec", 3), ("dec", 2), ("dec", 3)],
]


@pytest.mark.parametrize("strategy", THREAD_SAFE)
def test_kill_is_the_creators_decref_on_every_scheme(strategy: str) -> None:
    for threads, ops in (
        (1, [[("new", 3), ("inc", 3), ("kill", 3), ("dec", 3), ("new", 4), ("kill", 4)]]),
        (2, KILL_TRACE),
    ):
        trace = Trace(ops, shared=3, immortal={2})
        for jitter in (0, 1, 2):
            r = refstrat.run(strategy, "trace", threads, trace=trace, jitter=jitter)
            assert_clean(r)
            assert r.final_counts == tuple([1, 1, 1] + [None] * (len(r.final_counts) - 3))


def test_the_model_knows_kill() -> None:
    from refstrat.model import Program, ProgramError, expect

    exp = expect(Program(threads=tuple(tuple(t) for t in KILL_TRACE), shared=3))
    assert exp.final_counts == (1, 1, 1, None) and exp.refcount_ops == 10
    left = expect(Program(threads=((("new", 0), ("inc", 0), ("kill", 0)),)))
    assert left.final_counts == (1,)
    for threads, shared, match in [
        (((("new", 0), ("inc", 0), ("kill", 0), ("kill", 0)),), 0, "kill\\(0\\) twice"),
        (((("new", 0), ("dec", 0), ("kill", 0)),), 0, "does not hold"),
        (((("kill", 0),),), 1, "shared objects are never killed"),
    ]:
        with pytest.raises(ProgramError, match=match):
            expect(Program(threads=threads, shared=shared))


def test_percpu_refuses_counters_beyond_its_memory_bound() -> None:
    with pytest.raises(ValueError, match="percpu: per-thread counters need"):
        refstrat.run("percpu", "private", 64, ops=64, objects=1, arena_size=5_000_000)


# ---- issue 8: CPython 3.14t's layers (deferred, sharded) and fib314 ----------------------------

LAYERED = [s.name for s in refstrat.strategies() if {"deferred", "sharded"} & set(s.layers)]
REFUSING = [s.name for s in refstrat.strategies() if s.refuses]
COMPOSABLE = [s for s in THREAD_SAFE if s not in REFUSING]


def test_the_schemes_that_refuse_collections_say_so_as_data() -> None:
    assert REFUSING == registry_source.refusing_collections() != []
    for s in refstrat.strategies():
        assert s.refuses == (("deferred", "sharded") if s.name in REFUSING else ())
    assert {s.name: s.layers for s in refstrat.strategies()}["cpython314t"] == ("immortal", "deferred", "sharded")


@pytest.mark.parametrize("fib_n", [1, 2, 13, 14, 20])
@pytest.mark.parametrize("strategy", ["atomic", "cpython314t"])
def test_unchecked_fib314_counts_its_operations_arithmetically(fib_n: int, strategy: str) -> None:
    from refstrat import _api, _core

    cfg, _ = _api._config("fib314", 1, dict(fib_n=fib_n))
    counted = _core.execute(strategy, dict(cfg, checked=1))["ops"]
    computed = _core.execute(strategy, dict(cfg, checked=0))["ops"]
    assert counted == computed > 0
    calls = {1: 1, 2: 3}.get(fib_n)
    if calls:  # 9 per base call, 21 per recursive call, 5 at module level
        assert counted == {1: 9 + 5, 2: 21 + 2 * 9 + 5}[fib_n]


@pytest.mark.parametrize("strategy", THREAD_SAFE)
def test_fib314_frees_as_it_goes(strategy: str) -> None:
    # fib(24) allocates ~75k frames; the default arena holds a few thousand per worker, so a
    # kernel whose frees wait for quiesce (percpu without kills) runs dry.
    r = refstrat.run(strategy, "fib314", 2, fib_n=24)
    assert_clean(r)


@pytest.mark.parametrize(
    "layers", [dict(deferred=True), dict(sharded=True), dict(immortal=True, deferred=True, sharded=True)]
)
@pytest.mark.parametrize("strategy", COMPOSABLE)
def test_layers_compose_with_every_scheme(strategy: str, layers: dict) -> None:
    for workload in ("fib", "fib314", "shared", "handoff"):
        r = refstrat.run(strategy, workload, 2, collect_interval=64, **layers, **SMALL)
        assert_clean(r)
        assert set(r.layers) >= {k for k, v in layers.items() if v}
    trace = Trace(
        [
            [("new", 3), ("push", 3), ("inc", 0), ("dec", 3), ("pop", 3), ("dec", 0)],
            [("push", 1), ("inc", 1), ("pop", 1), ("dec", 1)],
        ],
        shared=3,
        deferred={1, 3},
        sharded={0, 2},
    )
    r = refstrat.run(strategy, "trace", 2, trace=trace, **layers)
    assert_clean(r)
    assert r.final_counts == (1, 1, 1, None)


@pytest.mark.parametrize("strategy", REFUSING)
def test_layers_are_refused_where_counts_are_not_exact_at_a_stop(strategy: str) -> None:
    with pytest.raises(ValueError, match="exact when the world stops"):
        refstrat.run(strategy, "fib", 1, fib_n=5, deferred=True)
    assert refstrat.run(strategy, "fib", 1, fib_n=5, immortal=True).ok


def test_deferred_object_outlives_its_heap_count_while_on_a_stack() -> None:
    # Heap count zero at the dec, but the stack still holds it: only the collection frees it.
    trace = Trace(
        [[("new", 1), ("push", 1), ("dec", 1), ("push", 1), ("inc", 1), ("pop", 1), ("pop", 1), ("dec", 1)]],
        deferred={1},
    )
    for strategy in COMPOSABLE + LAYERED:
        r = refstrat.run(strategy, "trace", 1, trace=trace, deferred=strategy not in LAYERED)
        assert_clean(r)
        assert r.final_counts == (None, None) or r.final_counts[1] is None


@pytest.mark.parametrize("threads", [1, 2, 4])
@pytest.mark.parametrize("strategy", LAYERED)
def test_frequent_collections_stop_the_world_safely(strategy: str, threads: int) -> None:
    for workload in LOOP_WORKLOADS:
        r = refstrat.run(strategy, workload, threads, collect_interval=1, **SMALL)
        assert_clean(r)


def test_sharded_counts_merge_exactly_at_exit() -> None:
    # Threads end holding sharded references: the merged per-thread counts are the final count.
    trace = Trace(
        [[("inc", 0), ("inc", 0), ("inc", 1)], [("inc", 0), ("push", 0), ("pop", 0)]], shared=2, sharded={0, 1}
    )
    for strategy in ("sharded", "cpython314t", "atomic"):
        r = refstrat.run(strategy, "trace", 2, trace=trace)
        assert_clean(r)
        assert r.final_counts == (4, 2)


@pytest.mark.parametrize(
    "trace_kwargs, match",
    [
        (dict(threads=[[("pop", 0)]], shared=1), "without a matching push"),
        (dict(threads=[[("push", 0)], [("pop", 0)]], shared=1), "without a matching push"),
        (dict(threads=[[("push", 0)]], shared=1), "ends holding stack references"),
        (dict(threads=[[("push", 1)]], shared=1), "never created"),
        (dict(threads=[[("new", 1), ("dec", 1), ("push", 1), ("pop", 1)]]), "holds no reference"),
        (dict(threads=[[("new", 1), ("kill", 1), ("kill", 1)]]), "kill"),
        (dict(threads=[[("inc", 0)]], shared=1, sharded={1}), "sharded object"),
        (dict(threads=[[("inc", 0)]], shared=1, deferred={5}), "never created"),
    ],
)
def test_bad_stack_references_are_value_errors(trace_kwargs: dict, match: str) -> None:
    from refstrat.model import Program, ProgramError, expect

    trace = Trace(**trace_kwargs)
    with pytest.raises(TraceError, match=match):
        refstrat.run("deferred", "trace", len(trace.threads), trace=trace)
    with pytest.raises(ProgramError):
        expect(
            Program(
                threads=trace_kwargs["threads"],
                shared=trace_kwargs.get("shared", 0),
                deferred=tuple(trace_kwargs.get("deferred", ())),
                sharded=tuple(trace_kwargs.get("sharded", ())),
            )
        )


def test_kill_drops_the_creators_reference() -> None:
    trace = Trace([[("new", 1), ("inc", 1), ("send", 1, 1), ("kill", 1)], [("recv", 1), ("dec", 1)]])
    for strategy in COMPOSABLE + LAYERED:
        r = refstrat.run(strategy, "trace", 2, trace=trace)
        assert_clean(r)
        assert r.final_counts == (None, None)


def test_layered_strategies_are_listed_with_references() -> None:
    listed = {s.name: s for s in refstrat.strategies()}
    for name in LAYERED:
        assert listed[name].summary and listed[name].reference
    assert "biased" in listed["cpython314t"].summary
    assert "fib314" in [w.name for w in refstrat.workloads()]


def test_collect_interval_is_range_checked() -> None:
    with pytest.raises(ValueError, match="collect_interval .* must be in"):
        refstrat.run("deferred", "fib", 1, collect_interval=0)
    with pytest.raises(TypeError):
        refstrat.run("deferred", "fib", 1, deferred=1)
