"""The command line of ``python -m refstrat.bench``: pyperf's options plus the matrix's, each
value checked where it is parsed, and the checks that need the whole command line (files,
interpreters, the matrix itself) made before the first measurement."""

from __future__ import annotations

import argparse
import itertools
import math
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import Any

from refstrat.bench import hardware, interpreters, measure, report
from refstrat.bench.cells import (
    FREE_THREADED_ROW,
    IMMORTAL_SUFFIX,
    LAYER_NAMES,
    UNBENCHABLE_WORKLOADS,
    Cell,
    plan_cells,
)
from refstrat.bench.sizing import DEFAULT_FIB_N, DEFAULT_OPS

DEFAULT_PROCESSES = 4  # pyperf's 20 would take ~10 minutes for the default matrix on 2 cores
DEFAULT_VALUES = 3
DEFAULT_BASELINE = "gil"  # the talk's baseline was the GIL build
PLOT_SUFFIXES = (".png", ".pdf", ".svg")  # what --plot writes (matplotlib picks the format by suffix)
REFERENCE_CAP = 256 << 20  # bytes of a --compare-to file read; refstrat's JSON is far smaller


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


def _names_type(
    valid: Sequence[str], what: str, extra: Sequence[str] = (), variants: Sequence[str] = ()
) -> Callable[[str], list[str]]:
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
                more = (
                    f"; or a strategy plus layers, e.g. '{IMMORTAL_SUFFIX}' or '+immortal+deferred+sharded'"
                    if variants
                    else ""
                )
                raise argparse.ArgumentTypeError(
                    f"unknown {what} {name!r}{hint}; valid choices: {', '.join(valid)} (or 'all'{more})"
                )
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
                f"invalid thread count {part!r}: expected integers from 1 to 1024, like 1,2,4"
            )
        if value not in out:
            out.append(value)
    return out


def _assignments_type(text: str) -> dict[str, int]:
    """The workers' "name=N,..." options, written by forward(): --work-by, the calibrated work per
    workload ("fib=12,private=3"), and --size-by, the work per cell ("fib/atomic/T2=24,...")."""
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


def _core_names(plugins: Sequence[str] = ()) -> tuple[list[str], list[str]]:
    """Strategy and workload names from the installed core (the single source of truth), the
    strategies of the ``plugins`` libraries after the built-ins (they are loaded here)."""
    refstrat = _import_refstrat()
    strategies = [s.name for s in refstrat.strategies()]
    for path in plugins:
        strategies += [name for name in load_plugin(path) if name not in strategies]
    workloads = [w.name for w in refstrat.workloads()]
    return strategies, workloads


def load_plugin(path: str) -> list[str]:
    """refstrat.load_plugin, or an exit with its reason: a bad --plugin ends the bench before any
    measurement, in the main process and in every worker alike."""
    try:
        return _import_refstrat().load_plugin(path)
    except (OSError, ValueError) as exc:
        sys.exit(f"python -m refstrat.bench: error: --plugin {path}: {exc}")


def plugin_paths(argv: Sequence[str]) -> list[str]:
    """The --plugin paths of a command line, read before the parser is built: the parser's
    strategy choices include the plugins' strategies."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--plugin", action="append", default=[])
    return [os.path.abspath(p) for p in pre.parse_known_args(list(argv))[0].plugin]


def _import_refstrat() -> Any:
    try:
        import refstrat
    except ImportError as exc:  # the compiled core is missing: say how to get it
        sys.exit(f"refstrat.bench: cannot import refstrat ({exc}); install it with `pip install -e .`")
    return refstrat


def knob_flags(name: str) -> list[str]:
    """A knob's options: --log-size, as the other options are spelled, and --log_size as the
    keyword of refstrat.run() is."""
    dashed = "--" + name.replace("_", "-")
    return [dashed] if "_" not in name else [dashed, "--" + name]


def _knob_type(knob: Any) -> Callable[[str], Any]:
    """argparse type for one knob: its kind, within its inclusive range (refstrat.knobs())."""
    flag = knob_flags(knob.name)[0]

    def parse(text: str) -> Any:
        try:
            value = int(text) if knob.kind == "int" else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid {flag} {text!r}: expected {'an integer' if knob.kind == 'int' else 'a number'}"
            ) from None
        if not knob.low <= value <= knob.high:  # NaN fails this too
            raise argparse.ArgumentTypeError(
                f"invalid {flag} {value}: must be between {number(knob.low)} and {number(knob.high)}"
            )
        return value

    return parse


def number(value: float) -> str:
    """An int in full (a knob's high end may be 2**31), a float in short."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def build_parser(
    runner_parser: argparse.ArgumentParser | None = None, plugins: Sequence[str] = ()
) -> argparse.ArgumentParser:
    """Our options, added after pyperf's (conflict_handler="resolve" lets ours win on clashes).
    ``plugins``: libraries to load first, whose strategies become valid choices."""
    strategies, workloads = _core_names(plugins)
    p = runner_parser or argparse.ArgumentParser(conflict_handler="resolve")
    p.prog = "python -m refstrat.bench"
    p.description = (
        "Benchmark refcounting strategies (pyperf). Default: every strategy on the fib workload, "
        "1 thread up to the number of CPUs, CPU time relative to the 'gil' strategy."
    )
    _hide_pyperf_plumbing(p)
    g = p.add_argument_group("refstrat matrix")
    _add_matrix_options(g, strategies, workloads)
    _add_run_options(g, strategies)
    _add_output_options(g)
    _add_real_options(g)
    # pyperf's own --python (run workers on another interpreter) and --compare-to (an
    # interpreter too) are replaced by ours above; keep their attributes so pyperf's argument
    # processing still finds them.
    p.set_defaults(python=sys.executable, output=None, compare_to=None)
    return p


