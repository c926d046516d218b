"""``main``: plan the matrix, measure every cell, collect what the runs said, report.

The main process plans (checks, sizes the work, calibrates), then hands each cell to pyperf,
which re-executes ``python -m refstrat.bench`` as worker processes; a worker rebuilds the same
plan from the options the main process forwarded (``cli.forward``) and times only its own cell.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from refstrat.bench import chart, cli, hardware, interpreters, measure, report, sizing, stability, twins
from refstrat.bench.cells import (
    FREE_THREADED_ROW,
    NO_TWIN_WORKLOADS,
    REFERENCE_ROWS,
    Cell,
    CellResult,
    Report,
    is_fib,
    plan_cells,
)
from refstrat.bench.progress import Progress

_ERRORS = (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired)  # an unusable interpreter


@dataclass
class Plan:
    """What the main process settled before the first measurement."""

    args: argparse.Namespace
    report: Report
    cells: list[Cell]
    others: list[tuple[str, str]]  # --python interpreters: (path, row label)
    self_label: str  # this interpreter's row label


@dataclass
class Collected:
    """What the measurements gave: results, and the pyperf benchmarks behind them."""

    results: list[CellResult] = field(default_factory=list)
    benches: list[Any] = field(default_factory=list)  # wall and cpu pyperf benchmarks, for the JSON
    imprecise: list[str] = field(default_factory=list)  # cells where pyperf wants more processes


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m refstrat.bench``: in the main process, the report on stdout
    (and the files asked for); in a pyperf worker, the one benchmark pyperf asked it for.
    Bad options exit with argparse's status 2 before anything is measured."""
    import pyperf

    runner, parser, args = cli.parse(argv)
    if args.worker:
        _serve_worker(runner, args)
        return
    plan = plan_run(parser, args)
    with tempfile.TemporaryDirectory(prefix="refstrat-bench-") as sidecar:
        args.sidecar = sidecar
        collected = measure_plan(runner, plan)
    collect(plan, collected, pyperf.__version__)
    _write_outputs(plan, collected, pyperf.BenchmarkSuite(collected.benches))


def _serve_worker(runner: Any, args: argparse.Namespace) -> None:
    """A pyperf worker: declare every cell in plan order; pyperf times the one it was asked for."""
    self_label = interpreters.real_label(twins.interpreter_info())
    for task, cell in enumerate(plan_cells(args)):
        name, func, fargs, md, _ = _benchmark(args, task, cell, self_label)
        runner.bench_time_func(name + "/wall", func, *fargs, metadata=md)


def _benchmark(
    args: argparse.Namespace, task: int, cell: Cell, self_label: str
) -> tuple[str, Callable[..., float], tuple[Any, ...], dict[str, str], dict[str, Any]]:
    """One cell as pyperf sees it: (name, time function, its arguments, metadata, run() keywords).
    The same in the main process and in every worker, which is what pairs their benchmarks."""
    knobs = measure.knob_settings(args)
    work = sizing.work_of(args, cell.workload)
    if cell.kind == "model":
        fib_n, ops = sizing.cell_size(args, cell)
        kwargs = measure.run_kwargs(cell.workload, fib_n, work, ops, args.pin, knobs)
        func: Callable[..., float] = measure.time_model
        fargs: tuple[Any, ...] = (task, cell.row, cell.workload, cell.threads, kwargs, args.sidecar)
        md = {"refstrat_strategy": cell.row, "refstrat_workload": cell.workload}
    else:
        fib_n, ops, kwargs = args.fib_n, args.ops, {}
        func, fargs = measure.time_real, (task, cell.workload, args.fib_n, args.ops, cell.threads, args.sidecar)
        md = {
            "refstrat_strategy": "real python twin",
            "refstrat_workload": cell.workload,
            "refstrat_build": hardware.gil_description(),
        }
    md.update(
        {
            "refstrat_threads": str(cell.threads),
            "refstrat_fib_n": str(fib_n),
            "refstrat_baseline": args.baseline,
            "refstrat_version": _refstrat_version(),
            "refstrat_work": str(work),
            "refstrat_ops_per_thread": str(ops),
            "refstrat_value": "wall seconds per run; CPU seconds in the /cpu companion",
        }
    )
    md.update({f"refstrat_{name}": str(value) for name, value in knobs.items()})
    name = cell.name.replace("/self/", f"/{self_label}/") if cell.kind == "real" else cell.name
    return name, func, fargs, md, kwargs


