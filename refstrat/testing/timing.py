"""Timing fuzz: programs run on real OS threads at full speed (the ``trace`` workload, GIL
released), with Hypothesis drawing the program, a ``jitter`` seed that inserts deterministic pauses
and spins between operations, and the knobs; then the failure Hypothesis found, cut further
(:func:`minimize`).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from refstrat.model import Expectation, Program, compare, expect
from refstrat.testing.failures import CheckFailed, Failure, Report, smallest_failure
from refstrat.testing.programs import DEFAULT_LOG_SIZE, DEFAULT_TICK, Case, cases, immortal_active


def run_program(strategy: str, program: Program, *, jitter: int = 0, immortal: bool = False, **run_kwargs: Any) -> Any:
    """Run ``program`` once through ``refstrat.run(..., "trace")`` on real OS threads (one per
    program thread, GIL released) and return the ``RunResult``."""
    import refstrat

    return refstrat.run(
        strategy,
        "trace",
        program.nthreads,
        trace=program.to_trace(),
        jitter=jitter,
        immortal=immortal,
        locks=program.locks,
        **run_kwargs,
    )


def run_once(
    strategy: str,
    program: Program,
    jitter: int,
    immortal: bool,
    source: str,
    expected: Expectation | None = None,
    tick: int = DEFAULT_TICK,
    log_size: int = DEFAULT_LOG_SIZE,
) -> Failure | None:
    """Run ``program`` once on real threads; the :class:`Failure` (found by ``source``) if the
    result differs from ``expected`` (by default the model's expectation), else None."""
    exp = expected or expect(program, immortal_active=immortal_active(strategy, immortal))
    result = run_program(strategy, program, jitter=jitter, immortal=immortal, tick=tick, log_size=log_size)
    problems = compare(exp, result)
    if not problems:
        return None
    return Failure(strategy, program, jitter, immortal, tuple(problems), source, tick, log_size, result)


def fuzz_cases(
    strategy: str,
    *,
    threads: int | st.SearchStrategy[int],
    immortal: bool,
    max_examples: int | None,
    base: settings | None,
    report: Report,
) -> Failure | None:
    """Hypothesis draws :func:`~refstrat.testing.programs.cases` and runs each once (counted in
    ``report.examples``); the smallest failure, cut further by :func:`minimize`, or None."""
    failures: list[Failure] = []
    # Under derandomize (the test profiles) Hypothesis seeds a test from its source text, its
    # decorators included (hypothesis.internal.reflection.function_digest), so the test below keeps,
    # word for word, the text it had when refstrat.testing was one module, and the names here are
    # what that text calls: the same text draws the same examples, finds the same failures.
    _run_once = run_once
    overrides: dict[str, Any] = dict(
        deadline=None,  # thread start-up times vary; a deadline would only add flakiness
        database=None,  # one test function serves every strategy: keep their examples apart
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        report_multiple_bugs=False,  # one minimal failure is what check() reports
    )
    if max_examples is not None:
        overrides["max_examples"] = max_examples

    @settings(base, **overrides) if base is not None else settings(**overrides)
    @given(case=cases(threads, release_all=None))
    def fuzz(case: Case) -> None:
        report.examples += 1
        f = _run_once(strategy, case.program, case.jitter, immortal, "hypothesis", None, case.tick, case.log_size)
        if f is not None:
            failures.append(f)
            note(f.describe())
            raise CheckFailed(f)

    # After shrinking the smallest failing program is Hypothesis's minimal example.
    best = smallest_failure(
        fuzz,
        failures,
        key=lambda f: (
            len(f.program),
            f.program.nthreads,
            f.jitter != 0,
            f.tick != DEFAULT_TICK,
            f.log_size != DEFAULT_LOG_SIZE,
        ),
    )
    return None if best is None else minimize(best)


def _without(program: Program, drop: Any) -> Program:
    threads = tuple(
        tuple(op for k, op in enumerate(ops) if not drop(t, k, op)) for t, ops in enumerate(program.threads)
    )
    created = {op[1] for ops in threads for op in ops if op[0] == "new"}
    return Program(
        threads=threads,
        shared=program.shared,
        immortal=program.immortal,
        deferred=tuple(i for i in program.deferred if i < program.shared or i in created),
        sharded=program.sharded,
    )


def minimize(failure: Failure, *, budget: int = 400) -> Failure:
    """Greedily cut a failing program further after Hypothesis's shrinker: drop every
    operation on one object, then single operations, keeping a cut when the smaller program
    is still valid (:func:`expect`) and still fails with the same jitter and knobs, until no
    cut helps or ``budget`` runs are spent.  Why: Hypothesis shrinks the choices that build a
    program, and a cut that is trivial on the program (one object fewer) can be a
    coordinated change of several choices that its shrinker may not find.  Racy failures
    that do not reproduce on a rerun are simply left as they are.  Returns a failure whose
    program is no larger than the given one."""
    cur = failure
    act = immortal_active(cur.strategy, cur.immortal)
    progress = True
    while progress and budget > 0:
        progress = False
        prog = cur.program
        objs = sorted({op[1] for ops in prog.threads for op in ops}, reverse=True)
        cands = [_without(prog, lambda t, k, op, o=o: op[1] == o) for o in objs]
        cands += [
            _without(prog, lambda t2, k2, op, t=t, k=k: (t2, k2) == (t, k))
            for t in range(prog.nthreads)
            for k in range(len(prog.threads[t]))
        ]
        for cand in cands:
            if budget <= 0:
                break
            try:
                exp = expect(cand, immortal_active=act)
                budget -= 1
                f = run_once(cur.strategy, cand, cur.jitter, cur.immortal, cur.source, exp, cur.tick, cur.log_size)
            except ValueError:  # ProgramError, or refstrat.TraceError if the core is stricter
                continue
            if f is not None:
                cur, progress = f, True
                break
    if budget > 0 and cur.program.compact() != cur.program:
        # Renumbering is cosmetic for a correct scheme; keep it only if it still fails.
        f = run_once(
            cur.strategy, cur.program.compact(), cur.jitter, cur.immortal, cur.source, None, cur.tick, cur.log_size
        )
        cur = f or cur
    return cur
