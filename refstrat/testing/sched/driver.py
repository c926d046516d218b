"""``check(strategy, ..., schedule=...)`` itself: Hypothesis's programs and schedules, the built-in
corpus and the PCT and exhaustive explorations put together into one :class:`Report`, and a
failure's schedule shrunk, rerun with its log and printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from refstrat.model import Expectation, Program, expect
from refstrat.testing.args import require_sched_flavour, validate_memory, validate_reduction
from refstrat.testing.config import CheckConfig
from refstrat.testing.failures import (
    BoundReached,
    CheckFailed,
    Failure,
    Report,
    ScheduleDiverged,
    smallest_failure,
)
from refstrat.testing.failures import hyp_settings as _hyp_settings  # the name the tests' text calls
from refstrat.testing.programs import immortal_active, programs
from refstrat.testing.sched.corpus import explore_corpus
from refstrat.testing.sched.explore import Exploration, explore_exhaustive, explore_pct, shrink_choices
from refstrat.testing.sched.runner import (
    BOUND_REACHED,
    SCHED_LOG_SIZE,
    SCHED_TICK,
    SCHEDULES,
    Outcome,
    format_schedule,
    run_scheduled,
    schedule_sites,
)


def check_scheduled(strategy: str, program: Program | None, cfg: CheckConfig) -> Report:
    """The report of a scheduled check (``cfg`` validated, ``cfg.scheduled`` true), its failure
    included; raises ``ValueError`` for an unknown schedule, memory model or reduction, or a
    strategy without its check flavour.  Deterministic for a given configuration."""
    if cfg.schedule not in SCHEDULES:
        raise ValueError(
            f"unknown schedule {cfg.schedule!r}; valid: None, 'timing', " + ", ".join(repr(x) for x in SCHEDULES)
        )
    memory = validate_memory(cfg.memory)
    require_sched_flavour(strategy)
    cfg = replace(cfg, memory=memory, reduction=validate_reduction(cfg.reduction, memory))
    report = Report(strategy, cfg.threads_label, schedule=cfg.schedule, memory=memory, max_steps=cfg.max_steps)
    t0 = time.perf_counter()
    explore = _Explorer(strategy, cfg, report)
    if program is not None:
        report.threads = program.nthreads
        report.failure = (
            _fuzz_schedules(strategy, program, cfg, report) if cfg.schedule == "random" else explore(program)
        )
    elif cfg.schedule == "random":
        report.failure = _fuzz_schedules(strategy, None, cfg, report)
    else:
        if cfg.schedule == "exhaustive":
            report.failure = explore_corpus(explore, explore.last)
        if report.failure is None:
            report.failure = _for_programs(
                explore,
                threads=cfg.threads,
                max_examples=cfg.max_examples,
                base=cfg.hypothesis_settings,
                max_ops=cfg.max_ops,
            )
    report.seconds = time.perf_counter() - t0
    return report


def _fuzz_schedules(strategy: str, program: Program | None, cfg: CheckConfig, report: Report) -> Failure | None:
    """:func:`fuzz_schedules` with ``cfg``'s settings."""
    return fuzz_schedules(
        strategy,
        program,
        threads=cfg.threads,
        memory=cfg.memory,
        immortal=cfg.immortal,
        max_examples=cfg.max_examples,
        base=cfg.hypothesis_settings,
        report=report,
        max_steps=cfg.max_steps,
        max_ops=cfg.max_ops,
    )


