"""The mutation score's machinery (refstrat.testing.mutation) and CI's share of the score: a
deterministic sample of the package's mutants, built as plugins and run through the default
exploration under SC, must be killed at no less than the floor (bench/mutation.py runs them all).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover
    pytest.skip("refstrat core not built", allow_module_level=True)

from refstrat.testing import mutation  # noqa: E402

HEADER = """#ifndef X_H
#define X_H
static inline void rs_x_incref(rs_thread *t, rs_obj *o)
{
    rs_pr_faa_relaxed(&o->rc, 1); /* a comment with rs_pr_load_acquire(&o->rc) */
    rs_pr_store_release(&o->a, 1);
    while (rs_pr_load_acquire(&o->gen) < 2)
        rs_pr_spin();
    if (rs_pr_cas_acq_rel(&o->rc, &e, 0))
        return;
}
#endif
"""

#: CI's sample: this many mutants, chosen by mutation.sample (a hash of each id) among those not
#: triaged equivalent, under SC, each check cut at BUDGET schedules (the corpus's first pass).
SAMPLE = 10
BUDGET = 25_000
#: The kill-rate floor over the sample's judged mutants (killed / (killed + survived)). The
#: sampled run's rate is in bench/mutation.txt.
FLOOR = 0.7


def test_operators_on_a_small_header() -> None:
    """Each operator fires where it applies and nowhere else: comments and waits are no sites."""
    ms = mutation.mutants_of(HEADER, mutation.Target("refstrat/x.h", ("x",)))
    ops = sorted({m.operator for m in ms})
    assert ops == ["bound", "cas_split", "drop", "order", "rmw_split", "swap", "while_if"]
    by = {(m.operator, m.line) for m in ms}
    assert ("drop", 5) in by and ("drop", 6) in by and ("swap", 5) in by
    assert not any(m.line == 8 for m in ms), "rs_pr_spin is a wait, not a shared-memory step"
    assert all(m.needs == ("c11" if m.operator == "order" else "sc") for m in ms)
    for m in ms:
        text = m.apply(HEADER)
        assert text != HEADER and text.count("\n") == HEADER.count("\n")
    order = [m for m in ms if m.operator == "order" and m.line == 9]
    assert {re.search(r"rs_pr_cas_\w+", m.after).group(0) for m in order} == {"rs_pr_cas_acquire", "rs_pr_cas_release"}
    with pytest.raises(ValueError, match="changed"):
        ms[0].apply(HEADER.replace("rs_pr_faa_relaxed", "rs_pr_faa_acq_rel"))


def test_generate_is_deterministic_and_covers_the_shared_code() -> None:
    a, b = mutation.generate(), mutation.generate()
    assert [m.id for m in a] == [m.id for m in b] and len({m.id for m in a}) == len(a)
    files = {m.scheme for m in a}
    assert {"atomic", "biased", "buffered", "coalesced", "percpu", "layers", "grace", "object"} <= files
    assert mutation.sample(a, SAMPLE) == mutation.sample(b, SAMPLE)
    assert all(m.needs == "sc" for m in mutation.sample(a, 50))


def test_uncompilable_mutant_is_reported_so(tmp_path: Path) -> None:
    m = next(m for m in mutation.generate() if m.operator == "while_if" and m.scheme == "buffered")
    bad = mutation.Mutant(m.id, m.path, m.line, m.operator, m.before, m.before + " }}", m.hosts)
    lib, why = mutation.build(bad, "buffered", tmp_path)
    assert lib is None and "error" in why


def test_sampled_mutants_are_killed_at_the_floor() -> None:
    """CI's share of the score: a fixed sample, SC only, the same schedule budget as the bench's
    sampled run. Every kill is the checker's (a CheckFailed with a schedule), never a crash."""
    triage = Path(__file__).resolve().parent.parent / "bench" / "mutation-triage.md"
    equivalent = re.findall(r"^- `([^`]+)`: equivalent", triage.read_text(), flags=re.M) if triage.exists() else []
    # The triaged equivalents are not run again: no schedule can kill them (the triage says why).
    sample = mutation.sample([m for m in mutation.generate() if m.id not in equivalent], SAMPLE)
    score = mutation.score(sample, ["sc"], jobs=2, timeout=300, check_kwargs=dict(max_schedules=BUDGET))
    print(score.table())
    counts = {s: sum(o.status == s for o in score.outcomes) for s in mutation.STATUSES}
    assert counts["crashed"] == 0 and counts["timeout"] == 0, score.table()
    judged = counts["killed"] + counts["survived"]
    assert judged >= SAMPLE // 2, score.table()
    assert counts["killed"] / judged >= FLOOR, score.table()


def test_a_plugin_scheme_gets_a_score(tmp_path: Path) -> None:
    """A user's scheme (its own header, its own names) is mutated and scored the same way: here a
    copy of atomic's header under another name; its split decrement is killed."""
    src = (Path(refstrat.get_include()) / "refstrat" / "atomic.h").read_text()
    (tmp_path / "my_atomic.h").write_text(src.replace("rs_atomic_", "rs_my_atomic_").replace("ATOMIC_H", "MY_ATOMIC_H"))
    target = mutation.Target("my_atomic.h", ("my_atomic",))
    mutants = mutation.generate([target], include_dirs=[tmp_path])
    assert {m.operator for m in mutants} >= {"rmw_split", "drop"} and all(m.include for m in mutants)
    split = [m for m in mutants if m.operator == "rmw_split"][:1]
    score = mutation.score(split, ["sc"], timeout=300)
    assert [o.status for o in score.outcomes] == ["killed"], score.table()
