"""The text report of ``refstrat.bench``, for a person at a terminal.

Every table row fits in ``WIDTH`` columns: a row carries short flags (``UNSAFE¹``, ``UNSTABLE²``)
and the details go to numbered notes under its table, as pyperf prints its warnings under a
benchmark. A row whose flags would not fit continues them on the next line, in the flags column.
"""

from __future__ import annotations

import datetime
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from refstrat.bench.cells import FIB_WORKLOADS, LIMIT, LIMIT_ATOMIC, SOL, CellResult, Report

WIDTH = 100  # columns of an ordinary terminal: every table row and prose line fits
HOT_WORKLOADS = ("fib", "fib314", "shared", "mixed")
SPEED_WORKLOAD = "private"  # T = 1 private work: no sharing, so no refcount contention to hide
_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
_LEGEND = (
    f"{SOL}: the model's kernel, plain counts, no checks; {LIMIT}: hand-written C, hardware limit; "
    f"{LIMIT_ATOMIC}: the same with a lock prefix"
)


def fmt(x: float | None, digits: int = 4) -> str:
    """Significant-digit formatting that stays readable from 1e-3 to 1e6; "-" for no number."""
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "-"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return f"{x:.{decimals}f}"


def _ratio(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.2f}x"


def some(names: Sequence[str]) -> str:
    """Up to six names, then "...": enough to find the cells a note counts."""
    return ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:6])}, ..."


def wrap(text: str, indent: str = "  ") -> list[str]:
    """One prose line as lines of at most WIDTH columns, continuations indented."""
    return textwrap.wrap(text, WIDTH, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False) or [""]


def table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    """Columns padded to their widest cell (``right``: right-aligned), two spaces apart; an
    empty row is a blank line. Where the last column would push a row past WIDTH, its
    space-separated words continue on lines of their own in that column."""
    last = len(headers) - 1
    widths = [max([len(h)] + [len(r[i]) for r in rows if r]) for i, h in enumerate(headers)]
    room = WIDTH - sum(widths[:last]) - 2 * last
    if room >= len(headers[last]):
        widths[last] = min(widths[last], max(room, len(headers[last])))

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    for r in rows:
        if not r:
            out.append("")
            continue
        chunks = _fill(r[last], widths[last])
        out.append(line(r[:last] + [chunks[0]]))
        out += [line([""] * last + [chunk]) for chunk in chunks[1:]]
    return out


def _fill(text: str, width: int) -> list[str]:
    """``text``'s words in lines of at most ``width`` (a longer word keeps a line of its own)."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


@dataclass(frozen=True)
class Flag:
    """A short word in a row's flags column and, where it has one, the note that explains it."""

    word: str
    detail: str = ""

    @property
    def text(self) -> str:
        """The note as printed under the table: "WORD: detail"."""
        return f"{self.word}: {self.detail}" if self.detail else self.word


class Notes:
    """The numbered notes of one table: one number per distinct text, in order of first use."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def flags(self, flags: list[Flag]) -> str:
        """A row's flags column: each word with its note's number as a superscript."""
        return " ".join(self._ref(f) for f in flags)

    def _ref(self, flag: Flag) -> str:
        if not flag.detail:
            return flag.word
        number = self._numbers.setdefault(flag.text, len(self._numbers) + 1)
        return flag.word + str(number).translate(_SUPERSCRIPT)

    def lines(self) -> list[str]:
        """The notes, each wrapped to WIDTH under its superscript number."""
        out = []
        for text, number in self._numbers.items():
            mark = str(number).translate(_SUPERSCRIPT)
            out += wrap(f"{mark} {text}", " " * (len(mark) + 1))
        return out


def helper_on_worker_cpus(r: CellResult, usable_cpus: int) -> bool:
    """Whether the cell's workers left its scheme's helper threads no CPU of their own (an
    oversubscribed cell, more workers than CPUs, is flagged as that instead)."""
    return r.cell.threads <= usable_cpus < r.cell.threads + r.helpers


def row_flags(r: CellResult, report: Report, t: int) -> list[Flag]:
    """What a reader must know about one row, the gravest first: wrong counts, figures that do
    not hold still, a machine that was not the cell's alone."""
    flags = []
    if not r.ok and r.cell.row in (SOL, LIMIT):
        flags.append(
            Flag(
                "INEXACT",
                "counts not exact (shared lines): not a scheme; plain increments on "
                "lines shared between threads lose updates",
            )
        )
    elif not r.ok:
        flags.append(Flag("UNSAFE", r.problems))
    if r.unstable:
        flags.append(Flag("UNSTABLE", r.unstable))
    if r.unsettled:
        flags.append(Flag("UNSETTLED", r.unsettled))
    if r.busy:
        flags.append(Flag("BUSY", r.busy))
    if t > report.machine.usable_cpus:
        flags.append(
            Flag(
                "OVERSUB",
                "oversubscribed: more threads than usable CPUs; they time-share "
                "cores, so wall time includes waiting for a CPU",
            )
        )
    elif helper_on_worker_cpus(r, report.machine.usable_cpus):
        flags.append(
            Flag(
                "HELPER",
                "helper on the workers' CPUs: the scheme's helper thread had no CPU "
                "of its own and took turns with the workers, so wall time includes its work",
            )
        )
    return flags