def plan_run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> Plan:
    """Check the options, size the work, probe and calibrate against the --python interpreters,
    and lay out the cells; the report's skeleton says what was decided and why."""
    cli.validate_args(parser, args)
    print("sizing the work per value ...", file=sys.stderr, flush=True)
    auto_size = args.fib_n is None and args.ops is None
    work_note = sizing.resolve_work(args)
    if "PYTHONPATH" in os.environ:  # pyperf strips the environment; a source checkout needs it
        args.inherit_environ = [*(args.inherit_environ or []), "PYTHONPATH"]
    rep = _new_report(args, work_note)
    others, reference = interpreters.probe_pythons(args.real_pythons, rep, args.python_timeout)
    if others and FREE_THREADED_ROW not in args.strategies:  # what a free-threaded build is predicted by
        args.strategies = [*args.strategies, FREE_THREADED_ROW]
        rep.notes.append(
            f"strategy {FREE_THREADED_ROW!r} added to the matrix: the model row for free-threaded interpreters"
        )
    if args.calibrate:
        _calibrate(args, rep, reference[0])
    rep.reference_label = reference[1]
    cells = plan_cells(args)
    if auto_size:
        print("sizing each cell ...", file=sys.stderr, flush=True)
        sizing.size_cells(args, cells)
        if args.size_by:
            rep.work_note += sizing.sized_note(args)
    return Plan(args, rep, cells, others, interpreters.real_label(twins.interpreter_info()))


def _new_report(args: argparse.Namespace, work_note: str) -> Report:
    """The report's facts and opening notes, before anything is measured."""
    machine = hardware.machine_info()
    rep = Report(
        machine=machine,
        hw_status=hardware.probe_status(),
        baseline=args.baseline,
        workloads=list(args.workloads),
        threads=list(args.threads),
        fib_n=args.fib_n,
        ops=args.ops,
        work=args.work,
        settings="",
        work_note=work_note,
        explain=args.explain,
    )
    if args.baseline_added:
        rep.notes.append(f"baseline strategy {args.baseline!r} added to the matrix for the ratios")
    knobs = measure.knob_settings(args)
    if knobs:
        rep.notes.append(
            "scheme knobs set: "
            + ", ".join(f"{n}={cli.number(v)}" for n, v in knobs.items())
            + " (the others at the core's defaults, refstrat.knobs())"
        )
    if max(args.threads) > machine.usable_cpus:
        rep.notes.append(
            f"OVERSUBSCRIBED: up to {max(args.threads)} threads on {machine.usable_cpus} usable CPUs; "
            "threads beyond that time-share cores, so wall time includes waiting for a CPU"
        )
    return rep


def _calibrate(args: argparse.Namespace, rep: Report, reference: str) -> None:
    """--calibrate: each workload's model work against the reference interpreter (args.work_by);
    a workload that cannot be calibrated keeps --work, and the report says why."""
    for w in args.workloads:
        print(f"calibrating the {w} model against {reference} ...", file=sys.stderr, flush=True)
        try:
            cal = interpreters.calibrate(
                args.baseline,
                w,
                reference,
                args.fib_n,
                args.ops,
                args.pin,
                args.python_timeout,
                measure.knob_settings(args),
            )
        except _ERRORS as exc:
            rep.notes.append(f"{w}: NOT calibrated, work={args.work} ({exc})")
            continue
        rep.calibrations[w] = cal
        args.work_by[w] = cal.work
    rep.works = dict(args.work_by)


def measure_plan(runner: Any, plan: Plan) -> Collected:
    """Every cell of the plan through pyperf, then the --python interpreters' twins."""
    progress = Progress(len(plan.cells) + len(plan.others))
    collected = Collected()
    for task, cell in enumerate(plan.cells):
        row = cell.row if cell.kind == "model" else "real " + plan.self_label
        progress.begin(f"{cell.workload} {row} T={cell.threads}")
        _measure_cell(runner, plan, task, cell, collected)
        progress.end()
    for path, label in plan.others:
        progress.begin(f"real twins on {path}")
        _measure_other_python(plan, path, label, collected)
        progress.end()
    progress.close()
    return collected


