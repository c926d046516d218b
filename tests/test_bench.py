"""Tests for ``python -m refstrat.bench`` (issue 4): fast settings only, whole file well under 60 s.

Each CLI test runs the real command in a subprocess, because pyperf re-executes the program as
worker processes and owns the process's argument parsing (one Runner per process).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

pyperf = pytest.importorskip("pyperf")
refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover - core not built yet
    pytest.skip("refstrat core not built", allow_module_level=True)

from refstrat import bench  # noqa: E402
from refstrat.bench import callgrind, cli, hardware, interpreters, measure, twins  # noqa: E402
from refstrat.bench import report as bench_report  # noqa: E402

# One worker process, one value, no warm-up, one loop: each cell costs one process spawn.
TINY = ["--fib-n", "8", "-p", "1", "-n", "1", "-w", "0", "-l", "1"]


#: Where the tests' child interpreters start: `-c` and `-m` put the working directory first on
#: sys.path, and the source tree's refstrat is uncompiled unless the install is editable; outside
#: it, a child imports the installed package either way.
CHILD_CWD = Path(tempfile.gettempdir())
BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"  # the recorded results' scripts


def run_bench(*args: str, timeout: float = 300, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refstrat.bench", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
        cwd=cwd or CHILD_CWD,
    )


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--strategies", "bogus"], "unknown strategy 'bogus'"),
        (["--strategies", "atomic,nope"], "unknown strategy 'nope'"),
        (["--strategies", "immortal+immortal"], "unknown strategy 'immortal+immortal'"),
        (["--workloads", "nope"], "unknown workload 'nope'"),
        (["--workloads", "trace"], "cannot be run from the CLI"),
        (["--threads", "0"], "invalid thread count '0'"),
        (["--threads", "1,x"], "invalid thread count 'x'"),
        (["--fib-n", "-3"], "--fib-n"),
        (["--ops", "zero"], "--ops"),
        (["--baseline", "nope"], "invalid choice"),
        (["--repeat", "0"], "--repeat"),
    ],
)
def test_bad_options_are_argparse_errors(args: list[str], needle: str) -> None:
    proc = run_bench(*args)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    if "unknown strategy" in needle or "unknown workload" in needle:
        assert "valid choices:" in proc.stderr


def test_existing_output_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    out.write_text("{}")
    proc = run_bench("--output", str(out), *TINY)
    assert proc.returncode == 2
    assert "file exists" in proc.stderr


def test_missing_python_is_refused() -> None:
    proc = run_bench("--python", "/nonexistent/python3", *TINY)
    assert proc.returncode == 2
    assert "not an executable" in proc.stderr


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_plot_without_matplotlib_says_how_to_get_it(tmp_path: Path) -> None:
    # A module named matplotlib that fails to import stands for an interpreter without it.
    (tmp_path / "matplotlib.py").write_text("raise ImportError('no matplotlib here')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run(
        [sys.executable, "-m", "refstrat.bench", "--plot", str(tmp_path / "x.png"), *TINY],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=CHILD_CWD,
    )
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'refstrat[plot]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_matrix_json_plot_and_compare_to(tmp_path: Path) -> None:
    a, b, png = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "charts.png"
    common = ["--strategies", "gil,atomic", "--threads", "1,2", *TINY]
    plot = ["--plot", str(png)] if _has_matplotlib() else []  # an optional extra (refstrat[plot])
    proc = run_bench(*common, "--output", str(a), *plot)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    text = proc.stdout
    for needle in (
        "== fib",
        "CPU x gil",
        "x SoL",
        "speed_of_light",
        "hardware counters:",
        "threads pinned:",
        "CPU:",
        "wall ms",
        "ns/op",
        "baseline",
    ):
        assert needle in text, needle
    if plot:
        assert png.stat().st_size > 10_000

    suite = pyperf.BenchmarkSuite.load(str(a))
    names = set(suite.get_benchmark_names())
    for cell in ("fib/gil/T1", "fib/atomic/T2", "fib/speed_of_light/T1"):
        assert f"{cell}/wall" in names and f"{cell}/cpu" in names
    cpu = suite.get_benchmark("fib/atomic/T2/cpu")
    wall = suite.get_benchmark("fib/atomic/T2/wall")
    assert all(v > 0 for v in cpu.get_values())
    assert len(cpu.get_values()) == len(wall.get_values())
    assert wall.get_metadata()["refstrat_strategy"] == "atomic"

    proc = run_bench(*common, "--output", str(b))
    assert proc.returncode == 0, proc.stderr
    cmp = subprocess.run(
        [sys.executable, "-m", "pyperf", "compare_to", str(a), str(b), "--table"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cmp.returncode == 0, cmp.stderr
    assert "fib/atomic/T2/cpu" in cmp.stdout
    stats = subprocess.run(
        [sys.executable, "-m", "pyperf", "stats", str(a)], capture_output=True, text=True, timeout=60
    )
    assert stats.returncode == 0, stats.stderr

    # The recorded results' scripts read such files: merged (the same cells: their runs pooled),
    # every cell has its per-operation figures, though the JSON holds no operation counts.
    merged = tmp_path / "merged.json"
    table = subprocess.run(
        [sys.executable, str(BENCH_DIR / "scaling_table.py"), str(a), str(b), "--merged", str(merged)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert table.returncode == 0, table.stderr
    rows = {
        line.split()[0]: line.split()[1:]
        for line in table.stdout.splitlines()
        if line.split() and line.split()[0] in ("gil", "atomic")
    }
    assert rows["gil"] == ["1.00", "1.00"]  # the last table: CPU per op over gil's, T = 1 and 2
    assert all(float(x) > 0 for x in rows["atomic"])
    pooled = pyperf.BenchmarkSuite.load(str(merged)).get_benchmark("fib/atomic/T2/cpu")
    assert len(pooled.get_values()) == 2 * len(cpu.get_values())


def test_fast_mode_and_other_workload() -> None:
    proc = run_bench(
        "--fast",
        "--strategies",
        "biased",
        "--workloads",
        "private",
        "--ops",
        "2000",
        "--threads",
        "1",
        "--min-time",
        "0.002",
        "-w",
        "0",
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "== private" in proc.stdout
    assert "--fast" in proc.stdout
    assert "baseline strategy 'gil' added" in proc.stdout


def test_oversubscription_is_reported() -> None:
    t = hardware.machine_info().usable_cpus + 1
    proc = run_bench("--strategies", "gil", "--threads", str(t), *TINY)
    assert proc.returncode == 0, proc.stderr
    assert "OVERSUBSCRIBED" in proc.stdout
    assert "oversubscribed" in proc.stdout


def test_real_python_and_calibrate(tmp_path: Path) -> None:
    out = tmp_path / "real.json"
    proc = run_bench(
        "--strategies",
        "gil,biased",
        "--workloads",
        "fib,handoff",
        "--ops",
        "20000",
        "--threads",
        "1",
        "--calibrate",
        "--python",
        sys.executable,
        "--output",
        str(out),
        *TINY,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    text = proc.stdout
    assert "== real" in text and "model vs reality" in text and "calibrated work per workload" in text
    assert "predicted" in text and "measured" in text and "fidelity" in text
    assert "'biased+immortal' added" in text  # the model row of free-threaded builds
    table = text[text.index("calibrated work per workload") :]
    assert "fib " in table and "handoff " in table
    names = pyperf.BenchmarkSuite.load(str(out)).get_benchmark_names()
    for w in ("fib", "handoff"):  # self and --python, wall + cpu
        assert sum(n.startswith(f"real-{w}/") for n in names) == 4, names


def test_twins_count_operations_as_the_model_does() -> None:
    for n in (1, 2, 7, 13, 14, 18):  # 14: the first fib whose sum is a fresh int (> 256)
        assert twins.fib_ops(n) == refstrat.run("gil", "fib", 1, fib_n=n).ops
    assert [twins.fib_calls(n) for n in range(6)] == [1, 1, 3, 5, 9, 15]
    import random

    for w in ("private", "shared", "mixed"):
        seq, private = twins._loop_seq(w, random.Random(3))
        assert bool(private) == (w != "shared")
        assert twins._loop(seq, private, 5000) == twins.ops_per_thread(w, 0, 5000)
    # handoff: every object produced is consumed, on the next thread, whatever T.
    import collections
    import threading

    for threads in (1, 2, 3):
        rings = [collections.deque() for _ in range(threads)]
        flags = [False] * threads
        counts = [0] * threads

        def work(i: int) -> None:
            counts[i] = twins._handoff(rings[i], rings[i - 1], flags, i, 700)

        pool = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(60)
        assert counts == [twins.ops_per_thread("handoff", 0, 3500)] * threads
        assert not any(rings)


def test_every_twin_runs() -> None:
    for w in twins.WORKLOADS:
        wall, cpu = twins.run_threads(w, 2, loops=1, fib_n=5, ops=3000)
        assert wall > 0 and cpu >= 0


def _cell(kind: str, w: str, row: str, t: int, cpu: float, ft: bool = False) -> bench.CellResult:
    return bench.CellResult(bench.Cell(kind, w, row, t), cpu, 0.0, cpu, 0.0, 1, 1, free_threaded=ft)


def test_fidelity_divides_out_the_interpreter_speed() -> None:
    report = bench.Report(
        machine=hardware.machine_info(),
        hw_status="",
        baseline="gil",
        workloads=["private", "shared"],
        threads=[1, 2],
        fib_n=1,
        ops=1,
        work=0,
        settings="",
        reference_label="ref",
    )
    model = {
        ("private", 1): (1.0, 1.1),
        ("private", 2): (2.0, 2.2),
        ("shared", 1): (1.0, 2.0),
        ("shared", 2): (2.0, 8.0),
    }
    real = {
        ("private", 1): (10.0, 22.0),
        ("private", 2): (20.0, 44.0),
        ("shared", 1): (10.0, 40.0),
        ("shared", 2): (20.0, 100.0),
    }
    for (w, t), (gil, ft) in model.items():
        report.results += [_cell("model", w, "gil", t, gil), _cell("model", w, "biased+immortal", t, ft)]
    for (w, t), (ref, ft) in real.items():
        report.results += [_cell("real", w, "ref", t, ref), _cell("real", w, "ft", t, ft, ft=True)]
    rows = {(f.workload, f.threads): f for f in bench_report.fidelity(report)}
    assert set(rows) == set(model)
    speed = 2.2 / 1.1  # measured / predicted on private T=1
    assert all(f.speed == pytest.approx(speed) and f.model_row == "biased+immortal" for f in rows.values())
    assert rows["private", 1].calibration_point and not rows["shared", 2].calibration_point
    assert rows["private", 2].error == pytest.approx(0.0)
    assert rows["shared", 1].error == pytest.approx(2.0 / (4.0 / speed) - 1)  # +0%
    assert rows["shared", 2].error == pytest.approx(4.0 / (5.0 / speed) - 1)  # +60%
    [summary] = bench_report.fidelity_summary(list(rows.values()))
    assert summary.startswith("fidelity of biased+immortal for ft")
    assert "worst +60% (shared T=2)" in summary and "2 of 3 cells within 25%" in summary


def test_helpers() -> None:
    assert cli._threads_type("1, 2,2,4") == [1, 2, 4]
    assert cli._assignments_type("fib=12,private=3") == {"fib": 12, "private": 3}
    # Counters are unsupported on most VMs: the probe must answer, never raise.
    status = hardware.probe_status()
    assert status.startswith("unsupported") or status.startswith("readable")
    info = json.loads(json.dumps(twins.interpreter_info()))
    assert info["implementation"] == sys.implementation.name


def test_limit_rows_explain_columns_and_stability_notes() -> None:
    proc = run_bench("--strategies", "biased", "--threads", "1,2", "--explain", *TINY)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    text = proc.stdout
    for needle in (
        "limit+atomic",
        "hand-written C, hardware limit",
        "x limit",
        "CPU ±95%",
        "work per value: one run, as given",
        "timed runs: the unchecked kernel copy",
        "slow %",
        "side KiB cfg/peak",
        "free delay p99 ns",
        "hot objects (fib, T=2",
    ):
        assert needle in text, needle
    # The explain columns sit in a table of their own under the timings, which they would push
    # past a terminal's width.
    detail = text[text.index("from the explain flavour's checked run") :]
    biased = [line for line in detail.splitlines() if line.split()[:2] in (["biased", "1"], ["biased", "2"])]
    assert len(biased) == 2 and all("%" in line for line in biased)
    assert max(len(line) for line in text.splitlines()) <= bench_report.WIDTH


def test_a_row_keeps_to_the_width_and_its_details_go_to_numbered_notes() -> None:
    """Issue 26, item 9: short flags in the row, the details under the table, one number per
    distinct detail; flags that do not fit continue on the next line, in their column."""
    notes = bench_report.Notes()
    long = "x" * 80
    flags = [
        bench_report.Flag("UNSAFE", "lost updates 7 (checked run)"),
        bench_report.Flag("UNSTABLE", "wall"),
        bench_report.Flag("BUSY", "others used 80% of a CPU"),
    ]
    rows = [[long, "1", notes.flags(flags)], [long, "2", notes.flags(flags[1:2])]]
    lines = bench_report.table(["strategy", "T", "flags"], rows, {1})
    assert max(len(line) for line in lines) <= bench_report.WIDTH
    assert lines[2].endswith("UNSAFE¹") and "UNSTABLE²" in lines[3] and lines[-1].endswith("UNSTABLE²")
    assert notes.lines() == [
        "¹ UNSAFE: lost updates 7 (checked run)",
        "² UNSTABLE: wall",
        "³ BUSY: others used 80% of a CPU",
    ]


def test_callgrind_counts_instructions_per_op(monkeypatch: pytest.MonkeyPatch) -> None:
    if callgrind.status():
        pytest.skip(callgrind.status())
    limit = callgrind.instructions_per_op("limit", "fib", {"fib_n": 10})
    model = callgrind.instructions_per_op("speed_of_light", "fib", {"fib_n": 10})
    assert 1 < limit < model < 100  # the hand-written kernel does the same operations with less
    # A burst's timed copy compiles to the limit's loop (rs_burst's compiler barrier): 1.01x here,
    # 1.25x without the barrier, where GCC split every increment into a load, an add and a store.
    private = [callgrind.instructions_per_op(row, "private", {"ops": 100_000}) for row in ("speed_of_light", "limit")]
    assert private[0] < 1.10 * private[1], private
    monkeypatch.setattr(callgrind.shutil, "which", lambda name: None)
    assert callgrind.status().startswith("unsupported: valgrind is not installed")
    with pytest.raises(RuntimeError, match="valgrind is not installed"):
        callgrind.instructions_per_op("limit", "fib", {})


def test_size_cells_gives_a_slow_cell_a_smaller_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell 30x slower than the baseline covers its 50 ms in a smaller fib, never below the
    default depth and never above the matrix's; a cell as fast as the baseline keeps the
    matrix's size; per-operation ratios then compare them."""
    import argparse
    from types import SimpleNamespace

    per_call = {"gil": 1e-9, "locked": 30e-9, "limit": 1e-5}

    def fake(row: str, workload: str, threads: int, kw: dict, check: bool = False, explain: bool = False):
        calls = 1.618 ** kw["fib_n"]
        return SimpleNamespace(cpu_seconds=calls * per_call[row], ops=27 * calls)

    monkeypatch.setattr(measure, "model_once", fake)
    args = argparse.Namespace(fib_n=36, ops=200_000, work=0, work_by={}, size_by={}, unsettled={}, pin=True)
    cells = [bench.Cell("model", "fib", row, 1) for row in per_call]
    bench.size_cells(args, cells)
    assert "fib/gil/T1" not in args.size_by  # the baseline's own size
    n = args.size_by["fib/locked/T1"]
    assert bench.DEFAULT_FIB_N <= n < 36
    assert 1.618**n * per_call["locked"] >= 0.05 > 1.618 ** (n - 1) * per_call["locked"]
    assert args.size_by["fib/limit/T1"] == bench.DEFAULT_FIB_N  # already slow at the floor
    assert bench.cell_size(args, cells[1]) == (n, 200_000)
    # CPU per operation is what the report divides, so a smaller problem changes no ratio.
    base = SimpleNamespace(cpu=2.0, ops=1000)
    small = SimpleNamespace(cpu=0.5, ops=125)
    assert bench_report.per_op_ratio(small, base) == pytest.approx(2.0)


