"""``python -m refstrat.bench``: the benchmark matrix, measured with pyperf.

Every *cell* is one (workload, strategy, thread count).  pyperf does the calibration of loops,
the warm-ups, the worker processes and the statistics; this module only says what one loop is
(one ``refstrat.run(...)``: T threads released by a barrier) and turns the results into the
talk's table and charts.

Wall and CPU time per cell, from the same runs: the pyperf time function returns the summed
``RunResult.wall_seconds`` (so the pyperf benchmark ``<cell>/wall`` is wall seconds per run), and
records ``RunResult.cpu_seconds`` of every call in a small side file.  The main process then
builds a companion benchmark ``<cell>/cpu`` with exactly the same runs, warm-ups and loops, so
both land in the pyperf JSON and ``python -m pyperf compare_to`` compares both.  Measuring CPU
in separate pyperf runs would double the run time and pair the two numbers from different runs.

Rows beside the strategies:

* ``speed_of_light``: ``refstrat.speed_of_light(...)``, the model's kernel with plain increments
  and no checks.
* ``limit`` and ``limit+atomic``: ``refstrat.limit(...)``, a hand-written C kernel per workload
  (plain pointers, plain or lock-prefixed counts): the hardware limit each row is compared to.

* ``--real``: every selected workload's real twin (``_bench_twins.py``: Python programs doing
  what the kernels model) on T threads in this interpreter (through pyperf); ``--python PATH``
  adds other interpreters (subprocesses running ``_bench_twins.py``, because they have neither
  refstrat nor pyperf).
* ``--calibrate``: sets each workload's model ``work`` so that the baseline's CPU time per
  operation on one thread matches the reference interpreter's twin (the first GIL build given
  with ``--python``, else this interpreter); the report then puts the model's predicted CPU
  ratios beside the measured ones, per workload and T, with their error.

Timed runs execute the unchecked kernel copy (``refstrat.run(..., check=False)``); each strategy
cell's correctness comes from one separate, untimed checked run (``--explain``: the explain
flavour, whose counters become extra columns). Unless ``--fib-n``/``--ops`` are given, the work
per run is scaled from a quick probe so that every timed value covers at least 50 ms of CPU.
Each cell reports a bootstrap 95% confidence interval of its median CPU time and is flagged when
other processes or the hypervisor used the machine while it ran (/proc/stat).
"""
from __future__ import annotations

import argparse
import contextlib
import glob
import io
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from refstrat import _bench_hw, _bench_stability, _bench_twins
from refstrat._bench_report import FIB_WORKLOADS

SOL = "speed_of_light"
LIMIT = "limit"
LIMIT_ATOMIC = "limit+atomic"
REFERENCE_ROWS = (SOL, LIMIT, LIMIT_ATOMIC)  # rows that are not strategies: never checked
DEFAULT_FIB_N = 20  # the smallest depth the work scaling starts from
DEFAULT_OPS = 200_000
CALLGRIND_WORK = dict(fib_n=16, ops=200_000)  # instruction counts do not need long runs
DEFAULT_PROCESSES = 4  # pyperf's 20 would take ~10 minutes for the default matrix on 2 cores
DEFAULT_VALUES = 3
DEFAULT_BASELINE = "gil"  # the talk's baseline was the GIL build
IMMORTAL_SUFFIX = "+immortal"  # row "<strategy>+immortal" = run(strategy, immortal=True)
#: The per-object layers a row may add to a strategy, in the order a row names them:
#: "biased+immortal+deferred+sharded" = run("biased", immortal=True, deferred=True, sharded=True)
#: (registered as cpython314t). A strategy's "refuses" says which it cannot take (RS_S_NO_COLLECTED).
LAYER_NAMES = ("immortal", "deferred", "sharded")
FREE_THREADED_ROW = "biased+immortal"  # the model row that stands for CPython 3.13t's scheme
UNBENCHABLE_WORKLOADS = ("trace",)  # needs a refstrat.Trace object, which a CLI cannot express
NO_TWIN_WORKLOADS = ("fib314",)  # no Python twin: a real 3.14 runs fib's twin with this mix itself
PLOT_SUFFIXES = (".png", ".pdf", ".svg")  # what --plot writes (matplotlib picks the format by suffix)
PYTHON_TIMEOUT = 600.0  # seconds a --python worker may run (every twin, every T, all values)
PYTHON_OUTPUT_CAP = 1 << 20  # bytes of a --python worker's stdout/stderr kept; more kills it
PROBE_TIMEOUT = 30.0  # seconds a --python interpreter gets to start and say what it is
PROBE_OUTPUT_CAP = 1 << 16  # bytes of that answer kept; a program that says more is no interpreter
TWINS_MIN_VERSION = (3, 6)  # _bench_twins.py's syntax
REFERENCE_CAP = 256 << 20  # bytes of a --compare-to file read; refstrat's JSON is far smaller


# --------------------------------------------------------------------------------------------
# Data model


@dataclass(frozen=True)
class Cell:
    """One benchmark of the matrix. kind: "model" (a strategy or speed_of_light) or "real"."""

    kind: str
    workload: str
    row: str  # strategy name, "speed_of_light", or an interpreter label for real rows
    threads: int

    @property
    def name(self) -> str:
        prefix = "real-" if self.kind == "real" else ""
        return f"{prefix}{self.workload}/{self.row}/T{self.threads}"


@dataclass
class CellResult:
    """Medians over pyperf's values for one cell, plus what the runs reported about themselves."""

    cell: Cell
    wall: float  # median wall seconds per run (one run = T threads doing the workload once)
    wall_stdev: float
    cpu: float  # median CPU seconds per run, all threads (and helper threads) summed
    cpu_stdev: float
    ops: int  # refcount operations per run (real twins: counted as the model counts them)
    values: int  # pyperf values behind the medians
    pinned: Optional[bool] = None
    ok: bool = True  # False: the strategy lost updates / leaked / double-freed (nonatomic)
    problems: str = ""
    build: str = ""  # real rows: interpreter build description
    free_threaded: bool = False
    counters: Optional[dict[str, float]] = None  # hardware counters per op, where readable
    cpu_ci: tuple[float, float] = (math.nan, math.nan)  # bootstrap 95% CI of the median CPU
    busy: str = ""  # why the machine was not idle while the cell ran, "" when it was
    unstable: str = ""  # why its values do not hold still (wall or CPU), "" when they do
    explain: Any = None  # refstrat.Explain of the cell's checked run (--explain)
    callgrind: Optional[float] = None  # instructions per op under callgrind (--callgrind, T=1)
    size: int = 0  # fib_n (fib) or ops per thread (loops) of this cell's runs (see size_cells)
    unsettled: str = ""  # why its size may be short of its steady state (size_cells), "" when not
    helpers: int = 0  # threads the scheme ran beside the workers (buffered's commit thread)

    @property
    def ns_per_op(self) -> float:
        return self.cpu * 1e9 / self.ops if self.ops else float("nan")


@dataclass
class Calibration:
    """Result of --calibrate for one workload: the spin work (per call for fib, per operation
    otherwise) that makes the baseline model's CPU ns per operation on one thread match the
    reference interpreter's twin."""

    workload: str
    real_ns_per_op: float
    model_ns_per_op_at_zero: float
    model_ns_per_op: float
    work: int
    note: str = ""


@dataclass
class Report:
    """Everything the table printer and the plotter need."""

    machine: _bench_hw.MachineInfo
    hw_status: str
    baseline: str
    workloads: list[str]
    threads: list[int]
    fib_n: int
    ops: int
    work: int
    settings: str
    results: list[CellResult] = field(default_factory=list)
    calibrations: dict[str, Calibration] = field(default_factory=dict)
    works: dict[str, int] = field(default_factory=dict)  # per workload, where calibrated
    notes: list[str] = field(default_factory=list)
    reference_label: str = ""  # the real row that measured ratios are relative to
    work_note: str = ""  # how the work per value was chosen
    explain: bool = False
    callgrind_status: str = ""  # "" (not asked), or what --callgrind measured / why it could not

    def work_for(self, workload: str) -> int:
        return self.works.get(workload, self.work)


