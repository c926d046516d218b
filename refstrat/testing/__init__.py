"""Correctness fuzzing for refstrat schemes, built on Hypothesis.

Point it at a strategy::

    >>> import refstrat.testing as rt
    >>> report = rt.check("biased", threads=2)          # Hypothesis + seeded stress
    >>> report.ok, report.examples
    (True, 100)

What it does:

* :func:`programs` is a Hypothesis strategy of valid multithreaded refcount programs
  (:class:`~refstrat.model.Program`): per-thread operation lists over private, shared and
  immortal objects, with allocation, incref, decref, handing a reference to another
  thread's mailbox, taking it from there, and releasing everything at the end.  Valid by
  construction: it generates one feasible global execution and projects it onto the
  threads, so a thread never releases a reference it does not hold and no recv can wait
  forever.
* :func:`refstrat.model.expect` computes exactly what every correct scheme must give.
* :func:`check` runs programs on real OS threads with the GIL released (the ``trace``
  workload), with a Hypothesis-drawn ``jitter`` seed that inserts deterministic pauses and
  spins between operations, and compares with the model.  A failure carries the minimal
  program Hypothesis shrank to; :func:`replay` reruns it.
* :func:`stress` adds volume (races on a 2-core machine need it): seeded, large programs
  with hot shared and handed-off objects, at growing sizes.
* :func:`arena_machine` is a ``RuleBasedStateMachine`` driving one ``refstrat.Arena`` step
  by step, checking invariants after every step, flush and quiesce.
* ``check(..., schedule="random" | "pct" | "exhaustive")`` runs programs one thread at a time
  under the check build's deterministic scheduler instead (:mod:`refstrat.testing.sched`).

Modules, one concern each; this package re-exports their public names:

=============  =====================================================================================
``api``        :func:`check` and :func:`replay`, the entry points
``config``     :class:`CheckConfig`: every setting of :func:`check` as one frozen value
``args``       validation of the arguments (a bad one raises before anything runs)
``programs``   :func:`programs`, :func:`cases` and the knobs' defaults
``timing``     timing fuzz on real threads, and :func:`minimize`
``stress``     :func:`stress` and :func:`stress_program`
``failures``   :class:`Failure`, :class:`CheckFailed`, :class:`BoundReached`, :class:`ScheduleDiverged`, :class:`Report`
``arena``      :func:`arena_machine`
``plugins``    :func:`build_plugin`
``sched``      the systematic checker: scheduled runs, PCT, exhaustive search, DPOR, the corpus
``mutation``   mechanical mutants of the shared-memory code and the checker's score on them
=============  =====================================================================================

:func:`compare` and the model itself live in :mod:`refstrat.model` (re-exported here).
"""

from __future__ import annotations

from refstrat.model import Expectation, Program, ProgramError, compare, expect
from refstrat.testing.api import check, replay
from refstrat.testing.arena import arena_machine
from refstrat.testing.config import CheckConfig
from refstrat.testing.failures import BoundReached, CheckFailed, Failure, Report, ScheduleDiverged, StressResult
from refstrat.testing.plugins import build_plugin
from refstrat.testing.programs import DEFAULT_LOG_SIZE, DEFAULT_TICK, Case, cases, programs
from refstrat.testing.sched.runner import MEMORIES, SCHEDULES
from refstrat.testing.stress import STRESS_SHAPES, stress, stress_program
from refstrat.testing.timing import minimize, run_program

__all__ = [
    "Program",
    "ProgramError",
    "Expectation",
    "expect",
    "Case",
    "Failure",
    "CheckFailed",
    "BoundReached",
    "ScheduleDiverged",
    "Report",
    "StressResult",
    "CheckConfig",
    "programs",
    "cases",
    "run_program",
    "compare",
    "check",
    "replay",
    "minimize",
    "stress",
    "stress_program",
    "STRESS_SHAPES",
    "DEFAULT_TICK",
    "DEFAULT_LOG_SIZE",
    "arena_machine",
    "build_plugin",
    "SCHEDULES",
    "MEMORIES",
]