def _hide_pyperf_plumbing(p: argparse.ArgumentParser) -> None:
    """pyperf's plumbing options (worker protocol, modes refstrat.bench refuses) clutter --help."""
    # (Not --tracemalloc/--track-memory: hiding members of a mutually exclusive group trips argparse.)
    hidden = {
        "pipe",
        "worker",
        "worker_task",
        "calibrate_loops",
        "recalibrate_loops",
        "calibrate_warmups",
        "recalibrate_warmups",
        "compare_to",
        "python_names",
        "append",
        "hook",
        "profile",
        "debug_single_value",
    }
    for action in p._actions:
        if action.dest in hidden:
            action.help = argparse.SUPPRESS


def _add_matrix_options(g: Any, strategies: list[str], workloads: list[str]) -> None:
    """What the matrix holds: strategies (and layered rows), workloads, thread counts, sizes."""
    benchable = [w for w in workloads if w not in UNBENCHABLE_WORKLOADS]
    cpus = hardware.machine_info().usable_cpus
    g.add_argument(
        "--strategies",
        type=_names_type(strategies, "strategy", (), layered_rows(strategies)),
        default=list(strategies),
        help=f"comma-separated strategies, or 'all' (default): {', '.join(strategies)}; "
        f"'all' can be combined with others; add '{IMMORTAL_SUFFIX}' to a name for the scheme "
        "plus PEP 683 immortal shared objects (e.g. biased+immortal, as CPython 3.13t ships "
        "it), and '+deferred', '+sharded' (in that order) for CPython 3.14t's other layers "
        "(biased+immortal+deferred+sharded is cpython314t)",
    )
    g.add_argument(
        "--workloads",
        type=_names_type(benchable, "workload", UNBENCHABLE_WORKLOADS),
        default=["fib"],
        help=f"comma-separated workloads (default: fib): {', '.join(benchable)}",
    )
    g.add_argument(
        "--threads",
        type=_threads_type,
        default=list(range(1, cpus + 1)),
        help=f"comma-separated thread counts (default: 1..{cpus}, the usable CPUs); "
        "more threads than CPUs is allowed and flagged in the report",
    )
    g.add_argument(
        "--ops",
        type=_int_range(1, 10**10, "--ops"),
        default=None,
        help="refcount operations per thread for private/shared/mixed/handoff (default: "
        f"auto, at least {DEFAULT_OPS} and enough for 50 ms of CPU per run)",
    )
    g.add_argument(
        "--fib-n",
        dest="fib_n",
        type=_int_range(1, 40, "--fib-n"),
        default=None,
        help=f"fib depth per thread, model and --real (default: auto, at least {DEFAULT_FIB_N} "
        "and enough for 50 ms of CPU per run)",
    )
    g.add_argument(
        "--work",
        type=_int_range(0, 10**7, "--work"),
        default=0,
        help="model: spin iterations of non-refcount work per fib call, or per operation on the "
        "other workloads (default: 0; see --calibrate)",
    )


