"""The C11 model's teeth (issue 28): the broken variants whose bug only a weak memory model shows
(tests/broken/catalog.py's ``C11_ONLY``: a decrement that frees without its release or acquire
half, a publication or its consumption made relaxed) are caught by the systematic
check under ``memory="c11"``, and by no check under ``"sc"`` or ``"tso"``: the same exhaustive
exploration of the same program passes them there, completely. That contrast is what proves the
model adds power; a variant that SC or TSO caught would not belong in the set.
"""

from __future__ import annotations

import pytest

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover
    pytest.skip("refstrat core not built", allow_module_level=True)

from test_fuzz_broken import BROKEN_VARIANTS, C11_ONLY, CATALOG  # noqa: E402

import refstrat.testing  # noqa: E402
from refstrat.model import Program  # noqa: E402
from refstrat.testing import CheckFailed, check, replay  # noqa: E402

VARIANTS = sorted(C11_ONLY)
#: Caught by the default exploration only through a Hypothesis-drawn program (16 operations): the
#: corpus has no shape of a queued decrement merged by the owner while the other thread still
#: holds a reference (a coverage gap of issue 30's kind, left open).
FOUND_BY_HYPOTHESIS = frozenset({"broken_biased_merge_clear_late"})


def _shape(variant: str) -> tuple[str, Program]:
    scheme, _, program, _ = CATALOG.CATALOG[variant]
    return ("atomic" if scheme == "arena" else scheme), program


def test_c11_set_is_large_and_covers_the_issue_cases() -> None:
    """At least ten, over several schemes, the issue's two named cases among them: a relaxed
    publication (a remote-free push, a ring tail) and a relaxed decrement that frees."""
    assert len(C11_ONLY) >= 10 and C11_ONLY <= set(BROKEN_VARIANTS)
    assert len({CATALOG.CATALOG[v].scheme for v in C11_ONLY}) >= 5
    assert {"broken_atomic_dec_relaxed", "broken_arena_push_relaxed"} <= C11_ONLY
    assert all(CATALOG.CATALOG[v].program is not None for v in C11_ONLY)


@pytest.mark.parametrize("memory", ["sc", "tso"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_sc_and_tso_do_not_catch(broken_plugin: list[str], variant: str, memory: str) -> None:
    """Every schedule of the variant's own program at the default bound passes under SC and
    x86-TSO: no stronger model can show these bugs."""
    program = CATALOG.CATALOG[variant].program
    report = check(variant, program, schedule="exhaustive", memory=memory, raise_on_failure=False)
    print(report.summary())
    assert report.ok, f"{variant} is caught under {memory}: it does not need the C11 model\n{report.failure}"
    assert report.complete and report.schedules > 1 and not report.bound_reached


@pytest.mark.parametrize("variant", VARIANTS)
def test_correct_scheme_passes_the_program_under_c11(variant: str) -> None:
    """The program is fair: the scheme the variant breaks passes it under the C11 model."""
    scheme, program = _shape(variant)
    report = check(scheme, program, schedule="exhaustive", memory="c11", raise_on_failure=False)
    print(report.summary())
    assert report.ok, report.failure


@pytest.mark.parametrize("variant", VARIANTS)
def test_c11_catches_variant(broken_plugin: list[str], variant: str) -> None:
    """The same exploration under C11 fails, with an execution that replays bit for bit."""
    program = CATALOG.CATALOG[variant].program
    with pytest.raises(CheckFailed) as info:
        check(variant, program, schedule="exhaustive", memory="c11")
    failure = info.value.failure
    print(failure.describe())
    assert failure.memory == "c11" and failure.choices is not None and failure.schedule_text
    with pytest.raises(CheckFailed) as again:
        eval(failure.replay_code, {"refstrat": refstrat})
    assert again.value.failure.problems == failure.problems
    assert again.value.failure.schedule_text == failure.schedule_text
    # The correct scheme runs the very same choices without a problem (a choice past its own
    # options is taken modulo them, so the sequence is always valid).
    scheme, _ = _shape(variant)
    replay(scheme, program, choices=list(failure.choices), memory="c11")


@pytest.mark.parametrize("variant", VARIANTS)
def test_default_exploration_catches_variant_under_c11(broken_plugin: list[str], variant: str) -> None:
    """The program-less check a user gets (the corpus, then Hypothesis) finds each one under C11
    with a small program (the corpus's) and an execution that replays bit for bit."""
    with pytest.raises(CheckFailed) as info:
        check(variant, schedule="exhaustive", memory="c11", max_examples=5)
    failure = info.value.failure
    print(failure.describe())
    assert any(p.startswith("DATA RACE") for p in failure.problems)
    assert len(failure.program) <= (16 if variant in FOUND_BY_HYPOTHESIS else 10)
    with pytest.raises(CheckFailed) as again:
        eval(failure.replay_code, {"refstrat": refstrat})
    assert again.value.failure.schedule_text == failure.schedule_text
