"""The settings of one :func:`refstrat.testing.check`, as one frozen value: ``check()`` takes them as
keywords (its signature is the documented one) or as ``config=CheckConfig(...)``, validates them
once, and hands the whole configuration on, so no setting travels by position.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from hypothesis import settings
from hypothesis import strategies as st

from refstrat import _api
from refstrat.testing.args import int_arg, validate_threads
from refstrat.testing.sched.runner import DEFAULT_MAX_STEPS, MAX_STEPS, PCT_MAX_DEPTH
from refstrat.trace import MAX_OPS


@dataclass(frozen=True)
class CheckConfig:
    """Every setting of :func:`refstrat.testing.check` but the strategy and the program, with the
    same names, defaults and meanings as ``check()``'s keywords."""

    schedule: str | None = None
    memory: str = "sc"
    threads: int | st.SearchStrategy[int] = 2
    jitter: int | None = None
    immortal: bool = False
    max_examples: int | None = None
    stress_sizes: Iterable[int] | None = (2_000, 20_000, 200_000)
    hypothesis_settings: settings | None = None
    raise_on_failure: bool = True
    preemption_bound: int = 2
    max_schedules: int = 250_000
    pct_runs: int = 200
    pct_depth: int = 3
    seed: int = 0
    max_steps: int = DEFAULT_MAX_STEPS
    max_ops: int = 8
    reduction: str | None = None

    @property
    def scheduled(self) -> bool:
        """Whether the runs go through the deterministic scheduler (``schedule`` other than
        ``None``/``"timing"``)."""
        return self.schedule not in (None, "timing")

    def validated(self) -> CheckConfig:
        """This configuration with every number as its plain value within its bounds and
        ``stress_sizes`` as a tuple; raises ``TypeError`` or ``ValueError`` naming the first bad
        setting.  The scheduler's own settings (``memory``, ``reduction``, the schedule's name
        among the known ones) are judged where a scheduled check starts, after the strategy's
        check flavour."""
        threads = self.threads if isinstance(self.threads, st.SearchStrategy) else validate_threads(self.threads)
        max_examples = None if self.max_examples is None else int_arg("max_examples", self.max_examples, 1)
        stress_sizes = self.stress_sizes
        if stress_sizes is not None:
            n = threads if isinstance(threads, int) else 2
            stress_sizes = tuple(int_arg("stress_sizes entry", v, 1, MAX_OPS // n) for v in stress_sizes)
        plain = replace(
            self,
            threads=threads,
            max_examples=max_examples,
            stress_sizes=stress_sizes,
            preemption_bound=int_arg("preemption_bound", self.preemption_bound, 0),
            max_schedules=int_arg("max_schedules", self.max_schedules, 1),
            pct_runs=int_arg("pct_runs", self.pct_runs, 0),
            pct_depth=int_arg("pct_depth", self.pct_depth, 1, PCT_MAX_DEPTH),
            seed=int_arg("seed", self.seed, 0, 2**64 - 1),
            max_steps=int_arg("max_steps", self.max_steps, 1, MAX_STEPS),
            max_ops=int_arg("max_ops", self.max_ops, 0),
        )
        if self.schedule is not None:
            plain = replace(plain, schedule=_api._validate_name("schedule", self.schedule))
        return plain

    @property
    def threads_label(self) -> int | str:
        """The thread count, or the Hypothesis strategy of counts as the report prints it."""
        return self.threads if isinstance(self.threads, int) else repr(self.threads)
