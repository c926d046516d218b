"""One program run under the check build's deterministic scheduler (src/check.c), compared
with the model, and its schedule as printed; the constants every exploration shares.

A schedule is a *choice sequence*: at every scheduling point with several options the
scheduler takes option ``choice % options`` (0 = the running thread goes on), and 0 once the
sequence is exhausted.  Under ``memory="c11"`` a load that may read several stores makes one more
decision (a ``read_from`` step: 0 = the latest store, k = the k-th older one).  The choices a
run actually took replay it bit for bit, whatever produced them (Hypothesis, PCT or the
exhaustive search).
"""

from __future__ import annotations

import functools
import hashlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace

from refstrat.model import Expectation, Program, compare
from refstrat.trace import run_arrays

SCHEDULES = ("random", "pct", "exhaustive")
MEMORIES = ("sc", "tso", "c11")
VERDICTS = ("done", "deadlock", "step bound", "pruned", "data race")
REDUCTIONS = ("none", "sleep", "dpor")

#: Knobs of a scheduled run: small, so that epochs (coalesced) and log rotations and commit
#: rounds (buffered) happen inside a short program rather than only at quiesce.
SCHED_TICK = 3
SCHED_LOG_SIZE = 16
DEFAULT_MAX_STEPS = 20_000

#: What a run cut by ``max_steps`` means: the scheduler cannot tell a livelock from a legal run
#: longer than the bound (or one that an unfair schedule drags out), so it is a limit of the
#: check, never reported as a bug.
BOUND_REACHED = "bound reached, not a bug"

#: The largest ``max_steps``: the run logs every step (about 64 bytes each in C, more once in
#: Python), so 2**24 steps is about a GiB already.
MAX_STEPS = 2**24

#: The largest PCT depth: src/check.c draws at most 64 priority change points (depth - 1).
PCT_MAX_DEPTH = 65

_OPS = (
    "load",
    "store",
    "faa",
    "xchg",
    "cas",
    "cas_strong",
    "fence",
    "mutex_lock",
    "mutex_unlock",
    "cond_wait",
    "cond_timedwait",
    "cond_signal",
    "cond_broadcast",
    "spin",
    "yield",
    "nap",
    "start",
    "timeout",
    "drain",
    "read_from",
)
_MOS = ("plain", "relaxed", "acquire", "release", "acq_rel", "seq_cst")
_ORDERED = {"load", "store", "faa", "xchg", "cas", "cas_strong", "fence"}


@dataclass(frozen=True)
class Step:
    """One scheduling point: ``thread`` performed ``primitive`` at ``source`` (touching arena
    slot ``slot``, or -1); ``options``/``choice`` say what the scheduler could and did pick."""

    thread: int
    primitive: str
    source: str
    slot: int
    options: int
    choice: int
    reads: str = ""  # c11, a load or RMW: the store it read (thread, step, source)

    def line(self, index: int, helpers_from: int) -> str:
        who = _who(self.thread, helpers_from)
        pick = f"  [{self.choice}/{self.options}]" if self.options > 1 else ""
        reads = f"  (reads {self.reads})" if self.reads and self.primitive != "read_from" else ""
        return f"  {index:4d} {who:<3} {self.primitive:<20} {self.source}{pick}{reads}"


def _who(thread: int, helpers_from: int) -> str:
    return f"T{thread}" if thread < helpers_from else f"H{thread - helpers_from}"


#: rs_check_out.race_kind: what each access of a data race was.
_RACE_KINDS = ("plain load", "plain store", "atomic load", "atomic store/RMW", "free of the object")


def _primitive(op: int, mo: int) -> str:
    name = _OPS[op]
    if name == "drain":
        return "drain (buffered store)"
    if name == "read_from":
        return name
    return f"{name}_{_MOS[mo]}" if name in _ORDERED else name


def _source(path: str, line: int) -> str:
    if not path:
        return ""
    for marker in ("include/", "tests/"):
        k = path.rfind(marker)
        if k >= 0:
            path = path[k + len(marker) :] if marker == "include/" else path[k:]
            break
    return f"{path}:{line}"


