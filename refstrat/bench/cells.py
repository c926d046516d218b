"""The bench's data model: the matrix's cells, their results, calibrations and the report's facts.

Every other module of ``refstrat.bench`` reads or fills these; this module imports none of them
(but the machine facts' type), so that the report and the measurement do not import each other.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field
from typing import Any

import refstrat
from refstrat import _core
from refstrat.bench.hardware import MachineInfo

#: Rows that are not strategies, never checked: the core's one list of reserved rows.
REFERENCE_ROWS = tuple(_core.reserved_rows())
SOL, LIMIT, LIMIT_ATOMIC = REFERENCE_ROWS
IMMORTAL_SUFFIX = "+immortal"  # row "<strategy>+immortal" = run(strategy, immortal=True)
#: The per-object layers a row may add to a strategy, in the order a row names them:
#: "biased+immortal+deferred+sharded" = run("biased", immortal=True, deferred=True, sharded=True)
#: (registered as cpython314t). A strategy's "refuses" says which it cannot take (RS_S_NO_COLLECTED).
LAYER_NAMES = ("immortal", "deferred", "sharded")
FREE_THREADED_ROW = "biased+immortal"  # the model row that stands for CPython 3.13t's scheme
FIB_WORKLOADS = ("fib", "fib314")  # sized by fib_n; every other workload by ops per thread
UNBENCHABLE_WORKLOADS = ("trace",)  # needs a refstrat.Trace object, which a CLI cannot express
#: No Python twin in the registry (fib314: a real 3.14 runs fib's twin with this mix itself).
NO_TWIN_WORKLOADS = tuple(w.name for w in refstrat.workloads() if w.twin is None)


@dataclass(frozen=True)
class Cell:
    """One benchmark of the matrix. kind: "model" (a strategy or speed_of_light) or "real"."""

    kind: str
    workload: str
    row: str  # strategy name, "speed_of_light", or an interpreter label for real rows
    threads: int

    @property
    def name(self) -> str:
        """The pyperf benchmark name without its /wall or /cpu: unique within a matrix."""
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
    pinned: bool | None = None
    ok: bool = True  # False: the strategy lost updates / leaked / double-freed (nonatomic)
    problems: str = ""
    build: str = ""  # real rows: interpreter build description
    free_threaded: bool = False
    counters: dict[str, float] | None = None  # hardware counters per op, where readable
    cpu_ci: tuple[float, float] = (math.nan, math.nan)  # bootstrap 95% CI of the median CPU
    busy: str = ""  # why the machine was not idle while the cell ran, "" when it was
    unstable: str = ""  # why its values do not hold still (wall or CPU), "" when they do
    explain: Any = None  # refstrat.Explain of the cell's checked run (--explain)
    callgrind: float | None = None  # instructions per op under callgrind (--callgrind, T=1)
    size: int = 0  # fib_n (fib) or ops per thread (loops) of this cell's runs (see size_cells)
    unsettled: str = ""  # why its size may be short of its steady state (size_cells), "" when not
    helpers: int = 0  # threads the scheme ran beside the workers (buffered's commit thread)

    @property
    def ns_per_op(self) -> float:
        """CPU nanoseconds per refcount operation; NaN for a cell that counted none."""
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

    machine: MachineInfo
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
        """The model's spin work on ``workload``: its calibrated value, else --work."""
        return self.works.get(workload, self.work)

    def lookup(self, kind: str, workload: str, row: str, threads: int) -> CellResult | None:
        """The result of one cell, or None where the matrix has no such cell."""
        for r in self.results:
            c = r.cell
            if c.kind == kind and c.workload == workload and c.row == row and c.threads == threads:
                return r
        return None


def split_row(row: str) -> tuple[str, dict[str, bool]]:
    """("biased", {"immortal": True, ...}) for "biased+immortal+..."."""
    base, *layers = row.split("+")
    return base, {name: True for name in layers}


def is_fib(workload: str) -> bool:
    """Whether ``workload`` is sized by its fib depth (else by operations per thread)."""
    return workload in FIB_WORKLOADS


def plan_cells(args: argparse.Namespace) -> list[Cell]:
    """The deterministic order of benchmarks; workers rebuild exactly this list from their options."""
    rows = [*args.strategies, *REFERENCE_ROWS]
    cells = [Cell("model", w, s, t) for w in args.workloads for s in rows for t in args.threads]
    if args.real:
        cells += [
            Cell("real", w, "self", t) for w in args.workloads if w not in NO_TWIN_WORKLOADS for t in args.threads
        ]
    return cells