def _add_run_options(g: Any, strategies: list[str]) -> None:
    """How each cell runs: the scheme knobs, the baseline, pinning, pyperf's processes; and the
    worker-only options through which the main process hands its decisions to the workers."""
    for knob in _import_refstrat().knobs():
        g.add_argument(
            *knob_flags(knob.name),
            dest=knob.name,
            type=_knob_type(knob),
            default=None,
            metavar="INT" if knob.kind == "int" else "X",
            help=f"{knob.strategy}: {knob.doc} (default: {number(knob.default)}; "
            f"{number(knob.low)} to {number(knob.high)})",
        )
    g.add_argument(
        "--baseline",
        choices=strategies,
        default=DEFAULT_BASELINE,
        metavar="STRATEGY",
        help="strategy the CPU-time ratio is relative to (default: gil, the talk's GIL build); "
        f"one of: {', '.join(strategies)}",
    )
    g.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="PATH",
        help="a strategy plugin (refstrat.load_plugin) whose strategies join the valid "
        "--strategies and the default matrix; repeatable; workers load it too",
    )
    g.add_argument("--no-pin", dest="pin", action="store_false", help="do not pin worker threads to CPUs")
    g.add_argument(
        "-p",
        "--processes",
        "--repeat",
        dest="processes",
        type=_int_range(1, 1000, "--repeat"),
        default=DEFAULT_PROCESSES,
        help=f"pyperf worker processes per cell, each giving --values values "
        f"(default: {DEFAULT_PROCESSES}); --fast halves it (min 3), --rigorous doubles it",
    )
    g.add_argument("--sidecar", help=argparse.SUPPRESS)  # worker-only: where CPU seconds go
    g.add_argument(
        "--work-by", dest="work_by", type=_assignments_type, default={}, help=argparse.SUPPRESS
    )  # worker-only: calibrated work per workload
    g.add_argument(
        "--size-by", dest="size_by", type=_assignments_type, default={}, help=argparse.SUPPRESS
    )  # worker-only: fib_n or ops of cells sized on their own


def _add_output_options(g: Any) -> None:
    """What the run writes beside the report, and the report's extra columns."""
    g.add_argument(
        "-o",
        "--output",
        dest="bench_output",
        metavar="FILE.json",
        help="write all cells as pyperf JSON (readable by `python -m pyperf stats/compare_to`)",
    )
    g.add_argument(
        "--plot",
        metavar="FILE.png",
        help="draw the talk's two charts (wall time, CPU time relative to the baseline) with "
        "matplotlib, one panel per group of rows (schemes, CPython's layers, limits, real)",
    )
    g.add_argument(
        "--compare-to",
        dest="compare_to_json",
        metavar="REF.json",
        help="after the report, compare the cells with those of a pyperf JSON file written by "
        "--output (python -m pyperf compare_to REF.json THIS --table)",
    )
    g.add_argument(
        "--explain",
        action="store_true",
        help="run each strategy cell's checked run in the explain flavour and add columns: "
        "slow-path %%, side memory, free-delay p99; plus hot objects for fib/shared/mixed",
    )
    g.add_argument(
        "--callgrind",
        action="store_true",
        help="add instructions/op under valgrind --tool=callgrind for the T=1 cells "
        "(counting, not timing: for machines where perf_event_open is refused)",
    )


def _add_real_options(g: Any) -> None:
    """Real interpreters: this one's twins, other interpreters', and the calibration against them."""
    g.add_argument(
        "--real",
        action="store_true",
        help="also run every selected workload's real twin (a Python program doing what the "
        "model does) on T threads in this interpreter",
    )
    g.add_argument(
        "--python",
        dest="real_pythons",
        action="append",
        default=[],
        metavar="PATH",
        help="also run the real twins on this interpreter (repeatable; implies --real); the "
        "first GIL build given is the reference of the measured ratios",
    )
    g.add_argument(
        "--python-timeout",
        dest="python_timeout",
        type=float,
        default=interpreters.PYTHON_TIMEOUT,
        metavar="SECONDS",
        help=f"give up on a --python worker after this long (default: {interpreters.PYTHON_TIMEOUT:g}); "
        f"its output is capped at {interpreters.PYTHON_OUTPUT_CAP // 1024} KiB",
    )
    g.add_argument(
        "--calibrate",
        action="store_true",
        help="set each workload's model work so the baseline's time per operation on one thread "
        "matches the reference interpreter's twin (implies --real); the report shows "
        f"predicted vs measured ratios ({FREE_THREADED_ROW} for free-threaded builds)",
    )


