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


#: broken_buffered_ack_first's schedule, found by hand on its catalog program: the commit thread
#: starts its first round after T0's allocation (step 10), T1 runs after T0's send (step 36), and
#: the commit thread collects between T0's acknowledgement and its submission (step 82).
ACK_FIRST_CHOICES = [0] * 10 + [2] + [0] * 25 + [1] + [0] * 42 + [1]


def test_ack_first_is_a_real_interleaving_bug(broken_plugin: list[str]) -> None:
    """The hardest variant for the generic exploration, on its own program: its hand-found schedule
    replays to an early free, and the same choices pass the correct scheme."""
    from test_fuzz_broken import CATALOG

    program = CATALOG.CATALOG["broken_buffered_ack_first"].program
    with pytest.raises(CheckFailed) as info:
        refstrat.testing.replay("broken_buffered_ack_first", program, choices=ACK_FIRST_CHOICES)
    assert any("freed object" in p for p in info.value.failure.problems)
    refstrat.testing.replay("buffered", program, choices=ACK_FIRST_CHOICES)
