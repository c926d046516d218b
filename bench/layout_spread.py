"""The T=1 kernels' figures across code placements (a benchmark, not a test).

    python bench/layout_spread.py [--placements 8] [--step 576] [--rounds 11] [--fib-n 30]
                                  [--rows gil,...,limit]

On the 2-CPU VM's AMD host one and the same kernel's time moves by up to about 15 % with where the
linker puts it (bench/history/session10-before-after.txt): a ratio between two kernels of one build is
partly a draw of the layout, and a change to unrelated code draws again. This script compiles
the extension's sources once, as setup.py does (refstrat/_core.c, which any pip build of this tree
generates, must exist), links them PLACEMENTS times with 0, STEP, 2 x STEP ... bytes of padding
before the kernels' translation unit (src/registry.c, the first object), and times every row on fib
at T=1 in each placement, the placements interleaved round by round. It prints each row's median
per placement, then the targets of issue 10 as the median over placements of each placement's
ratio (paired within one pass), with their range: figures that no longer depend on one layout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = (
    "src/registry.c",
    "src/explain.c",
    "src/check_table.c",
    "refstrat/_core.c",
    "src/runner.c",
    "src/check.c",
    "src/plugins.c",
    "src/check_races.c",
    "src/check_c11.c",
    "src/step.c",
)  # setup.py's order
OWN_FLAGS = ["-std=gnu11", "-O2", "-fno-strict-aliasing"]  # setup.py's compile_args, after Python's
ROWS = "gil,nonatomic,speed_of_light,atomic,limit+atomic,limit"

# One pass in a placement's interpreter: CPU ns/op of every row, as JSON.
_PASS = """
import json, sys, refstrat
rows, workload, fib_n = sys.argv[1].split(","), sys.argv[2], int(sys.argv[3])
out = {}
for row in rows:
    kw = dict(fib_n=fib_n)
    if row in ("limit", "limit+atomic"):
        r = refstrat.limit(workload, 1, atomic=row == "limit+atomic", **kw)
    elif row == "speed_of_light":
        r = refstrat.speed_of_light(workload, 1, **kw)
    else:
        r = refstrat.run(row, workload, 1, check=False, **kw)
    out[row] = r.cpu_seconds / r.ops * 1e9
print(json.dumps(out))
"""


def compile_objects(tmp: str) -> list[str]:
    """Every source compiled once, with Python's flags and then setup.py's, as a pip build does."""
    if not os.path.exists(os.path.join(ROOT, "refstrat", "_core.c")):
        sys.exit("refstrat/_core.c is missing: build this tree once (pip install -e .), which generates it")
    cc = os.environ.get("CC", "gcc")
    flags = (sysconfig.get_config_var("CFLAGS") or "").split() + ["-fPIC", "-pthread"] + OWN_FLAGS
    inc = ["-I" + os.path.join(ROOT, "include"), "-I" + sysconfig.get_paths()["include"]]

    def one(src: str) -> str:
        obj = os.path.join(tmp, os.path.basename(src) + ".o")
        subprocess.run([cc, *flags, *inc, "-c", os.path.join(ROOT, src), "-o", obj], check=True, capture_output=True)
        return obj

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        return list(pool.map(one, SOURCES))


def link(tmp: str, objs: list[str], pad: int) -> str:
    """A package folder whose extension has `pad` bytes of code before src/registry.c's."""
    home = os.path.join(tmp, f"pad{pad}")
    shutil.copytree(
        os.path.join(ROOT, "refstrat"),
        os.path.join(home, "refstrat"),
        ignore=shutil.ignore_patterns("*.so", "_core.c", "__pycache__"),
    )
    asm = os.path.join(home, "pad.s")
    with open(asm, "w", encoding="utf-8") as f:
        f.write(f'.text\n.skip {pad}, 0x90\n.section .note.GNU-stack,"",@progbits\n')
    cc = os.environ.get("CC", "gcc")
    subprocess.run([cc, "-c", asm, "-o", asm + ".o"], check=True, capture_output=True)  # .skip 0 warns
    ext = os.path.join(home, "refstrat", "_core" + sysconfig.get_config_var("EXT_SUFFIX"))
    subprocess.run([cc, "-shared", "-pthread", asm + ".o", *objs, "-lm", "-ldl", "-o", ext], check=True)
    return home


def one_pass(home: str, rows: str, args: argparse.Namespace) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=home)
    done = subprocess.run(
        [sys.executable, "-c", _PASS, rows, "fib", str(args.fib_n)],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout)


def ratio(by: dict[str, list[float]], num: str, den: str) -> float:
    """The median over one placement's passes of num/den, each pass's pair taken together."""
    return statistics.median(a / b for a, b in zip(by[num], by[den]))


def report(rows: list[str], pads: list[int], got: dict[int, dict[str, list[float]]]) -> None:
    print("median CPU ns/op per placement (padding in bytes before src/registry.c's code):")
    print(f"  {'row':16}" + "".join(f"{p:>8}" for p in pads) + "   median  spread")
    for row in rows:
        med = [statistics.median(got[p][row]) for p in pads]
        spread = max(med) / min(med) - 1
        print(f"  {row:16}" + "".join(f"{m:8.3f}" for m in med) + f"  {statistics.median(med):7.3f}  {spread:6.1%}")
    targets = [("speed_of_light", "limit", "<= 1.10"), ("gil", "limit", "<= 1.25"), ("gil", "nonatomic", "within 5 %")]
    print("targets, the median over placements of each placement's paired ratio [range]:")
    for num, den, goal in targets:
        if num in rows and den in rows:
            per = [ratio(got[p], num, den) for p in pads]
            print(
                f"  {num + ' / ' + den:28} {statistics.median(per):6.3f}  [{min(per):.3f}-{max(per):.3f}]"
                f"  (target {goal})"
            )
    if all(r in rows for r in ("atomic", "gil", "limit+atomic", "limit")):
        per = [ratio(got[p], "atomic", "gil") / ratio(got[p], "limit+atomic", "limit") for p in pads]
        print(
            f"  {'atomic ratio / hardware':28} {statistics.median(per):6.3f}  [{min(per):.3f}-{max(per):.3f}]"
            "  (target within 20 %)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--placements", type=int, default=8)
    ap.add_argument("--step", type=int, default=576, help="bytes of padding added per placement")
    ap.add_argument("--rounds", type=int, default=11)
    ap.add_argument("--fib-n", type=int, default=30)
    ap.add_argument("--rows", default=ROWS)
    args = ap.parse_args()
    rows = args.rows.split(",")
    pads = [k * args.step for k in range(args.placements)]
    with tempfile.TemporaryDirectory(prefix="refstrat-layout-") as tmp:
        objs = compile_objects(tmp)
        homes = {p: link(tmp, objs, p) for p in pads}
        got = {p: {r: [] for r in rows} for p in pads}
        for k in range(args.rounds):
            for p in pads if k % 2 == 0 else pads[::-1]:
                for row, v in one_pass(homes[p], args.rows, args).items():
                    got[p][row].append(v)
    print(f"{args.rounds} rounds x {len(pads)} placements, the order alternating; fib_n={args.fib_n}, T=1")
    report(rows, pads, got)


if __name__ == "__main__":
    main()
