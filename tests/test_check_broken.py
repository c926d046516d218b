"""The systematic scheduler's teeth: the DEFAULT program-less exhaustive check (the built-in
corpus of refstrat.testing.sched.corpus, then Hypothesis-drawn programs) must catch every broken
variant in tests/broken/ with a shrunk schedule that replays, and must pass every correct scheme.

Nothing here uses a variant's own program from tests/broken/catalog.py: the exploration is
the generic one a user gets from ``check(name, schedule="exhaustive")``.
"""

from __future__ import annotations

import pytest

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover
    pytest.skip("refstrat core not built", allow_module_level=True)

from test_fuzz_broken import BROKEN_VARIANTS, C11_ONLY  # noqa: E402

import refstrat.testing  # noqa: E402
from refstrat.testing import CheckFailed, check  # noqa: E402

#: Hypothesis examples after the corpus: few, the corpus carries the racing shapes.
EXAMPLES = 5


@pytest.mark.parametrize("variant", sorted(set(BROKEN_VARIANTS) - C11_ONLY))  # C11_ONLY: test_check_c11.py
def test_default_exploration_catches_variant(broken_plugin: list[str], variant: str) -> None:
    with pytest.raises(CheckFailed) as info:
        check(variant, schedule="exhaustive", immortal=BROKEN_VARIANTS[variant], max_examples=EXAMPLES)
    failure = info.value.failure
    print(failure.describe())
    assert failure.choices is not None and failure.schedule_text
    # The replay line reproduces the same verdict, bit for bit.
    with pytest.raises(CheckFailed) as again:
        eval(failure.replay_code, {"refstrat": refstrat})
    assert again.value.failure.problems == failure.problems
    assert again.value.failure.schedule_text == failure.schedule_text


#: Schedules a correct scheme is given here: the start of the same corpus the variants are caught
#: in (tests/test_check.py explores fixed programs completely, SC and TSO, immortal on and off).
CORRECT_SCHEDULES = 2_000


@pytest.mark.parametrize("scheme", [s.name for s in refstrat.strategies() if s.thread_safe])
def test_default_exploration_passes_correct_scheme(scheme: str) -> None:
    report = check(scheme, schedule="exhaustive", max_examples=EXAMPLES, max_schedules=CORRECT_SCHEDULES)
    print(report.summary())
    assert report.ok and report.schedules > 0


def test_ack_first_is_a_real_interleaving_bug(broken_plugin: list[str]) -> None:
    """The hardest variant for the generic exploration, on its own program: the exhaustive search
    finds, at run time, a schedule that frees early and replays; that schedule, replayed against
    the correct scheme's code, reports that it diverged rather than a verdict (no hard-coded
    choice list: a refactor of buffered cannot make this test pass or fail by itself)."""
    from test_fuzz_broken import CATALOG

    program = CATALOG.CATALOG["broken_buffered_ack_first"].program
    with pytest.raises(CheckFailed) as info:
        check("broken_buffered_ack_first", program, schedule="exhaustive", preemption_bound=ACK_FIRST_BOUND)
    failure = info.value.failure
    assert any("freed object" in p or "double free" in p for p in failure.problems), failure.describe()
    with pytest.raises(CheckFailed) as again:
        refstrat.testing.replay(failure)
    assert again.value.failure.schedule_text == failure.schedule_text
    with pytest.raises(refstrat.testing.ScheduleDiverged, match="schedule diverged"):
        refstrat.testing.replay("buffered", program, choices=failure.choices, sites=failure.sites)


#: The bound the ack-first schedule needs on its catalog program: the commit thread's round must
#: start after T0's allocation, T1 run after T0's send, the collect fall between ack and submit.
ACK_FIRST_BOUND = 3


def test_replay_on_other_code_reports_divergence(broken_plugin: list[str]) -> None:
    """A choice list judges only the code it was found on.  A failure of one variant, replayed
    with its fingerprint against another scheme, raises ScheduleDiverged (not CheckFailed, not a
    pass); a list that steers beyond the run's last decision point does too, fingerprint or not;
    a fingerprint that matches replays as before."""
    from refstrat.testing import Program, ScheduleDiverged, replay

    program = Program(threads=((("inc", 0), ("dec", 0)), (("inc", 0), ("dec", 0))), shared=1)
    with pytest.raises(CheckFailed) as info:
        check("broken_atomic_split", program, schedule="exhaustive")
    failure = info.value.failure
    assert failure.sites and f"sites={failure.sites!r}" in failure.replay_code
    with pytest.raises(CheckFailed):
        replay(failure)
    with pytest.raises(ScheduleDiverged, match="schedule diverged"):
        replay("atomic", program, choices=failure.choices, sites=failure.sites)
    with pytest.raises(ScheduleDiverged, match="schedule diverged"):
        replay("broken_atomic_split", program, choices=failure.choices, sites="00000000")
    with pytest.raises(ScheduleDiverged, match="decision point"):
        replay("atomic", program, choices=[0] * 500 + [1])
