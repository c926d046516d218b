"""Issue 31, the systematic checker's own defects: one regression test per defect, with the exact
call. Calls that hung (minutes of shrinking) before the fix run in a child process with a
timeout; the rest run here.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover - core not built yet
    pytest.skip("refstrat core not built", allow_module_level=True)

import lying  # noqa: E402  (tests/lying.py)
from test_bench import CHILD_CWD  # noqa: E402
from test_defence import child  # noqa: E402

from refstrat import _core  # noqa: E402
from refstrat.testing import BoundReached, Program, check, replay  # noqa: E402

SAFE = [s.name for s in refstrat.strategies() if s.thread_safe]
BOUND = "bound reached, not a bug"
WORK = (("inc", 0), ("dec", 0))
TWO = Program(threads=(WORK, WORK), shared=1)

# A lying int in the other direction from lying.EvilInt: it claims to be below nothing and equal
# to nothing, so a comparison on it lets any negative value through.
LIAR = """
class Liar(int):
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = lambda self, other: False
    __ne__ = lambda self, other: True
    __hash__ = int.__hash__
"""
exec(lying.SOURCE + LIAR)


# --------------------------------------------------------------------------- 1. false alarm


def test_pct_lets_the_gil_holder_run_past_its_timed_waiters() -> None:
    """The issue's calls: under PCT the two waiters of an empty 3-thread program timed out in
    turn at their high priorities while the holder, runnable, never ran; the step bound then
    reported a bug, and the program-less check shrank such runs for about 350 s."""
    got = child(
        """
        from refstrat import testing
        from refstrat.testing import Program
        for memory in ("sc", "tso"):
            out.append(outcome(lambda: testing.check(
                'gil', Program(threads=((),) * 3), schedule='pct', memory=memory).verdict))
        out.append(outcome(lambda: testing.check('gil', schedule='pct', threads=4, max_examples=8,
                                                 pct_runs=20).verdict))
    """,
        timeout=120,
    )
    assert got == [["ok", "'ok'"]] * 3, got


def test_a_run_cut_by_the_step_bound_is_a_limit_of_the_check() -> None:
    for schedule, kw in [("exhaustive", {}), ("pct", dict(pct_runs=5)), ("random", dict(max_examples=5))]:
        r = check("gil", TWO, schedule=schedule, max_steps=10, **kw)
        assert r.ok and r.verdict == BOUND and r.bound_reached >= 1, r.summary()
        assert "not a bug" in r.summary() and "max_steps=10" in r.summary()
    with pytest.raises(BoundReached, match="not a bug") as info:
        replay("gil", TWO, choices=[0], max_steps=10)
    assert isinstance(info.value, refstrat.RunError)


def test_a_bound_reached_program_less_check_ends_at_once() -> None:
    """Every drawn program reaches a tiny step bound: the check reports it, with nothing to
    shrink (the child's timeout is a hang check, not a timing)."""
    got = child(
        """
        from refstrat import testing
        out.append(outcome(lambda: testing.check('gil', schedule='pct', threads=4, max_examples=8,
                                                 pct_runs=20, max_steps=30).verdict))
    """,
        timeout=60,
    )
    assert got == [["ok", repr(BOUND)]], got


#: Small programs a correct scheme must pass: empty, with idle threads, and two threads racing on
#: a shared object beside idle ones, at 1 to 4 threads.
SWEEP = [Program(threads=((),) * n) for n in (1, 2, 3, 4)] + [
    Program(threads=((), (("new", 1), ("dec", 1)), ())),
    Program(threads=(WORK, (), WORK, ()), shared=1),
]
MODES = [
    ("pct", dict(pct_runs=200)),
    ("exhaustive", dict(preemption_bound=1, max_schedules=300)),
    ("random", dict(max_examples=5)),
]


@pytest.mark.parametrize("strategy", SAFE)
def test_false_alarm_sweep(strategy: str) -> None:
    """Every thread-safe scheme in every exploration mode and memory model: no failure, and on
    these short programs not even a step bound reached (the PCT starvation reached it on gil at
    3 and 4 threads before the scheduler gave way at a condition wait)."""
    verdicts = {}
    for memory in ("sc", "tso"):
        for schedule, kw in MODES:
            for prog in SWEEP:
                r = check(strategy, prog, schedule=schedule, memory=memory, raise_on_failure=False, **kw)
                verdicts[memory, schedule, prog] = r.verdict
        for threads in (1, 2, 3, 4):
            r = check(
                strategy,
                schedule="pct",
                memory=memory,
                threads=threads,
                max_examples=3,
                pct_runs=20,
                raise_on_failure=False,
            )
            verdicts[memory, "pct", threads] = r.verdict
    assert {k: v for k, v in verdicts.items() if v != "ok"} == {}


# --------------------------------------------------------------------------- 7. wrong exceptions


def test_check_and_replay_refuse_what_is_not_a_program_or_a_strategy() -> None:
    with pytest.raises(TypeError, match="must be a refstrat.testing.Program, got list"):
        check("atomic", [[("new", 1), ("dec", 1)]])
    with pytest.raises(TypeError, match="must be a refstrat.testing.Program, got list"):
        replay("gil", [[1]])
    with pytest.raises(TypeError, match="strategy must be a str"):
        check(None, TWO)
    with pytest.raises(ValueError, match="unknown strategy 'nope'; valid choices: .*atomic"):
        replay("nope", TWO, choices=[0])


def test_huge_and_negative_knobs_are_value_errors_naming_the_bound() -> None:
    with pytest.raises(ValueError, match=r"pct_depth must be an int in \[1, 65\]"):
        check("atomic", TWO, pct_depth=2**70)
    with pytest.raises(ValueError, match=r"pct_depth must be an int in \[1, 65\]"):
        check("atomic", TWO, schedule="pct", pct_depth=2**70)
    with pytest.raises(ValueError, match=r"each choice must be an int in \[0, 4294967295\]"):
        replay("atomic", TWO, choices=[-1])
    with pytest.raises(ValueError, match=r"each choice must be an int in \[0, 4294967295\]"):
        replay("atomic", TWO, choices=[2**32])
    with pytest.raises(ValueError, match=r"max_steps must be an int in \[1, 16777216\]"):
        check("atomic", TWO, schedule="exhaustive", max_steps=2**64)
    with pytest.raises(TypeError, match="choices must be a sequence of ints"):
        replay("atomic", TWO, choices=3)


# --------------------------------------------------------------------------- 8. lying integers

CHECK_KNOBS = [
    "preemption_bound",
    "max_schedules",
    "pct_runs",
    "pct_depth",
    "seed",
    "max_steps",
    "max_examples",
    "max_ops",
]


@pytest.mark.parametrize("knob", CHECK_KNOBS)
@pytest.mark.parametrize("liar", ["Liar", "EvilInt"])
def test_check_judges_a_lying_knob_by_its_value(knob: str, liar: str) -> None:
    with pytest.raises(ValueError, match=f"{knob} must be an int"):
        check("atomic", TWO, schedule="pct", **{knob: globals()[liar](-5)})


def test_a_lying_valid_knob_runs_with_its_value() -> None:
    r = check("atomic", TWO, schedule="pct", pct_runs=Liar(3), pct_depth=Liar(2))
    assert r.ok and r.schedules == 4  # the first run (measuring k) and 3 PCT runs


@pytest.mark.parametrize(
    "kw",
    [
        dict(repeats=Liar(-5)),
        dict(max_steps=Liar(-5)),
        dict(choices=[Liar(-5)]),
        dict(tick=Liar(-5)),
        dict(choices=[0], log_size=EvilInt(-5)),
    ],
)
def test_replay_judges_a_lying_knob_by_its_value(kw: dict) -> None:
    with pytest.raises(ValueError, match="must be"):
        replay("atomic", TWO, **kw)


# --------------------------------------------------------------------------- 9. budgets


@pytest.mark.parametrize("repeats", [0, -5])
def test_replay_refuses_to_run_nothing(repeats: int) -> None:
    with pytest.raises(ValueError, match="repeats must be an int >= 1"):
        replay("atomic", TWO, repeats=repeats)


@pytest.mark.parametrize("strategy", ["percpu", "gil", "atomic"])
def test_max_schedules_is_a_hard_cap(strategy: str) -> None:
    """The corpus's passes and the Hypothesis programs after them share the budget: the issue's
    600 ran 711-723 (every program after the budget still ran one schedule)."""
    r = check(strategy, schedule="exhaustive", max_schedules=600, max_examples=5)
    assert r.ok and r.schedules <= 600 and not r.complete, r.summary()
    r = check(strategy, schedule="pct", max_schedules=50, max_examples=5, pct_runs=20)
    assert r.ok and r.schedules <= 50 and not r.complete, r.summary()


# --------------------------------------------------------------------------- fuzz

#: (low, high) of every numeric knob of check() and replay(); None: no upper bound.
RANGES = dict(
    preemption_bound=(0, None),
    max_schedules=(1, None),
    pct_runs=(0, None),
    pct_depth=(1, 65),
    seed=(0, 2**64 - 1),
    max_steps=(1, 2**24),
    max_examples=(1, None),
    max_ops=(0, None),
    repeats=(1, None),
    choice=(0, 2**32 - 1),
    tick=_core.INT_RANGES["tick"],
    log_size=_core.INT_RANGES["log_size"],
)
CHECK_ONLY = set(CHECK_KNOBS) - {"max_steps"}
VALUES = [-(2**70), -5, -1, 0, 1, 2, 3, 16, 65, 66, 2**24, 2**24 + 1, 2**31, 2**32, 2**64 - 1, 2**64, 2**70]

#: Each call varies one knob, the others cheap: a huge valid pct_runs or preemption_bound is held
#: by the small max_schedules, and replay always has choices (its repeats then run once).
fuzz_call = st.tuples(
    st.sampled_from(sorted(RANGES)),
    st.sampled_from(VALUES),
    st.sampled_from(["int", "EvilInt", "Liar"]),
    st.sampled_from(["pct", "exhaustive"]),
    st.sampled_from(SAFE),
)

FUZZ_CHILD = textwrap.dedent("""
    import json, sys
    from refstrat.testing import Program, check, replay
    {lying}
    TWO = Program(threads=((("inc", 0), ("dec", 0)), (("inc", 0), ("dec", 0))), shared=1)
    out = []
    for knob, raw, kind, schedule, strategy in eval(sys.stdin.read()):
        v = {{"int": int, "EvilInt": EvilInt, "Liar": Liar}}[kind](raw)
        try:
            if knob in {check_only!r} or (knob == "max_steps" and schedule == "pct"):
                kw = dict(schedule=schedule, max_schedules=40, pct_runs=3, preemption_bound=1)
                kw[knob] = v
                res = check(strategy, TWO, **kw).verdict
            else:
                kw = dict(choices=[v] if knob == "choice" else [0, 1])
                if knob != "choice":
                    kw[knob] = v
                res = replay(strategy, TWO, **kw)
            out.append(["ok", res])
        except Exception as exc:
            out.append([type(exc).__name__, str(exc)[:300]])
    print(json.dumps(out))
""").format(lying=lying.SOURCE + LIAR, check_only=sorted(CHECK_ONLY))


def _limit() -> settings:
    thorough = settings.get_current_profile_name() == "thorough"
    return settings(max_examples=40 if thorough else 6, deadline=None, database=None)


@_limit()
@given(st.lists(fuzz_call, min_size=25, max_size=25))
def test_check_and_replay_knobs_never_overflow_or_trust_a_lie(batch: list) -> None:
    """Refused exactly when the plain value is out of its range, with a ValueError naming it;
    accepted values give a verdict that is no failure on these correct schemes."""
    proc = subprocess.run(
        [sys.executable, "-c", FUZZ_CHILD],
        input=repr(batch),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=CHILD_CWD,
    )
    assert proc.returncode == 0, f"child died (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    results = json.loads(proc.stdout.strip().splitlines()[-1])
    for (knob, raw, kind, schedule, strategy), (exc, detail) in zip(batch, results):
        low, high = RANGES[knob]
        valid = low <= raw and (high is None or raw <= high)
        call = f"{strategy} {schedule} {knob}={kind}({raw})"
        if valid and exc == "BoundReached":  # a replay cut by a small valid max_steps
            assert knob == "max_steps" and raw < 100, f"{call}: {detail}"
        elif valid:
            assert exc == "ok" and detail in ("ok", BOUND, None), f"{call}: {exc} {detail}"
        else:
            name = "each choice" if knob == "choice" else knob
            assert exc == "ValueError" and detail.startswith(name), f"{call}: {exc} {detail}"
