"""Redraw the charts of a recorded ``refstrat.bench --output`` JSON file without re-measuring.

Usage: python bench/replot.py bench/default.json bench/default.png

The pyperf JSON holds everything the charts need: cell names (workload/row/T<n>/wall|cpu), medians,
and the refstrat_* and cpu metadata that refstrat.bench records.
"""

from __future__ import annotations

import functools
import sys

import pyperf

import refstrat
from refstrat.bench import Cell, CellResult, Report, chart, hardware


@functools.cache
def ops_per_thread(workload: str, fib_n: int, ops: int) -> int:
    """The operations one thread of a model cell performed: a cell's size is in its metadata, its
    operation count is not, and the bench's ratios are per operation (cells are sized on their
    own). One single-thread run of the cheapest scheme counts them; the count is the workload's,
    the same under every scheme (tests/test_bench.py checks the twins' formulas against it)."""
    return refstrat.run("nonatomic", workload, 1, check=False, fib_n=fib_n, ops=ops).ops


def merge(paths: list[str]) -> pyperf.BenchmarkSuite:
    """One suite of the benchmarks of several JSON files (a matrix run split by workload or by T;
    a cell found in more than one file gets the runs of all)."""
    suite = pyperf.BenchmarkSuite.load(paths[0])
    for path in paths[1:]:
        for bench in pyperf.BenchmarkSuite.load(path).get_benchmarks():
            if bench.get_name() in suite.get_benchmark_names():
                suite.get_benchmark(bench.get_name()).add_runs(bench)
            else:
                suite.add_benchmark(bench)
    return suite


def load_report(path: str | pyperf.BenchmarkSuite) -> Report:
    suite = pyperf.BenchmarkSuite.load(path) if isinstance(path, str) else path
    walls = {b.get_name()[: -len("/wall")]: b for b in suite.get_benchmarks() if b.get_name().endswith("/wall")}
    results: list[CellResult] = []
    workloads: list[str] = []
    threads: list[int] = []
    ref = ""
    for name, wall in walls.items():
        cpu = suite.get_benchmark(name + "/cpu")
        head, row, t = name.split("/")
        kind = "real" if head.startswith("real-") else "model"
        workload = head[len("real-") :] if kind == "real" else head
        if kind == "real" and not ref:
            ref = row  # the running interpreter's rows come first
        if workload not in workloads and kind == "model":
            workloads.append(workload)
        if int(t[1:]) not in threads:
            threads.append(int(t[1:]))
        cell_md = wall.get_metadata()
        ops = 0
        if kind == "model" and "refstrat_fib_n" in cell_md:  # older files: no size, no ratios
            ops = int(t[1:]) * ops_per_thread(
                workload, int(str(cell_md["refstrat_fib_n"])), int(str(cell_md["refstrat_ops_per_thread"]))
            )
        results.append(
            CellResult(
                Cell(kind, workload, row, int(t[1:])),
                wall.median(),
                0.0,
                cpu.median(),
                0.0,
                ops,
                len(wall.get_values()),
            )
        )
    first = suite.get_benchmarks()[0].get_metadata()
    machine = hardware.MachineInfo(
        cpu_model=str(first.get("cpu_model_name", "?")),
        logical_cpus=int(first.get("cpu_count", 0) or 0),
        usable_cpus=int(first.get("cpu_count", 0) or 0),
        platform=str(first.get("platform", "?")),
        python="",
        gil="",
    )
    return Report(
        machine=machine,
        hw_status="",
        baseline=str(first.get("refstrat_baseline", "gil")),
        workloads=workloads,
        threads=sorted(threads),
        fib_n=int(str(first.get("refstrat_fib_n", 0))),
        ops=int(str(first.get("refstrat_ops_per_thread", 0))),
        work=int(str(first.get("refstrat_work", 0))),
        settings="",
        results=results,
        reference_label=ref,
    )


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/replot.py RESULT.json OUT.png")
    chart.plot(load_report(sys.argv[1]), sys.argv[2])
    print(f"charts: {sys.argv[2]}")
