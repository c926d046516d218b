"""The user's entry points: :func:`check` (the scheme against the model: timing fuzz and stress on
real threads, or the deterministic scheduler's explorations) and :func:`replay` (one failure again).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from hypothesis import settings
from hypothesis import strategies as st

from refstrat import _api
from refstrat.model import Program, expect
from refstrat.testing.args import int_arg, require_sched_flavour, validate_choices, validate_memory, validate_program
from refstrat.testing.config import CheckConfig
from refstrat.testing.failures import CheckFailed, Failure, Report
from refstrat.testing.programs import DEFAULT_LOG_SIZE, DEFAULT_TICK, immortal_active
from refstrat.testing.sched.driver import check_scheduled, scheduled_failure
from refstrat.testing.sched.runner import DEFAULT_MAX_STEPS, MAX_STEPS, SCHED_LOG_SIZE, SCHED_TICK
from refstrat.testing.stress import stress
from refstrat.testing.timing import fuzz_cases, run_once


def check(
    strategy: str,
    program: Program | None = None,
    *,
    schedule: str | None = None,
    memory: str = "sc",
    threads: int | st.SearchStrategy[int] = 2,
    jitter: int | None = None,
    immortal: bool = False,
    max_examples: int | None = None,
    stress_sizes: Iterable[int] | None = (2_000, 20_000, 200_000),
    hypothesis_settings: settings | None = None,
    raise_on_failure: bool = True,
    preemption_bound: int = 2,
    max_schedules: int = 250_000,
    pct_runs: int = 200,
    pct_depth: int = 3,
    seed: int = 0,
    max_steps: int = DEFAULT_MAX_STEPS,
    max_ops: int = 8,
    reduction: str | None = None,
    config: CheckConfig | None = None,
) -> Report:
    """Check ``strategy`` against the reference model.

    ``schedule`` picks how interleavings are found:

    * ``None`` or ``"timing"``: real threads at full speed, jitter and stress (below).
    * ``"random"``, ``"pct"``, ``"exhaustive"``: the check build -- one thread at a time,
      a scheduling point at every shared-memory primitive, ``memory`` ``"sc"``, ``"tso"``
      (per-thread store buffers, x86) or ``"c11"`` (store histories, reads-from choices and
      data races by happens-before: docs/checking.md).  ``"random"``: Hypothesis draws the program (unless
      given; at most ``max_ops`` bursts) and the choice sequence, and shrinks both.
      ``"pct"``: ``pct_runs`` PCT runs of depth ``pct_depth`` per program (seeded by
      ``seed``).  ``"exhaustive"``: every schedule with at most ``preemption_bound``
      preemptions (a buffer drain counts as one), up to ``max_schedules`` runs.  ``reduction``
      skips schedules that only reorder commuting steps of one already run: ``"dpor"``
      (the default in SC) tries an option only where a run shows a race it reverses, with
      sleep sets; ``"sleep"``, sleep sets alone; ``"none"`` (the default in TSO, which the
      reductions do not model) runs every schedule within the bound.  Without a
      program, pct and exhaustive use the programs Hypothesis draws.  The report's
      ``schedules`` counts the runs.  A failure's message prints the schedule and a
      :func:`replay` line with the exact choices.

    With ``program``: run that one program (jitter ``jitter``, or the seeds 0..3 if
    ``None``).  Without: fuzz with Hypothesis -- programs from :func:`cases` at ``threads``
    threads, ``max_examples`` examples (default: the loaded settings profile), each run on
    real threads and compared with :func:`refstrat.model.expect` -- then, if that passed
    and ``stress_sizes`` is not ``None``, :func:`stress` at those sizes.

    Guarantees: a returned report with ``ok`` true means no run showed an operation on a
    freed object, a double free, a leak after quiesce, a wrong final count or a touched
    immortal object.  On failure raises :class:`CheckFailed` (or returns the report, if
    ``raise_on_failure`` is false) carrying the smallest failing program seen -- after
    Hypothesis shrinking -- with the jitter seed that :func:`replay` needs.

    Every numeric argument is judged by its plain value (``operator.index``: an int subclass
    whose comparisons lie cannot slip past a bound); a bad one raises ``TypeError`` (not an int)
    or ``ValueError`` naming its bounds.  ``max_schedules`` is a hard cap on the pct and
    exhaustive runs counted in ``report.schedules``, the corpus's passes included.  A scheduled
    run cut by ``max_steps`` is no failure: that program's exploration stops there and
    ``report.bound_reached`` counts it (``report.verdict`` says ``"bound reached, not a bug"``).

    ``config``: the same settings as one :class:`CheckConfig` (then pass no other keyword);
    ``check(name, program, config=cfg)`` runs exactly as the keywords of ``cfg`` would.
    """
    given = CheckConfig(
        schedule=schedule,
        memory=memory,
        threads=threads,
        jitter=jitter,
        immortal=immortal,
        max_examples=max_examples,
        stress_sizes=stress_sizes,
        hypothesis_settings=hypothesis_settings,
        raise_on_failure=raise_on_failure,
        preemption_bound=preemption_bound,
        max_schedules=max_schedules,
        pct_runs=pct_runs,
        pct_depth=pct_depth,
        seed=seed,
        max_steps=max_steps,
        max_ops=max_ops,
        reduction=reduction,
    )
    if config is None:
        config = given
    elif given != CheckConfig():
        raise TypeError("check() takes its settings either as keywords or as config=, not both")
    strategy = _api._validate_strategy(strategy)
    if program is not None:
        validate_program(program)
    cfg = config.validated()
    report = check_scheduled(strategy, program, cfg) if cfg.scheduled else _check_timing(strategy, program, cfg)
    if report.failure is not None and cfg.raise_on_failure:
        raise CheckFailed(report.failure)
    return report


def _check_timing(strategy: str, program: Program | None, cfg: CheckConfig) -> Report:
    """The report of a check on real threads: ``program`` at its jitter seeds, or Hypothesis's
    cases and then, if they passed, stress."""
    report = Report(strategy, cfg.threads_label)
    t0 = time.perf_counter()
    if program is not None:
        report.threads = program.nthreads
        exp = expect(program, immortal_active=immortal_active(strategy, cfg.immortal))
        for j in [cfg.jitter] if cfg.jitter is not None else [0, 1, 2, 3]:
            report.examples += 1
            report.failure = run_once(strategy, program, j, cfg.immortal, "check", exp)
            if report.failure:
                break
    else:
        report.failure = fuzz_cases(
            strategy,
            threads=cfg.threads,
            immortal=cfg.immortal,
            max_examples=cfg.max_examples,
            base=cfg.hypothesis_settings,
            report=report,
        )
        if report.failure is None and cfg.stress_sizes is not None:
            n = cfg.threads if isinstance(cfg.threads, int) else 2
            report.stress = stress(strategy, n, sizes=cfg.stress_sizes, immortal=cfg.immortal)
            report.failure = report.stress.failure
    report.seconds = time.perf_counter() - t0
    return report


def replay(
    strategy: str | Failure,
    program: Program | None = None,
    *,
    jitter: int = 0,
    immortal: bool = False,
    tick: int | None = None,
    log_size: int | None = None,
    repeats: int = 1,
    choices: Sequence[int] | None = None,
    memory: str = "sc",
    max_steps: int = DEFAULT_MAX_STEPS,
    sites: str | None = None,
) -> None:
    """Rerun a failing program (or a :class:`Failure`) ``repeats`` times with the same jitter
    seed and knobs.  Raises :class:`CheckFailed` on the first disagreement with the model,
    returns ``None`` if every run was correct.  Failures that depend on a data race may need
    several repeats to show again; the jitter seed makes the pauses identical each time.

    With ``choices`` (a scheduled failure's schedule) the program runs under the check build's
    scheduler with ``memory`` ("sc", "tso" or "c11"): the run, its log included, is identical every
    time, so one repeat reproduces it; a run that reaches ``max_steps`` raises
    :class:`BoundReached` (a limit of the check, not a bug).  A choice list judges only the
    code it was found on: ``sites`` (a failure's fingerprint of the steps its choices steered,
    printed in its replay line) makes a replay against changed code raise
    :class:`ScheduleDiverged` instead of a verdict; without it, a list that steers past the
    run's last decision point raises it too."""
    if isinstance(strategy, Failure):
        given = strategy
        strategy, program, jitter, immortal = given.strategy, given.program, given.jitter, given.immortal
        tick, log_size, choices, memory = given.tick, given.log_size, given.choices, given.memory
        sites = given.sites
    strategy = _api._validate_strategy(strategy)
    if program is None:
        raise TypeError("replay needs a program (or a Failure)")
    validate_program(program)
    repeats = int_arg("repeats", repeats, 1)
    max_steps = int_arg("max_steps", max_steps, 1, MAX_STEPS)
    tick = None if tick is None else _api._validate_int("tick", tick)
    log_size = None if log_size is None else _api._validate_int("log_size", log_size)
    exp = expect(program, immortal_active=immortal_active(strategy, immortal))
    if choices is not None:
        choices = validate_choices(choices)
        memory = validate_memory(memory)
        require_sched_flavour(strategy)
        tick = SCHED_TICK if tick is None else tick
        log_size = SCHED_LOG_SIZE if log_size is None else log_size
        f = scheduled_failure(
            strategy,
            program,
            exp,
            choices,
            memory=memory,
            immortal=immortal,
            tick=tick,
            log_size=log_size,
            max_steps=max_steps,
            source="replay",
            sites=None if sites is None else str(sites),
        )
        if f is not None:
            raise CheckFailed(f)
        return
    tick = DEFAULT_TICK if tick is None else tick
    log_size = DEFAULT_LOG_SIZE if log_size is None else log_size
    for _ in range(repeats):
        f = run_once(strategy, program, jitter, immortal, "replay", exp, tick, log_size)
        if f is not None:
            raise CheckFailed(f)
