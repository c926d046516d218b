"""How much work one timed run does: --fib-n / --ops left to "auto" resolved for the matrix, then
each cell given the least work whose cost per operation has settled (main process only)."""

from __future__ import annotations

import argparse

from refstrat.bench import measure, stability
from refstrat.bench.cells import Cell, is_fib

DEFAULT_FIB_N = 20  # the smallest depth the work scaling starts from
DEFAULT_OPS = 200_000


def work_of(args: argparse.Namespace, workload: str) -> int:
    """The model's spin work on ``workload``: its calibrated value (--work-by), else --work."""
    return args.work_by.get(workload, args.work)


def resolve_work(args: argparse.Namespace) -> str:
    """Fill in --fib-n / --ops left to "auto" so that one baseline run at T=1 costs at least
    50 ms of CPU (probing the unchecked copy); return the report's note on the work per value."""

    def cpu(workload: str, fib_n: int, ops: int) -> float:
        kw = measure.run_kwargs(workload, fib_n, args.work, ops, args.pin, measure.knob_settings(args))
        return min(measure.model_once(args.baseline, workload, 1, kw).cpu_seconds for _ in range(2))

    auto = []
    if args.fib_n is None:
        fibs = [w for w in args.workloads if is_fib(w)]
        args.fib_n = (
            max(stability.scale_fib_n(lambda n: cpu(w, n, DEFAULT_OPS), DEFAULT_FIB_N) for w in fibs)
            if fibs
            else DEFAULT_FIB_N
        )
        auto.append(f"fib_n={args.fib_n}")
    loops = [w for w in args.workloads if not is_fib(w)]
    if args.ops is None:
        args.ops = max(
            [stability.scale_ops(lambda o: cpu(w, DEFAULT_FIB_N, o), DEFAULT_OPS) for w in loops] or [DEFAULT_OPS]
        )
        if loops:
            auto.append(f"ops={args.ops}")
    probe = {w: cpu(w, args.fib_n, args.ops) for w in args.workloads}
    work = ", ".join(f"{w} {v * 1e3:.3g} ms" for w, v in probe.items())
    how = (
        f"scaled ({', '.join(auto)}) so that a value covers >= {stability.MIN_WORK_SECONDS * 1e3:.0f} ms of CPU"
        if auto
        else "as given"
    )
    return f"work per value: one run, {how}; {args.baseline} at T=1 costs {work} of CPU per run"


def cell_size(args: argparse.Namespace, cell: Cell) -> tuple[int, int]:
    """(fib_n, ops per thread) of one cell: its own where size_cells() gave it one."""
    n = args.size_by.get(cell.name)
    if n is None:
        return args.fib_n, args.ops
    return (n, args.ops) if is_fib(cell.workload) else (args.fib_n, n)


def size_cells(args: argparse.Namespace, cells: list[Cell]) -> None:
    """Give each model cell the least work (down to the defaults) whose run still costs
    MIN_WORK_SECONDS of CPU, up to the matrix's: a cell 30x slower than the baseline covers its
    50 ms in a smaller problem, not in 30x the time. The per-operation figures compared are then
    those of different sizes, so a smaller size is kept only where the cell's cost per operation
    has settled there (stability.settled_size): buffered on fib costs about 6 ns/op at
    fib(18-20) and 12-13 at fib(28-30), its commit rounds taking a run's first part to reach
    their pace (bench/RESULTS.md). Where that check stopped at its cost ceiling after the cost
    had risen, args.unsettled says so for the report."""
    for cell in cells:
        if cell.kind != "model":
            continue
        fib = is_fib(cell.workload)

        def probe(size: int, cell: Cell = cell) -> tuple[float, float]:
            kw = measure.sized_kwargs(
                cell.workload,
                size,
                args.fib_n,
                args.ops,
                work_of(args, cell.workload),
                args.pin,
                measure.knob_settings(args),
            )
            r = min(
                (measure.model_once(cell.row, cell.workload, cell.threads, kw) for _ in range(2)),
                key=lambda r: r.cpu_seconds,
            )
            return r.cpu_seconds, r.cpu_seconds / max(r.ops, 1)

        cap = args.fib_n if fib else args.ops
        if fib:
            size = stability.scale_fib_n(lambda n: probe(n)[0], min(DEFAULT_FIB_N, cap), limit=cap)
            size, why = stability.settled_size(
                probe, size, cap, lambda n: n + 4, lambda n, m: stability.FIB_RATIO ** (m - n)
            )
        else:
            size = stability.scale_ops(lambda o: probe(o)[0], min(DEFAULT_OPS, cap), limit=cap)
            size, why = stability.settled_size(probe, size, cap, lambda o: o * 4, lambda o, p: p / o)
        if size != cap:
            args.size_by[cell.name] = size
        if why:
            args.unsettled[cell.name] = why


def sized_note(args: argparse.Namespace) -> str:
    """The report's words on size_cells(), appended to the work note where a cell got its own size."""
    return (
        "; then each cell on its own (column n), down to fib_n="
        f"{min(DEFAULT_FIB_N, args.fib_n)} / ops={min(DEFAULT_OPS, args.ops)}, "
        "so that a slower cell does not run longer than it must, and no smaller than where its "
        "cost per operation has settled (a run 4 fib levels or 4x the operations larger "
        f"costs under {stability.SETTLE:g}x as much per operation; the check makes "
        f"no run over {stability.SETTLE_CEILING:g} s of CPU, and flags a cell it "
        "left rising: UNSETTLED)"
    )
