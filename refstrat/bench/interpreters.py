"""Real interpreters: the twins (``twins.py``) on this interpreter's threads or on other
interpreters (``--python PATH``), each run bounded in time and output, and ``--calibrate``, which
matches the model's spin work to the reference interpreter's cost per operation."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import Any

from refstrat.bench import measure, stability, twins
from refstrat.bench.cells import Calibration, Cell, CellResult, Report, is_fib

PYTHON_TIMEOUT = 600.0  # seconds a --python worker may run (every twin, every T, all values)
PYTHON_OUTPUT_CAP = 1 << 20  # bytes of a --python worker's stdout/stderr kept; more kills it
PROBE_TIMEOUT = 30.0  # seconds a --python interpreter gets to start and say what it is
PROBE_OUTPUT_CAP = 1 << 16  # bytes of that answer kept; a program that says more is no interpreter
TWINS_MIN_VERSION = (3, 6)  # twins.py's syntax


def real_label(info: dict[str, Any]) -> str:
    """An interpreter's row label: implementation, version and "t" for a free-threaded build."""
    impl = info.get("implementation", "python")
    ft = "t" if info.get("free_threaded_build") else ""
    return f"{impl}-{info.get('version', '?')}{ft}"


def build_text(info: dict[str, Any]) -> str:
    """Short build text for tables: 'GIL', 'free-threaded' (GIL off) or 'free-threaded, GIL on'."""
    gil = info.get("gil_enabled")
    if info.get("free_threaded_build"):
        return "free-threaded, GIL re-enabled" if gil else "free-threaded"
    return "GIL"


def run_bounded(cmd: list[str], timeout: float, cap: int = PYTHON_OUTPUT_CAP) -> tuple[int, str, str]:
    """Run ``cmd``; return (exit status, stdout, stderr), each stream at most ``cap`` bytes.

    Bounded in time and space: the output goes to temporary files whose size the kernel caps
    (RLIMIT_FSIZE in the child: a write past it fails, or kills the child with SIGXFSZ), and the
    child is killed after ``timeout`` seconds. Either way a RuntimeError says what happened.
    The child leads a process group of its own, killed whole on every way out: a wrapper script
    killed alone would leave what it started running (its `sleep 1000`, its real interpreter)."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(
            cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, preexec_fn=limit, start_new_session=True
        )
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{cmd[0]} did not finish within {timeout:g} s (--python-timeout); killed it") from None
        finally:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # none of it left we may kill
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # Past the cap a write fails (EFBIG) or, where SIGXFSZ is not ignored, kills the child.
        if rc == -signal.SIGXFSZ or max(os.fstat(f.fileno()).st_size for f in (out, err)) >= cap:
            raise RuntimeError(f"{cmd[0]} printed more than {cap} bytes; stopped it")
        texts = []
        for f in (out, err):
            f.seek(0)
            texts.append(f.read(cap).decode(errors="replace"))
        return rc, texts[0], texts[1]


#: The twins, run as a script by other interpreters (standard library only: they lack refstrat).
TWINS_SCRIPT = os.path.abspath(twins.__file__)


def twins_subprocess(path: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run the twins on another interpreter (isolated: no refstrat, no site packages),
    bounded in time and output by :func:`run_bounded`."""
    rc, out, err = run_bounded([path, "-I", TWINS_SCRIPT, json.dumps(spec)], timeout)
    if rc != 0:
        raise RuntimeError(f"{path} failed (exit {rc}): {err.strip()[-500:]}")
    lines = out.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{path} printed no result")
    return json.loads(lines[-1])


_VERSION_PROBE = "import json, sys; print(json.dumps([sys.implementation.name, list(sys.version_info[:3])]))"


