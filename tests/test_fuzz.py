"""Hypothesis fuzzing of every refstrat scheme against the pure-Python reference model."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import run_state_machine_as_test

from refstrat.model import Program, ProgramError, expect, sequential_counts
from refstrat.testing import arena_machine, check, programs, replay, stress_program

try:
    import refstrat

    STRATEGIES = [s.name for s in refstrat.strategies()]
    SAFE = [s.name for s in refstrat.strategies() if s.thread_safe]
except Exception:  # pragma: no cover - the core not built: the model tests still run
    refstrat = None
    STRATEGIES = SAFE = []

needs_core = pytest.mark.skipif(refstrat is None or not hasattr(refstrat, "run"), reason="refstrat core not built")


# --------------------------------------------------------------------------- the model


def _random_interleaving(p: Program, seed: int) -> list[int]:
    """A random feasible global order of p's operations (recv waits for its send)."""
    rng = random.Random(seed)
    pcs = [0] * p.nthreads
    mail: dict[tuple[int, int], int] = {}
    order = []
    while True:
        ready = []
        for t in range(p.nthreads):
            if pcs[t] < len(p.threads[t]):
                op = p.threads[t][pcs[t]]
                if op[0] != "recv" or mail.get((t, op[1]), 0) > 0:
                    ready.append(t)
        if not ready:
            return order
        t = rng.choice(ready)
        op = p.threads[t][pcs[t]]
        pcs[t] += 1
        order.append(t)
        if op[0] == "send":
            mail[(op[2], op[1])] = mail.get((op[2], op[1]), 0) + 1
        elif op[0] == "recv":
            mail[(t, op[1])] -= 1


@given(programs(st.integers(1, 4), release_all=None), st.integers(0, 2**32))
def test_generated_programs_are_valid_and_model_is_schedule_independent(p: Program, seed: int) -> None:
    e = expect(p, immortal_active=False)
    order = _random_interleaving(p, seed)
    assert len(order) == len(p), "a generated program can deadlock"
    history = sequential_counts(p, order)
    # Along any schedule no count goes below zero, and the end state is the model's.
    assert all(v >= 0 for h in history for v in h.values())
    final = history[-1] if history else {}
    for oid, want in enumerate(e.final_counts):
        have = final.get(oid, 1 if oid < p.shared else 0)
        assert have == (want or 0)


@given(programs(3, release_all=True))
def test_release_all_frees_every_private_object(p: Program) -> None:
    e = expect(p, immortal_active=True)
    assert all(c is None for c in e.final_counts[p.shared :])
    assert all(c == 1 for c in e.final_counts[: p.shared])


@pytest.mark.parametrize(
    "prog, where",
    [
        (Program(((("dec", 0),),), shared=1), (0, 0)),  # dec a borrowed shared ref
        (Program(((("new", 0), ("dec", 0), ("dec", 0)),)), (0, 2)),  # over-release
        (Program(((("new", 0), ("dec", 0), ("inc", 0)),)), (0, 2)),  # inc after free
        (Program(((("new", 0),), (("inc", 0),))), (1, 0)),  # inc without holding
        (Program(((("recv", 0),),)), (0, 0)),  # recv nobody sends
        (
            Program(
                ((("recv", 1), ("new", 0), ("send", 0, 1)), (("recv", 0), ("new", 1), ("send", 1, 0))),
            ),
            (0, 0),
        ),  # deadlock
        (Program(((("new", 0), ("send", 0, 2)),)), (0, 1)),  # send to a bad thread
        (Program(((("new", 0), ("new", 0)),)), (0, 1)),  # new twice
    ],
)
def test_model_names_the_invalid_operation(prog: Program, where: tuple[int, int]) -> None:
    with pytest.raises(ProgramError) as ei:
        expect(prog)
    assert (ei.value.thread, ei.value.index) == where


def test_model_rejects_mail_nobody_takes() -> None:
    with pytest.raises(ProgramError, match="never received"):
        expect(Program(((("new", 0), ("send", 0, 1)), ())))


@needs_core
@given(programs(st.integers(1, 4), release_all=None))
def test_model_agrees_with_core_validation(p: Program) -> None:
    """The core's own validator accepts every generated program and expects the same counts."""
    holdings = p.to_trace().final_holdings()
    assert tuple(c or 0 for c in expect(p, immortal_active=False).final_counts) == tuple(holdings)


def test_model_counts_leftovers_and_immortals() -> None:
    p = Program(
        ((("new", 2), ("inc", 0), ("inc", 1), ("send", 2, 1)), (("recv", 2), ("inc", 2))), shared=2, immortal=(1,)
    )
    assert expect(p, immortal_active=True).final_counts == (2, 1, 2)
    assert expect(p, immortal_active=False).final_counts == (2, 2, 2)
    assert eval(repr(p), {"Program": Program}) == p  # printed programs are replayable


# --------------------------------------------------------------------------- every scheme


@needs_core
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_scheme_matches_model(strategy: str, stress_sizes: tuple[int, ...]) -> None:
    """One body for every scheme: Hypothesis programs on real threads plus seeded stress,
    all compared with the reference model.  nonatomic is only correct single-threaded."""
    threads = st.integers(1, 3) if strategy in SAFE else 1
    report = check(strategy, threads=threads, stress_sizes=stress_sizes if strategy in SAFE else None)
    print(report.summary())
    assert report.ok


@needs_core
@pytest.mark.parametrize("strategy", [s for s in SAFE if s != "immortal"])
def test_scheme_with_immortality_matches_model(strategy: str) -> None:
    report = check(strategy, threads=2, immortal=True, stress_sizes=(20_000,))
    print(report.summary())
    assert report.ok


@needs_core
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("immortal", [False, True], ids=["mortal", "immortal"])
def test_arena_state_machine(strategy: str, immortal: bool) -> None:
    run_state_machine_as_test(arena_machine(strategy, immortal=immortal), settings=settings(stateful_step_count=40))


@needs_core
def test_nonatomic_loses_updates_at_two_threads() -> None:
    """The unsafe baseline must be caught at 2 threads on shared objects (lost updates):
    bounded retries with growing volume, so it cannot flake."""
    report = check("nonatomic", threads=2, stress_sizes=(20_000, 200_000, 1_000_000, 4_000_000), raise_on_failure=False)
    print(report.summary())
    assert not report.ok


@needs_core
def test_check_one_program_and_jitter_replay() -> None:
    p = stress_program(2, 500, seed=3)
    for j in (0, 1, 12345):
        assert check("biased", p, jitter=j).ok
    replay("coalesced", p, jitter=7, repeats=2)


def test_profiles_are_registered() -> None:
    """ci is the quick default; thorough (--hypothesis-profile=thorough or
    REFSTRAT_HYPOTHESIS_PROFILE=thorough) runs at least ten times the examples."""
    assert settings.get_profile("thorough").max_examples >= 10 * settings.get_profile("ci").max_examples
