"""The instrument's targets (issue 10), measured in one run on this machine.

    python bench/instrument_targets.py [--repeat 7] [--fib-n 30] [--ops 40000000] [--skip-calibrate]

Timed cells are T=1 runs of the unchecked kernel copies and of the hand-written limit kernels,
interleaved round-robin --repeat times so that machine noise hits every cell alike; each figure
is the median CPU ns/op (every value covers >= 50 ms of CPU at the defaults). Prints:

  1. speed_of_light / limit on fib and private        (target <= 1.10x)
  2. gil / limit on fib and private                   (target <= 1.25x)
  3. atomic / gil against limit+atomic / limit        (target: within 20%)
  4. gil / nonatomic                                  (target: within 5%)
  5. --calibrate's work figure                        (target: > 0)
  6. zero cost of the explain flavour: src/registry.c (the timed kernels' translation unit) compiled
     from this tree and from a copy with every RS_STAT / RS_EXPLAIN_* line deleted, disassembled
     and compared instruction by instruction

A benchmark, not a test: it never fails the build, it reports. Run it on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

import refstrat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROWS = ("gil", "nonatomic", "atomic", "speed_of_light", "limit", "limit+atomic")
WORKLOADS = ("fib", "private")
CFLAGS = ["-std=gnu11", "-O2", "-fno-strict-aliasing", "-fPIC", "-Iinclude", "-c"]  # as setup.py
TIMED_KERNEL = re.compile(r"^[0-9a-f]+ <((?:rs_k\w+|rs_fibrec)_\w+_u[01](?:\.\w+)*)>:$")


def run_row(row: str, workload: str, opts: dict) -> refstrat.RunResult:
    if row == "speed_of_light":
        return refstrat.speed_of_light(workload, 1, **opts)
    if row.startswith("limit"):
        return refstrat.limit(workload, 1, atomic=row == "limit+atomic", **opts)
    return refstrat.run(row, workload, 1, check=False, **opts)


def verdict(label: str, value: float, ok: bool, target: str) -> None:
    print(f"  {label:44} {value:7.3f}   (target {target})  {'PASS' if ok else 'MISS'}")


def timed_targets(repeat: int, opts: dict) -> None:
    samples: dict[tuple[str, str], list[float]] = {(r, w): [] for r in ROWS for w in WORKLOADS}
    for _ in range(repeat):
        for key in samples:
            samples[key].append(run_row(*key, opts).ns_per_op)

    def med(r: str, w: str) -> float:
        return statistics.median(samples[(r, w)])

    print(f"median CPU ns/op of {repeat} interleaved T=1 runs; fib_n={opts['fib_n']}, ops={opts['ops']}")
    print(f"  {'row':16}" + "".join(f"{w:>12}" for w in WORKLOADS))
    for r in ROWS:
        print(f"  {r:16}" + "".join(f"{med(r, w):12.3f}" for w in WORKLOADS))
    print("targets:")
    for w in WORKLOADS:
        x = med("speed_of_light", w) / med("limit", w)
        verdict(f"speed_of_light / limit ({w})", x, x <= 1.10, "<= 1.10x")
    for w in WORKLOADS:
        x = med("gil", w) / med("limit", w)
        verdict(f"gil / limit ({w})", x, x <= 1.25, "<= 1.25x")
    for w in WORKLOADS:
        model = med("atomic", w) / med("gil", w)
        hw = med("limit+atomic", w) / med("limit", w)
        print(f"  atomic/gil ({w}) {model:.2f}x; limit+atomic/limit {hw:.2f}x")
        verdict(f"  model ratio / hardware ratio ({w})", model / hw, abs(model / hw - 1) <= 0.20, "within 20%")
    for w in WORKLOADS:
        x = med("gil", w) / med("nonatomic", w)
        verdict(f"gil / nonatomic ({w})", x, abs(x - 1) <= 0.05, "within 5%")


def calibrate_target(fib_n: int) -> None:
    from refstrat import bench

    cal = bench.calibrate("gil", "fib", sys.executable, fib_n, 0, True)
    print(
        f"calibration: Python {cal.real_ns_per_op:.2f} ns/op; model gil {cal.model_ns_per_op_at_zero:.2f} "
        f"ns/op at work=0 -> {cal.model_ns_per_op:.2f} at work={cal.work} {cal.note}"
    )
    verdict("--calibrate work (spin iterations per call)", cal.work, cal.work > 0, "> 0")
    share = cal.model_ns_per_op_at_zero / cal.real_ns_per_op
    print(f"  refcounting's share of a modelled call at T=1: {share:.0%} (model at work=0 / Python)")


INSTRUMENTATION = re.compile(r"^\s*(if \(.*\) )?(RS_STAT|RS_EXPLAIN_OP|RS_EXPLAIN_NEW|RS_EXPLAIN_FREE)\(.*\);.*$")


def _disassemble(source_dir: str, out_dir: str, tag: str) -> dict[str, list[str]]:
    """core.c's functions, as instruction lists with constants and branch targets masked."""
    obj = os.path.join(out_dir, f"{tag}.o")
    subprocess.run(["gcc", *CFLAGS, "src/registry.c", "-o", obj], cwd=source_dir, check=True)
    text = subprocess.run(
        ["objdump", "-d", "--no-show-raw-insn", obj], capture_output=True, text=True, check=True
    ).stdout
    funcs: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        m = re.match(r"^[0-9a-f]+ <([^>]+)>:$", line)
        if m:
            current = funcs.setdefault(m.group(1), [])
        elif not line.strip():
            current = None
        elif current is not None and "\t" in line:
            insn = re.sub(r"<[^>]*>", "<>", line.split("\t", 1)[1])
            current.append(re.sub(r"\b[0-9a-f]{4,}\b", "T", insn))  # branch targets move with the code
    return funcs