def not_a_python(path: str, timeout: float) -> str | None:
    """Why ``path`` cannot run the twins, or None. A one-line program, bounded like the twins
    (:func:`run_bounded`), so that a program that crashes, hangs, says something else or is no
    program at all is refused before the first measurement, not found after the model's cells."""
    try:
        rc, out, err = run_bounded([path, "-I", "-c", _VERSION_PROBE], timeout, PROBE_OUTPUT_CAP)
    except (RuntimeError, OSError) as exc:
        return str(exc)
    if rc != 0:
        return f"exit status {rc}" + (f": {err.strip()[-300:]}" if err.strip() else "")
    try:
        name, version = json.loads(out.strip().splitlines()[-1])
        version = tuple(int(v) for v in version)
    except (ValueError, TypeError, IndexError, RecursionError):
        return f"it printed {out.strip()[:100]!r}, not its version"
    if version < TWINS_MIN_VERSION:
        return (
            f"it is Python {'.'.join(map(str, version))} ({name}); the twins need "
            f"{'.'.join(map(str, TWINS_MIN_VERSION))} or newer"
        )
    return None


def probe_python(path: str, timeout: float = PYTHON_TIMEOUT) -> dict[str, Any]:
    """The interpreter's facts (version, build, GIL state) without measuring anything."""
    return twins_subprocess(
        path,
        {"workloads": [], "threads": [], "values": 0, "warmups": 0, "min_time": 0.0, "fib_n": 1, "ops": 1},
        timeout,
    )


@dataclass
class TwinRows:
    """Another interpreter's real rows: per (workload, T), wall and CPU pyperf benchmarks."""

    info: dict[str, Any]
    benches: dict[tuple[str, int], tuple[Any, Any]]
    ops_per_thread: dict[str, int]


def run_other_python(
    path: str,
    label: str,
    workloads: list[str],
    threads: list[int],
    fib_n: int,
    ops: int,
    processes: int,
    values: int,
    warmups: int,
    min_time: float,
    timeout: float = PYTHON_TIMEOUT,
) -> TwinRows:
    """Measure the twins on another interpreter: one subprocess per pyperf-style "run".

    Those interpreters lack pyperf, so calibration is a simple doubling of loops up to min_time
    inside the script; the values still become pyperf Runs so the JSON and compare_to cover them.
    """
    import pyperf

    spec = {
        "workloads": workloads,
        "threads": threads,
        "values": values,
        "warmups": warmups,
        "min_time": min_time,
        "fib_n": fib_n,
        "ops": ops,
    }
    runs: dict[tuple[str, int], list[tuple[Any, Any]]] = {(w, t): [] for w in workloads for t in threads}
    info: dict[str, Any] = {}
    per_thread: dict[str, int] = {}
    for _ in range(processes):
        info = twins_subprocess(path, spec, timeout)
        for (w, t), pairs in runs.items():
            data = info["workloads"][w][str(t)]
            per_thread[w] = data["ops_per_thread"]
            md = {
                "name": "",
                "loops": data["loops"],
                "unit": "second",
                "python_executable": info["executable"],
                "python_version": info["version"],
                "refstrat_build": build_text(info),
                "refstrat_workload": w,
            }
            name = Cell("real", w, label, t).name
            pairs.append(
                (
                    pyperf.Run(
                        [max(v[0], 1e-12) for v in data["values"]],
                        metadata={**md, "name": name + "/wall"},
                        collect_metadata=False,
                    ),
                    pyperf.Run(
                        [max(v[1], 1e-12) for v in data["values"]],
                        metadata={**md, "name": name + "/cpu"},
                        collect_metadata=False,
                    ),
                )
            )
    benches = {
        k: (pyperf.Benchmark([wr for wr, _ in v]), pyperf.Benchmark([cr for _, cr in v])) for k, v in runs.items()
    }
    return TwinRows(info, benches, per_thread)


def twin_results(rows: TwinRows, label: str) -> list[tuple[CellResult, Any, Any]]:
    """Another interpreter's real rows as results, each with its wall and CPU benchmarks."""
    out = []
    for (w, t), (wb, cb) in rows.benches.items():
        wall, wsd = measure.median_stdev(wb)
        cpu, csd = measure.median_stdev(cb)
        out.append(
            (
                CellResult(
                    Cell("real", w, label, t),
                    wall,
                    wsd,
                    cpu,
                    csd,
                    rows.ops_per_thread[w] * t,
                    len(wb.get_values()),
                    build=build_text(rows.info),
                    free_threaded=bool(rows.info.get("free_threaded_build")),
                    unstable=measure.unstable(wb, cb),
                ),
                wb,
                cb,
            )
        )
    return out


