"""Real bugs on ARM that the C11 model found in the landed schemes (issue 28), each kept as the
execution that showed it: the same choices must now pass.

biased: rs_brc_merge stored ``local = 0`` and ``owner = 0`` after its merging CAS. Once that CAS
has published the merged count, another holder may drop the last reference and free the object,
so the two stores could land on a freed (and reused) slot; the C11 model reported them as a data
race with the free (found by ``check("biased", schedule="exhaustive", memory="c11",
max_schedules=20_000)``, and the same for cpython314t, which counts with biased, on the corpus's
"two references handed over ..." program). Fixed in include/refstrat/biased.h: both stores come
before the CAS, whose release orders them before the free.
"""

from __future__ import annotations

import pytest

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover
    pytest.skip("refstrat core not built", allow_module_level=True)

from refstrat.model import Program  # noqa: E402
from refstrat.testing import check, replay  # noqa: E402

#: Two references handed over, the giver drops its own; the receiver drops one, takes one again,
#: drops both, then works: T0's drain merges the queued decrement while T1 still holds x.
BIASED_MERGE = Program(
    threads=(
        (("new", 1), ("inc", 1), ("inc", 1), ("send", 1, 1), ("send", 1, 1), ("dec", 1)),
        (("recv", 1), ("recv", 1), ("dec", 1), ("inc", 1), ("dec", 1), ("dec", 1)) + (("inc", 0), ("dec", 0)) * 2,
    ),
    shared=1,
)
#: The executions that showed the race before the fix (scheme -> choices): two switches each.
BIASED_MERGE_CHOICES = {
    "biased": [0] * 34 + [1] + [0] * 23 + [1],
    "cpython314t": [0] * 55 + [1] + [0] * 28 + [1],
}


@pytest.mark.parametrize("scheme", sorted(BIASED_MERGE_CHOICES))
def test_biased_merge_clears_its_fields_before_publishing(scheme: str) -> None:
    replay(scheme, BIASED_MERGE, choices=BIASED_MERGE_CHOICES[scheme], memory="c11")


def test_biased_merge_program_passes_under_c11() -> None:
    report = check("biased", BIASED_MERGE, schedule="exhaustive", memory="c11", max_schedules=3_000)
    print(report.summary())
    assert report.ok, report.failure
