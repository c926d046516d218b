"""Measuring one cell: the pyperf time functions (run inside pyperf's worker processes), the CPU
side files they write, and the results built from pyperf's benchmarks in the main process.

Wall and CPU time come from the same runs: a time function returns the summed
``RunResult.wall_seconds`` (pyperf's ``<cell>/wall``) and appends every call's
``RunResult.cpu_seconds`` to a side file, from which the main process builds the ``<cell>/cpu``
companion with exactly the same runs, warm-ups and loops.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import subprocess
import time
from collections.abc import Callable
from typing import Any

from refstrat.bench import hardware, stability, twins
from refstrat.bench.cells import LIMIT, LIMIT_ATOMIC, SOL, Cell, CellResult, is_fib, split_row

CALLGRIND_WORK = dict(fib_n=16, ops=200_000)  # instruction counts do not need long runs
_PROBLEMS = ("double_frees", "use_after_free", "leaks", "lost_updates")
_SIDECAR_NAME: dict[int, str] = {}


def _sidecar_write(directory: str | None, task: int, entry: dict[str, Any]) -> None:
    """Append one time-function call's numbers; one file per worker process, named in spawn order."""
    if not directory:
        return
    path = _SIDECAR_NAME.get(task)
    if path is None:
        # CLOCK_MONOTONIC is system-wide on Linux, so sorting names sorts worker processes.
        path = os.path.join(directory, f"{task:05d}-{time.monotonic_ns():020d}-{os.getpid()}.jsonl")
        _SIDECAR_NAME[task] = path
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def run_kwargs(
    workload: str, fib_n: int, work: int, ops: int, pin: bool, knobs: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Only the parameters a workload uses, so the core's validation stays meaningful, plus
    the knobs given (``knob_settings``)."""
    if is_fib(workload):
        return {"fib_n": fib_n, "work": work, "pin": pin, **(knobs or {})}
    return {"ops": ops, "work": work, "pin": pin, **(knobs or {})}


def sized_kwargs(
    workload: str, size: int, fib_n: int, ops: int, work: int, pin: bool, knobs: dict[str, Any] | None
) -> dict[str, Any]:
    """run_kwargs of a run of ``size``: the fib depth for fib workloads, else the operations per
    thread (the other of fib_n / ops as given)."""
    fib = is_fib(workload)
    return run_kwargs(workload, size if fib else fib_n, work, ops if fib else size, pin, knobs)


def model_once(
    row: str, workload: str, threads: int, kwargs: dict[str, Any], check: bool = False, explain: bool = False
) -> Any:
    """One run of a model row. Timed calls leave ``check`` off: the unchecked copy only."""
    import refstrat

    if row == SOL:
        return refstrat.speed_of_light(workload, threads, **kwargs)
    if row in (LIMIT, LIMIT_ATOMIC):
        return refstrat.limit(workload, threads, atomic=row == LIMIT_ATOMIC, **kwargs)
    if "+" in row:  # e.g. biased+immortal: the scheme plus layers (PEP 683 immortality, ...)
        base, layers = split_row(row)
        return refstrat.run(base, workload, threads, check=check, explain=explain, **layers, **kwargs)
    return refstrat.run(row, workload, threads, check=check, explain=explain, **kwargs)


def time_model(
    loops: int, task: int, row: str, workload: str, threads: int, kwargs: dict[str, Any], sidecar: str | None
) -> float:
    """pyperf time function: ``loops`` runs; returns summed wall seconds, records CPU seconds."""
    wall = cpu = 0.0
    ops = 0
    pinned = True
    helpers = 0
    problems: dict[str, int] = {}
    for _ in range(loops):
        r = model_once(row, workload, threads, kwargs)
        # The core's own clocks: barrier release to last worker (wall), summed thread CPU clocks.
        wall += r.wall_seconds
        cpu += r.cpu_seconds
        ops = r.ops
        pinned = pinned and bool(getattr(r, "pinned", False))
        helpers = max(helpers, int(getattr(r, "helper_threads", 0)))
        for attr in _PROBLEMS:
            problems[attr] = problems.get(attr, 0) + int(getattr(r, attr, 0) or 0)
    _sidecar_write(
        sidecar,
        task,
        {
            "loops": loops,
            "wall": wall,
            "cpu": cpu,
            "ops": ops,
            "pinned": pinned,
            "helpers": helpers,
            "problems": problems,
        },
    )
    return max(wall, 1e-12)  # pyperf rejects 0; a sub-ns run is below clock resolution anyway


def time_real(loops: int, task: int, workload: str, fib_n: int, ops: int, threads: int, sidecar: str | None) -> float:
    """pyperf time function for the real rows: T Python threads each running the workload's twin."""
    wall, cpu = twins.run_threads(workload, threads, loops, fib_n, ops)
    _sidecar_write(
        sidecar,
        task,
        {"loops": loops, "wall": wall, "cpu": cpu, "ops": twins.ops_per_thread(workload, fib_n, ops) * threads},
    )
    return max(wall, 1e-12)


def cpu_companion(bench: Any, entries_per_run: list[list[dict[str, Any]]], name: str) -> Any:
    """The ``/cpu`` benchmark with the same run structure as the ``/wall`` one. Raises
    RuntimeError where the side files do not match pyperf's runs one for one."""
    import pyperf

    runs = []
    if len(entries_per_run) != len(bench.get_runs()):
        raise RuntimeError(
            f"{name}: {len(entries_per_run)} worker side files for {len(bench.get_runs())} "
            "pyperf runs; were two benchmarks run at once with the same temp dir?"
        )
    for run, entries in zip(bench.get_runs(), entries_per_run):
        nw, nv = len(run.warmups or ()), len(run.values)
        if len(entries) != nw + nv:
            raise RuntimeError(f"{name}: a worker recorded {len(entries)} calls for {nw} warm-ups + {nv} values")
        per_loop = [max(e["cpu"], 1e-12) / e["loops"] for e in entries]
        warmups = [(e["loops"], v) for e, v in zip(entries[:nw], per_loop[:nw])]
        values = per_loop[nw:]
        md = dict(run.get_metadata())
        md["name"] = name
        new = pyperf.Run(values, warmups=warmups or None, metadata=md, collect_metadata=False)
        runs.append(new)
    return pyperf.Benchmark(runs)


def read_sidecar(directory: str, task: int) -> list[list[dict[str, Any]]]:
    """Every side-file entry of ``task``, one list per worker process in spawn order; the files
    are removed once read."""
    files = sorted(glob.glob(os.path.join(directory, f"{task:05d}-*.jsonl")))
    out = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            out.append([json.loads(line) for line in f if line.strip()])
        os.unlink(path)
    return out


def median_stdev(bench: Any) -> tuple[float, float]:
    """A pyperf benchmark's median and standard deviation (0 for a single value)."""
    values = bench.get_values()
    return bench.median(), (bench.stdev() if len(values) > 1 else 0.0)


def result_from(cell: Cell, wall_bench: Any, cpu_bench: Any, entries: list[list[dict[str, Any]]]) -> CellResult:
    """A cell's result from its two benchmarks and the side-file entries behind them."""
    wall, wall_sd = median_stdev(wall_bench)
    cpu, cpu_sd = median_stdev(cpu_bench)
    flat = [e for run in entries for e in run]
    ops = flat[-1]["ops"] if flat else 0
    pinned_values = [e["pinned"] for e in flat if "pinned" in e]
    problems: dict[str, int] = {}
    for e in flat:
        for k, v in e.get("problems", {}).items():
            problems[k] = problems.get(k, 0) + v
    bad = {k: v for k, v in problems.items() if v}
    return CellResult(
        cell=cell,
        wall=wall,
        wall_stdev=wall_sd,
        cpu=cpu,
        cpu_stdev=cpu_sd,
        ops=ops,
        values=len(wall_bench.get_values()),
        cpu_ci=stability.bootstrap_ci(cpu_bench.get_values()),
        pinned=all(pinned_values) if pinned_values else None,
        helpers=max((e.get("helpers", 0) for e in flat), default=0),
        ok=not bad,
        problems=", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(bad.items())),
        unstable=unstable(wall_bench, cpu_bench),
    )


def unstable(wall_bench: Any, cpu_bench: Any) -> str:
    """Why the wall or CPU values of a cell do not hold still, "" when both do."""
    whys = ((kind, stability.instability(b.get_values())) for kind, b in (("wall", wall_bench), ("CPU", cpu_bench)))
    return "; ".join(f"{kind} {why}" for kind, why in whys if why)


def check_cell(cell: Cell, kwargs: dict[str, Any], explain: bool) -> tuple[str, Any]:
    """The cell's separate, untimed checked run (the explain flavour with ``explain``): its
    problems as report text ("" when clean) and its Explain (or None)."""
    r = model_once(cell.row, cell.workload, cell.threads, kwargs, check=True, explain=explain)
    bad = {k: getattr(r, k) for k in (*_PROBLEMS, "premature_frees") if getattr(r, k)}
    return ", ".join(f"{k.replace('_', ' ')} {v} (checked run)" for k, v in bad.items()), r.explain


def measure_counters(cells: list[Cell], kwargs_for: Callable[[str], dict[str, Any]]) -> dict[Cell, dict[str, float]]:
    """One extra run per model cell with hardware counters on; empty where counters are unreadable."""
    cs, _status = hardware.open_counters()
    if cs is None:
        return {}
    out: dict[Cell, dict[str, float]] = {}
    try:
        for cell in cells:
            holder: list[Any] = []
            totals = hardware.count(
                cs, lambda: holder.append(model_once(cell.row, cell.workload, cell.threads, kwargs_for(cell.workload)))
            )
            ops = max(holder[0].ops, 1)
            out[cell] = {k: v / ops for k, v in totals.items()}
    except OSError:
        return out
    finally:
        cs.close()
    return out


def knob_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The knobs given on the command line, as refstrat.run() keywords (the others keep the
    core's defaults)."""
    import refstrat

    return {k.name: getattr(args, k.name) for k in refstrat.knobs() if getattr(args, k.name, None) is not None}


def measure_callgrind(results: list[CellResult], pin: bool, knobs: dict[str, Any] | None = None) -> str:
    """Fill in instructions/op under callgrind for every T=1 model cell; return the report's
    status line (what was counted, or why nothing was)."""
    from refstrat.bench import callgrind

    why = callgrind.status()
    if why:
        return why
    work = ", ".join(f"{k}={v}" for k, v in CALLGRIND_WORK.items())
    for r in results:
        if r.cell.kind == "model" and r.cell.threads == 1:
            kw = run_kwargs(r.cell.workload, CALLGRIND_WORK["fib_n"], 0, CALLGRIND_WORK["ops"], pin, knobs)
            try:
                r.callgrind = callgrind.instructions_per_op(r.cell.row, r.cell.workload, kw)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                return f"unsupported: {exc}"
    return f"{callgrind.LABEL}: T=1 cells, {work}, work=0 (counting, not timing)"