class _Explorer:
    """``explore(program)``: pct or exhaustive on one program, counted in the report; the failure
    with a shrunk, printed schedule, or None.  ``last`` says how the latest call ended (the
    corpus's passes read it)."""

    def __init__(self, strategy: str, cfg: CheckConfig, report: Report) -> None:
        self.strategy, self.cfg, self.report = strategy, cfg, report
        self.act = immortal_active(strategy, cfg.immortal)
        self.last = Exploration()

    def runner(self, prog: Program, exp: Expectation, tick: int, log_size: int) -> Callable[..., Outcome]:
        """One scheduled run of ``prog`` as the explorations call it."""
        cfg = self.cfg

        def run(
            choices: Sequence[int],
            pct: tuple[int, int, int] | None = None,
            sleep_add: Sequence[int] | None = None,
            want_trace: bool = False,
        ) -> Outcome:
            return run_scheduled(
                self.strategy,
                prog,
                exp,
                choices=choices,
                memory=cfg.memory,
                immortal=cfg.immortal,
                tick=tick,
                log_size=log_size,
                max_steps=cfg.max_steps,
                pct=pct,
                sleep_add=sleep_add,
                want_trace=want_trace,
            )

        return run

    def __call__(
        self,
        prog: Program,
        tick: int = SCHED_TICK,
        log_size: int = SCHED_LOG_SIZE,
        cap: int | None = None,
        extra: int = 0,
        waits_ok: bool = False,
    ) -> Failure | None:
        """``extra``: preemptions beyond ``preemption_bound`` (the corpus's deepening); such a run
        does not count against the report's completeness.  ``waits_ok``: a corpus program that a
        correct scheme may never finish (corpus.pool_waits), whose step bound is no limit reached."""
        cfg, report, last = self.cfg, self.report, self.last
        left = cfg.max_schedules - report.schedules
        if left <= 0:
            # The budget is spent: every later program counts as not explored, so the cap holds
            # whatever the corpus's passes or Hypothesis ask for.
            report.complete = False
            last.complete, last.schedules, last.steps, last.bound_reached = False, 0, 0, False
            return None
        exp = expect(prog, immortal_active=self.act)
        run = self.runner(prog, exp, tick, log_size)
        report.examples += 1
        if cfg.schedule == "pct":
            ex = explore_pct(run, cfg.pct_runs, cfg.pct_depth, cfg.seed, left)
        else:
            ex = explore_exhaustive(
                run,
                cfg.preemption_bound + extra,
                left if cap is None else min(cap, left),
                reduction=cfg.reduction or "none",
            )
        report.schedules += ex.schedules
        report.pruned += ex.pruned
        report.bound_reached += ex.bound_reached and not waits_ok
        if not extra:
            report.complete &= ex.complete
        last.complete, last.schedules, last.steps = ex.complete, ex.schedules, ex.steps
        last.bound_reached = ex.bound_reached
        if ex.failure is None:
            return None
        return scheduled_failure(
            self.strategy,
            prog,
            exp,
            shrink_choices(run, ex.failure.choices),
            memory=cfg.memory,
            immortal=cfg.immortal,
            tick=tick,
            log_size=log_size,
            max_steps=cfg.max_steps,
            source=cfg.schedule or "",
        )


def _for_programs(
    explore: Callable[[Program], Failure | None],
    *,
    threads: int | st.SearchStrategy[int],
    max_examples: int | None,
    base: settings | None,
    max_ops: int,
) -> Failure | None:
    """Run ``explore`` on Hypothesis-drawn small programs; the smallest failure."""
    failures: list[Failure] = []
    # Under derandomize (the test profiles) Hypothesis seeds a test from its source text, its
    # decorators included (hypothesis.internal.reflection.function_digest), so the test below keeps,
    # word for word, the text it had when refstrat.testing was one module, and the names here are
    # what that text calls: the same text draws the same examples, finds the same failures.

    @_hyp_settings(base, max_examples)
    @given(prog=programs(threads, max_steps=max_ops, release_all=None))
    def body(prog: Program) -> None:
        f = explore(prog)
        if f is not None:
            failures.append(f)
            raise CheckFailed(f)

    return smallest_failure(body, failures)