def test_calibrate_times_the_model_on_runs_as_long_as_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    """Asked for fib(20) (a millisecond), the model side still times runs of >= 50 ms of CPU,
    at every work it tries (a dear work must not make its runs seconds long: handoff's calibrated
    runs took seconds each when sized at work 0), and the work it finds matches the interpreter's
    cost per operation."""
    from types import SimpleNamespace

    runs: list[tuple[int, float]] = []  # (work, CPU seconds) of every model run

    def fake(row: str, workload: str, threads: int, kw: dict, check: bool = False, explain: bool = False):
        calls = 1.618 ** kw["fib_n"]
        steady = 1e-9 + 1e-10 * kw["work"]
        per_op = steady + (1e-9 if calls * 27 * steady < 0.01 else 0.0)  # runs under 10 ms dearer
        runs.append((kw["work"], calls * 27 * per_op))
        return SimpleNamespace(cpu_seconds=calls * 27 * per_op, ops=27 * calls)

    twin = {"workloads": {"fib": {"1": {"values": [(0.55, 0.55)] * 5, "ops_per_thread": 50_000_000}}}}
    monkeypatch.setattr(measure, "model_once", fake)
    monkeypatch.setattr(interpreters, "twins_subprocess", lambda *a, **k: twin)
    cal = bench.calibrate("gil", "fib", "python3", 20, 0, True)
    assert cal.model_ns_per_op_at_zero == pytest.approx(1.0)  # the steady cost, not fib(20)'s 2.0
    assert cal.work == pytest.approx(100, abs=3)  # (11 ns/op - 1) / 0.1 ns per spin
    timed = runs[-5:]  # the last secant step's five timed runs
    assert all(w == cal.work and cpu >= 0.05 for w, cpu in timed)
    assert max(cpu for _, cpu in runs) < 0.05 * 1.618 * 1.5  # no run much longer than a value needs


