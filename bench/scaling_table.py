"""The thread-scaling tables of a recorded ``refstrat.bench`` JSON file (one or many merged runs).

Usage: python bench/scaling_table.py bench/scaling-16cpu.json
       python bench/scaling_table.py A.json B.json ... --merged OUT.json   (merge, then print)

For each workload, two tables with one row per strategy and one column per thread count: CPU ns
per operation (all threads' CPU time over all their operations), and the same over the baseline's
at the same thread count (the talk's "how many times slower"). Read from the JSON, not re-measured.
"""

from __future__ import annotations

import argparse
import math

import pyperf
from replot import load_report, merge

from refstrat.bench import report as text


def tables(suite: pyperf.BenchmarkSuite) -> list[str]:
    report = load_report(suite)
    model = [r for r in report.results if r.cell.kind == "model"]
    out = []
    for w in report.workloads:
        rows = list(dict.fromkeys(r.cell.row for r in model if r.cell.workload == w))
        ts = sorted({r.cell.threads for r in model if r.cell.workload == w})
        cell = {(r.cell.row, r.cell.threads): r for r in model if r.cell.workload == w}
        for title, value in (
            ("CPU ns/op", lambda r, b: r.ns_per_op),
            (f"CPU per op / {report.baseline}'s at the same T", lambda r, b: text.per_op_ratio(r, b) if b else None),
        ):
            body = []
            for row in rows:
                line = [row]
                for t in ts:
                    r = cell.get((row, t))
                    v = value(r, cell.get((report.baseline, t))) if r else None
                    line.append("-" if v is None or math.isnan(v) else text.fmt(v, 3))
                body.append(line)
            out += ["", f"== {w}: {title} =="]
            out += text.table(["strategy"] + [f"T={t}" for t in ts], body, set(range(1, len(ts) + 1)))
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", nargs="+", help="refstrat.bench --output files")
    parser.add_argument("--merged", metavar="OUT.json", help="also write the merged suite here")
    args = parser.parse_args()
    suite = merge(args.json)
    if args.merged:
        suite.dump(args.merged, compact=True, replace=True)
    print("\n".join(tables(suite)))
