"""Text report and charts for ``refstrat.bench`` (kept apart so bench.py stays about measuring)."""
from __future__ import annotations

import datetime
import math
from dataclasses import dataclass
from typing import Optional, TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from refstrat.bench import CellResult, Report

SOL = "speed_of_light"
LIMIT = "limit"
LIMIT_ATOMIC = "limit+atomic"
HOT_WORKLOADS = ("fib", "fib314", "shared", "mixed")
FIB_WORKLOADS = ("fib", "fib314")  # sized by fib_n; every other workload by ops per thread


def _fmt(x: float, digits: int = 4) -> str:
    """Significant-digit formatting that stays readable from 1e-3 to 1e6."""
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return "-"
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - mag)
    return f"{x:.{decimals}f}"


def _ratio(x: Optional[float]) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.2f}x"


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in rows if r]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(headers), line(["-" * w for w in widths])]
    out += [line(r) if r else "" for r in rows]
    return out


def _lookup(report: "Report", kind: str, workload: str, row: str, threads: int) -> Optional["CellResult"]:
    for r in report.results:
        c = r.cell
        if c.kind == kind and c.workload == workload and c.row == row and c.threads == threads:
            return r
    return None


def _pinned_text(report: "Report") -> str:
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
    parts = [f"yes at T={','.join(yes)}" if yes else "", f"no at T={','.join(no)}" if no else "",
             f"mixed at T={','.join(mixed)}" if mixed else ""]
    return "; ".join(p for p in parts if p) + " (RunResult.pinned; threads beyond the CPUs are not pinned)"


def _ci_text(r: "CellResult") -> str:
    """Half-width of the bootstrap 95% CI of the median CPU, relative to the median."""
    lo, hi = r.cpu_ci
    if not r.cpu or math.isnan(lo) or math.isnan(hi):
        return "-"
    return f"±{max(hi - r.cpu, r.cpu - lo) / r.cpu:.1%}"


def _explain_cells(r: "CellResult") -> list[str]:
    e = r.explain
    if e is None:
        return ["-", "-", "-", "-"]
    return [f"{e.slow_fraction:.1%}", f"{e.side_bytes / 1024:.1f}/{e.side_bytes_peak / 1024:.1f}",
            _fmt(e.delay_ns[1], 3), _fmt(e.delay_ops[1], 3)]


def helper_on_worker_cpus(r: "CellResult", usable_cpus: int) -> bool:
    """Whether the cell's workers left its scheme's helper threads no CPU of their own (an
    oversubscribed cell, more workers than CPUs, is flagged as that instead)."""
    return r.cell.threads <= usable_cpus < r.cell.threads + r.helpers


def _row_notes(r: "CellResult", report: "Report", t: int) -> list[str]:
    notes = []
    if t > report.machine.usable_cpus:
        notes.append("oversubscribed")
    elif helper_on_worker_cpus(r, report.machine.usable_cpus):
        notes.append("helper on the workers' CPUs")
    if r.busy:
        notes.append("BUSY: " + r.busy)
    if r.unstable:
        notes.append("UNSTABLE: " + r.unstable)
    if r.unsettled:
        notes.append("UNSETTLED: " + r.unsettled)
    if not r.ok and r.cell.row in (SOL, LIMIT):
        # Not a scheme: plain increments on lines shared between threads lose updates.
        notes.append("counts not exact (shared lines)")
    elif not r.ok:
        notes.append("UNSAFE: " + r.problems)
    if r.cell.row == report.baseline:
        notes.append("baseline")
    if r.cell.row == SOL:
        notes.append("model kernel, plain counts, no checks")
    if r.cell.row in (LIMIT, LIMIT_ATOMIC):
        notes.append("hand-written C, hardware limit" + (" (lock prefix)" if r.cell.row == LIMIT_ATOMIC else ""))
    return notes