@dataclass
class Outcome:
    """One scheduled run: the verdict, every disagreement with the model, the choices taken."""

    verdict: str
    problems: list[str]
    choices: tuple[int, ...]
    decisions: list[tuple[int, int, int, int]]
    steps: list[Step] = field(default_factory=list)
    nsteps: int = 0
    marks: dict[int, str] = field(default_factory=dict)  # step index -> what went wrong there
    nthreads: int = 0
    seconds: float = 0.0
    # with want_trace: every step (thread, op, addr, size, nopts, choice, cur, runnable threads,
    # race), and the races of the threads that could still run at the end [(step, thread)]
    trace: list[tuple[int, ...]] = field(default_factory=list)
    end_race: list[tuple[int, int]] = field(default_factory=list)


def run_scheduled(
    strategy: str,
    program: Program,
    expected: Expectation,
    *,
    choices: Sequence[int] = (),
    memory: str = "sc",
    immortal: bool = False,
    tick: int = SCHED_TICK,
    log_size: int = SCHED_LOG_SIZE,
    max_steps: int = DEFAULT_MAX_STEPS,
    pct: tuple[int, int, int] | None = None,
    want_log: bool = False,
    sleep_add: Sequence[int] | None = None,
    want_trace: bool = False,
) -> Outcome:
    """Run ``program`` once under the scheduler and compare with ``expected``.

    ``pct`` = (seed, depth, k) runs PCT instead of following ``choices``.  ``sleep_add``
    (SC only) turns sleep sets on: per decision, the options already explored from it; a run
    that reaches a step of a sleeping thread stops with verdict ``"pruned"`` and no problems.
    ``want_trace`` fills ``Outcome.trace`` (what partial-order reduction reads).
    Deterministic: the same arguments give the same outcome, log included."""
    from refstrat import _core

    cfg, compiled = _prepared(program, immortal, tick, log_size, _takes_collected(strategy))
    compiled = run_arrays(compiled, [0 if c is None else c for c in expected.final_counts])
    final, payloads = compiled[-2], compiled[-1]
    seed, depth, k = pct or (0, 0, 0)
    raw = _core.check_execute(
        strategy,
        cfg,
        compiled,
        array("I", choices),
        pct is not None,
        seed,
        depth,
        k,
        memory == "tso",
        max_steps,
        want_log,
        None if sleep_add is None else array("Q", sleep_add),
        want_trace,
        memory == "c11",
    )
    verdict = VERDICTS[raw["verdict"]]
    result = SimpleNamespace(
        **{k2: raw[k2] for k2 in ("use_after_free", "double_frees", "leaks", "lost_updates", "premature_frees")},
        final_counts=tuple(None if c < 0 else c for c in final),
        first_use_after_free=None,
        exclusion_violations=raw["exclusion_violations"],
        final_payloads=tuple(payloads),
    )
    problems = compare(expected, result) if verdict == "done" else []
    if verdict == "deadlock":
        problems.append("DEADLOCK: no thread can run, no wait can time out, no store is buffered")
    if verdict == "data race":
        problems.append(race_problem(raw["race"], program.nthreads))
    out = Outcome(
        verdict,
        problems,
        tuple(d[1] for d in raw["decisions"]),
        raw["decisions"],
        nsteps=raw["nsteps"],
        nthreads=raw["nthreads"],
        seconds=raw["seconds"],
        trace=raw["trace"],
        end_race=raw["end_race"],
    )
    if want_log:
        out.steps = _steps(raw["steps"], program.nthreads)
        _mark(out, raw, expected, result)
    return out


def _steps(raw: list[tuple], workers: int) -> list[Step]:
    """The logged steps, each C11 read with the store it read."""
    sources = [(t, _source(f, ln)) for t, _, _, f, ln, *_ in raw]

    def reads(rf: int) -> str:
        if rf == -1:
            return "the value before the run"
        if 0 <= rf < len(sources):
            return f"{_who(sources[rf][0], workers)}'s store at step {rf}, {sources[rf][1]}"
        return ""

    return [
        Step(t, _primitive(op, mo), _source(f, ln), obj, n, c, reads(rf)) for t, op, mo, f, ln, n, c, obj, rf in raw
    ]


def race_problem(race: list[tuple], workers: int) -> str:
    """A data race (``check_execute``'s ``race``) as one problem line: both accesses, and the
    happens-before edge that is missing between them."""
    (s0, t0, k0, f0, l0), (s1, t1, k1, f1, l1) = race
    a, b = _who(t0, workers), _who(t1, workers)
    return (
        f"DATA RACE: {a}'s {_RACE_KINDS[k0]} at step {s0} ({_source(f0, l0)}) and {b}'s "
        f"{_RACE_KINDS[k1]} at step {s1} ({_source(f1, l1)}) touch the same bytes, and neither happens "
        f"before the other: no release/acquire, lock, spawn or join chain leads from {a}'s step {s0} "
        f"to {b}'s"
    )


