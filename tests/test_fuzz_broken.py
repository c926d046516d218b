"""Proof the fuzzing has teeth: deliberately broken schemes (tests/broken/) must all be caught.

The variants are C headers compiled here into a refstrat plugin and loaded with the private
``refstrat._core.load_plugin``; they are never listed by ``refstrat.strategies()``.  Races need
volume on a 2-core machine, so each hunt is Hypothesis first and then seeded stress runs of
growing size (bounded: it ends at the first failure or after the largest size), so a broken
variant cannot slip through by luck and a correct one never flakes.
"""

from __future__ import annotations

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

#: name -> run with immortality honoured (the immortal variant only shows on immortal objects).
BROKEN_VARIANTS: dict[str, bool] = {
    "broken_atomic_split": False,
    "broken_immortal_decrefs": True,
    "broken_biased_nonowner_local": False,
    "broken_biased_no_queue": False,
    "broken_coalesced_no_epoch": False,
    "broken_buffered_dec_first": False,
}
#: Variants whose bug shows without any concurrency: the single-threaded state machine must
#: catch these too.
SINGLE_THREAD_BUGS = ["broken_immortal_decrefs", "broken_buffered_dec_first"]
#: Variants that fail on every run of the right small program, whatever the interleaving.
DETERMINISTIC_BUGS = SINGLE_THREAD_BUGS + ["broken_biased_no_queue"]

#: Growing stress sizes (ops per thread) for the hunt: big enough that a lost-update race shows
#: on 2 cores, bounded so a hunt costs seconds.
HUNT_SIZES = (2_000, 20_000, 200_000, 1_000_000, 3_000_000)


@pytest.fixture(scope="session")
def broken_plugin(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Compile tests/broken/broken.c into a plugin, normal and check flavours (both objects in
    one library, refstrat.testing.build_plugin), and load it; returns the names it added."""
    from refstrat import _core
    from refstrat.testing import build_plugin

    out = build_plugin([BROKEN / "broken.c"], tmp_path_factory.mktemp("broken") / "refstrat_broken.so",
                       include_dirs=[BROKEN])
    for name in BROKEN_VARIANTS:
        assert _core.find_strategy(name) is None or _core.has_check_flavour(name)

    names = list(_core.load_plugin(str(out)))
    return names


def test_plugin_has_every_broken_variant_and_none_is_listed(broken_plugin: list[str]) -> None:
    assert sorted(broken_plugin) == sorted(BROKEN_VARIANTS)
    assert len(BROKEN_VARIANTS) >= 6
    listed = {s.name for s in refstrat.strategies()}
    assert not listed & set(broken_plugin), "broken variants must not be listed by strategies()"


def hunt(strategy: str, immortal: bool = False):
    """Hypothesis, then stress of growing size: the report of the first failure (or a pass)."""
    return check(strategy, threads=2, immortal=immortal, stress_sizes=HUNT_SIZES,
                 raise_on_failure=False)


@pytest.mark.parametrize("variant", sorted(BROKEN_VARIANTS))
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


@pytest.mark.parametrize("variant", SINGLE_THREAD_BUGS)
def test_single_thread_bugs_are_caught_by_state_machine(broken_plugin: list[str], variant: str) -> None:
    machine = arena_machine(variant, immortal=BROKEN_VARIANTS[variant])
    with pytest.raises(AssertionError):
        run_state_machine_as_test(machine, settings=settings(max_examples=200, stateful_step_count=30,
                                                           report_multiple_bugs=False))


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
