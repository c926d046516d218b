"""What the checker reports: a :class:`Failure` (a program on which a scheme disagreed with the
model, and how to rerun it), the exceptions that carry one, the :class:`Report` of a whole
:func:`~refstrat.testing.check`, and the Hypothesis runs that collect failures.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.errors import Flaky

from refstrat._core import RunError
from refstrat.model import Program
from refstrat.testing.programs import DEFAULT_LOG_SIZE, DEFAULT_TICK
from refstrat.testing.sched.runner import BOUND_REACHED, DEFAULT_MAX_STEPS, SCHED_LOG_SIZE, SCHED_TICK


@dataclass(frozen=True)
class Failure:
    """A program on which a scheme disagreed with the model, and how to rerun it."""

    strategy: str
    program: Program
    jitter: int
    immortal: bool
    problems: tuple[str, ...]
    source: str = "check"  # "check" (one program), "hypothesis", "stress" or "replay"
    tick: int = DEFAULT_TICK
    log_size: int = DEFAULT_LOG_SIZE
    result: Any = field(default=None, compare=False, repr=False)
    #: Scheduled runs (schedule=...): the choice sequence that replays the schedule, the memory
    #: model, and the schedule as printed (one line per step).
    choices: tuple[int, ...] | None = None
    memory: str = "sc"
    schedule_text: str = field(default="", compare=False, repr=False)
    #: Scheduled runs: the fingerprint of the code the choices steered (runner.schedule_sites);
    #: :func:`replay` reports :class:`ScheduleDiverged` when the code it replays against differs.
    sites: str | None = field(default=None, compare=False)

    def _knobs(self) -> str:
        default_tick, default_log = (
            (SCHED_TICK, SCHED_LOG_SIZE) if self.choices is not None else (DEFAULT_TICK, DEFAULT_LOG_SIZE)
        )
        k = ""
        if self.immortal:
            k += ", immortal=True"
        if self.tick != default_tick:
            k += f", tick={self.tick}"
        if self.log_size != default_log:
            k += f", log_size={self.log_size}"
        return k

    @property
    def replay_code(self) -> str:
        """Python that reruns this failure (paste it after ``import refstrat.testing``)."""
        how = (
            f"choices={list(self.choices)!r}, memory={self.memory!r}"
            if self.choices is not None
            else f"jitter={self.jitter}"
        )
        if self.sites:
            how += f", sites={self.sites!r}"
        return f"refstrat.testing.replay({self.strategy!r}, refstrat.testing.{self.program!r}, {how}{self._knobs()})"

    def describe(self) -> str:
        size = f"{len(self.program)} ops on {self.program.nthreads} thread(s)"
        prog = self.program.pretty() if len(self.program) <= 200 else f"(large program: {size})"
        how = (
            f"memory={self.memory}, {len(self.choices)} choice(s)"
            if self.choices is not None
            else f"jitter={self.jitter}"
        )
        lines = [
            f"{self.strategy}: {len(self.problems)} problem(s) on a {size} program "
            f"({how}{self._knobs()}, found by {self.source})"
        ]
        lines += [f"  - {p}" for p in self.problems[:12]]
        if len(self.problems) > 12:
            lines.append(f"  - ... {len(self.problems) - 12} more")
        lines.append(prog)
        if self.schedule_text:
            lines.append(self.schedule_text)
        if len(self.program) <= 200:
            lines.append("replay: " + self.replay_code)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


class CheckFailed(AssertionError):
    """Raised by :func:`check`/:func:`replay` when a scheme disagrees with the model."""

    def __init__(self, failure: Failure):
        super().__init__(failure.describe())
        self.failure = failure


class ScheduleDiverged(RuntimeError):
    """Raised by :func:`replay` when a choice list no longer matches the code it replays: the run
    reached other primitives, at other lines, than the run that recorded the choices (its
    ``sites`` fingerprint differs), or ended before the list's last choice.  No verdict on the
    scheme: the schedule steers code it was not found on.  Regenerate it with
    :func:`~refstrat.testing.check` on the same program."""


class BoundReached(RunError):
    """Raised by :func:`replay` when the scheduled run it replays reaches ``max_steps``: a limit of
    the check, not a bug (a livelock and a run longer than the bound look alike there; a larger
    ``max_steps`` looks further).  :func:`check` never raises it: it counts such programs in
    :attr:`Report.bound_reached`."""


@dataclass
class StressResult:
    """What :func:`stress` ran: sizes tried (ops per thread), total refcount ops, seconds."""

    sizes: list[int] = field(default_factory=list)
    ops: int = 0
    seconds: float = 0.0
    failure: Failure | None = None


@dataclass
class Report:
    """The outcome of :func:`check`."""

    strategy: str
    threads: int | str  # a count, or the Hypothesis strategy of counts that was fuzzed
    examples: int = 0  # Hypothesis examples run (each one real multithreaded run)
    seconds: float = 0.0  # whole check, Hypothesis and stress
    stress: StressResult | None = None
    failure: Failure | None = None
    schedule: str | None = None  # the exploration mode of a scheduled check
    memory: str = "sc"
    schedules: int = 0  # scheduled runs (one schedule each)
    pruned: int = 0  # of those, runs the sleep sets stopped early (reduction)
    complete: bool = True  # exhaustive: every schedule within the bound was run
    #: Programs whose exploration stopped at a run cut by ``max_steps`` (pct, exhaustive) and
    #: random runs cut so: a limit of the check, not a failure.
    bound_reached: int = 0
    max_steps: int = DEFAULT_MAX_STEPS

    @property
    def ok(self) -> bool:
        """No run disagreed with the model (runs cut by the step bound included: not a bug)."""
        return self.failure is None

    @property
    def verdict(self) -> str:
        """``"FAILED"``, ``"bound reached, not a bug"`` (no failure, but some exploration stopped
        at the step bound) or ``"ok"``."""
        if self.failure is not None:
            return "FAILED"
        return BOUND_REACHED if self.bound_reached else "ok"

    def summary(self) -> str:
        if self.schedule is not None:
            cut = "" if self.complete or self.bound_reached else " (cut at max_schedules)"
            s = (
                f"{self.strategy}: {self.verdict} -- {self.schedule} ({self.memory}), "
                f"{self.schedules} schedule(s) ({self.pruned} pruned) over {self.examples} program(s) "
                f"at {self.threads} thread(s){cut}, {self.seconds:.1f} s"
            )
            if self.bound_reached:
                s += (
                    f"\n  {self.bound_reached} program(s) stopped at a run of max_steps={self.max_steps} "
                    "scheduling points: a limit of the check, not a bug (a livelock and a longer legal "
                    "run look alike there); a larger max_steps looks further"
                )
            return s + ("\n" + self.failure.describe() if self.failure is not None else "")
        s = f"{self.strategy}: {self.verdict} -- {self.examples} Hypothesis examples at {self.threads} thread(s)"
        if self.stress is not None:
            s += (
                f", stress {self.stress.ops:,} refcount ops "
                f"(sizes {', '.join(f'{n:,}' for n in self.stress.sizes)} per thread)"
            )
        s += f", {self.seconds:.1f} s"
        if self.failure is not None:
            s += "\n" + self.failure.describe()
        return s


def hyp_settings(base: settings | None, max_examples: int | None) -> settings:
    """``base`` (or Hypothesis's loaded profile) with what every check's test needs: no deadline
    (thread start-up times vary; a deadline would only add flakiness), no database (one test
    function serves every strategy: their examples stay apart), one minimal failure reported."""
    overrides: dict[str, Any] = dict(
        deadline=None,
        database=None,
        report_multiple_bugs=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    if max_examples is not None:
        overrides["max_examples"] = max_examples
    return settings(base, **overrides) if base is not None else settings(**overrides)


def _fewest_ops_then_choices(f: Failure) -> tuple[int, int]:
    return len(f.program), len(f.choices or ())


def smallest_failure(
    body: Callable[[], None], failures: list[Failure], key: Callable[[Failure], Any] = _fewest_ops_then_choices
) -> Failure | None:
    """Run a Hypothesis test ``body`` that records each failure before raising it; the smallest
    one by ``key`` (by default fewest operations, then fewest choices), or None when every
    example passed.  Anything but a failure (a bug in this package or the core) propagates."""
    try:
        body()
    except (CheckFailed, Flaky):
        # Flaky: a failing example that passed when Hypothesis ran it again, as a race does, or a
        # scheduled one once max_schedules is spent (explore() then runs nothing); the failure
        # stands as recorded.
        if not failures:
            raise
    return min(failures, key=key) if failures else None