def zero_cost_target() -> None:
    """The timed translation unit (src/registry.c) compiled from this tree and from a copy with every
    RS_STAT / RS_EXPLAIN_* line deleted, i.e. as if the explain flavour did not exist."""
    with tempfile.TemporaryDirectory(prefix="refstrat-zero-cost-") as tmp:
        bare = os.path.join(tmp, "bare")
        shutil.copytree(os.path.join(ROOT, "include"), os.path.join(bare, "include"))
        shutil.copytree(os.path.join(ROOT, "src"), os.path.join(bare, "src"))
        deleted = 0
        hdr_dir = os.path.join(bare, "include", "refstrat")
        for name in os.listdir(hdr_dir):
            path = os.path.join(hdr_dir, name)
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines(keepends=True)
            kept = [line for line in lines if not INSTRUMENTATION.match(line)]
            deleted += len(lines) - len(kept)
            with open(path, "w", encoding="utf-8") as f:
                f.writelines(kept)
        after = _disassemble(ROOT, tmp, "with")
        before = _disassemble(bare, tmp, "without")
    kernels = [f for f in after if TIMED_KERNEL.match(f"0 <{f}>:")]
    differ = sorted(f for f in set(before) | set(after) if before.get(f) != after.get(f))
    insns = sum(len(v) for v in after.values())
    print(
        f"zero cost of the explain flavour: src/registry.c compiled with the instrumentation lines and "
        f"without them ({deleted} lines deleted): {len(after)} functions ({len(kernels)} timed kernels, "
        f"{insns} instructions), {len(after) - len(differ)} identical instruction for instruction"
    )
    for f in differ:
        print(f"  differs: {f} ({len(before.get(f, []))} -> {len(after.get(f, []))} instructions)")
    verdict("functions changed by the explain flavour", len(differ), not differ and bool(kernels), "0")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--fib-n", type=int, default=30, help="fib depth (30: ~50 ms of CPU at ~1 ns/op)")
    ap.add_argument("--ops", type=int, default=40_000_000, help="operations per run for private")
    ap.add_argument("--skip-calibrate", action="store_true")
    ap.add_argument("--skip-zero-cost", action="store_true")
    args = ap.parse_args()
    timed_targets(args.repeat, dict(fib_n=args.fib_n, ops=args.ops))
    if not args.skip_calibrate:
        calibrate_target(20)
    if not args.skip_zero_cost:
        zero_cost_target()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
