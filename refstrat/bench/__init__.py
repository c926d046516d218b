"""``python -m refstrat.bench``: the benchmark matrix, measured with pyperf.

Every *cell* is one (workload, strategy, thread count).  pyperf does the calibration of loops,
the warm-ups, the worker processes and the statistics; this package only says what one loop is
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

* ``--real``: every selected workload's real twin (``twins.py``: Python programs doing
  what the kernels model) on T threads in this interpreter (through pyperf); ``--python PATH``
  adds other interpreters (subprocesses running ``twins.py`` as a script, because they have neither
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

Modules, one concern each; ``main`` runs them as plan -> measure -> collect -> report:

=================  ============================================================================
``cli``            the options (pyperf's and the matrix's) and every check made before measuring
``cells``          the data model: cells, their results, calibrations, the report's facts
``sizing``         the work per run: --fib-n / --ops resolved, then each cell sized on its own
``measure``        pyperf's time functions (in the workers) and results built from their runs
``interpreters``   real interpreters: the twins here and on --python PATH, and --calibrate
``twins``          the twins themselves: standard library only, run as a script by others
``stability``      work scaling, steady-state sizes, instability, bootstrap CIs, a busy machine
``hardware``       the machine's facts and its performance counters (perf_event_open)
``callgrind``      instructions per operation under valgrind
``report``         the text report; ``chart``: the --plot charts; ``progress``: progress on stderr
``driver``         ``main``; ``__main__``: Ctrl-C and SIGTERM around it
=================  ============================================================================
"""

from __future__ import annotations

from refstrat.bench.cells import (
    FIB_WORKLOADS,
    FREE_THREADED_ROW,
    IMMORTAL_SUFFIX,
    LAYER_NAMES,
    LIMIT,
    LIMIT_ATOMIC,
    NO_TWIN_WORKLOADS,
    REFERENCE_ROWS,
    SOL,
    UNBENCHABLE_WORKLOADS,
    Calibration,
    Cell,
    CellResult,
    Report,
    plan_cells,
    split_row,
)
from refstrat.bench.cli import (
    DEFAULT_BASELINE,
    DEFAULT_PROCESSES,
    DEFAULT_VALUES,
    PLOT_SUFFIXES,
    REFERENCE_CAP,
    build_parser,
    layered_rows,
)
from refstrat.bench.driver import main
from refstrat.bench.interpreters import (
    PROBE_OUTPUT_CAP,
    PROBE_TIMEOUT,
    PYTHON_OUTPUT_CAP,
    PYTHON_TIMEOUT,
    TWINS_MIN_VERSION,
    TwinRows,
    calibrate,
    not_a_python,
    probe_python,
    run_bounded,
    run_other_python,
)
from refstrat.bench.measure import (
    CALLGRIND_WORK,
    check_cell,
    knob_settings,
    measure_callgrind,
    measure_counters,
    time_model,
    time_real,
)
from refstrat.bench.progress import Progress
from refstrat.bench.sizing import DEFAULT_FIB_N, DEFAULT_OPS, cell_size, resolve_work, size_cells

__all__ = [
    "CALLGRIND_WORK",
    "DEFAULT_BASELINE",
    "DEFAULT_FIB_N",
    "DEFAULT_OPS",
    "DEFAULT_PROCESSES",
    "DEFAULT_VALUES",
    "FIB_WORKLOADS",
    "FREE_THREADED_ROW",
    "IMMORTAL_SUFFIX",
    "LAYER_NAMES",
    "LIMIT",
    "LIMIT_ATOMIC",
    "NO_TWIN_WORKLOADS",
    "PLOT_SUFFIXES",
    "PROBE_OUTPUT_CAP",
    "PROBE_TIMEOUT",
    "PYTHON_OUTPUT_CAP",
    "PYTHON_TIMEOUT",
    "REFERENCE_CAP",
    "REFERENCE_ROWS",
    "SOL",
    "TWINS_MIN_VERSION",
    "UNBENCHABLE_WORKLOADS",
    "Calibration",
    "Cell",
    "CellResult",
    "Progress",
    "Report",
    "TwinRows",
    "build_parser",
    "calibrate",
    "cell_size",
    "check_cell",
    "knob_settings",
    "layered_rows",
    "main",
    "measure_callgrind",
    "measure_counters",
    "not_a_python",
    "plan_cells",
    "probe_python",
    "resolve_work",
    "run_bounded",
    "run_other_python",
    "size_cells",
    "split_row",
    "time_model",
    "time_real",
]