# --------------------------------------------------------------------------------------------
# Argument parsing


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def layered_rows(strategies: Sequence[str]) -> list[str]:
    """Every "<strategy>+layer[+layer...]" row: layers in LAYER_NAMES order, none the strategy
    has already (immortal's immortal, cpython314t's three) or refuses (gil, buffered and percpu
    take immortal only)."""
    import refstrat

    rows = {r["name"]: r for r in refstrat._core.builtin_strategies()}
    out: list[str] = []
    for s in strategies:
        row = rows.get(s, {})
        taken = set(row.get("layers", ())) | set(row.get("refuses", ()))
        free = [name for name in LAYER_NAMES if name not in taken]
        for k in range(1, len(free) + 1):
            out += [s + "".join("+" + name for name in combo) for combo in itertools.combinations(free, k)]
    return out


def split_row(row: str) -> tuple[str, dict[str, bool]]:
    """("biased", {"immortal": True, ...}) for "biased+immortal+..."."""
    base, *layers = row.split("+")
    return base, {name: True for name in layers}


def _names_type(valid: Sequence[str], what: str, extra: Sequence[str] = (),
                variants: Sequence[str] = ()) -> Callable[[str], list[str]]:
    """argparse type for a comma-separated list of names drawn from ``valid`` (+ variants, "all")."""

    def parse(text: str) -> list[str]:
        names = _split(text)
        if not names:
            raise argparse.ArgumentTypeError(f"empty {what} list; valid choices: {', '.join(valid)}")
        out: list[str] = []
        for name in names:
            if name == "all":
                out += [v for v in valid if v not in out]
                continue
            if name not in valid and name not in variants:
                hint = f" ({what} {name!r} cannot be run from the CLI)" if name in extra else ""
                more = (f"; or a strategy plus layers, e.g. '{IMMORTAL_SUFFIX}' or "
                        "'+immortal+deferred+sharded'" if variants else "")
                raise argparse.ArgumentTypeError(
                    f"unknown {what} {name!r}{hint}; valid choices: {', '.join(valid)} (or 'all'{more})")
            if name not in out:
                out.append(name)
        return out

    return parse


def _threads_type(text: str) -> list[int]:
    """Comma-separated positive thread counts, e.g. 1,2,4 (duplicates dropped, order kept)."""
    out: list[int] = []
    for part in _split(text) or [""]:
        try:
            value = int(part)
        except ValueError:
            value = 0
        if not 1 <= value <= 1024:
            raise argparse.ArgumentTypeError(
                f"invalid thread count {part!r}: expected integers from 1 to 1024, like 1,2,4")
        if value not in out:
            out.append(value)
    return out


def _work_by_type(text: str) -> dict[str, int]:
    """The workers' calibrated work per workload: "fib=12,private=3" (written by _forward)."""
    out: dict[str, int] = {}
    for part in _split(text):
        name, _, value = part.partition("=")
        out[name] = int(value)
    return out


def _size_by_type(text: str) -> dict[str, int]:
    """The workers' work per cell: "fib/atomic/T2=24,..." (written by _forward)."""
    out: dict[str, int] = {}
    for part in _split(text):
        name, _, value = part.rpartition("=")
        out[name] = int(value)
    return out


