"""Proof the fuzzing has teeth: deliberately broken schemes (tests/broken/) must all be caught.

The variants are C headers compiled here into a refstrat plugin and loaded with the private
``refstrat._core.load_plugin``; they are never listed by ``refstrat.strategies()``.  Races need
volume on a 2-core machine, so each hunt is Hypothesis first and then seeded stress runs of
growing size (bounded: it ends at the first failure or after the largest size), so a broken
variant cannot slip through by luck and a correct one never flakes.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover
    pytest.skip("refstrat core not built", allow_module_level=True)

from refstrat.model import Program  # noqa: E402
from refstrat.testing import CheckFailed, arena_machine, check, replay  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
BROKEN = Path(__file__).resolve().parent / "broken"


def _catalog():
    spec = importlib.util.spec_from_file_location("refstrat_broken_catalog", BROKEN / "catalog.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CATALOG = _catalog()


#: name -> run with immortality honoured (the immortal variant only shows on immortal objects).
BROKEN_VARIANTS: dict[str, bool] = {
    "broken_atomic_split": False,
    "broken_immortal_decrefs": False,  # its own flag check: the kernel's layer must stay off
    "broken_biased_nonowner_local": False,
    "broken_biased_no_queue": False,
    "broken_coalesced_no_epoch": False,
    "broken_buffered_dec_first": False,
    # issue 7's teeth: realistic one- to few-line mistakes, each exact on one thread
    "broken_atomic_dec_then_load": False,
    "broken_atomic_last_ref_shortcut": False,
    "broken_immortal_saturating_inc": False,
    "broken_locked_unlock_early": False,
    "broken_locked_inc_unlocked": False,
    "broken_gil_if_not_while": False,
    "broken_gil_switch_snapshot_late": False,
    "broken_buffered_ack_first": False,
    "broken_buffered_offline_first": False,
    "broken_buffered_commit_ahead": False,
    "broken_buffered_wait_no_ack": False,
    "broken_coalesced_offline_first": False,
    "broken_coalesced_mark_late": False,
    "broken_biased_merge_store": False,
    "broken_biased_queued_late": False,
    "broken_biased_drain_unlocked": False,
    "broken_arena_push_split": False,
    "broken_arena_push_before_free": False,
    # issue 8: the new schemes
    "broken_percpu_kill_no_grace": False,
    "broken_signed_publish_late": False,
    # issue 8: CPython 3.14t's layers
    "broken_deferred_free_at_zero": False,
    "broken_sharded_plain_shared": False,
    # issue 28: orders too weak for ARM and POWER (catalog.C11_ONLY), exact under SC and x86-TSO
    "broken_atomic_dec_relaxed": False,
    "broken_atomic_dec_release": False,
    "broken_signed_dec_relaxed": False,
    "broken_biased_merge_zero_relaxed": False,
    "broken_biased_shared_dec_release": False,
    "broken_biased_shared_dec_relaxed": False,
    "broken_arena_push_relaxed": False,
    "broken_buffered_collect_relaxed": False,
    "broken_buffered_submit_relaxed": False,
    "broken_signed_dec_release": False,
    "broken_biased_merge_clear_late": False,
}
#: The six variants that came before issue 7.
ORIGINAL_VARIANTS = frozenset(
    {
        "broken_atomic_split",
        "broken_immortal_decrefs",
        "broken_biased_nonowner_local",
        "broken_biased_no_queue",
        "broken_coalesced_no_epoch",
        "broken_buffered_dec_first",
    }
)
#: Variants whose bug shows without any concurrency: the single-threaded state machine must
#: catch these too.
SINGLE_THREAD_BUGS = ["broken_immortal_decrefs", "broken_buffered_dec_first", "broken_deferred_free_at_zero"]
#: Of those, the ones the stepping Arena cannot show: it has no stack references.
TRACE_ONLY_BUGS = frozenset({"broken_deferred_free_at_zero"})
#: Variants that fail on every run of the right small program, whatever the interleaving.
DETERMINISTIC_BUGS = SINGLE_THREAD_BUGS + ["broken_biased_no_queue"]

#: Variants the timing-based hunt below does not catch on 2 cores: each needs one specific
#: interleaving at one instruction (or deadlocks real threads, or only shows in a loop workload).
#: They are for the systematic scheduler; tests/broken/catalog.py gives each one's shape.
#: Baseline: hunt() below (2 cores) ran every stress size on each and did not catch it, unless
#: its comment says otherwise.
NEEDS_SCHEDULER: frozenset[str] = frozenset(
    {
        "broken_atomic_dec_then_load",
        "broken_atomic_last_ref_shortcut",
        "broken_locked_unlock_early",
        "broken_gil_if_not_while",  # caught 2 of 2, but only at 1M and 3M ops (14 s, 119 s)
        "broken_gil_switch_snapshot_late",  # deadlocks: real threads would hang the run
        "broken_buffered_ack_first",
        "broken_buffered_offline_first",
        "broken_buffered_commit_ahead",
        "broken_buffered_wait_no_ack",  # deadlocks: real threads stall for the 30 s wait limit
        "broken_coalesced_offline_first",
        "broken_coalesced_mark_late",
        "broken_biased_merge_store",
        "broken_biased_queued_late",  # caught 1 of 2 (Hypothesis, then missed): a coin toss
        "broken_biased_drain_unlocked",  # caught 2 of 3 (stress), missed once in 12.7 M ops
        "broken_arena_push_before_free",  # the handoff hunt caught it in 2 of 5 tries
        "broken_percpu_kill_no_grace",  # a preemption between a mode load and its counter store
        "broken_signed_publish_late",  # a receiver running between a send and the next safepoint
        "broken_sharded_plain_shared",  # a lost update between one load and one store
    }
)
#: Variants whose bug only a weak memory model shows (tests/test_check_c11_broken.py): x86 hardware
#: runs them exactly, so the timing-based hunt is not for them.
C11_ONLY: frozenset[str] = CATALOG.C11_ONLY
#: Variants of the arena's remote stack: no trace program reuses a remotely freed slot, so they
#: are hunted with the handoff workload and the smallest arena instead.
LOOP_ONLY = frozenset({"broken_arena_push_split", "broken_arena_push_before_free"})

#: Growing stress sizes (ops per thread) for the hunt: big enough that a lost-update race shows
#: on 2 cores, bounded so a hunt costs seconds.
HUNT_SIZES = (2_000, 20_000, 200_000, 1_000_000, 3_000_000)


def test_plugin_has_every_broken_variant_and_none_is_listed(broken_plugin: list[str]) -> None:
    assert sorted(broken_plugin) == sorted(BROKEN_VARIANTS)
    assert len(BROKEN_VARIANTS) >= 6
    listed = {s.name for s in refstrat.strategies()}
    assert not listed & set(broken_plugin), "broken variants must not be listed by strategies()"


def hunt(strategy: str, immortal: bool = False):
    """Hypothesis, then stress of growing size: the report of the first failure (or a pass)."""
    return check(strategy, threads=2, immortal=immortal, stress_sizes=HUNT_SIZES, raise_on_failure=False)


@pytest.mark.parametrize("variant", sorted(set(BROKEN_VARIANTS) - NEEDS_SCHEDULER - LOOP_ONLY - C11_ONLY))
def test_broken_variant_is_caught(broken_plugin: list[str], variant: str) -> None:
    report = hunt(variant, BROKEN_VARIANTS[variant])
    print(report.summary())
    assert not report.ok, f"{variant} was not caught: {report.summary()}"
    f = report.failure
    # The report is replayable: the printed code evaluates to the same program.
    assert eval(repr(f.program), {"Program": Program}) == f.program
    if variant in DETERMINISTIC_BUGS:
        # No race needed, so Hypothesis finds it and shrinks it to a handful of operations.
        assert f.source == "hypothesis"
        assert len(f.program) <= 6, f"Hypothesis should have shrunk the failing program:\n{f}"


def test_nonatomic_is_caught_at_two_threads() -> None:
    report = hunt("nonatomic")
    print(report.summary())
    assert not report.ok
    assert any("lost" in p or "freed" in p or "leak" in p for p in report.failure.problems)


@pytest.mark.parametrize("variant", [v for v in SINGLE_THREAD_BUGS if v not in TRACE_ONLY_BUGS])
def test_single_thread_bugs_are_caught_by_state_machine(broken_plugin: list[str], variant: str) -> None:
    machine = arena_machine(variant, immortal=BROKEN_VARIANTS[variant])
    with pytest.raises(AssertionError):
        run_state_machine_as_test(
            machine, settings=settings(max_examples=200, stateful_step_count=30, report_multiple_bugs=False)
        )


def test_minimal_failure_replays(broken_plugin: list[str]) -> None:
    """A deterministic bug shrinks to a tiny program and replay() shows it again."""
    report = check("broken_biased_no_queue", threads=2, stress_sizes=None, raise_on_failure=False)
    assert not report.ok and report.failure.source == "hypothesis"
    f = report.failure
    print(f.describe())
    assert len(f.program) <= 6
    with pytest.raises(CheckFailed):
        replay(f, repeats=3)
    with pytest.raises(CheckFailed):
        replay(f.strategy, f.program, jitter=f.jitter)


@pytest.mark.parametrize("variant", sorted(LOOP_ONLY - NEEDS_SCHEDULER))
def test_arena_variant_is_caught_by_handoff(broken_plugin: list[str], variant: str) -> None:
    """Remote frees race the owner's take of its remote stack only when pools run dry."""
    knobs = CATALOG.KNOBS[variant]
    for ops in HUNT_SIZES:
        for seed in (1, 2):
            r = refstrat.run(
                variant, knobs["workload"], knobs["threads"], ops=ops, arena_size=knobs["arena_size"], seed=seed
            )
            if not r.ok:
                return
    pytest.fail(f"{variant} was not caught by the handoff workload at sizes {HUNT_SIZES}")