def flag_counts(report: Report, cells: int, imprecise: list[str]) -> list[str]:
    """The report's notes that count the flagged cells (``cells``: the cells pyperf ran;
    ``imprecise``: those where pyperf would want more worker processes)."""
    results = report.results
    n = len(results)
    notes = []
    busy = [r.cell.name for r in results if r.busy]
    if busy:
        notes.append(
            f"the machine was not idle during {len(busy)} of {n} cells (flagged 'BUSY' below): "
            "their figures include interference"
        )
    crowded = [r.cell.name for r in results if helper_on_worker_cpus(r, report.machine.usable_cpus)]
    if crowded:
        notes.append(
            f"{len(crowded)} of {n} cells ran a scheme's helper thread with no CPU of its own (flagged "
            "'HELPER' below): it took turns with the workers on theirs, so their wall times include "
            f"its work: {some(crowded)}"
        )
    unsettled = [r.cell.name for r in results if r.unsettled]
    if unsettled:
        notes.append(
            f"{len(unsettled)} of {n} cells sized where their cost per operation was not shown "
            f"settled (flagged 'UNSETTLED' below): {some(unsettled)}"
        )
    unstable = [r.cell.name for r in results if r.unstable]
    notes.append(
        f"{len(unstable)} of {n} cells unstable (std dev >= 10% of the mean, or a value >= 50% "
        "from it, in wall or CPU time; flagged 'UNSTABLE' below)" + (f": {some(unstable)}" if unstable else "")
    )
    if imprecise:
        notes.append(
            f"pyperf would want more worker processes for 95% certainty of 1% variation on "
            f"{len(imprecise)} of {cells} cells (--rigorous doubles them): {some(imprecise)}"
        )
    return notes


def per_op_ratio(r: CellResult, base: CellResult | None) -> float | None:
    """CPU time per operation of r over base's (None without base): the same as the ratio of
    CPU times when both ran the same problem, and still right when a cell was sized on its own."""
    if not base or not base.cpu or not r.ops or not base.ops:
        return None
    return (r.cpu / r.ops) / (base.cpu / base.ops)


def size_text(report: Report, w: str) -> str:
    """The problem one thread of workload ``w`` solves, and the model's spin work on it."""
    size = f"{w}({report.fib_n}) per thread" if w in FIB_WORKLOADS else f"{report.ops} ops per thread"
    return f"{size}, work={report.work_for(w)}"


def _pinned_text(report: Report) -> str:
    vals = [r.pinned for r in report.results if r.cell.kind == "model" and r.pinned is not None]
    if not vals:
        return "unknown"
    if all(vals):
        return "yes (RunResult.pinned in every run)"
    if not any(vals):
        return "no (RunResult.pinned false: the OS scheduled the threads)"
    by_t: dict[int, list[bool]] = {}
    for r in report.results:
        if r.cell.kind == "model" and r.pinned is not None:
            by_t.setdefault(r.cell.threads, []).append(r.pinned)
    yes = [str(t) for t, v in sorted(by_t.items()) if all(v)]
    no = [str(t) for t, v in sorted(by_t.items()) if not any(v)]
    mixed = [str(t) for t, v in sorted(by_t.items()) if any(v) and not all(v)]
    parts = [
        f"yes at T={','.join(yes)}" if yes else "",
        f"no at T={','.join(no)}" if no else "",
        f"mixed at T={','.join(mixed)}" if mixed else "",
    ]
    return "; ".join(p for p in parts if p) + " (RunResult.pinned; threads beyond the CPUs are not pinned)"


def _ci_text(r: CellResult) -> str:
    """Half-width of the bootstrap 95% CI of the median CPU, relative to the median."""
    lo, hi = r.cpu_ci
    if not r.cpu or math.isnan(lo) or math.isnan(hi):
        return "-"
    return f"±{max(hi - r.cpu, r.cpu - lo) / r.cpu:.1%}"


