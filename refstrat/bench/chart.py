"""``--plot``: the talk's two charts per workload, wall time and CPU time relative to the
baseline against threads, faceted so that each line can be followed.

A panel holds one group of rows: the schemes without layers (a few per panel), CPython's layers
(immortal, deferred, sharded and the rows that compose them), the reference rows (speed_of_light
and the limits), and the real interpreters. The baseline is drawn in every model panel, and the
model panels of one chart row share their y axis, so that panels compare as one chart would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from refstrat.bench.cells import REFERENCE_ROWS, SOL, CellResult, Report, split_row
from refstrat.bench.report import per_op_ratio, size_text

MAX_LINES = 6  # lines per panel, the baseline aside: beyond that, colours and crossings blur


@dataclass(frozen=True)
class Group:
    """One panel's rows: model rows, or (``real``) interpreter labels."""

    title: str
    rows: list[str]
    real: bool = False


def _layered_strategies() -> set[str]:
    """Strategies that are CPython's per-object layers, or compose them (the registry's view)."""
    try:
        import refstrat
    except ImportError:  # a chart redrawn from a JSON file needs no core to be drawn at all
        return set()
    return {s.name for s in refstrat.strategies() if s.layers}


def groups(report: Report, w: str) -> list[Group]:
    """The panels of workload ``w``, in drawing order; an empty group has no panel."""
    rows = list(dict.fromkeys(r.cell.row for r in report.results if r.cell.kind == "model" and r.cell.workload == w))
    layered = _layered_strategies()
    limits = [r for r in rows if r in REFERENCE_ROWS]
    layers = [r for r in rows if r not in limits and ("+" in r or split_row(r)[0] in layered)]
    schemes = [r for r in rows if r not in limits and r not in layers]
    panels = -(-len(schemes) // MAX_LINES)  # ceiling: as few panels as hold them, evenly filled
    out = [
        Group(
            f"schemes{f' ({k + 1}/{panels})' if panels > 1 else ''}",
            schemes[k * len(schemes) // panels : (k + 1) * len(schemes) // panels],
        )
        for k in range(panels)
    ]
    out += [Group("CPython's layers", layers), Group("speed of light and limits", limits)]
    real = list(dict.fromkeys(r.cell.row for r in report.results if r.cell.kind == "real" and r.cell.workload == w))
    out.append(Group("real interpreters", real, real=True))
    return [g for g in out if g.rows]


def plot(report: Report, path: str) -> None:
    """Write the charts to ``path`` (matplotlib picks the format by its suffix): per workload, a
    row of wall-time panels above a row of CPU-ratio panels, one panel per group of rows."""
    import matplotlib

    matplotlib.use("Agg")  # files only; no display on servers and in tests
    import matplotlib.pyplot as plt

    facets = {w: groups(report, w) for w in report.workloads}
    ncols = max([len(g) for g in facets.values()] or [1])
    fig, axes = plt.subplots(
        2 * len(report.workloads), ncols, figsize=(4.4 * ncols + 1, 3.4 * 2 * len(facets)), squeeze=False
    )
    for i, w in enumerate(report.workloads):
        wall_row, ratio_row = axes[2 * i], axes[2 * i + 1]
        for j, group in enumerate(facets[w]):
            draw = _draw_real if group.real else _draw_model
            draw(report, w, group, wall_row[j], ratio_row[j])
            wall_row[j].set_title(f"{w}: {group.title}", fontsize=9)
            wall_row[j].legend(fontsize=7, loc="best", framealpha=0.8)
        for ax in [*wall_row[len(facets[w]) :], *ratio_row[len(facets[w]) :]]:
            ax.set_axis_off()
        for ax in [*wall_row[: len(facets[w])], *ratio_row[: len(facets[w])]]:
            _style(ax, report)
        model_cols = [j for j, g in enumerate(facets[w]) if not g.real]
        for row in (wall_row, ratio_row):
            _share_y([row[j] for j in model_cols])
        wall_row[0].set_ylabel(f"wall ms per run (log)\n{size_text(report, w)}", fontsize=8)
        ratio_row[0].set_ylabel(f"CPU time / {report.baseline}'s (log)", fontsize=8)
    fig.suptitle(
        f"refstrat on {report.machine.cpu_model}, {report.machine.usable_cpus} CPUs: wall time (upper "
        f"row) and CPU time relative to {report.baseline}, how many times slower (lower row); "
        f"{report.baseline} in every panel (black); red dashed line: more threads than CPUs",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _draw_model(report: Report, w: str, group: Group, ax_wall: Any, ax_ratio: Any) -> None:
    """A group of model rows, the baseline among them whether or not the group holds it."""
    import matplotlib.pyplot as plt

    rows = group.rows if report.baseline in group.rows else [report.baseline, *group.rows]
    k = 0
    for row in rows:
        if row == report.baseline:
            style: dict[str, Any] = dict(color="black", linewidth=2.4, marker="o", zorder=3)
        elif row == SOL:
            style = dict(color="black", linestyle=":", marker="o", linewidth=1.6)
        else:
            style = dict(color=plt.get_cmap("tab10")(k % 10), marker="o", linewidth=1.6)
            k += 1
        ts, walls, ratios = _model_points(report, w, row)
        if ts:
            ax_wall.plot(ts, walls, label=row, **style)
            ax_ratio.plot(ts, ratios, label=row, **style)
    ax_ratio.axhline(1.0, color="grey", linewidth=0.8)


def _model_points(report: Report, w: str, row: str) -> tuple[list[int], list[float], list[float]]:
    """(threads, wall ms, CPU ratio to the baseline) of one model row, where it was measured."""
    ts, walls, ratios = [], [], []
    for t in report.threads:
        r = report.lookup("model", w, row, t)
        if r is None:
            continue
        b = report.lookup("model", w, report.baseline, t)
        ts.append(t)
        # A cell sized on its own (size_cells): its wall time for the baseline's problem.
        walls.append(r.wall * (b.ops / r.ops if b and b.ops and r.ops else 1.0) * 1e3)
        ratio = per_op_ratio(r, b) if b else None
        ratios.append(math.nan if ratio is None else ratio)
    return ts, walls, ratios


def _draw_real(report: Report, w: str, group: Group, ax_wall: Any, ax_ratio: Any) -> None:
    """The interpreters' twins: wall time, and CPU time relative to the reference interpreter."""
    ref = report.reference_label
    for label in group.rows:
        pts = [(t, report.lookup("real", w, label, t)) for t in report.threads]
        found: list[tuple[int, CellResult]] = [(t, r) for t, r in pts if r]
        ts = [t for t, _ in found]
        ax_wall.plot(ts, [r.wall * 1e3 for _, r in found], linestyle="--", marker="s", label=f"real {label}")
        ratios = [
            r.cpu / b.cpu if b else math.nan for b, r in ((report.lookup("real", w, ref, t), r) for t, r in found)
        ]
        ax_ratio.plot(ts, ratios, linestyle="--", marker="s", label=f"real {label} / {ref}")
    ax_ratio.axhline(1.0, color="grey", linewidth=0.8)
    ax_ratio.set_ylabel(f"CPU time / {ref}'s", fontsize=8)


def _share_y(axes: list[Any]) -> None:
    """One y range over ``axes`` (log scale), so that their lines compare across panels."""
    lows, highs = [], []
    for ax in axes:
        for line in ax.get_lines():
            ys = [y for y in line.get_ydata() if isinstance(y, (int, float)) and y > 0 and math.isfinite(y)]
            if ys:
                lows.append(min(ys))
                highs.append(max(ys))
    if lows:
        for ax in axes:
            ax.set_ylim(min(lows) / 1.25, max(highs) * 1.25)


def _style(ax: Any, report: Report) -> None:
    """Threads on x; a log y axis, since equal ratios should look equal and the rows span two
    orders of magnitude (speed_of_light to buffered or locked)."""
    import matplotlib.ticker

    ax.set_xticks(report.threads)
    ax.set_xlabel("threads", fontsize=8)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.grid(alpha=0.3, which="both")
    ax.tick_params(labelsize=7)
    if max(report.threads) > report.machine.usable_cpus:
        ax.axvline(report.machine.usable_cpus + 0.5, color="red", linewidth=0.8, linestyle="--")