def test_the_chart_gives_each_group_of_rows_its_own_panel() -> None:
    """Issue 26, item 9: the default matrix's 16 rows in panels of at most chart.MAX_LINES."""
    from refstrat.bench import chart

    rows = [s.name for s in refstrat.strategies()] + ["biased+immortal", *bench.REFERENCE_ROWS]
    report = bench.Report(
        machine=hardware.machine_info(),
        hw_status="",
        baseline="gil",
        workloads=["fib"],
        threads=[1],
        fib_n=1,
        ops=1,
        work=0,
        settings="",
        results=[_cell("model", "fib", row, 1, 1.0) for row in rows] + [_cell("real", "fib", "py", 1, 1.0)],
    )
    panels = chart.groups(report, "fib")
    assert [g.title for g in panels][-3:] == ["CPython's layers", "speed of light and limits", "real interpreters"]
    assert sorted(row for g in panels if not g.real for row in g.rows) == sorted(rows)
    assert all(len(g.rows) <= chart.MAX_LINES for g in panels)
    assert {"cpython314t", "biased+immortal", "immortal"} <= set(panels[-3].rows)


def test_an_unsettled_cell_is_flagged_in_its_row() -> None:
    from types import SimpleNamespace

    r = bench.CellResult(
        bench.Cell("model", "fib", "buffered", 2),
        1.0,
        0.0,
        2.0,
        0.0,
        1000,
        3,
        unsettled="cost per operation not shown settled: ...",
    )
    report = SimpleNamespace(machine=SimpleNamespace(usable_cpus=2), baseline="gil")
    assert "UNSETTLED: cost per operation not shown settled: ..." in [
        f.text for f in bench_report.row_flags(r, report, 2)
    ]
    r.unsettled = ""
    assert not any(n.startswith("UNSETTLED") for n in [f.text for f in bench_report.row_flags(r, report, 2)])