def format_report(report: Report) -> str:
    """The full text report: machine facts, one table per workload, real rows, model vs reality;
    every table row within WIDTH columns (but where a strategy's name alone is too long)."""
    out = _opening(report)
    for w in report.workloads:
        out += _workload_section(report, w)
    real = [r for r in report.results if r.cell.kind == "real"]
    if real:
        out += _real_section(report, real)
        out += _model_vs_reality(report)
    return "\n".join(out)


def _opening(report: Report) -> list[str]:
    """What a reader needs before the tables: the machine, the settings, the notes."""
    lines = [
        f"refstrat.bench  {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        *report.machine.lines(),
        f"threads pinned: {_pinned_text(report)}",
        f"hardware counters: {report.hw_status}",
        *([f"callgrind: {report.callgrind_status}"] if report.callgrind_status else []),
        f"measured with {report.settings}",
        *([report.work_note] if report.work_note else []),
        "timed runs: the unchecked kernel copy; correctness from one separate checked run per "
        "strategy cell (never timed); CPU ±95% = bootstrap CI of the median CPU time",
        "one run = T threads released by a barrier, each doing the workload once; wall = "
        "RunResult.wall_seconds, CPU = RunResult.cpu_seconds (all worker + helper thread CPU "
        "clocks); both are medians over pyperf values taken from the same runs (benchmarks "
        "'<cell>/wall' and '<cell>/cpu' in the JSON)",
        *(f"note: {n}" for n in report.notes),
    ]
    return [part for line in lines for part in wrap(line)]


def _workload_section(report: Report, w: str) -> list[str]:
    """One workload's table of model rows, its notes, and the tables beside it."""
    model = [r for r in report.results if r.cell.kind == "model" and r.cell.workload == w]
    full = report.fib_n if w in FIB_WORKLOADS else report.ops
    sized = any(r.size and r.size != full for r in model)
    b = report.baseline
    out = ["", f"== {w}: {'up to ' if sized else ''}{size_text(report, w)} =="]
    out += wrap(
        f"CPU x {b} = CPU time per operation / {b}'s (the baseline) at the same T (the talk's "
        "'how many times slower'); x limit and x SoL = the same over limit's and speed_of_light's"
        + ("; column n: a slower cell covers its CPU time in a smaller problem" if sized else "")
    )
    notes = Notes()
    rows: list[list[str]] = []
    for t in report.threads:
        base, lim, sol = (report.lookup("model", w, row, t) for row in (b, LIMIT, SOL))
        for r in [r for r in model if r.cell.threads == t]:
            rows.append(
                [
                    r.cell.row,
                    str(t),
                    str(r.size or "-"),
                    fmt(r.wall * 1e3),
                    fmt(r.cpu * 1e3),
                    _ci_text(r),
                    fmt(r.ns_per_op, 3),
                    _ratio(per_op_ratio(r, base)),
                    _ratio(per_op_ratio(r, lim)),
                    _ratio(per_op_ratio(r, sol)),
                    notes.flags(row_flags(r, report, t)),
                ]
            )
        rows.append([])
    headers = [
        "strategy",
        "T",
        "n",
        "wall ms",
        "CPU ms",
        "CPU ±95%",
        "ns/op",
        f"CPU x {b}",
        "x limit",
        "x SoL",
        "flags",
    ]
    out += table(headers, rows[:-1], set(range(1, len(headers) - 1)))
    out += [*wrap(_LEGEND), *notes.lines()]
    out += _detail_table(report, model, w)
    if report.explain and w in HOT_WORKLOADS:
        out += _hot_objects(report, w)
    out += _counters_table(model, w)
    return out


def _detail_table(report: Report, model: list[CellResult], w: str) -> list[str]:
    """--explain's columns (from each strategy cell's checked run) and --callgrind's, beside
    the timings rather than in their table, which they would push past WIDTH."""
    callgrind = any(r.callgrind for r in model)
    if not (callgrind or report.explain):
        return []
    rows = []
    for r in model:
        if r.explain is None and not r.callgrind:
            continue
        row = [r.cell.row, str(r.cell.threads)]
        if callgrind:
            row.append(fmt(r.callgrind, 3) if r.callgrind else "-")
        if report.explain:
            row += _explain_cells(r.explain)
        rows.append(row)
    headers = ["strategy", "T"] + (["instr/op (callgrind)"] if callgrind else [])
    headers += ["slow %", "side KiB cfg/peak", "free delay p99 ns", "p99 ops"] if report.explain else []
    title = " and ".join(
        part
        for part, on in (("the explain flavour's checked run", report.explain), ("callgrind (T=1)", callgrind))
        if on
    )
    return ["", f"{w}: per cell, from {title}:", *table(headers, rows, set(range(1, len(headers))))]


