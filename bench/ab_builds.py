"""Compare two builds of refstrat cell by cell, interleaved in one run (a benchmark, not a test).

    python bench/ab_builds.py A_PYTHON B_PYTHON [--rounds 7] [--ops 4000000] [--fib-n 24]
                              [--rows atomic,biased+immortal+deferred] [--workloads fib,fib314]

A_PYTHON and B_PYTHON are interpreters that import the two builds (for example the venvs of two
checkouts). Every round runs each cell once in A and once in B, A first in odd rounds and B first in
even ones, so that machine noise hits both alike (with a fixed order, the build run second came out
2-4% faster over all cells on the 2-CPU VM; 1.8% with the same build twice). The table gives each
build's median CPU ns/op, the median of the rounds' paired ratios B/A and their interquartile range:
the noise a verdict must clear. Run it once with the same interpreter twice (A/A) for this
machine's floor: on the 2-CPU VM, 15 rounds left cells up to 9% apart, so a single cell's B/A
within about 10% of 1 shows nothing. Used to show that routing the schemes' shared accesses
through include/refstrat/pr.h moved no figure. --rows takes the bench's row names
("<strategy>+layer...", speed_of_light, limit, limit+atomic); the default is every strategy and
speed_of_light on private, shared and fib.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess

WORKLOADS = "private,shared,fib"
THREADS = (1, 2)

# Runs in the build's own interpreter: one pass over every cell, CPU ns/op as JSON. A row
# "<strategy>+immortal+deferred" is run(strategy, immortal=True, deferred=True), as in the bench.
_PASS = """
import json, sys, refstrat
ops, fib_n, rows, workloads = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4].split(",")
rows = rows.split(",") if rows else [x.name for x in refstrat.strategies()] + ["speed_of_light"]
out = {}
for row in rows:
    s, *layers = row.split("+")
    for w in workloads:
        for t in (1, 2):
            kw = dict(ops=ops, fib_n=fib_n, **{name: True for name in layers})
            if row in ("limit", "limit+atomic"):
                r = refstrat.limit(w, t, atomic=row == "limit+atomic", ops=ops, fib_n=fib_n)
            elif s == "speed_of_light":
                r = refstrat.speed_of_light(w, t, **kw)
            else:
                r = refstrat.run(s, w, t, **kw)
            out[f"{row}/{w}/{t}"] = r.ns_per_op
print(json.dumps(out))
"""


def one_pass(python: str, ops: int, fib_n: int, rows: str, workloads: str) -> dict[str, float]:
    # Run from / so that neither checkout's source tree shadows the other's editable install.
    done = subprocess.run(
        [python, "-c", _PASS, str(ops), str(fib_n), rows, workloads],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    return json.loads(done.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--ops", type=int, default=4_000_000)
    ap.add_argument("--fib-n", type=int, default=24)
    ap.add_argument("--rows", default="", help="comma-separated bench rows (default: every strategy)")
    ap.add_argument("--workloads", default=WORKLOADS)
    args = ap.parse_args()
    samples: dict[str, dict[str, list[float]]] = {"a": {}, "b": {}}
    sides = (("a", args.a), ("b", args.b))
    for i in range(args.rounds):
        for side, python in sides if i % 2 == 0 else sides[::-1]:
            for cell, v in one_pass(python, args.ops, args.fib_n, args.rows, args.workloads).items():
                samples[side].setdefault(cell, []).append(v)
    print(f"{args.rounds} rounds, the order alternating; ops/thread={args.ops}, fib_n={args.fib_n}")
    print(f"A = {args.a}\nB = {args.b}")
    print(f"{'cell':36}{'A ns/op':>10}{'B ns/op':>10}{'B/A':>8}  paired B/A, quartiles")
    ratios = []
    for cell, a_runs in samples["a"].items():
        b_runs = samples["b"].get(cell)
        if not b_runs:
            print(f"{cell:36}  missing in B")
            continue
        paired = sorted(b / a for a, b in zip(a_runs, b_runs))
        q1, ratio, q3 = statistics.quantiles(paired, n=4) if len(paired) > 1 else paired * 3
        ratios.append(ratio)
        print(
            f"{cell:36}{statistics.median(a_runs):10.2f}{statistics.median(b_runs):10.2f}"
            f"{ratio:8.2f}  {q1:.2f}-{q3:.2f}"
        )
    print(f"B/A over all cells: median {statistics.median(ratios):.3f}, min {min(ratios):.2f}, max {max(ratios):.2f}")


if __name__ == "__main__":
    main()
