"""The systematic checker behind ``refstrat.testing.check(schedule=...)``: programs run one thread
at a time under the check build's deterministic scheduler (src/check.c), with the schedules chosen
by Hypothesis, PCT or an exhaustive search.

A schedule is a *choice sequence*: at every scheduling point with several options the scheduler
takes option ``choice % options`` (0 = the running thread goes on), and 0 once the sequence is
exhausted.  The choices a run actually took replay it bit for bit, whatever produced them.

Modules, one concern each, every one depending only on those above it:

==========  =====================================================================================
``runner``  one scheduled run compared with the model; its printed schedule; shared constants
``dpor``    the options that a run's races ask to try (partial-order reduction)
``search``  the depth-first search of the exhaustive exploration, one for every reduction
``explore`` PCT and the exhaustive exploration over a run callable; shrinking a failing schedule
``corpus``  the built-in litmus programs and the three passes that explore them
``driver``  ``check(schedule=...)`` itself: Hypothesis, the corpus and the explorations together
==========  =====================================================================================

This package's namespace leaves ``driver`` out: the driver needs refstrat.testing's failures and
reports, which need this package's constants, so importing it here would close a circle.
"""

from __future__ import annotations

from refstrat.testing.sched.explore import Exploration, explore_exhaustive, explore_pct, shrink_choices
from refstrat.testing.sched.runner import (
    BOUND_REACHED,
    DEFAULT_MAX_STEPS,
    MAX_STEPS,
    MEMORIES,
    PCT_MAX_DEPTH,
    REDUCTIONS,
    SCHED_LOG_SIZE,
    SCHED_TICK,
    SCHEDULES,
    VERDICTS,
    Outcome,
    Step,
    format_schedule,
    run_scheduled,
)

__all__ = [
    "BOUND_REACHED",
    "DEFAULT_MAX_STEPS",
    "MAX_STEPS",
    "MEMORIES",
    "PCT_MAX_DEPTH",
    "REDUCTIONS",
    "SCHED_LOG_SIZE",
    "SCHED_TICK",
    "SCHEDULES",
    "VERDICTS",
    "Exploration",
    "Outcome",
    "Step",
    "explore_exhaustive",
    "explore_pct",
    "format_schedule",
    "run_scheduled",
    "shrink_choices",
]