def _explain_cells(e: Any) -> list[str]:
    """An Explain's columns: slow-path share, side memory configured/peak, free delay p99."""
    if e is None:
        return ["-", "-", "-", "-"]
    return [
        f"{e.slow_fraction:.1%}",
        f"{e.side_bytes / 1024:.1f}/{e.side_bytes_peak / 1024:.1f}",
        fmt(e.delay_ns[1], 3),
        fmt(e.delay_ops[1], 3),
    ]


def _hot_objects(report: Report, w: str) -> list[str]:
    """The most contended objects of each strategy at the largest thread count (--explain)."""
    t = max(report.threads)
    rows = []
    for r in report.results:
        if r.cell.kind == "model" and r.cell.workload == w and r.cell.threads == t and r.explain and r.explain.hot:
            top = ", ".join(f"{h.label} {h.share:.0%}" for h in r.explain.hot[:3])
            rows.append([r.cell.row, fmt(r.explain.cross_thread_ops / max(r.explain.ops, 1) * 100, 3), top])
    if not rows:
        return []
    return [
        "",
        *wrap(
            f"hot objects ({w}, T={t}; explain flavour): cross-thread operations (the previous "
            "operation on the object came from another thread) and the top objects' shares:"
        ),
        *table(["strategy", "cross-thread %", "hottest objects (share of cross-thread ops)"], rows, {1}),
    ]


def _counters_table(model: list[CellResult], w: str) -> list[str]:
    """Hardware counters per refcount op, where the machine lets us read them."""
    rows = [
        [r.cell.row, str(r.cell.threads)]
        + [fmt(r.counters.get(k, math.nan), 3) for k in ("cycles", "instructions", "cache_misses")]
        for r in model
        if r.counters
    ]
    if not rows:
        return []
    return [
        "",
        f"hardware counters per refcount op ({w}, one extra run per cell):",
        *table(["strategy", "T", "cycles", "instructions", "cache misses"], rows, {1, 2, 3, 4}),
    ]


def _real_section(report: Report, real: list[CellResult]) -> list[str]:
    """The twins' rows: every interpreter, workload and T, relative to the reference interpreter."""
    ref = report.reference_label
    out = [
        "",
        "== real: each workload's Python twin on T threads ==",
        *wrap(
            f"ns/op = CPU ns per operation counted as the model counts them; CPU x = CPU time / {ref}'s at the same T"
        ),
    ]
    notes = Notes()
    rows = []
    for w in report.workloads:
        for r in [r for r in real if r.cell.workload == w]:
            base = report.lookup("real", w, ref, r.cell.threads)
            rows.append(
                [
                    w,
                    r.cell.row,
                    r.build,
                    str(r.cell.threads),
                    fmt(r.wall * 1e3),
                    fmt(r.cpu * 1e3),
                    fmt(r.ns_per_op, 3),
                    _ratio(r.cpu / base.cpu if base else None),
                    notes.flags(row_flags(r, report, r.cell.threads)),
                ]
            )
    out += table(
        ["workload", "interpreter", "build", "T", "wall ms", "CPU ms", "ns/op", "CPU x", "flags"], rows, {3, 4, 5, 6, 7}
    )
    return out + notes.lines()


@dataclass
class Fidelity:
    """Predicted beside measured for one (interpreter, workload, T), refcounting part only.

    predicted: model row / baseline model row; measured: interpreter / reference interpreter
    (CPU time at the same T); speed: the interpreter-speed factor divided out of measured
    (measured / predicted on one thread of private work, where nothing is shared: what is left
    there is the interpreter, e.g. 3.13t's disabled specialisation); error: predicted /
    (measured / speed) - 1. ``calibration_point``: the cell the speed factor came from, whose
    error is 0 by construction and which the fidelity figure leaves out.
    """

    label: str
    build: str
    model_row: str
    workload: str
    threads: int
    predicted: float
    measured: float
    speed: float
    calibration_point: bool

    @property
    def corrected(self) -> float:
        """The measured ratio with the interpreter's own speed divided out."""
        return self.measured / self.speed

    @property
    def error(self) -> float:
        """How far the prediction is from the corrected measurement, as a fraction."""
        return self.predicted / self.corrected - 1.0


