"""The systematic scheduler's teeth: the DEFAULT program-less exhaustive check (the built-in
corpus of refstrat._corpus, then Hypothesis-drawn programs) must catch every broken variant in
tests/broken/ with a shrunk schedule that replays, and must pass every correct scheme.

Nothing here uses a variant's own program from tests/broken/catalog.py: the exploration is
the generic one a user gets from ``check(name, schedule="exhaustive")``.
"""

from __future__ import annotations

import pytest

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover
    pytest.skip("refstrat core not built", allow_module_level=True)

import refstrat.testing  # noqa: E402
from refstrat.testing import CheckFailed, check  # noqa: E402
from test_fuzz_broken import BROKEN_VARIANTS  # noqa: E402

#: Hypothesis examples after the corpus: few, the corpus carries the racing shapes.
EXAMPLES = 5

#: Variants the generic exploration does not catch yet, each with the reason (see the
#: report of branch issue-7t). They are not run: each miss costs the whole exploration.
NOT_CAUGHT: dict[str, str] = {
    "broken_buffered_ack_first": "needs a commit round between a hand-off and later work: "
                                 "beyond 300 schedules at preemption bound 2 (commit thread)",
    "broken_buffered_commit_ahead": "as broken_buffered_ack_first",
    "broken_coalesced_dirty_store": "needs three flushes around one review: beyond the corpus",
    "broken_gil_switch_snapshot_late": "shows only as a step-bound livelock after ~20000 steps "
                                       "(about a minute): too slow for CI",
}


def _params():
    for name in sorted(BROKEN_VARIANTS):
        marks = [pytest.mark.skip(reason=NOT_CAUGHT[name])] if name in NOT_CAUGHT else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.mark.parametrize("variant", list(_params()))
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