def _hot_objects(report: "Report", w: str) -> list[str]:
    """The most contended objects of each strategy at the largest thread count (--explain)."""
    t = max(report.threads)
    rows = []
    for r in report.results:
        if r.cell.kind == "model" and r.cell.workload == w and r.cell.threads == t and r.explain and r.explain.hot:
            top = ", ".join(f"{h.label} {h.share:.0%}" for h in r.explain.hot[:3])
            rows.append([r.cell.row, _fmt(r.explain.cross_thread_ops / max(r.explain.ops, 1) * 100, 3), top])
    if not rows:
        return []
    return ["", f"hot objects ({w}, T={t}; explain flavour): cross-thread operations (the previous "
                "operation on the object came from another thread) and the top objects' shares:"] + \
        _table(["strategy", "cross-thread %", "hottest objects (share of cross-thread ops)"], rows, {1})


def per_op_ratio(r: "CellResult", base: Optional["CellResult"]) -> Optional[float]:
    """CPU time per operation of r over base's (None without base): the same as the ratio of
    CPU times when both ran the same problem, and still right when a cell was sized on its own."""
    if not base or not base.cpu or not r.ops or not base.ops:
        return None
    return (r.cpu / r.ops) / (base.cpu / base.ops)


def format_report(report: "Report") -> str:
    """The full text report: machine facts, one table per workload, real rows, model vs reality."""
    m = report.machine
    out = [f"refstrat.bench  {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
           *m.lines(),
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
           "'<cell>/wall' and '<cell>/cpu' in the JSON)"]
    out += [f"note: {n}" for n in report.notes]

    model = [r for r in report.results if r.cell.kind == "model"]
    callgrind = any(r.callgrind for r in model)
    for w in report.workloads:
        size = (f"{w}({report.fib_n}) per thread" if w in FIB_WORKLOADS else f"{report.ops} ops per thread")
        size += f", work={report.work_for(w)}"
        if any(r.size and r.size != (report.fib_n if w in FIB_WORKLOADS else report.ops)
               for r in model if r.cell.workload == w):
            size = f"up to {size} (column n: a slower cell covers its CPU time in a smaller problem)"
        out += ["", f"== {w}: {size}; CPU x = CPU time per operation / {report.baseline}'s at the same T "
                    f"(the talk's 'how many times slower'); x SoL = the same over speed_of_light's =="]
        rows: list[list[str]] = []
        for t in report.threads:
            base = _lookup(report, "model", w, report.baseline, t)
            sol = _lookup(report, "model", w, SOL, t)
            lim = _lookup(report, "model", w, LIMIT, t)
            for r in [r for r in model if r.cell.workload == w and r.cell.threads == t]:
                rows.append([
                    r.cell.row, str(t), str(r.size or "-"), _fmt(r.wall * 1e3), _fmt(r.cpu * 1e3), _ci_text(r),
                    _fmt(r.ns_per_op, 3), _ratio(per_op_ratio(r, base)), _ratio(per_op_ratio(r, lim)),
                    _ratio(per_op_ratio(r, sol))]
                    + ([_fmt(r.callgrind, 3) if r.callgrind else "-"] if callgrind else [])
                    + (_explain_cells(r) if report.explain else [])
                    + ["; ".join(_row_notes(r, report, t))])
            rows.append([])
        headers = ["strategy", "T", "n", "wall ms", "CPU ms", "CPU ±95%", "ns/op", f"CPU x {report.baseline}",
                   "x limit", "x SoL"]
        headers += ["instr/op (callgrind)"] if callgrind else []
        headers += ["slow %", "side KiB cfg/peak", "free delay p99 ns", "p99 ops"] if report.explain else []
        out += _table(headers + ["notes"], rows[:-1], set(range(1, len(headers))))
        if report.explain and w in HOT_WORKLOADS:
            out += _hot_objects(report, w)
        if any(r.counters for r in model if r.cell.workload == w):
            crow = [[r.cell.row, str(r.cell.threads)] + [_fmt(r.counters.get(k, math.nan), 3) for k in
                                                          ("cycles", "instructions", "cache_misses")]
                    for r in model if r.cell.workload == w and r.counters]
            out += ["", f"hardware counters per refcount op ({w}, one extra run per cell):"]
            out += _table(["strategy", "T", "cycles", "instructions", "cache misses"], crow, {1, 2, 3, 4})

    real = [r for r in report.results if r.cell.kind == "real"]
    if real:
        ref = report.reference_label
        out += ["", f"== real: each workload's Python twin on T threads; ns/op = CPU ns per operation counted as "
                    f"the model counts them; CPU x = CPU time / {ref}'s at the same T =="]
        rows = []
        for w in report.workloads:
            for r in [r for r in real if r.cell.workload == w]:
                base = _lookup(report, "real", w, ref, r.cell.threads)
                rows.append([w, r.cell.row, r.build, str(r.cell.threads), _fmt(r.wall * 1e3), _fmt(r.cpu * 1e3),
                             _fmt(r.ns_per_op, 3), _ratio(r.cpu / base.cpu if base else None),
                             "oversubscribed" if r.cell.threads > m.usable_cpus else ""])
        out += _table(["workload", "interpreter", "build", "T", "wall ms", "CPU ms", "ns/op", "CPU x", "notes"],
                      rows, {3, 4, 5, 6, 7})
        out += _model_vs_reality(report, real)
    return "\n".join(out)


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
        return self.measured / self.speed

    @property
    def error(self) -> float:
        return self.predicted / self.corrected - 1.0