def fidelity(report: Report, free_threaded_row: str = "biased+immortal") -> list[Fidelity]:
    """One Fidelity per measured (interpreter other than the reference, workload, T) that has
    both model rows; the model row is the baseline for a GIL build, free_threaded_row otherwise."""
    ref = report.reference_label
    real = [r for r in report.results if r.cell.kind == "real" and r.cell.row != ref]
    out: list[Fidelity] = []
    for label in dict.fromkeys(r.cell.row for r in real):
        mine = [r for r in real if r.cell.row == label]
        row = free_threaded_row if mine[0].free_threaded else report.baseline

        def ratios(w: str, t: int) -> tuple[Any, float] | None:
            mb, mr = report.lookup("model", w, report.baseline, t), report.lookup("model", w, row, t)
            rb, rr = report.lookup("real", w, ref, t), report.lookup("real", w, label, t)
            if not (mb and mr and rb and rr):
                return None
            return per_op_ratio(mr, mb), rr.cpu / rb.cpu

        t1 = min(report.threads)
        at_speed = ratios(SPEED_WORKLOAD, t1)
        speed = at_speed[1] / at_speed[0] if at_speed else 1.0
        for r in mine:
            pm = ratios(r.cell.workload, r.cell.threads)
            if pm:
                point = at_speed is not None and (r.cell.workload, r.cell.threads) == (SPEED_WORKLOAD, t1)
                out.append(Fidelity(label, r.build, row, r.cell.workload, r.cell.threads, pm[0], pm[1], speed, point))
    return out


def fidelity_summary(rows: list[Fidelity]) -> list[str]:
    """Per interpreter: mean and worst |error| over the cells that are not the calibration point."""
    lines = []
    for label in dict.fromkeys(f.label for f in rows):
        scored = [f for f in rows if f.label == label and not f.calibration_point]
        if not scored:
            continue
        worst = max(scored, key=lambda f: abs(f.error))
        mean = sum(abs(f.error) for f in scored) / len(scored)
        within = sum(abs(f.error) <= 0.25 for f in scored)
        lines.append(
            f"fidelity of {scored[0].model_row} for {label} (refcounting part): mean |error| "
            f"{mean * 100:.0f}%, worst {worst.error * 100:+.0f}% ({worst.workload} T={worst.threads}); "
            f"{within} of {len(scored)} cells within 25%"
        )
    return lines or ["fidelity: nothing to score (needs another interpreter than the reference, and the model rows)"]


def _model_vs_reality(report: Report) -> list[str]:
    """Calibration per workload, then predicted beside measured CPU ratios and their error, one
    table per interpreter."""
    ref = report.reference_label
    out = [
        "",
        f"== model vs reality: calibrated work per workload (model {report.baseline} on 1 thread against {ref}) ==",
    ]
    if report.calibrations:
        notes = Notes()
        rows = [
            [
                c.workload,
                fmt(c.real_ns_per_op, 3),
                fmt(c.model_ns_per_op_at_zero, 3),
                str(c.work),
                fmt(c.model_ns_per_op, 3),
                notes.flags([Flag("note", c.note)] if c.note else []),
            ]
            for c in report.calibrations.values()
        ]
        out += table(
            ["workload", f"{ref} ns/op", "model ns/op at work=0", "work", "model ns/op", "notes"], rows, {1, 2, 3, 4}
        )
        out += notes.lines()
    else:
        out += ["NOT calibrated: use --calibrate for comparable absolute numbers"]
    rows_f = fidelity(report)
    out += [
        "",
        "== model vs reality: CPU ratio at the same T ==",
        *wrap(
            f"predicted = model row / model {report.baseline}, measured = interpreter / {ref}; speed = "
            f"the interpreter-speed factor (measured / predicted on {SPEED_WORKLOAD} work at "
            f"T={min(report.threads)}, e.g. 3.13t's disabled specialisation), divided out so that the "
            "error is about refcounting"
        ),
    ]
    for label in dict.fromkeys(f.label for f in rows_f):
        mine = [f for f in rows_f if f.label == label]
        rows = [
            [
                f.workload,
                str(f.threads),
                _ratio(f.predicted),
                _ratio(f.measured),
                _ratio(f.speed),
                _ratio(f.corrected),
                "calibration point" if f.calibration_point else f"{f.error * 100:+.0f}%",
            ]
            for f in mine
        ]
        out += ["", f"{label} ({mine[0].build}), predicted by model {mine[0].model_row}:"]
        out += table(
            ["workload", "T", "predicted", "measured", "speed", "measured/speed", "error"], rows, {1, 2, 3, 4, 5, 6}
        )
    out += ["", *(part for line in fidelity_summary(rows_f) for part in wrap(line))]
    return out