def _takes_collected(strategy: str) -> bool:
    """Whether ``strategy`` composes with the deferred and sharded layers (gil, buffered and percpu
    refuse them)."""
    from refstrat import _core

    row = _core.find_strategy(strategy)
    return row is not None and not row["refuses"]


@functools.lru_cache(maxsize=8)
def _prepared(program: Program, immortal: bool, tick: int, log_size: int, collected: bool) -> tuple[dict, tuple]:
    """The validated configuration and compiled trace of a scheduled run: an exploration runs one
    program thousands of times.

    A program that marks objects deferred or sharded turns those layers on for every scheme that
    takes them (not only the schemes that force them).  The collection interval stays the
    default (collections at quiesce): lowered to ``tick``, the default check of atomic finds a
    deadlock between a collection and a worker waiting in recv (issue 30's note), which must be
    judged before collections run against working threads by default."""
    from refstrat import _api

    layers = dict(deferred=collected and bool(program.deferred), sharded=collected and bool(program.sharded))
    cfg, trace = _api._config(
        "trace",
        program.nthreads,
        dict(
            trace=program.to_trace(),
            immortal=immortal,
            tick=tick,
            log_size=log_size,
            arena_size=_arena_size(program),
            **layers,
            locks=program.locks,
        ),
    )
    return cfg, trace.compile()


def _arena_size(program: Program) -> int:
    """Room for the program's objects plus garbage a deferred scheme has not freed yet, or
    exactly ``program.pool`` objects per worker."""
    per = program.pool
    if per is None:
        per = max(sum(op[0] == "new" for op in ops) for ops in program.threads) + 16
    return program.shared + per * program.nthreads


def _mark(out: Outcome, raw: dict, expected: Expectation, result: SimpleNamespace) -> None:
    if raw["first_uaf_step"] >= 0:
        out.marks[raw["first_uaf_step"]] = "first use after free"
    if raw["first_double_free_step"] >= 0:
        out.marks[raw["first_double_free_step"]] = "first double free"
    if raw["race"] is not None:  # a data race ends the run: no final counts to compare
        (s0, *_), (s1, *_) = raw["race"]
        out.marks[s0] = "data race: this access ..."
        out.marks[s1] = "... and this one, not ordered by happens-before"
        return
    handles = raw["handles"]
    for oid, want in enumerate(expected.final_counts):
        have = result.final_counts[oid] if oid < len(result.final_counts) else None
        if have == want or oid >= len(handles):
            continue
        last = max((i for i, s in enumerate(out.steps) if s.slot == handles[oid]), default=None)
        if last is not None:
            note = f"last step touching object {oid} (count {have}, model {want})"
            out.marks[last] = out.marks[last] + "; " + note if last in out.marks else note


def schedule_sites(out: Outcome, decisions: int) -> str | None:
    """A fingerprint of the run's first ``decisions`` decision points: per point, the thread that
    ran, its primitive, its ``file:line`` and how many options the scheduler had.  A choice list
    means something only against the code that produced it: replayed against other code (an
    edited scheme, another variant), the same choices steer other threads through other steps,
    and this fingerprint differs.  None if the run has fewer decision points than ``decisions``
    (the list steers steps that no longer exist).  Needs a run made with ``want_log``."""
    points = [s for s in out.steps if s.options > 1]
    if decisions > len(points):
        return None
    text = "\n".join(f"{s.thread} {s.primitive} {s.source} {s.options}" for s in points[:decisions])
    return hashlib.blake2s(text.encode(), digest_size=4).hexdigest()


def format_schedule(out: Outcome, workers: int, limit: int = 400) -> str:
    """The schedule one line per step, with the marks (first bad step, last touches)."""
    lines = [f"schedule ({out.nsteps} steps; T = worker, H = helper thread; [choice/options]):"]
    steps = out.steps
    keep = (
        set(range(len(steps)))
        if len(steps) <= limit
        else set(range(limit // 2)) | set(range(len(steps) - limit // 2, len(steps))) | set(out.marks)
    )
    skipped = False
    for i, s in enumerate(steps):
        if i not in keep:
            if not skipped:
                lines.append("  ...")
            skipped = True
            continue
        skipped = False
        text = s.line(i, workers)
        if i in out.marks:
            text += f"   <-- {out.marks[i]}"
        lines.append(text)
    return "\n".join(lines)
