"""Validation of the checker's arguments: each one judged by its plain value, so that a bad one
raises ``TypeError`` (wrong type) or ``ValueError`` (naming its bounds) before anything runs, and
an int subclass whose comparisons lie cannot slip past a bound.

("Validate" is this module's word: in refstrat "check" names the user's entry point,
:func:`refstrat.testing.check`, and the checked kernel copy of ``refstrat.run(check=True)``.)
"""

from __future__ import annotations

import operator
from collections.abc import Iterable

from refstrat import _api
from refstrat.model import Program
from refstrat.testing.sched.runner import MEMORIES, REDUCTIONS
from refstrat.trace import MAX_THREADS


def int_arg(name: str, value: object, low: int, high: int | None = None) -> int:
    """The plain value of an integer argument (refstrat._api._as_int: a subclass's comparisons
    may lie, its value may not), within [low, high]; beyond a C field's width it is a ValueError
    naming the bound, never an OverflowError from the conversion."""
    v = _api._as_int(name, value)
    if v < low or (high is not None and v > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an int {bounds}, got {v}")
    return v


def validate_threads(threads: object) -> int:
    """A thread count the core accepts: an int in [1, MAX_THREADS] (its plain value)."""
    if not isinstance(threads, int) or isinstance(threads, bool):
        raise TypeError(f"threads must be an int, got {type(threads).__name__}")
    n = operator.index(threads)
    if not 1 <= n <= MAX_THREADS:
        raise ValueError(f"threads must be in [1, {MAX_THREADS}], got {n}")
    return n


def validate_program(program: object) -> Program:
    """A program is a :class:`Program`: a bare list of per-thread operation lists cannot say which
    ids are shared, immortal, deferred or sharded, so it is refused rather than guessed at."""
    if not isinstance(program, Program):
        raise TypeError(
            f"program must be a refstrat.testing.Program, got {type(program).__name__}; "
            "wrap per-thread operation lists as Program(threads=(...), shared=...)"
        )
    return program


def validate_choices(choices: object) -> tuple[int, ...]:
    """A choice sequence as the scheduler reads it: plain ints in [0, 2**32 - 1] (an array("I"))."""
    if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
        raise TypeError(f"choices must be a sequence of ints, got {type(choices).__name__}")
    return tuple(int_arg("each choice", c, 0, 2**32 - 1) for c in choices)


def validate_memory(memory: object) -> str:
    """One of :data:`~refstrat.testing.sched.runner.MEMORIES`, as a plain str."""
    memory = _api._validate_name("memory", memory)
    if memory not in MEMORIES:
        raise ValueError(f"unknown memory model {memory!r}; valid: {', '.join(MEMORIES)}")
    return memory


def validate_reduction(reduction: object, memory: str) -> str:
    """The reduction to explore under: ``None`` picks the memory model's default (``"dpor"`` in SC;
    ``"none"`` in TSO and C11, whose store buffers and reads-from choices the reductions do not
    model, so those refuse the others)."""
    if reduction is None:
        return "dpor" if memory == "sc" else "none"
    reduction = _api._validate_name("reduction", reduction)
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; valid: None, " + ", ".join(repr(x) for x in REDUCTIONS))
    if reduction != "none" and memory != "sc":
        raise ValueError(
            f"reduction={reduction!r} needs memory='sc': the reductions do not model "
            f"store buffers nor reads-from choices; use reduction='none' with memory={memory!r}"
        )
    return reduction


def require_sched_flavour(strategy: str) -> None:
    """Raise ``ValueError`` unless ``strategy`` is loaded with its check-build flavour, the one the
    deterministic scheduler runs (a plugin built without it runs only on real threads)."""
    from refstrat import _core

    if _core.find_strategy(strategy) is None:
        raise ValueError(f"unknown strategy {strategy!r}")
    if not _core.has_check_flavour(strategy):
        raise ValueError(
            f"strategy {strategy!r} has no check flavour: build its plugin with "
            "refstrat.testing.build_plugin (both objects), or use schedule=None"
        )