def _measure_cell(runner: Any, plan: Plan, task: int, cell: Cell, collected: Collected) -> None:
    """One cell: its pyperf benchmark, its CPU companion, its flags and its checked run."""
    args = plan.args
    name, func, fargs, md, kwargs = _benchmark(args, task, cell, plan.self_label)
    captured = io.StringIO()
    before = stability.snapshot()
    with contextlib.redirect_stdout(captured):  # pyperf prints a line per benchmark; the report is ours
        wall_bench = runner.bench_time_func(name + "/wall", func, *fargs, metadata=md)
    busy = stability.busy_flag(before, stability.snapshot())
    if "Not enough samples" in captured.getvalue():
        collected.imprecise.append(name)
    entries = measure.read_sidecar(args.sidecar, task)
    cpu_bench = measure.cpu_companion(wall_bench, entries, name + "/cpu")
    collected.benches += [wall_bench, cpu_bench]
    row = plan.self_label if cell.kind == "real" else cell.row
    res = measure.result_from(Cell(cell.kind, cell.workload, row, cell.threads), wall_bench, cpu_bench, entries)
    res.busy = busy
    fib_n, ops = sizing.cell_size(args, cell) if cell.kind == "model" else (args.fib_n, args.ops)
    res.size = fib_n if is_fib(cell.workload) else ops
    res.unsettled = args.unsettled.get(cell.name, "")
    if cell.kind == "model" and cell.row not in REFERENCE_ROWS:
        checked, res.explain = measure.check_cell(cell, kwargs, args.explain)
        if checked:
            res.ok = False
            res.problems = ", ".join(p for p in (res.problems, checked) if p)
    if cell.kind == "real":
        info = twins.interpreter_info()
        res.build = interpreters.build_text(info)
        res.free_threaded = bool(info.get("free_threaded_build"))
    collected.results.append(res)


def _measure_other_python(plan: Plan, path: str, label: str, collected: Collected) -> None:
    """The twins on one --python interpreter; one that fails costs only its own rows."""
    args = plan.args
    try:
        twin_workloads = [w for w in args.workloads if w not in NO_TWIN_WORKLOADS]
        rows = interpreters.run_other_python(
            path,
            label,
            twin_workloads,
            list(args.threads),
            args.fib_n,
            args.ops,
            args.processes,
            args.values,
            args.warmups if args.warmups is not None else 1,
            args.min_time,
            args.python_timeout,
        )
    except _ERRORS as exc:
        plan.report.notes.append(f"--python {path}: no real rows ({exc})")
        return
    for res, wall_bench, cpu_bench in interpreters.twin_results(rows, label):
        collected.results.append(res)
        collected.benches += [wall_bench, cpu_bench]


def collect(plan: Plan, collected: Collected, pyperf_version: str) -> None:
    """Put the results into the report with what was measured beside them (hardware counters,
    callgrind) and the notes that count the flagged cells."""
    args, rep, results = plan.args, plan.report, collected.results
    knobs = measure.knob_settings(args)
    counters = measure.measure_counters(
        [r.cell for r in results if r.cell.kind == "model"],
        lambda w: measure.run_kwargs(w, args.fib_n, sizing.work_of(args, w), args.ops, args.pin, knobs),
    )
    for r in results:
        r.counters = counters.get(r.cell)
    rep.results = results
    if args.callgrind:
        print("counting instructions under callgrind ...", file=sys.stderr, flush=True)
        rep.callgrind_status = measure.measure_callgrind(results, args.pin, knobs)
    warmups = args.warmups if args.warmups is not None else 1
    rep.settings = (
        f"pyperf {pyperf_version}: {args.processes} worker processes x {args.values} values "
        f"(+{warmups} warm-up) per cell, min {args.min_time * 1e3:g} ms per value"
        + (", --fast" if args.fast else "")
        + (", --rigorous" if args.rigorous else "")
    )
    rep.notes += report.flag_counts(rep, len(plan.cells), collected.imprecise)


def _write_outputs(plan: Plan, collected: Collected, suite: Any) -> None:
    """The report on stdout, then the files asked for: --output, --plot, --compare-to's table."""
    args = plan.args
    print(report.format_report(plan.report))
    if args.bench_output:
        _dump_suite(suite, args.bench_output)
        print(f"\npyperf JSON: {args.bench_output}  (python -m pyperf stats / compare_to)")
    if args.plot:
        chart.plot(plan.report, args.plot)
        print(f"charts: {args.plot}")
    if args.compare_to_json:
        _print_comparison(args.compare_to_json, suite, args.bench_output)


def _dump_suite(suite: Any, path: str) -> None:
    """Write the pyperf JSON whole or not at all: an interrupted write leaves no corrupt file."""
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        suite.dump(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _refstrat_version() -> str:
    import refstrat

    return str(getattr(refstrat, "__version__", "unknown"))


def _print_comparison(reference: str, suite: Any, written: str | None) -> None:
    """pyperf's own table of this run's cells against --compare-to's, through its command line
    (its comparison functions read that command line's options and exit on errors)."""
    with tempfile.TemporaryDirectory(prefix="refstrat-bench-") as tmp:
        path = written or os.path.join(tmp, "this-run.json")
        if not written:
            suite.dump(path)
        proc = subprocess.run(
            [sys.executable, "-m", "pyperf", "compare_to", reference, path, "--table"], capture_output=True, text=True
        )
    print(f"\ncompared with {reference} (python -m pyperf compare_to):")
    print((proc.stdout + proc.stderr).rstrip())
