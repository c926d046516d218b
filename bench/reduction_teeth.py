"""What partial-order reduction buys on the two hardest broken variants (issue 7): each explored on
its own catalog program (tests/broken/catalog.py) at preemption bound 3, under each reduction,
until the bug shows or the cap.  Builds the broken-variant plugin first (about 30 s).  A benchmark,
not a test:

    .venv/bin/python bench/reduction_teeth.py [--cap 150000]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

from refstrat import _core
from refstrat.model import expect
from refstrat.testing import build_plugin, sched

BROKEN = Path(__file__).resolve().parents[1] / "tests" / "broken"
VARIANTS = ("broken_buffered_ack_first", "broken_coalesced_mark_late")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cap", type=int, default=150_000, help="schedules per exploration")
    args = ap.parse_args()
    sys.path.insert(0, str(BROKEN))
    import catalog

    keep = "-DRS_KEEP_WORKLOAD(w)=((w)==RS_W_TRACE||(w)==RS_W_PRIVATE||(w)==RS_W_HANDOFF)"
    with tempfile.TemporaryDirectory() as tmp:
        so = build_plugin(
            [BROKEN / "broken.c"], Path(tmp) / "refstrat_broken.so", include_dirs=[BROKEN], extra_args=("-O2", keep)
        )
        _core.load_plugin(str(so))
    for name in VARIANTS:
        prog = catalog.CATALOG[name].program
        tick = catalog.KNOBS.get(name, {}).get("tick", sched.SCHED_TICK)
        exp = expect(prog)
        for reduction in sched.REDUCTIONS:

            def run(choices, pct=None, sleep_add=None, want_trace=False):
                return sched.run_scheduled(
                    name, prog, exp, choices=choices, tick=tick, sleep_add=sleep_add, want_trace=want_trace
                )

            t0 = time.perf_counter()
            ex = sched.explore_exhaustive(run, 3, args.cap, reduction=reduction)
            dt = time.perf_counter() - t0
            verdict = (
                "CAUGHT " + "; ".join(ex.failure.problems)
                if ex.failure
                else ("not caught, complete" if ex.complete else "not caught, cut at the cap")
            )
            print(
                f"{name:28s} tick {tick} bound 3 {reduction:5s}: {ex.schedules:,} schedules, {dt:.1f} s, {verdict}",
                flush=True,
            )


if __name__ == "__main__":
    main()