def test_a_helper_thread_with_no_cpu_of_its_own_is_flagged(tmp_path: Path) -> None:
    """buffered's commit thread is counted by the runs that time it and carried into the cell;
    where the workers take every CPU the row says that the helper took turns with them; with a
    CPU to spare, or for a scheme with no helper, nothing (more workers than CPUs: oversubscribed)."""
    from types import SimpleNamespace

    import pyperf

    kwargs = {"ops": 4000, "pin": True}
    for task, row in enumerate(("buffered", "atomic")):
        bench.time_model(1, task, row, "private", 2, kwargs, str(tmp_path))
    entries = [measure.read_sidecar(str(tmp_path), task) for task in (0, 1)]
    assert [e[0][0]["helpers"] for e in entries] == [1, 0]

    def one(name: str, value: float) -> pyperf.Benchmark:
        return pyperf.Benchmark([pyperf.Run([value, value], metadata={"name": name}, collect_metadata=False)])

    cell = measure.result_from(bench.Cell("model", "private", "buffered", 2), one("w", 1.0), one("c", 2.0), entries[0])
    assert cell.helpers == 1
    report = SimpleNamespace(machine=SimpleNamespace(usable_cpus=2), baseline="gil")
    flag = "HELPER"
    for threads, helpers, flagged in ((2, 1, True), (1, 1, False), (2, 0, False), (3, 1, False)):
        r = bench.CellResult(
            bench.Cell("model", "private", "buffered", threads), 1.0, 0.0, 2.0, 0.0, 1000, 3, helpers=helpers
        )
        assert any(f.word == flag for f in bench_report.row_flags(r, report, threads)) is flagged, (threads, helpers)
        assert bench_report.helper_on_worker_cpus(r, 2) is flagged