SPEED_WORKLOAD = "private"  # T = 1 private work: no sharing, so no refcount contention to hide


def fidelity(report: "Report", free_threaded_row: str = "biased+immortal") -> list[Fidelity]:
    """One Fidelity per measured (interpreter other than the reference, workload, T) that has
    both model rows; the model row is the baseline for a GIL build, free_threaded_row otherwise."""
    ref = report.reference_label
    real = [r for r in report.results if r.cell.kind == "real" and r.cell.row != ref]
    out: list[Fidelity] = []
    for label in dict.fromkeys(r.cell.row for r in real):
        mine = [r for r in real if r.cell.row == label]
        row = free_threaded_row if mine[0].free_threaded else report.baseline

        def ratios(w: str, t: int) -> Optional[tuple[float, float]]:
            mb, mr = _lookup(report, "model", w, report.baseline, t), _lookup(report, "model", w, row, t)
            rb, rr = _lookup(report, "real", w, ref, t), _lookup(report, "real", w, label, t)
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
        lines.append(f"fidelity of {scored[0].model_row} for {label} (refcounting part): mean |error| "
                     f"{mean * 100:.0f}%, worst {worst.error * 100:+.0f}% ({worst.workload} T={worst.threads}); "
                     f"{within} of {len(scored)} cells within 25%")
    return lines or ["fidelity: nothing to score (needs another interpreter than the reference, and the model rows)"]


def _model_vs_reality(report: "Report", real: list["CellResult"]) -> list[str]:
    """Calibration per workload, then predicted beside measured CPU ratios and their error."""
    ref = report.reference_label
    out = ["", f"== model vs reality: calibrated work per workload (model {report.baseline} on 1 thread "
               f"against {ref}) =="]
    if report.calibrations:
        rows = [[c.workload, _fmt(c.real_ns_per_op, 3), _fmt(c.model_ns_per_op_at_zero, 3), str(c.work),
                 _fmt(c.model_ns_per_op, 3), c.note] for c in report.calibrations.values()]
        out += _table(["workload", f"{ref} ns/op", "model ns/op at work=0", "work", "model ns/op", "note"],
                      rows, {1, 2, 3, 4})
    else:
        out += ["NOT calibrated: use --calibrate for comparable absolute numbers"]
    rows_f = fidelity(report)
    out += ["", "== model vs reality: CPU ratio at the same T, predicted = model row / model "
                f"{report.baseline}, measured = interpreter / {ref}; speed = the interpreter-speed factor "
                f"(measured / predicted on {SPEED_WORKLOAD} work at T={min(report.threads)}, e.g. 3.13t's "
                "disabled specialisation), divided out so that the error is about refcounting =="]
    rows = [[f.label, f.build, f.model_row, f.workload, str(f.threads), _ratio(f.predicted), _ratio(f.measured),
             _ratio(f.speed), _ratio(f.corrected),
             "calibration point" if f.calibration_point else f"{f.error * 100:+.0f}%"] for f in rows_f]
    out += _table(["interpreter", "build", "model row", "workload", "T", "predicted", "measured", "speed",
                   "measured/speed", "error"], rows, {4, 5, 6, 7, 8, 9})
    out += ["", *fidelity_summary(rows_f)]
    return out