def test_handoff_hunt_passes_the_correct_arena() -> None:
    knobs = CATALOG.KNOBS["broken_arena_push_split"]
    for seed in (1, 2):
        r = refstrat.run(
            "atomic", knobs["workload"], knobs["threads"], ops=HUNT_SIZES[2], arena_size=knobs["arena_size"], seed=seed
        )
        assert r.ok, r


def test_scheduler_sets_name_registered_variants() -> None:
    assert NEEDS_SCHEDULER <= set(BROKEN_VARIANTS) and LOOP_ONLY <= set(BROKEN_VARIANTS)
    assert not NEEDS_SCHEDULER & set(SINGLE_THREAD_BUGS)
    assert C11_ONLY <= set(BROKEN_VARIANTS) and not C11_ONLY & (NEEDS_SCHEDULER | set(SINGLE_THREAD_BUGS))


@pytest.mark.parametrize("variant", sorted(set(BROKEN_VARIANTS) - set(SINGLE_THREAD_BUGS)))
def test_broken_variant_is_exact_single_threaded(broken_plugin: list[str], variant: str) -> None:
    """Each interleaving bug is a realistic mistake: one thread alone never shows it."""
    for workload in ("private", "handoff"):
        r = refstrat.run(variant, workload, 1, ops=20_000)
        assert r.ok, f"{variant} fails single-threaded on {workload}: {r}"
    report = check(variant, threads=1, stress_sizes=(20_000,), max_examples=20, raise_on_failure=False)
    assert report.ok, report.summary()