def test_size_cells_keeps_no_size_too_short_for_the_steady_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheme that runs cheaply for a while (buffered on fib: its commit rounds take a run's
    first part to reach their pace) is not sized into the cheap regime, where its cost per
    operation would be a fraction of its steady state's."""
    import argparse
    from types import SimpleNamespace

    def fake(row: str, workload: str, threads: int, kw: dict, check: bool = False, explain: bool = False):
        calls = 1.618 ** kw["fib_n"]
        per_call = 3e-6 if kw["fib_n"] <= 22 else 20e-6  # cheap up to fib(22)
        return SimpleNamespace(cpu_seconds=calls * per_call, ops=27 * calls)

    monkeypatch.setattr(measure, "model_once", fake)
    args = argparse.Namespace(fib_n=36, ops=200_000, work=0, work_by={}, size_by={}, unsettled={}, pin=True)
    bench.size_cells(args, [bench.Cell("model", "fib", "buffered", 1)])
    n = args.size_by["fib/buffered/T1"]
    assert 1.618**21 * 3e-6 >= 0.05  # by time alone: fib(21)
    assert 23 <= n < 36
    # fib(25) already costs 3.4 s of CPU: the check goes no further, and the report is told
    assert n == 25 and "not shown settled" in args.unsettled["fib/buffered/T1"]