def plot(report: "Report", path: str) -> None:
    """The talk's two charts per workload: wall time vs threads, CPU time / baseline vs threads."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers and in tests
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    n = len(report.workloads)
    fig, axes = plt.subplots(n, 2, figsize=(15.5, 4.8 * n), squeeze=False)
    for i, w in enumerate(report.workloads):
        ax_wall, ax_ratio = axes[i]
        rows = list(dict.fromkeys(r.cell.row for r in report.results if r.cell.kind == "model" and r.cell.workload == w))
        for k, row in enumerate(rows):
            pts = [(t, _lookup(report, "model", w, row, t)) for t in report.threads]
            pts = [(t, r) for t, r in pts if r]
            # 16 rows and more: the default cycle's 10 colours would give two rows one colour.
            style = dict(marker="o", linewidth=2.2 if row in (report.baseline, "atomic") else 1.4,
                         color=plt.get_cmap("tab20")(k % 20))
            if row == SOL:
                style.update(color="black", linestyle=":")
            ts = [t for t, _ in pts]
            walls, ratios = [], []
            for t, r in pts:
                b = _lookup(report, "model", w, report.baseline, t)
                # A cell sized on its own (size_cells): its wall time for the baseline's problem.
                walls.append(r.wall * (b.ops / r.ops if b and b.ops and r.ops else 1.0) * 1e3)
                ratios.append(per_op_ratio(r, b) if b else math.nan)
            ax_wall.plot(ts, walls, label=row, **style)
            ax_ratio.plot(ts, ratios, label=row, **style)
        ref = report.reference_label
        for label in dict.fromkeys(r.cell.row for r in report.results if r.cell.kind == "real"):
            pts = [(t, _lookup(report, "real", w, label, t)) for t in report.threads]
            pts = [(t, r) for t, r in pts if r]
            ts = [t for t, _ in pts]
            ax_wall.plot(ts, [r.wall * 1e3 for _, r in pts], linestyle="--", marker="s",
                         label=f"real {label}")
            ratios = []
            for t, r in pts:
                b = _lookup(report, "real", w, ref, t)
                ratios.append(r.cpu / b.cpu if b else math.nan)
            ax_ratio.plot(ts, ratios, linestyle="--", marker="s", label=f"real {label} / {ref}")
        size = (f"{w}({report.fib_n}) per thread" if w in FIB_WORKLOADS else f"{report.ops} ops per thread") + \
            f", work={report.work_for(w)}"
        ax_wall.set_title(f"{w}: wall time ({size})")
        ax_wall.set_xlabel("threads")
        ax_wall.set_ylabel("wall ms per run (log)")
        ax_ratio.set_title(f"{w}: CPU time relative to {report.baseline} (how many times slower)")
        ax_ratio.set_xlabel("threads")
        ax_ratio.set_ylabel(f"CPU time / {report.baseline} CPU time (log)")
        ax_ratio.axhline(1.0, color="grey", linewidth=0.8)
        for ax in (ax_wall, ax_ratio):
            ax.set_xticks(report.threads)
            # Log scale: the strategies span two orders of magnitude (speed_of_light to buffered
            # or locked), and on a log axis equal ratios look equal, which is what we compare.
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            ax.grid(alpha=0.3, which="both")
            if max(report.threads) > report.machine.usable_cpus:
                ax.axvline(report.machine.usable_cpus + 0.5, color="red", linewidth=0.8, linestyle="--")
        # Outside the axes: inside, the legend hides the lines it names.
        ax_ratio.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
    fig.suptitle(f"refstrat on {report.machine.cpu_model}, {report.machine.usable_cpus} CPUs "
                 f"(red dashed line: more threads than CPUs)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