def test_catalog_describes_every_variant() -> None:
    cat = CATALOG.CATALOG
    assert set(cat) == set(BROKEN_VARIANTS)
    schemes = {s.name for s in refstrat.strategies()} | {"arena"}
    for name, shape in cat.items():
        scheme, bug_class, program, memory = shape
        assert scheme in schemes, name
        assert bug_class in CATALOG.BUG_CLASSES, name
        assert memory in ("sc", "tso", "c11"), name
        assert program is not None or name in CATALOG.REQUIRES, f"{name}: say why there is no program"
    assert set(CATALOG.KNOBS) <= set(cat) and set(CATALOG.REQUIRES) <= set(cat)
    # Every thread-safe scheme built in before the registry became the only list (a scheme added
    # since is one header and one line: a variant of it is recommended, not required) and the
    # arena have a variant; cpython314t is composed (biased plus the layers), each part has its own.
    new = {cat[n].scheme for n in cat if n not in ORIGINAL_VARIANTS}
    assert len(new) >= 12 and "arena" in new, new
    assert len(set(cat) - ORIGINAL_VARIANTS) >= 15


@pytest.mark.parametrize("variant", sorted(n for n, s in CATALOG.CATALOG.items() if s.program is not None))
def test_catalog_program_passes_the_correct_scheme(variant: str) -> None:
    """The shape is a valid program the correct scheme runs exactly (real threads, 4 jitters)."""
    scheme, _, program, _ = CATALOG.CATALOG[variant]
    scheme = "atomic" if scheme == "arena" else scheme  # the arena's shapes run under atomic
    knobs = {k: v for k, v in CATALOG.KNOBS.get(variant, {}).items() if k in ("immortal", "tick", "log_size")}
    for jitter in range(4):
        replay(scheme, program, jitter=jitter, **knobs)