def fuzz_schedules(
    strategy: str,
    program: Program | None,
    *,
    threads: int | st.SearchStrategy[int],
    memory: str,
    immortal: bool,
    max_examples: int | None,
    base: settings | None,
    report: Report,
    max_steps: int,
    max_ops: int,
) -> Failure | None:
    """Hypothesis draws the program (unless given) and the choice sequence; a failure shrinks
    to a short program and a short schedule (few preemptions) and replays exactly."""
    act = immortal_active(strategy, immortal)
    failures: list[Failure] = []
    progs = st.just(program) if program is not None else programs(threads, max_steps=max_ops, release_all=None)
    # Under derandomize (the test profiles) Hypothesis seeds a test from its source text, its
    # decorators included (hypothesis.internal.reflection.function_digest), so the test below keeps,
    # word for word, the text it had when refstrat.testing was one module, and the names here are
    # what that text calls: the same text draws the same examples, finds the same failures.
    _chk = SimpleNamespace(run_checked=run_scheduled, CHECK_TICK=SCHED_TICK, CHECK_LOG_SIZE=SCHED_LOG_SIZE)

    def _checked_failure(
        strategy: str,
        prog: Program,
        exp: Expectation,
        choices: Sequence[int],
        memory: str,
        immortal: bool,
        tick: int,
        log_size: int,
        max_steps: int,
        source: str,
    ) -> Failure | None:
        return scheduled_failure(
            strategy,
            prog,
            exp,
            choices,
            memory=memory,
            immortal=immortal,
            tick=tick,
            log_size=log_size,
            max_steps=max_steps,
            source=source,
        )

    @_hyp_settings(base, max_examples)
    @given(prog=progs, choices=st.lists(st.integers(0, 3), max_size=200))
    def body(prog: Program, choices: list[int]) -> None:
        report.examples += 1
        report.schedules += 1
        exp = expect(prog, immortal_active=act)
        out = _chk.run_checked(
            strategy, prog, exp, choices=choices, memory=memory, immortal=immortal, max_steps=max_steps
        )
        report.bound_reached += out.verdict == "step bound"
        if out.problems:
            f = _checked_failure(
                strategy,
                prog,
                exp,
                out.choices,
                memory,
                immortal,
                _chk.CHECK_TICK,
                _chk.CHECK_LOG_SIZE,
                max_steps,
                "hypothesis",
            )
            if f is not None:
                failures.append(f)
                raise CheckFailed(f)

    return smallest_failure(body, failures)


def scheduled_failure(
    strategy: str,
    program: Program,
    exp: Expectation,
    choices: Sequence[int],
    *,
    memory: str,
    immortal: bool,
    tick: int,
    log_size: int,
    max_steps: int,
    source: str,
    sites: str | None = None,
) -> Failure | None:
    """Run one schedule with its log; a Failure carrying the printed schedule, or None.  Raises
    :class:`~refstrat.testing.BoundReached` for a run cut by ``max_steps`` (only a replay meets
    one here: an exploration passes on failures alone).  A replay (``source="replay"``) first
    raises :class:`~refstrat.testing.ScheduleDiverged` when the choices no longer match the code:
    the run's fingerprint differs from ``sites``, or the run ends before the last choice."""
    out = run_scheduled(
        strategy,
        program,
        exp,
        choices=choices,
        memory=memory,
        immortal=immortal,
        tick=tick,
        log_size=log_size,
        max_steps=max_steps,
        want_log=True,
    )
    if source == "replay":
        _require_same_code(strategy, out, choices, sites)
    if out.verdict == "step bound":
        raise BoundReached(
            f"{strategy}: {BOUND_REACHED}: the replayed run did not finish in "
            f"{max_steps} scheduling points (a livelock and a longer legal run look "
            "alike there); a larger max_steps looks further"
        )
    if not out.problems:
        return None
    taken = list(choices[: len(out.decisions)])  # beyond the run's decision points they steer nothing
    while taken and taken[-1] == 0:  # choice 0 is also what an exhausted sequence gives
        taken.pop()
    return Failure(
        strategy,
        program,
        0,
        immortal,
        tuple(out.problems),
        source,
        tick,
        log_size,
        out,
        choices=tuple(taken),
        memory=memory,
        schedule_text=format_schedule(out, program.nthreads),
        sites=schedule_sites(out, len(taken)),
    )


def _require_same_code(strategy: str, out: Outcome, choices: Sequence[int], sites: str | None) -> None:
    """Raise ScheduleDiverged unless ``choices`` steered the run they were recorded on."""
    steering = len(choices)
    while steering and choices[steering - 1] == 0:
        steering -= 1
    have = schedule_sites(out, steering)
    if have is None:
        why = f"the run has {len(out.decisions)} decision point(s), the choice list steers {steering}"
    elif sites is not None and have != sites:
        why = f"its decision points are other steps (sites {have}, recorded {sites})"
    else:
        return
    raise ScheduleDiverged(
        f"{strategy}: schedule diverged: {why}; the choices were recorded on other code, so this replay "
        "judges nothing -- find the schedule again with refstrat.testing.check(strategy, program, schedule=...)"
    )