def parse(argv: Sequence[str] | None) -> tuple[Any, argparse.ArgumentParser, argparse.Namespace]:
    """pyperf's Runner (one per process), the parser and the parsed options, with what the
    options imply filled in: --python and --calibrate imply --real, and the baseline joins the
    strategies where it is missing (``args.baseline_added``), since every ratio needs it."""
    import pyperf

    parser = argparse.ArgumentParser(conflict_handler="resolve")
    runner = pyperf.Runner(
        processes=DEFAULT_PROCESSES,
        values=DEFAULT_VALUES,
        _argparser=parser,
        program_args=("-m", "refstrat.bench"),
        add_cmdline_args=forward,
    )
    argv = list(argv) if argv is not None else sys.argv[1:]
    build_parser(parser, plugin_paths(argv))
    args = runner.parse_args(argv)
    args.plugin = plugin_paths(argv)  # absolute, so that workers started elsewhere find them
    args.unsettled = {}  # cell name -> why its size may be short of its steady state (size_cells)
    if args.real_pythons or args.calibrate:
        args.real = True
    args.baseline_added = args.baseline not in args.strategies
    if args.baseline_added:
        args.strategies = [args.baseline, *args.strategies]
    return runner, parser, args


def forward(cmd: list[str], args: argparse.Namespace) -> None:
    """pyperf add_cmdline_args hook: give workers the resolved matrix (and the calibrated work)."""
    cmd.extend(
        [
            f"--strategies={','.join(args.strategies)}",
            f"--workloads={','.join(args.workloads)}",
            f"--threads={','.join(map(str, args.threads))}",
            f"--ops={args.ops}",
            f"--fib-n={args.fib_n}",
            f"--work={args.work}",
            f"--baseline={args.baseline}",
            f"--sidecar={args.sidecar}",
        ]
    )
    if args.work_by:
        cmd.append("--work-by=" + ",".join(f"{w}={n}" for w, n in args.work_by.items()))
    if args.size_by:
        cmd.append("--size-by=" + ",".join(f"{c}={n}" for c, n in args.size_by.items()))
    cmd.extend(f"{knob_flags(name)[0]}={value!r}" for name, value in measure.knob_settings(args).items())
    cmd.extend(f"--plugin={path}" for path in args.plugin)
    if not args.pin:
        cmd.append("--no-pin")
    if args.real:
        cmd.append("--real")


def validate_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks that only matter where results are written (not in workers). Returns only when
    every file, interpreter and cell of the matrix is usable; else exits through parser.error."""
    # pyperf options that change what a value means or who writes the file: our /cpu companions
    # and the report rely on one wall-time value per call, and on writing the suite ourselves.
    for opt, used in (
        ("--append", args.append),
        ("--tracemalloc", args.tracemalloc),
        ("--track-memory", args.track_memory),
    ):
        if used:
            parser.error(
                f"pyperf option {opt} is not supported by refstrat.bench; use --output FILE.json "
                "and `python -m pyperf compare_to A.json B.json`, or --python PATH for interpreters"
            )
    _validate_files(parser, args)
    if not (math.isfinite(args.min_time) and args.min_time > 0):
        parser.error(f"--min-time must be a positive number of seconds, got {args.min_time}")
    if args.affinity is not None:
        _validate_affinity(parser, args.affinity)
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
        why = interpreters.not_a_python(path, min(args.python_timeout, interpreters.PROBE_TIMEOUT))
        if why:
            parser.error(f"--python {path}: not a usable Python interpreter ({why})")
    # Strategies the matrix cannot run (e.g. a workload that needs >= 2 threads) fail here, in
    # milliseconds, rather than deep inside a pyperf worker.
    knobs = measure.knob_settings(args)
    for w in args.workloads:
        for t in args.threads:
            try:
                measure.model_once(args.baseline, w, t, measure.run_kwargs(w, 2, 0, 64, args.pin, knobs))
            except (ValueError, TypeError) as exc:
                parser.error(f"workload {w!r} with {t} threads: {exc}")


def _validate_files(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--output, --plot and --compare-to: three different files, the first two writable with the
    right suffix, the last a pyperf JSON file sharing a cell with this matrix."""
    named = [
        (opt, path)
        for opt, path in (
            ("--output", args.bench_output),
            ("--plot", args.plot),
            ("--compare-to", args.compare_to_json),
        )
        if path
    ]
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


def _same_file(a: str, b: str) -> bool:
    """Whether two spellings name one file: through relative parts, symlinks or hard links."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist yet: only its spelling could have named the other
        return False


def _not_a_reference(path: str, cells: list[Cell]) -> str | None:
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
        return f"no cell in common with this matrix (it holds {report.some(sorted(theirs))})"
    return None


def _unwritable(path: str, *, may_exist: bool) -> str | None:
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


def _validate_affinity(parser: argparse.ArgumentParser, text: str) -> None:
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
        parser.error(
            f"--affinity {text!r}: CPU(s) {', '.join(map(str, bad))} not usable here; "
            f"usable: {', '.join(map(str, usable))}"
        )