def probe_pythons(
    paths: list[str], report: Report, timeout: float = PYTHON_TIMEOUT
) -> tuple[list[tuple[str, str]], tuple[str, str]]:
    """(path, label) of every usable --python interpreter, and the reference of the measured
    ratios: the first GIL build among them (a free-threaded build's twin), else this interpreter."""
    self_label = real_label(twins.interpreter_info())
    taken = {self_label}
    others: list[tuple[str, str]] = []
    reference: tuple[str, str] | None = None
    for path in paths:
        try:
            info = probe_python(path, timeout)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
            report.notes.append(f"--python {path}: no real rows ({exc})")
            continue
        label = base = real_label(info)  # names must be unique in a suite: number repeats
        k = 2
        while label in taken:
            label, k = f"{base}-{k}", k + 1
        taken.add(label)
        others.append((path, label))
        report.notes.append(
            f"real row {label}: {path} ({info.get('executable')}, Python {info.get('version')}, {build_text(info)})"
        )
        if reference is None and not info.get("free_threaded_build"):
            reference = (path, label)
    if reference is None:
        return others, (sys.executable, self_label)
    report.notes.append(
        f"measured ratios are relative to {reference[1]} ({reference[0]}), the first GIL build given with --python"
    )
    return others, reference


def calibrate(
    baseline: str,
    workload: str,
    reference: str,
    fib_n: int,
    ops: int,
    pin: bool,
    timeout: float = PYTHON_TIMEOUT,
    knobs: dict[str, Any] | None = None,
) -> Calibration:
    """Find ``work`` so that the baseline model's CPU time per operation on 1 thread equals the
    reference interpreter's twin's.

    Model time per operation is close to linear in work (a spin loop), so a few secant steps
    suffice. Minimum of several runs on both sides: the least disturbed measurement of a fixed
    amount of work. The interpreter loops over fib_n / ops for at least 50 ms per value; a model
    run is made as long at every work tried (a larger fib or more operations than asked where
    one run is shorter), for a millisecond's run can read far from the steady cost per
    operation (on the 16-CPU machine, bench/instrument_targets-intel16.txt: 2.05 ns/op at
    fib(20), against 1.02 at fib(30) timed a minute before), and no longer: handoff's runs
    sized at work 0 take seconds at its calibrated work.
    """
    spec = {
        "workloads": [workload],
        "threads": [1],
        "values": 5,
        "warmups": 1,
        "min_time": 0.05,
        "fib_n": fib_n,
        "ops": ops,
    }
    data = twins_subprocess(reference, spec, timeout)["workloads"][workload]["1"]
    real = min(cpu for _, cpu in data["values"]) / data["ops_per_thread"] * 1e9

    def model(work: int) -> float:
        def cpu_at(size: int) -> float:
            kw = measure.sized_kwargs(workload, size, fib_n, ops, work, pin, knobs)
            return measure.model_once(baseline, workload, 1, kw).cpu_seconds

        size = (
            stability.scale_fib_n(cpu_at, fib_n, limit=max(fib_n, 40))
            if is_fib(workload)
            else stability.scale_ops(cpu_at, ops)
        )
        kw = measure.sized_kwargs(workload, size, fib_n, ops, work, pin, knobs)
        runs = (measure.model_once(baseline, workload, 1, kw) for _ in range(5))
        return min(r.cpu_seconds / r.ops for r in runs) * 1e9

    m0 = model(0)
    if m0 >= real:
        return Calibration(workload, real, m0, m0, 0, "the model without extra work is already as slow as Python")
    work = 64 if is_fib(workload) else 4
    m = model(work)
    for _ in range(4):
        slope = (m - m0) / work if work else 0.0
        if slope <= 0:
            break
        work = min(max(0, round((real - m0) / slope)), 10**7)
        m = model(work)
        if abs(m - real) / real < 0.03:
            break
    return Calibration(workload, real, m0, m, work)