def _int_range(lo: int, hi: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {what} {text!r}: expected an integer") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"invalid {what} {value}: must be between {lo} and {hi}")
        return value

    return parse


def _core_names() -> tuple[list[str], list[str]]:
    """Strategy and workload names from the installed core (the single source of truth)."""
    refstrat = _import_refstrat()
    strategies = [s.name for s in refstrat.strategies()]
    workloads = [w.name for w in refstrat.workloads()]
    return strategies, workloads


def _import_refstrat() -> Any:
    try:
        import refstrat
    except ImportError as exc:  # the compiled core is missing: say how to get it
        sys.exit(f"refstrat.bench: cannot import refstrat ({exc}); install it with `pip install -e .`")
    return refstrat


def _knob_flags(name: str) -> list[str]:
    """A knob's options: --log-size, as the other options are spelled, and --log_size as the
    keyword of refstrat.run() is."""
    dashed = "--" + name.replace("_", "-")
    return [dashed] if "_" not in name else [dashed, "--" + name]


def _knob_type(knob: Any) -> Callable[[str], Any]:
    """argparse type for one knob: its kind, within its inclusive range (refstrat.knobs())."""
    flag = _knob_flags(knob.name)[0]

    def parse(text: str) -> Any:
        try:
            value = int(text) if knob.kind == "int" else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid {flag} {text!r}: expected {'an integer' if knob.kind == 'int' else 'a number'}") from None
        if not knob.low <= value <= knob.high:  # NaN fails this too
            raise argparse.ArgumentTypeError(
                f"invalid {flag} {value}: must be between {_number(knob.low)} and {_number(knob.high)}")
        return value

    return parse


def _number(value: float) -> str:
    """An int in full (a knob's high end may be 2**31), a float in short."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def knob_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The knobs given on the command line, as refstrat.run() keywords (the others keep the
    core's defaults)."""
    return {k.name: getattr(args, k.name) for k in _import_refstrat().knobs()
            if getattr(args, k.name, None) is not None}


def build_parser(runner_parser: Optional[argparse.ArgumentParser] = None) -> argparse.ArgumentParser:
    """Our options, added after pyperf's (conflict_handler="resolve" lets ours win on clashes)."""
    strategies, workloads = _core_names()
    benchable = [w for w in workloads if w not in UNBENCHABLE_WORKLOADS]
    p = runner_parser or argparse.ArgumentParser(conflict_handler="resolve")
    p.prog = "python -m refstrat.bench"
    p.description = (
        "Benchmark refcounting strategies (pyperf). Default: every strategy on the fib workload, "
        "1 thread up to the number of CPUs, CPU time relative to the 'gil' strategy.")
    # pyperf's plumbing options (worker protocol, modes refstrat.bench refuses) clutter --help.
    # (Not --tracemalloc/--track-memory: hiding members of a mutually exclusive group trips argparse.)
    hidden = {"pipe", "worker", "worker_task", "calibrate_loops", "recalibrate_loops", "calibrate_warmups",
              "recalibrate_warmups", "compare_to", "python_names", "append",
              "hook", "profile", "debug_single_value"}
    for action in p._actions:
        if action.dest in hidden:
            action.help = argparse.SUPPRESS
    cpus = _bench_hw.machine_info().usable_cpus
    g = p.add_argument_group("refstrat matrix")
    variants = layered_rows(strategies)
    g.add_argument("--strategies", type=_names_type(strategies, "strategy", (), variants),
                   default=list(strategies),
                   help=f"comma-separated strategies, or 'all' (default): {', '.join(strategies)}; "
                        f"'all' can be combined with others; add '{IMMORTAL_SUFFIX}' to a name for the scheme "
                        "plus PEP 683 immortal shared objects (e.g. biased+immortal, as CPython 3.13t ships "
                        "it), and '+deferred', '+sharded' (in that order) for CPython 3.14t's other layers "
                        "(biased+immortal+deferred+sharded is cpython314t)")
    g.add_argument("--workloads", type=_names_type(benchable, "workload", UNBENCHABLE_WORKLOADS),
                   default=["fib"], help=f"comma-separated workloads (default: fib): {', '.join(benchable)}")
    g.add_argument("--threads", type=_threads_type, default=list(range(1, cpus + 1)),
                   help=f"comma-separated thread counts (default: 1..{cpus}, the usable CPUs); "
                        "more threads than CPUs is allowed and flagged in the report")
    g.add_argument("--ops", type=_int_range(1, 10**10, "--ops"), default=None,
                   help="refcount operations per thread for private/shared/mixed/handoff (default: "
                        f"auto, at least {DEFAULT_OPS} and enough for 50 ms of CPU per run)")
    g.add_argument("--fib-n", dest="fib_n", type=_int_range(1, 40, "--fib-n"), default=None,
                   help=f"fib depth per thread, model and --real (default: auto, at least {DEFAULT_FIB_N} "
                        "and enough for 50 ms of CPU per run)")
    g.add_argument("--work", type=_int_range(0, 10**7, "--work"), default=0,
                   help="model: spin iterations of non-refcount work per fib call, or per operation on the "
                        "other workloads (default: 0; see --calibrate)")
    for knob in _import_refstrat().knobs():
        g.add_argument(*_knob_flags(knob.name), dest=knob.name, type=_knob_type(knob), default=None,
                       metavar="INT" if knob.kind == "int" else "X",
                       help=f"{knob.strategy}: {knob.doc} (default: {_number(knob.default)}; "
                            f"{_number(knob.low)} to {_number(knob.high)})")
    g.add_argument("--baseline", choices=strategies, default=DEFAULT_BASELINE, metavar="STRATEGY",
                   help="strategy the CPU-time ratio is relative to (default: gil, the talk's GIL build); "
                        f"one of: {', '.join(strategies)}")
    g.add_argument("--no-pin", dest="pin", action="store_false",
                   help="do not pin worker threads to CPUs")
    g.add_argument("-p", "--processes", "--repeat", dest="processes",
                   type=_int_range(1, 1000, "--repeat"), default=DEFAULT_PROCESSES,
                   help=f"pyperf worker processes per cell, each giving --values values "
                        f"(default: {DEFAULT_PROCESSES}); --fast halves it (min 3), --rigorous doubles it")
    g.add_argument("-o", "--output", dest="bench_output", metavar="FILE.json",
                   help="write all cells as pyperf JSON (readable by `python -m pyperf stats/compare_to`)")
    g.add_argument("--plot", metavar="FILE.png",
                   help="draw the talk's two charts (wall time, CPU time relative to the baseline) with matplotlib")
    g.add_argument("--compare-to", dest="compare_to_json", metavar="REF.json",
                   help="after the report, compare the cells with those of a pyperf JSON file written by "
                        "--output (python -m pyperf compare_to REF.json THIS --table)")
    g.add_argument("--real", action="store_true",
                   help="also run every selected workload's real twin (a Python program doing what the "
                        "model does) on T threads in this interpreter")
    g.add_argument("--python", dest="real_pythons", action="append", default=[], metavar="PATH",
                   help="also run the real twins on this interpreter (repeatable; implies --real); the "
                        "first GIL build given is the reference of the measured ratios")
    g.add_argument("--python-timeout", dest="python_timeout", type=float, default=PYTHON_TIMEOUT,
                   metavar="SECONDS",
                   help=f"give up on a --python worker after this long (default: {PYTHON_TIMEOUT:g}); "
                        f"its output is capped at {PYTHON_OUTPUT_CAP // 1024} KiB")
    g.add_argument("--calibrate", action="store_true",
                   help="set each workload's model work so the baseline's time per operation on one thread "
                        "matches the reference interpreter's twin (implies --real); the report shows "
                        f"predicted vs measured ratios ({FREE_THREADED_ROW} for free-threaded builds)")
    g.add_argument("--explain", action="store_true",
                   help="run each strategy cell's checked run in the explain flavour and add columns: "
                        "slow-path %%, side memory, free-delay p99; plus hot objects for fib/shared/mixed")
    g.add_argument("--callgrind", action="store_true",
                   help="add instructions/op under valgrind --tool=callgrind for the T=1 cells "
                        "(counting, not timing: for machines where perf_event_open is refused)")
    g.add_argument("--sidecar", help=argparse.SUPPRESS)  # worker-only: where CPU seconds go
    g.add_argument("--work-by", dest="work_by", type=_work_by_type, default={},
                   help=argparse.SUPPRESS)  # worker-only: calibrated work per workload
    g.add_argument("--size-by", dest="size_by", type=_size_by_type, default={},
                   help=argparse.SUPPRESS)  # worker-only: fib_n or ops of cells sized on their own
    # pyperf's own --python (run workers on another interpreter) and --compare-to (an
    # interpreter too) are replaced by ours above; keep their attributes so pyperf's argument
    # processing still finds them.
    p.set_defaults(python=sys.executable, output=None, compare_to=None)
    return p


# --------------------------------------------------------------------------------------------
# Measurements (run inside pyperf workers)

_SIDECAR_NAME: dict[int, str] = {}


def _sidecar_write(directory: Optional[str], task: int, entry: dict[str, Any]) -> None:
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


def _run_kwargs(workload: str, fib_n: int, work: int, ops: int, pin: bool,
                knobs: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Only the parameters a workload uses, so the core's validation stays meaningful, plus
    the knobs given (``knob_settings``)."""
    if _is_fib(workload):
        return {"fib_n": fib_n, "work": work, "pin": pin, **(knobs or {})}
    return {"ops": ops, "work": work, "pin": pin, **(knobs or {})}


def _work(args: argparse.Namespace, workload: str) -> int:
    return args.work_by.get(workload, args.work)


def _model_once(row: str, workload: str, threads: int, kwargs: dict[str, Any], check: bool = False,
                explain: bool = False) -> Any:
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


def time_model(loops: int, task: int, row: str, workload: str, threads: int,
               kwargs: dict[str, Any], sidecar: Optional[str]) -> float:
    """pyperf time function: ``loops`` runs; returns summed wall seconds, records CPU seconds."""
    wall = cpu = 0.0
    ops = 0
    pinned = True
    helpers = 0
    problems: dict[str, int] = {}
    for _ in range(loops):
        r = _model_once(row, workload, threads, kwargs)
        # The core's own clocks: barrier release to last worker (wall), summed thread CPU clocks.
        wall += r.wall_seconds
        cpu += r.cpu_seconds
        ops = r.ops
        pinned = pinned and bool(getattr(r, "pinned", False))
        helpers = max(helpers, int(getattr(r, "helper_threads", 0)))
        for attr in ("double_frees", "use_after_free", "leaks", "lost_updates"):
            problems[attr] = problems.get(attr, 0) + int(getattr(r, attr, 0) or 0)
    _sidecar_write(sidecar, task, {"loops": loops, "wall": wall, "cpu": cpu, "ops": ops,
                                   "pinned": pinned, "helpers": helpers, "problems": problems})
    return max(wall, 1e-12)  # pyperf rejects 0; a sub-ns run is below clock resolution anyway


def time_real(loops: int, task: int, workload: str, fib_n: int, ops: int, threads: int,
              sidecar: Optional[str]) -> float:
    """pyperf time function for the real rows: T Python threads each running the workload's twin."""
    wall, cpu = _bench_twins.run_threads(workload, threads, loops, fib_n, ops)
    _sidecar_write(sidecar, task, {"loops": loops, "wall": wall, "cpu": cpu,
                                   "ops": _bench_twins.ops_per_thread(workload, fib_n, ops) * threads})
    return max(wall, 1e-12)


# --------------------------------------------------------------------------------------------
# Turning pyperf benchmarks into results


def _cpu_companion(bench: Any, entries_per_run: list[list[dict[str, Any]]], name: str) -> Any:
    """Build the ``/cpu`` benchmark with the same run structure as the ``/wall`` one."""
    import pyperf

    runs = []
    if len(entries_per_run) != len(bench.get_runs()):
        raise RuntimeError(f"{name}: {len(entries_per_run)} worker side files for {len(bench.get_runs())} "
                           "pyperf runs; were two benchmarks run at once with the same temp dir?")
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


def _read_sidecar(directory: str, task: int) -> list[list[dict[str, Any]]]:
    files = sorted(glob.glob(os.path.join(directory, f"{task:05d}-*.jsonl")))
    out = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            out.append([json.loads(line) for line in f if line.strip()])
        os.unlink(path)
    return out


def _median_stdev(bench: Any) -> tuple[float, float]:
    values = bench.get_values()
    return bench.median(), (bench.stdev() if len(values) > 1 else 0.0)


def _result_from(cell: Cell, wall_bench: Any, cpu_bench: Any,
                 entries: list[list[dict[str, Any]]]) -> CellResult:
    wall, wall_sd = _median_stdev(wall_bench)
    cpu, cpu_sd = _median_stdev(cpu_bench)
    flat = [e for run in entries for e in run]
    ops = flat[-1]["ops"] if flat else 0
    pinned_values = [e["pinned"] for e in flat if "pinned" in e]
    problems: dict[str, int] = {}
    for e in flat:
        for k, v in e.get("problems", {}).items():
            problems[k] = problems.get(k, 0) + v
    bad = {k: v for k, v in problems.items() if v}
    return CellResult(
        cell=cell, wall=wall, wall_stdev=wall_sd, cpu=cpu, cpu_stdev=cpu_sd, ops=ops,
        values=len(wall_bench.get_values()), cpu_ci=_bench_stability.bootstrap_ci(cpu_bench.get_values()),
        pinned=all(pinned_values) if pinned_values else None,
        helpers=max((e.get("helpers", 0) for e in flat), default=0),
        ok=not bad, problems=", ".join(f"{k.replace('_', ' ')} {v}" for k, v in sorted(bad.items())),
        unstable=_unstable(wall_bench, cpu_bench))


def _unstable(wall_bench: Any, cpu_bench: Any) -> str:
    whys = ((kind, _bench_stability.instability(b.get_values())) for kind, b in
            (("wall", wall_bench), ("CPU", cpu_bench)))
    return "; ".join(f"{kind} {why}" for kind, why in whys if why)


# --------------------------------------------------------------------------------------------
# Other interpreters, calibration, counters (main process only)


def _real_label(info: dict[str, Any]) -> str:
    impl = info.get("implementation", "python")
    ft = "t" if info.get("free_threaded_build") else ""
    return f"{impl}-{info.get('version', '?')}{ft}"


def _build_text(info: dict[str, Any]) -> str:
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
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err, preexec_fn=limit,
                                start_new_session=True)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{cmd[0]} did not finish within {timeout:g} s (--python-timeout); killed it")
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


_TWINS_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bench_twins.py")


def _twins_subprocess(path: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run _bench_twins.py on another interpreter (isolated: no refstrat, no site packages),
    bounded in time and output by :func:`run_bounded`."""
    rc, out, err = run_bounded([path, "-I", _TWINS_SCRIPT, json.dumps(spec)], timeout)
    if rc != 0:
        raise RuntimeError(f"{path} failed (exit {rc}): {err.strip()[-500:]}")
    lines = out.strip().splitlines()
    if not lines:
        raise RuntimeError(f"{path} printed no result")
    return json.loads(lines[-1])


_VERSION_PROBE = "import json, sys; print(json.dumps([sys.implementation.name, list(sys.version_info[:3])]))"


def not_a_python(path: str, timeout: float) -> Optional[str]:
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
        return (f"it is Python {'.'.join(map(str, version))} ({name}); the twins need "
                f"{'.'.join(map(str, TWINS_MIN_VERSION))} or newer")
    return None


def probe_python(path: str, timeout: float = PYTHON_TIMEOUT) -> dict[str, Any]:
    """The interpreter's facts (version, build, GIL state) without measuring anything."""
    return _twins_subprocess(path, {"workloads": [], "threads": [], "values": 0, "warmups": 0,
                                    "min_time": 0.0, "fib_n": 1, "ops": 1}, timeout)


@dataclass
class TwinRows:
    """Another interpreter's real rows: per (workload, T), wall and CPU pyperf benchmarks."""

    info: dict[str, Any]
    benches: dict[tuple[str, int], tuple[Any, Any]]
    ops_per_thread: dict[str, int]


def run_other_python(path: str, label: str, workloads: list[str], threads: list[int], fib_n: int, ops: int,
                     processes: int, values: int, warmups: int, min_time: float,
                     timeout: float = PYTHON_TIMEOUT) -> TwinRows:
    """Measure the twins on another interpreter: one subprocess per pyperf-style "run".

    Those interpreters lack pyperf, so calibration is a simple doubling of loops up to min_time
    inside the script; the values still become pyperf Runs so the JSON and compare_to cover them.
    """
    import pyperf

    spec = {"workloads": workloads, "threads": threads, "values": values, "warmups": warmups,
            "min_time": min_time, "fib_n": fib_n, "ops": ops}
    runs: dict[tuple[str, int], list[tuple[Any, Any]]] = {(w, t): [] for w in workloads for t in threads}
    info: dict[str, Any] = {}
    per_thread: dict[str, int] = {}
    for _ in range(processes):
        info = _twins_subprocess(path, spec, timeout)
        for (w, t), pairs in runs.items():
            data = info["workloads"][w][str(t)]
            per_thread[w] = data["ops_per_thread"]
            md = {"name": "", "loops": data["loops"], "unit": "second",
                  "python_executable": info["executable"], "python_version": info["version"],
                  "refstrat_build": _build_text(info), "refstrat_workload": w}
            name = Cell("real", w, label, t).name
            pairs.append((
                pyperf.Run([max(v[0], 1e-12) for v in data["values"]], metadata={**md, "name": name + "/wall"},
                           collect_metadata=False),
                pyperf.Run([max(v[1], 1e-12) for v in data["values"]], metadata={**md, "name": name + "/cpu"},
                           collect_metadata=False)))
    benches = {k: (pyperf.Benchmark([wr for wr, _ in v]), pyperf.Benchmark([cr for _, cr in v]))
               for k, v in runs.items()}
    return TwinRows(info, benches, per_thread)


def _probe_pythons(paths: list[str], report: Report,
                   timeout: float = PYTHON_TIMEOUT) -> tuple[list[tuple[str, str]], tuple[str, str]]:
    """(path, label) of every usable --python interpreter, and the reference of the measured
    ratios: the first GIL build among them (a free-threaded build's twin), else this interpreter."""
    self_label = _real_label(_bench_twins.interpreter_info())
    taken = {self_label}
    others: list[tuple[str, str]] = []
    reference: Optional[tuple[str, str]] = None
    for path in paths:
        try:
            info = probe_python(path, timeout)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as exc:
            report.notes.append(f"--python {path}: no real rows ({exc})")
            continue
        label = base = _real_label(info)  # names must be unique in a suite: number repeats
        k = 2
        while label in taken:
            label, k = f"{base}-{k}", k + 1
        taken.add(label)
        others.append((path, label))
        report.notes.append(f"real row {label}: {path} ({info.get('executable')}, Python {info.get('version')}, "
                            f"{_build_text(info)})")
        if reference is None and not info.get("free_threaded_build"):
            reference = (path, label)
    if reference is None:
        return others, (sys.executable, self_label)
    report.notes.append(f"measured ratios are relative to {reference[1]} ({reference[0]}), the first GIL build "
                        "given with --python")
    return others, reference


def calibrate(baseline: str, workload: str, reference: str, fib_n: int, ops: int, pin: bool,
              timeout: float = PYTHON_TIMEOUT, knobs: Optional[dict[str, Any]] = None) -> Calibration:
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
    spec = {"workloads": [workload], "threads": [1], "values": 5, "warmups": 1, "min_time": 0.05,
            "fib_n": fib_n, "ops": ops}
    data = _twins_subprocess(reference, spec, timeout)["workloads"][workload]["1"]
    real = min(cpu for _, cpu in data["values"]) / data["ops_per_thread"] * 1e9
    def model(work: int) -> float:
        def cpu_at(size: int) -> float:
            return _model_once(baseline, workload, 1, _sized_kwargs(workload, size, fib_n, ops, work, pin,
                                                                    knobs)).cpu_seconds

        size = (_bench_stability.scale_fib_n(cpu_at, fib_n, limit=max(fib_n, 40)) if _is_fib(workload)
                else _bench_stability.scale_ops(cpu_at, ops))
        kw = _sized_kwargs(workload, size, fib_n, ops, work, pin, knobs)
        return min(r.cpu_seconds / r.ops for r in (_model_once(baseline, workload, 1, kw) for _ in range(5))) * 1e9

    m0 = model(0)
    if m0 >= real:
        return Calibration(workload, real, m0, m0, 0, "the model without extra work is already as slow as Python")
    work = 64 if _is_fib(workload) else 4
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


def resolve_work(args: argparse.Namespace) -> str:
    """Fill in --fib-n / --ops left to "auto" so that one baseline run at T=1 costs at least
    50 ms of CPU (probing the unchecked copy); return the report's note on the work per value."""
    def cpu(workload: str, fib_n: int, ops: int) -> float:
        kw = _run_kwargs(workload, fib_n, args.work, ops, args.pin, knob_settings(args))
        return min(_model_once(args.baseline, workload, 1, kw).cpu_seconds for _ in range(2))

    auto = []
    if args.fib_n is None:
        fibs = [w for w in args.workloads if _is_fib(w)]
        args.fib_n = (max(_bench_stability.scale_fib_n(lambda n, w=w: cpu(w, n, DEFAULT_OPS), DEFAULT_FIB_N)
                          for w in fibs) if fibs else DEFAULT_FIB_N)
        auto.append(f"fib_n={args.fib_n}")
    loops = [w for w in args.workloads if not _is_fib(w)]
    if args.ops is None:
        args.ops = max([_bench_stability.scale_ops(lambda o, w=w: cpu(w, DEFAULT_FIB_N, o), DEFAULT_OPS)
                        for w in loops] or [DEFAULT_OPS])
        if loops:
            auto.append(f"ops={args.ops}")
    probe = {w: cpu(w, args.fib_n, args.ops) for w in args.workloads}
    work = ", ".join(f"{w} {v * 1e3:.3g} ms" for w, v in probe.items())
    how = (f"scaled ({', '.join(auto)}) so that a value covers >= "
           f"{_bench_stability.MIN_WORK_SECONDS * 1e3:.0f} ms of CPU" if auto else "as given")
    return f"work per value: one run, {how}; {args.baseline} at T=1 costs {work} of CPU per run"


def cell_size(args: argparse.Namespace, cell: Cell) -> tuple[int, int]:
    """(fib_n, ops per thread) of one cell: its own where size_cells() gave it one."""
    n = args.size_by.get(cell.name)
    if n is None:
        return args.fib_n, args.ops
    return (n, args.ops) if _is_fib(cell.workload) else (args.fib_n, n)


def _sized_kwargs(workload: str, size: int, fib_n: int, ops: int, work: int, pin: bool,
                  knobs: Optional[dict[str, Any]]) -> dict[str, Any]:
    """_run_kwargs of a run of ``size``: the fib depth for fib workloads, else the operations per
    thread (the other of fib_n / ops as given)."""
    fib = _is_fib(workload)
    return _run_kwargs(workload, size if fib else fib_n, work, ops if fib else size, pin, knobs)


def _is_fib(workload: str) -> bool:
    return workload in FIB_WORKLOADS


def size_cells(args: argparse.Namespace, cells: list[Cell]) -> None:
    """Give each model cell the least work (down to the defaults) whose run still costs
    MIN_WORK_SECONDS of CPU, up to the matrix's: a cell 30x slower than the baseline covers its
    50 ms in a smaller problem, not in 30x the time. The per-operation figures compared are then
    those of different sizes, so a smaller size is kept only where the cell's cost per operation
    has settled there (_bench_stability.settled_size): buffered on fib costs about 6 ns/op at
    fib(18-20) and 12-13 at fib(28-30), its commit rounds taking a run's first part to reach
    their pace (bench/RESULTS.md). Where that check stopped at its cost ceiling after the cost
    had risen, args.unsettled says so for the report."""
    for cell in cells:
        if cell.kind != "model":
            continue
        fib = _is_fib(cell.workload)

        def probe(size: int, cell: Cell = cell) -> tuple[float, float]:
            kw = _sized_kwargs(cell.workload, size, args.fib_n, args.ops, _work(args, cell.workload), args.pin,
                               knob_settings(args))
            r = min((_model_once(cell.row, cell.workload, cell.threads, kw) for _ in range(2)),
                    key=lambda r: r.cpu_seconds)
            return r.cpu_seconds, r.cpu_seconds / max(r.ops, 1)

        cap = args.fib_n if fib else args.ops
        if fib:
            size = _bench_stability.scale_fib_n(lambda n: probe(n)[0], min(DEFAULT_FIB_N, cap), limit=cap)
            size, why = _bench_stability.settled_size(probe, size, cap, lambda n: n + 4,
                                                      lambda n, m: _bench_stability.FIB_RATIO ** (m - n))
        else:
            size = _bench_stability.scale_ops(lambda o: probe(o)[0], min(DEFAULT_OPS, cap), limit=cap)
            size, why = _bench_stability.settled_size(probe, size, cap, lambda o: o * 4, lambda o, p: p / o)
        if size != cap:
            args.size_by[cell.name] = size
        if why:
            args.unsettled[cell.name] = why


def check_cell(cell: Cell, kwargs: dict[str, Any], explain: bool) -> tuple[str, Any]:
    """The cell's separate, untimed checked run (the explain flavour with ``explain``): its
    problems as report text ("" when clean) and its Explain (or None)."""
    r = _model_once(cell.row, cell.workload, cell.threads, kwargs, check=True, explain=explain)
    bad = {k: getattr(r, k) for k in ("double_frees", "use_after_free", "leaks", "lost_updates",
                                      "premature_frees") if getattr(r, k)}
    return ", ".join(f"{k.replace('_', ' ')} {v} (checked run)" for k, v in bad.items()), r.explain


def measure_callgrind(results: list[CellResult], pin: bool, knobs: Optional[dict[str, Any]] = None) -> str:
    """instructions/op under callgrind for every T=1 model cell; the report's status line."""
    from refstrat import _bench_callgrind

    why = _bench_callgrind.status()
    if why:
        return why
    work = ", ".join(f"{k}={v}" for k, v in CALLGRIND_WORK.items())
    for r in results:
        if r.cell.kind == "model" and r.cell.threads == 1:
            kw = _run_kwargs(r.cell.workload, CALLGRIND_WORK["fib_n"], 0, CALLGRIND_WORK["ops"], pin, knobs)
            try:
                r.callgrind = _bench_callgrind.instructions_per_op(r.cell.row, r.cell.workload, kw)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                return f"unsupported: {exc}"
    return f"{_bench_callgrind.LABEL}: T=1 cells, {work}, work=0 (counting, not timing)"


def measure_counters(cells: list[Cell], kwargs_for: Callable[[str], dict[str, Any]]) -> dict[Cell, dict[str, float]]:
    """One extra run per model cell with hardware counters on; empty where counters are unreadable."""
    cs, _status = _bench_hw.open_counters()
    if cs is None:
        return {}
    out: dict[Cell, dict[str, float]] = {}
    try:
        for cell in cells:
            holder: list[Any] = []
            totals = _bench_hw.count(cs, lambda: holder.append(
                _model_once(cell.row, cell.workload, cell.threads, kwargs_for(cell.workload))))
            ops = max(holder[0].ops, 1)
            out[cell] = {k: v / ops for k, v in totals.items()}
    except OSError:
        return out
    finally:
        cs.close()
    return out


# --------------------------------------------------------------------------------------------
# Progress


class Progress:
    """rich if installed, else tqdm, else plain lines on stderr (stdout is for the report)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.done = 0
        self.start = time.monotonic()
        self._rich = self._tqdm = None
        if not sys.stderr.isatty():
            return  # no bars in logs and pipes: plain lines read better there
        try:
            from rich.progress import Progress as RichProgress
            from rich.console import Console

            self._rich = RichProgress(console=Console(stderr=True), transient=False)
            self._rich.start()
            self._task = self._rich.add_task("benchmarks", total=total)
            return
        except ImportError:
            pass
        try:
            from tqdm import tqdm

            self._tqdm = tqdm(total=total, file=sys.stderr, unit="cell")
        except ImportError:
            pass

    def begin(self, label: str) -> None:
        if self._rich is not None:
            self._rich.update(self._task, description=label)
        elif self._tqdm is not None:
            self._tqdm.set_description(label)
        else:
            print(f"[{self.done + 1:>3}/{self.total}] {label} ...", file=sys.stderr, flush=True)

    def end(self) -> None:
        self.done += 1
        if self._rich is not None:
            self._rich.advance(self._task)
        elif self._tqdm is not None:
            self._tqdm.update(1)

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
        elif self._tqdm is not None:
            self._tqdm.close()
        print(f"done: {self.done} benchmarks in {time.monotonic() - self.start:.0f} s", file=sys.stderr)


# --------------------------------------------------------------------------------------------
# Main


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


def plan_cells(args: argparse.Namespace) -> list[Cell]:
    """The deterministic order of benchmarks; workers rebuild exactly this list from their options."""
    rows = [*args.strategies, *REFERENCE_ROWS]
    cells = [Cell("model", w, s, t) for w in args.workloads for s in rows for t in args.threads]
    if args.real:
        cells += [Cell("real", w, "self", t) for w in args.workloads if w not in NO_TWIN_WORKLOADS
                  for t in args.threads]
    return cells


def _forward(cmd: list[str], args: argparse.Namespace) -> None:
    """pyperf add_cmdline_args hook: give workers the resolved matrix (and the calibrated work)."""
    cmd.extend([f"--strategies={','.join(args.strategies)}", f"--workloads={','.join(args.workloads)}",
                f"--threads={','.join(map(str, args.threads))}", f"--ops={args.ops}",
                f"--fib-n={args.fib_n}", f"--work={args.work}", f"--baseline={args.baseline}",
                f"--sidecar={args.sidecar}"])
    if args.work_by:
        cmd.append("--work-by=" + ",".join(f"{w}={n}" for w, n in args.work_by.items()))
    if args.size_by:
        cmd.append("--size-by=" + ",".join(f"{c}={n}" for c, n in args.size_by.items()))
    cmd.extend(f"{_knob_flags(name)[0]}={value!r}" for name, value in knob_settings(args).items())
    if not args.pin:
        cmd.append("--no-pin")
    if args.real:
        cmd.append("--real")


def _check_main_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks that only matter where results are written (not in workers)."""
    # pyperf options that change what a value means or who writes the file: our /cpu companions
    # and the report rely on one wall-time value per call, and on writing the suite ourselves.
    for opt, used in (("--append", args.append), ("--tracemalloc", args.tracemalloc),
                      ("--track-memory", args.track_memory)):
        if used:
            parser.error(f"pyperf option {opt} is not supported by refstrat.bench; use --output FILE.json "
                         "and `python -m pyperf compare_to A.json B.json`, or --python PATH for interpreters")
    named = [(opt, path) for opt, path in (("--output", args.bench_output), ("--plot", args.plot),
                                            ("--compare-to", args.compare_to_json)) if path]
    for (opt, path), (opt2, path2) in itertools.combinations(named, 2):
        if _same_file(path, path2):
            parser.error(f"{opt} {path!r} and {opt2} {path2!r} name the same file; the run would write over it")
    for opt, path in (("--output", args.bench_output), ("--plot", args.plot)):
        if path is not None:
            problem = _unwritable(path, may_exist=opt == "--plot")
            if problem:
                parser.error(f"{opt} {path!r}: {problem}")
    if args.bench_output is not None and os.path.splitext(args.bench_output)[1].lower() != ".json":
        parser.error(f"--output {args.bench_output!r}: the file name must end in .json (it receives pyperf JSON)")
    if args.plot is not None and os.path.splitext(args.plot)[1].lower() not in PLOT_SUFFIXES:
        parser.error(f"--plot {args.plot!r}: the file name must end in one of {', '.join(PLOT_SUFFIXES)}")
    if args.compare_to_json is not None:
        problem = _not_a_reference(args.compare_to_json, plan_cells(args))
        if problem:
            parser.error(f"--compare-to {args.compare_to_json!r}: {problem}")
    if not (math.isfinite(args.min_time) and args.min_time > 0):
        parser.error(f"--min-time must be a positive number of seconds, got {args.min_time}")
    if args.affinity is not None:
        _check_affinity(parser, args.affinity)
    if not 1 <= args.python_timeout <= 86400:
        parser.error(f"--python-timeout must be in [1, 86400] seconds, got {args.python_timeout}")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            parser.error("--plot needs matplotlib, an optional extra: pip install 'refstrat[plot]'")
    for path in args.real_pythons:
        if not (shutil.which(path) or (os.path.isfile(path) and os.access(path, os.X_OK))):
            parser.error(f"--python {path}: not an executable interpreter")
        why = not_a_python(path, min(args.python_timeout, PROBE_TIMEOUT))
        if why:
            parser.error(f"--python {path}: not a usable Python interpreter ({why})")
    # Strategies the matrix cannot run (e.g. a workload that needs >= 2 threads) fail here, in
    # milliseconds, rather than deep inside a pyperf worker.
    for w in args.workloads:
        for t in args.threads:
            try:
                _model_once(args.baseline, w, t, _run_kwargs(w, 2, 0, 64, args.pin, knob_settings(args)))
            except (ValueError, TypeError) as exc:
                parser.error(f"workload {w!r} with {t} threads: {exc}")


def _same_file(a: str, b: str) -> bool:
    """Whether two spellings name one file: through relative parts, symlinks or hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist yet: only its spelling could have named the other
        return False


def _not_a_reference(path: str, cells: list[Cell]) -> Optional[str]:
    """Why ``path`` cannot be --compare-to's reference, or None: a pyperf JSON file (as --output
    writes) with a cell of this matrix, read before the run rather than after it."""
    import pyperf

    if not path:
        return "empty file name"
    if not os.path.exists(path):
        return "no such file"
    if os.path.isdir(path):
        return "is a directory; give a pyperf JSON file written by --output"
    if not os.path.isfile(path):  # a FIFO or a device would block the read or never end it
        return "not a regular file"
    if not os.access(path, os.R_OK):
        return "not readable"
    if os.path.getsize(path) > REFERENCE_CAP:
        return f"larger than {REFERENCE_CAP >> 20} MiB; not a file refstrat.bench wrote"
    try:
        suite = pyperf.BenchmarkSuite.load(path)
    except Exception as exc:  # pyperf's loader meets a malformed file with whatever it trips on
        return f"not a pyperf JSON file ({type(exc).__name__}: {str(exc)[:200]})"
    theirs = {name.rpartition("/")[0] for name in suite.get_benchmark_names()}
    if not theirs & {cell.name for cell in cells}:
        return f"no cell in common with this matrix (it holds {_some(sorted(theirs))})"
    return None


def _print_comparison(reference: str, suite: Any, written: Optional[str]) -> None:
    """pyperf's own table of this run's cells against --compare-to's, through its command line
    (its comparison functions read that command line's options and exit on errors)."""
    with tempfile.TemporaryDirectory(prefix="refstrat-bench-") as tmp:
        path = written or os.path.join(tmp, "this-run.json")
        if not written:
            suite.dump(path)
        proc = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", reference, path, "--table"],
                              capture_output=True, text=True)
    print(f"\ncompared with {reference} (python -m pyperf compare_to):")
    print((proc.stdout + proc.stderr).rstrip())


def _unwritable(path: str, *, may_exist: bool) -> Optional[str]:
    """Why ``path`` cannot receive a file written after the run, or None. Tried for real (a
    probe file created and removed), so that a run never ends in a write that fails."""
    if not path:
        return "empty file name"
    if os.path.isdir(path):
        return "is a directory; give a file name"
    if os.path.lexists(path):
        if not may_exist:
            return "file exists (pyperf never overwrites results; remove it or pick another name)"
        if not os.path.isfile(path) or not os.access(path, os.W_OK):
            return "exists and is not a writable regular file"
        return None
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        return f"directory {parent} does not exist"
    try:
        with open(path, "x"):
            pass
        os.remove(path)
    except OSError as exc:
        return f"cannot be written ({exc.strerror or exc})"
    return None


def _check_affinity(parser: argparse.ArgumentParser, text: str) -> None:
    """pyperf's --affinity CPU list: well formed, and only CPUs this process may run on."""
    from pyperf._cpu_utils import parse_cpu_list

    try:
        cpus = parse_cpu_list(text)
    except ValueError:
        cpus = None
    if not cpus:
        parser.error(f"--affinity {text!r}: expected a CPU list such as 0,2-3")
    usable = sorted(os.sched_getaffinity(0))
    bad = [c for c in cpus if c not in usable]
    if bad:
        parser.error(f"--affinity {text!r}: CPU(s) {', '.join(map(str, bad))} not usable here; "
                     f"usable: {', '.join(map(str, usable))}")


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Entry point of ``python -m refstrat.bench``."""
    import pyperf

    parser = argparse.ArgumentParser(conflict_handler="resolve")
    runner = pyperf.Runner(processes=DEFAULT_PROCESSES, values=DEFAULT_VALUES, _argparser=parser,
                           program_args=("-m", "refstrat.bench"), add_cmdline_args=_forward)
    build_parser(parser)
    args = runner.parse_args(list(argv) if argv is not None else None)
    worker = bool(args.worker)
    args.unsettled = {}  # cell name -> why its size may be short of its steady state (size_cells)
    if args.real_pythons or args.calibrate:
        args.real = True
    if args.baseline not in args.strategies:  # ratios need it; say so rather than fail
        args.strategies = [args.baseline, *args.strategies]
        baseline_added = True
    else:
        baseline_added = False

    report: Optional[Report] = None
    auto_size = False  # cells sized one by one (size_cells): --fib-n and --ops left to auto
    tmpdir: Optional[tempfile.TemporaryDirectory[str]] = None
    others: list[tuple[str, str]] = []  # --python interpreters: (path, row label)
    if not worker:
        _check_main_args(parser, args)
        print("sizing the work per value ...", file=sys.stderr, flush=True)
        auto_size = args.fib_n is None and args.ops is None
        work_note = resolve_work(args)
        if "PYTHONPATH" in os.environ:  # pyperf strips the environment; a source checkout needs it
            args.inherit_environ = [*(args.inherit_environ or []), "PYTHONPATH"]
        tmpdir = tempfile.TemporaryDirectory(prefix="refstrat-bench-")
        args.sidecar = tmpdir.name
        machine = _bench_hw.machine_info()
        report = Report(machine=machine, hw_status=_bench_hw.probe_status(), baseline=args.baseline,
                        workloads=list(args.workloads), threads=list(args.threads), fib_n=args.fib_n,
                        ops=args.ops, work=args.work, settings="", work_note=work_note,
                        explain=args.explain)
        if baseline_added:
            report.notes.append(f"baseline strategy {args.baseline!r} added to the matrix for the ratios")
        knobs = knob_settings(args)
        if knobs:
            report.notes.append("scheme knobs set: " + ", ".join(f"{n}={_number(v)}" for n, v in knobs.items())
                                + " (the others at the core's defaults, refstrat.knobs())")
        if max(args.threads) > machine.usable_cpus:
            report.notes.append(
                f"OVERSUBSCRIBED: up to {max(args.threads)} threads on {machine.usable_cpus} usable CPUs; "
                "threads beyond that time-share cores, so wall time includes waiting for a CPU")
        others, reference = _probe_pythons(args.real_pythons, report, args.python_timeout)
        if others and FREE_THREADED_ROW not in args.strategies:  # what a free-threaded build is predicted by
            args.strategies = [*args.strategies, FREE_THREADED_ROW]
            report.notes.append(f"strategy {FREE_THREADED_ROW!r} added to the matrix: the model row for "
                                "free-threaded interpreters")
        if args.calibrate:
            for w in args.workloads:
                print(f"calibrating the {w} model against {reference[0]} ...", file=sys.stderr, flush=True)
                try:
                    cal = calibrate(args.baseline, w, reference[0], args.fib_n, args.ops, args.pin,
                                    args.python_timeout, knob_settings(args))
                except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
                    report.notes.append(f"{w}: NOT calibrated, work={args.work} ({exc})")
                    continue
                report.calibrations[w] = cal
                args.work_by[w] = cal.work
            report.works = dict(args.work_by)
        report.reference_label = reference[1]

    cells = plan_cells(args)
    if not worker and auto_size:
        print("sizing each cell ...", file=sys.stderr, flush=True)
        size_cells(args, cells)
        if report is not None and args.size_by:
            report.work_note += ("; then each cell on its own (column n), down to fib_n="
                                 f"{min(DEFAULT_FIB_N, args.fib_n)} / ops={min(DEFAULT_OPS, args.ops)}, "
                                 "so that a slower cell does not run longer than it must, and no smaller than where its "
                                 "cost per operation has settled (a run 4 fib levels or 4x the operations larger "
                                 f"costs under {_bench_stability.SETTLE:g}x as much per operation; the check makes "
                                 f"no run over {_bench_stability.SETTLE_CEILING:g} s of CPU, and flags a cell it "
                                 "left rising: UNSETTLED)")
    self_label = _real_label(_bench_twins.interpreter_info())
    progress = Progress(len(cells) + len(others)) if not worker else None
    suite_benches: list[Any] = []
    imprecise: list[str] = []  # cells where pyperf wants more processes for 1 % precision
    results: list[CellResult] = []
    for task, cell in enumerate(cells):
        if cell.kind == "model":
            fib_n, ops = cell_size(args, cell)
            kwargs = _run_kwargs(cell.workload, fib_n, _work(args, cell.workload), ops, args.pin,
                                 knob_settings(args))
            func, fargs = time_model, (task, cell.row, cell.workload, cell.threads, kwargs, args.sidecar)
            md = {"refstrat_strategy": cell.row, "refstrat_workload": cell.workload}
        else:
            func, fargs = time_real, (task, cell.workload, args.fib_n, args.ops, cell.threads, args.sidecar)
            md = {"refstrat_strategy": "real python twin", "refstrat_workload": cell.workload,
                  "refstrat_build": _bench_hw.gil_description()}
        fib_n, ops = cell_size(args, cell) if cell.kind == "model" else (args.fib_n, args.ops)
        md.update({"refstrat_threads": str(cell.threads), "refstrat_fib_n": str(fib_n),
                   "refstrat_baseline": args.baseline, "refstrat_version": _refstrat_version(),
                   "refstrat_work": str(_work(args, cell.workload)), "refstrat_ops_per_thread": str(ops),
                   "refstrat_value": "wall seconds per run; CPU seconds in the /cpu companion"})
        md.update({f"refstrat_{name}": str(value) for name, value in knob_settings(args).items()})
        name = (cell.name.replace("/self/", f"/{self_label}/") if cell.kind == "real" else cell.name)
        if worker:
            runner.bench_time_func(name + "/wall", func, *fargs, metadata=md)
            continue
        assert progress is not None and tmpdir is not None
        progress.begin(f"{cell.workload} {cell.row if cell.kind == 'model' else 'real ' + self_label} T={cell.threads}")
        captured = io.StringIO()
        before = _bench_stability.snapshot()
        with contextlib.redirect_stdout(captured):  # pyperf prints a line per benchmark; the report is ours
            wall_bench = runner.bench_time_func(name + "/wall", func, *fargs, metadata=md)
        busy = _bench_stability.busy_flag(before, _bench_stability.snapshot())
        if "Not enough samples" in captured.getvalue():
            imprecise.append(name)
        entries = _read_sidecar(tmpdir.name, task)
        cpu_bench = _cpu_companion(wall_bench, entries, name + "/cpu")
        suite_benches += [wall_bench, cpu_bench]
        res = _result_from(Cell(cell.kind, cell.workload, self_label if cell.kind == "real" else cell.row,
                                cell.threads), wall_bench, cpu_bench, entries)
        res.busy = busy
        res.size = fib_n if _is_fib(cell.workload) else ops
        res.unsettled = args.unsettled.get(cell.name, "")
        if cell.kind == "model" and cell.row not in REFERENCE_ROWS:
            checked, res.explain = check_cell(cell, kwargs, args.explain)
            if checked:
                res.ok = False
                res.problems = ", ".join(p for p in (res.problems, checked) if p)
        if cell.kind == "real":
            info = _bench_twins.interpreter_info()
            res.build = _build_text(info)
            res.free_threaded = bool(info.get("free_threaded_build"))
        results.append(res)
        progress.end()

    if worker:
        return
    assert report is not None and progress is not None and tmpdir is not None
    report.reference_label = report.reference_label or self_label
    for path, label in others:
        progress.begin(f"real twins on {path}")
        try:
            twins = [w for w in args.workloads if w not in NO_TWIN_WORKLOADS]
            rows = run_other_python(path, label, twins, list(args.threads), args.fib_n, args.ops,
                                    args.processes, args.values,
                                    args.warmups if args.warmups is not None else 1, args.min_time,
                                    args.python_timeout)
        except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
            # One unusable interpreter (too old, crashed) must not cost the rest of the report.
            report.notes.append(f"--python {path}: no real rows ({exc})")
            progress.end()
            continue
        for (w, t), (wb, cb) in rows.benches.items():
            wall, wsd = _median_stdev(wb)
            cpu, csd = _median_stdev(cb)
            results.append(CellResult(Cell("real", w, label, t), wall, wsd, cpu, csd, rows.ops_per_thread[w] * t,
                                      len(wb.get_values()), build=_build_text(rows.info),
                                      free_threaded=bool(rows.info.get("free_threaded_build")),
                                      unstable=_unstable(wb, cb)))
            suite_benches += [wb, cb]
        progress.end()
    progress.close()
    tmpdir.cleanup()

    counters = measure_counters([r.cell for r in results if r.cell.kind == "model"],
                                lambda w: _run_kwargs(w, args.fib_n, _work(args, w), args.ops, args.pin,
                                                      knob_settings(args)))
    for r in results:
        r.counters = counters.get(r.cell)
    report.results = results
    if args.callgrind:
        print("counting instructions under callgrind ...", file=sys.stderr, flush=True)
        report.callgrind_status = measure_callgrind(results, args.pin, knob_settings(args))
    busy_cells = [r.cell.name for r in results if r.busy]
    if busy_cells:
        report.notes.append(f"the machine was not idle during {len(busy_cells)} of {len(results)} cells "
                            "(flagged 'BUSY' below): their figures include interference")
    report.settings = (f"pyperf {pyperf.__version__}: {args.processes} worker processes x {args.values} values "
                       f"(+{args.warmups if args.warmups is not None else 1} warm-up) per cell, "
                       f"min {args.min_time * 1e3:g} ms per value"
                       + (", --fast" if args.fast else "") + (", --rigorous" if args.rigorous else ""))
    from refstrat import _bench_report

    crowded = [r.cell.name for r in results if _bench_report.helper_on_worker_cpus(r, machine.usable_cpus)]
    if crowded:
        report.notes.append(f"{len(crowded)} of {len(results)} cells ran a scheme's helper thread with no CPU of its "
                            "own (flagged 'helper on the workers' CPUs' below): it took turns with the "
                            f"workers on theirs, so their wall times include its work: {_some(crowded)}")
    unsettled = [r.cell.name for r in results if r.unsettled]
    if unsettled:
        report.notes.append(f"{len(unsettled)} of {len(results)} cells sized where their cost per operation was "
                            f"not shown settled (flagged 'UNSETTLED' below): {_some(unsettled)}")
    unstable = [r.cell.name for r in results if r.unstable]
    report.notes.append(f"{len(unstable)} of {len(results)} cells unstable (std dev >= 10% of the mean, or a "
                        f"value >= 50% from it, in wall or CPU time; flagged 'UNSTABLE' below)"
                        + (f": {_some(unstable)}" if unstable else ""))
    if imprecise:
        report.notes.append(f"pyperf would want more worker processes for 95% certainty of 1% variation on "
                            f"{len(imprecise)} of {len(cells)} cells (--rigorous doubles them): {_some(imprecise)}")

    print(_bench_report.format_report(report))
    if args.bench_output:
        _dump_suite(pyperf.BenchmarkSuite(suite_benches), args.bench_output)
        print(f"\npyperf JSON: {args.bench_output}  (python -m pyperf stats / compare_to)")
    if args.plot:
        _bench_report.plot(report, args.plot)
        print(f"charts: {args.plot}")
    if args.compare_to_json:
        _print_comparison(args.compare_to_json, pyperf.BenchmarkSuite(suite_benches), args.bench_output)


def _some(names: list[str]) -> str:
    return ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:6])}, ..."


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt so that it leaves the same way:
    killed by default, the bench left its temporary directory (and its --python child) behind."""


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated()


def _main_interruptible() -> None:
    """main(), with Ctrl-C and SIGTERM reported in one line: pyperf kills the worker it waits
    for, run() stops its threads, and --output is only ever written whole (see _dump_suite)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        main()
    except (KeyboardInterrupt, SystemExit) as exc:
        # pyperf turns a KeyboardInterrupt into "Benchmark interrupted: exit" and exit status 1;
        # give it the usual status of a process ended by the signal instead.
        if isinstance(exc, SystemExit) and not isinstance(exc.__context__, KeyboardInterrupt):
            raise
        if isinstance(exc, _Terminated) or isinstance(exc.__context__, _Terminated):
            print("refstrat.bench: terminated; no results written", file=sys.stderr)
            sys.exit(128 + signal.SIGTERM)
        print("refstrat.bench: interrupted; no results written", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    _main_interruptible()
