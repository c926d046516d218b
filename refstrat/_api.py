"""refstrat's public functions: list strategies and workloads, run them, step an arena."""

from __future__ import annotations

import math
import operator
import os
import threading
from collections.abc import Iterable
from typing import Any

try:
    from refstrat import _core
except ImportError as exc:  # the source tree without its built extension, ahead of an install
    import os.path

    raise ImportError(
        "refstrat's native core is not built in "
        + os.path.dirname(os.path.abspath(__file__))
        + ": build it in place with `pip install -e .`, or run from outside the source tree "
        "so that the installed package is imported"
    ) from exc
from refstrat.results import Explain, HotObject, KnobInfo, LockInfo, RunResult, StrategyInfo, WorkloadInfo
from refstrat.trace import Trace, run_arrays

#: Every workload of the core, by name, from RS_WORKLOADS (include/refstrat/runtime.h), in enum order.
_WORKLOADS: dict[str, WorkloadInfo] = {w["name"]: WorkloadInfo(**w) for w in _core.workloads()}

#: The scheme knobs (include/refstrat/knobs.h), by name, in list order.
_KNOBS: dict[str, KnobInfo] = {k["name"]: KnobInfo(**k) for k in _core.knobs()}

LAYOUTS = ("packed", "padded")

_DEFAULTS: dict[str, Any] = dict(
    ops=200_000,
    fib_n=20,
    work=0,
    objects=1024,
    shared_objects=16,
    shared_fraction=0.1,
    zipf=1.0,
    immortal=False,
    deferred=False,
    sharded=False,
    layout="packed",
    arena_size=None,
    pin=True,
    seed=1,
    trace=None,
    jitter=0,
    depth=16,
    locks="none",
    **{k.name: k.default for k in _KNOBS.values()},
)

# name -> (low, high), inclusive: the C core's own bounds (include/refstrat/core.h and knobs.h),
# which it checks again in rs_params_check().
_INT_RANGES: dict[str, tuple[int, int]] = _core.INT_RANGES
_FLOAT_RANGES: dict[str, tuple[float, float]] = _core.FLOAT_RANGES


def strategies() -> list[StrategyInfo]:
    """Every compiled-in strategy, in registry order (test-only plugins are never listed)."""
    return [
        StrategyInfo(r["name"], r["summary"], r["reference"], r["thread_safe"], r["layers"], r["refuses"])
        for r in _core.builtin_strategies()
    ]


def workloads() -> list[WorkloadInfo]:
    """Every workload kernel of the core, in its enum order (the C list RS_WORKLOADS)."""
    return list(_WORKLOADS.values())


def knobs() -> list[KnobInfo]:
    """Every scheme knob of the core, in the order of its C list (RS_KNOBS).

    Each is a keyword of :func:`run` (and :func:`speed_of_light`, :func:`limit`) with the
    returned default; a value outside [low, high] is a ValueError naming that range, checked
    again by the C core."""
    return list(_KNOBS.values())


def get_include() -> str:
    """The directory holding the ``refstrat/*.h`` headers this core was built from, to pass as
    ``-I`` when compiling a plugin (include/refstrat/plugin.h) against the installed refstrat.

    An installed package carries them in ``refstrat/include``; a source tree (editable
    install) has them at the repository's top. Raises FileNotFoundError when neither holds
    them."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "include"), os.path.join(os.path.dirname(here), "include")):
        if os.path.isfile(os.path.join(candidate, "refstrat", "core.h")):
            return candidate
    raise FileNotFoundError(f"refstrat's C headers are neither in {here}/include nor beside the package")


def load_plugin(path: str | os.PathLike[str]) -> list[str]:
    """Load a strategy plugin, a shared library built against :func:`get_include`'s headers
    (include/refstrat/plugin.h; :func:`refstrat.testing.build_plugin` builds one), and return the
    names of the strategies it defines, in its table's order.

    From then on each name is valid wherever a strategy is: :func:`run`, :class:`Arena` and
    :func:`refstrat.testing.check` (with ``schedule=`` only when the library holds the check
    flavour, as ``build_plugin`` makes it). Plugin strategies are never listed by
    :func:`strategies`. A library stays loaded until the process ends; loading the same library
    again registers nothing and returns the same names.

    Refused, with nothing registered: a strategy named like a built-in, an already loaded one or
    a reserved row (``speed_of_light``, ``limit``, ``limit+atomic``) is a ValueError; so is a path
    holding NUL. A library that cannot be loaded, or whose ABI version or struct sizes differ from
    this core's, is an OSError."""
    return list(_core.load_plugin(path))


def _choices(values: Iterable[str]) -> str:
    return ", ".join(values)


def _typename(value: object) -> str:
    """The type's name as a user can tell it apart: numpy's bool is "numpy.bool", not "bool"."""
    kind = type(value)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _validate_name(what: str, value: object) -> str:
    """``value`` as a plain str; a NUL inside would cut it short in C, so it is refused."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {_typename(value)}")
    value = str.__str__(value)  # the characters themselves, whatever a subclass's methods say
    if "\0" in value:
        raise ValueError(f"{what} {value!r} contains a NUL character")
    return value


def locks() -> list[LockInfo]:
    """The built-in lock schemes (include/refstrat/locks.h), in registry order: the choices of
    ``run(..., locks=...)`` for every built-in strategy (a plugin may add its own)."""
    return [LockInfo(**row) for row in _core.builtin_locks()]


def _validate_locks(strategy: str, name: str) -> None:
    """A ValueError naming the valid choices unless ``name`` is a lock scheme ``strategy`` takes
    (the C core checks the index it is given again)."""
    valid = _core.strategy_locks(strategy) or [lk.name for lk in locks()]
    if name not in valid:
        raise ValueError(f"unknown lock scheme {name!r}; valid choices: {_choices(valid)}")


def _validate_strategy(strategy: object) -> str:
    strategy = _validate_name("strategy", strategy)
    if _core.find_strategy(strategy) is None:
        names = [s.name for s in strategies()]
        raise ValueError(f"unknown strategy {strategy!r}; valid choices: {_choices(names)}")
    return strategy


def _as_int(name: str, value: object) -> int:
    """The plain int the C core will see: an int subclass's comparisons and conversions may
    lie, its value may not (operator.index copies the value of any int subclass)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {_typename(value)}")
    return operator.index(value)


def _what(name: str) -> str:
    """``name`` as error messages give it: a knob with its scheme and meaning."""
    knob = _KNOBS.get(name)
    return f"{name} ({knob.strategy}: {knob.doc})" if knob else name


def _shown(value: int | float) -> str:
    """A number as an error message gives it: a huge int by its size, since printing 10**5000
    would itself raise (and say nothing more)."""
    if isinstance(value, int) and abs(value) >= 10**30:
        return f"{'a negative' if value < 0 else 'an'} int of {value.bit_length()} bits"
    return str(value)


def _validate_int(name: str, value: object, ranges: dict[str, tuple[int, int]] | None = None) -> int:
    """The converted value of an integer option, checked against its range."""
    value = _as_int(name, value)
    low, high = (ranges or _INT_RANGES)[name]
    if not low <= value <= high:
        raise ValueError(f"{_what(name)} must be in [{low}, {high}], got {_shown(value)}")
    return value


def _validate_float(name: str, value: object) -> float:
    """The converted value of a real option (an int, or a float whose subclass may lie)."""
    low, high = _FLOAT_RANGES[name]
    if isinstance(value, int) and not isinstance(value, bool):
        exact = operator.index(value)
        if not low <= exact <= high:  # compared as an int: one past a double's range has no float
            raise ValueError(f"{_what(name)} must be in [{low}, {high}], got {_shown(exact)}")
        value = float(exact)
    elif isinstance(value, float):
        value = float.__float__(value)  # the stored double, not a subclass's __float__
    else:
        raise TypeError(f"{name} must be a number, got {_typename(value)}")
    if math.isnan(value) or not low <= value <= high:
        raise ValueError(f"{_what(name)} must be in [{low}, {high}], got {value}")
    return value


def _validate_bool(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {_typename(value)}")
    return value


def _config(workload: object, threads: object, options: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    unknown = set(options) - set(_DEFAULTS)
    if unknown:
        raise TypeError(f"unknown option(s) {', '.join(sorted(unknown))}; valid: {_choices(sorted(_DEFAULTS))}")
    workload = _validate_name("workload", workload)
    if workload not in _WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}; valid choices: {_choices(_WORKLOADS)}")
    cfg = dict(_DEFAULTS, **options)
    cfg["workload"] = workload
    cfg["threads"] = _validate_int("threads", threads)
    for name in _INT_RANGES:
        if name != "threads" and (name != "arena_size" or cfg[name] is not None):
            cfg[name] = _validate_int(name, cfg[name])
    for name in _FLOAT_RANGES:
        cfg[name] = _validate_float(name, cfg[name])
    for name in ("immortal", "deferred", "sharded", "pin"):
        _validate_bool(name, cfg[name])
    cfg["locks"] = _validate_name("locks", cfg["locks"])
    cfg["layout"] = _validate_name("layout", cfg["layout"])
    if cfg["layout"] not in LAYOUTS:
        raise ValueError(f"unknown layout {cfg['layout']!r}; valid choices: {_choices(LAYOUTS)}")
    trace = cfg.pop("trace")
    if workload == "trace":
        if not isinstance(trace, Trace):
            raise TypeError("the trace workload needs trace=refstrat.Trace(...)")
        trace.compile()  # validates, so that a malformed trace is reported before anything else
        if len(trace.threads) != cfg["threads"]:
            raise ValueError(f"the trace has {len(trace.threads)} thread(s) but threads={cfg['threads']}")
    elif trace is not None:
        raise ValueError(f"trace= is only for the trace workload, not {workload!r}")
    elif cfg["jitter"]:
        raise ValueError("jitter= is only for the trace workload")
    if workload == "trace" and cfg["work"]:
        raise ValueError("work= is not for the trace workload (its operations are given explicitly)")
    return cfg, trace


def _raw_run(
    strategy: str, cfg: dict[str, Any], checked: bool, compiled: Any = None, explain: bool = False
) -> dict[str, Any]:
    return _core.execute(strategy, dict(cfg, checked=int(checked), explain=int(explain)), compiled)


_FIB_SINGLETONS = ("function", "globals", "builtins", "code", "True", "False")


def _slot_label(workload: str, idx: int, nsetup: int) -> str:
    if idx >= nsetup:
        return f"private slot {idx}"
    if workload not in ("fib", "fib314"):
        return f"{'trace' if workload == 'trace' else 'shared'} object {idx}"
    if idx < len(_FIB_SINGLETONS):
        return f"fib: {_FIB_SINGLETONS[idx]}"
    return f"fib: small int {idx - len(_FIB_SINGLETONS) - 5}"


def _explain_from(workload: str, raw: dict[str, Any]) -> Explain:
    cross = raw["cross_ops"]
    hot = tuple(
        HotObject(_slot_label(workload, idx, raw["nsetup"]), n, n / cross if cross else 0.0) for idx, n in raw["hot"]
    )
    ops = raw["ops"]
    return Explain(
        ops=ops,
        slow_fraction=raw["events"]["slow"] / ops if ops else 0.0,
        events=dict(raw["events"]),
        header_bytes=raw["header_bytes"],
        side_bytes=raw["side_bytes"],
        side_bytes_peak=raw["side_bytes_peak"],
        frees_measured=raw["frees_measured"],
        delay_ops=raw["delay_ops"],
        delay_ns=raw["delay_ns"],
        dead_peak=raw["dead_peak"],
        early_frees=raw["early_frees"],
        delay_dropped=raw["delay_dropped"],
        cross_thread_ops=cross,
        hot=hot,
    )


def _execute(
    strategy: str,
    workload: str,
    threads: int,
    options: dict[str, Any],
    *,
    timed: str = "unchecked",
    check: bool = True,
    explain: bool = False,
) -> RunResult:
    """One configuration: the timed run on the ``timed`` copy, then (``check``) the checked run.

    ``timed``: "unchecked" (a strategy, speed_of_light), "limit" (the limit rows) or "checked"
    (traces: one run, checked, whose times are reported as they are)."""
    cfg, trace = _config(workload, threads, options)
    _validate_locks(strategy, cfg["locks"])
    compiled = final = payloads = None
    expected: list[int] | None = None
    if trace is not None:
        compiled = trace.compile()
        expected = trace.final_holdings()
        row = _core.find_strategy(strategy)
        if cfg["immortal"] or (row is not None and row["immortal"]):
            for obj in trace.immortal:
                expected[obj] = 1
        compiled = run_arrays(compiled, expected)
        final, payloads = compiled[-2], compiled[-1]
    raw = _raw_run(strategy, cfg, timed == "checked", compiled, explain and timed == "checked")
    counters = raw
    if check and timed == "unchecked":
        counters = _raw_run(strategy, cfg, True, explain=explain)
    pinned = raw["pinned"]
    return RunResult(
        strategy=strategy,
        workload=cfg["workload"],
        threads=cfg["threads"],
        immortal=raw["immortal"],
        layout=cfg["layout"],
        ops=raw["ops"],
        ops_per_thread=raw["ops_per_thread"],
        wall_seconds=raw["wall_seconds"],
        cpu_seconds=raw["cpu_seconds"],
        worker_cpu_seconds=raw["worker_cpu_seconds"],
        helper_cpu_seconds=raw["helper_cpu_seconds"],
        helper_threads=raw["helper_threads"],
        allocs=counters["allocs"],
        frees=counters["frees"],
        double_frees=counters["double_frees"],
        use_after_free=counters["use_after_free"],
        leaks=counters["leaks"],
        lost_updates=counters["lost_updates"],
        premature_frees=counters["premature_frees"],
        pinned=pinned,
        cpus=raw["cpus"] if pinned else None,
        final_counts=None if final is None else tuple(None if c < 0 else c for c in final),
        first_use_after_free=raw["first_use_after_free"] if trace is not None else None,
        locks=cfg["locks"],
        final_payloads=None if payloads is None else tuple(payloads),
        exclusion_violations=raw["exclusion_violations"],
        timed=timed,
        checked=counters is not raw or timed == "checked",
        check_wall_seconds=counters["wall_seconds"] if counters is not raw else None,
        explain=_explain_from(workload, counters["explain"]) if explain else None,
        layers=raw["layers"],
    )


def run(
    strategy: str,
    workload: str = "private",
    threads: int = 1,
    *,
    check: bool = True,
    explain: bool = False,
    **options: Any,
) -> RunResult:
    """Run ``workload`` on ``threads`` OS threads under ``strategy`` and check the outcome.

    The workers run the kernel in C with the GIL released, start together from a barrier, and
    are pinned to distinct cores when there are enough (``result.pinned`` says whether they
    were). After the workers finish, the strategy is quiesced (helper threads stopped, deferred
    work drained) and the arena is checked: double frees, uses after free, leaks and lost updates
    come back as exact counters, never as a crash.

    The times come from the *unchecked* kernel copy (the scheme's operations, no handle checks,
    no per-operation tally); the counters from a second, untimed run of the same configuration
    on the checked copy (see :class:`RunResult`). ``check=False`` skips that second run: the
    counters then come from the timed run's final scan, which cannot see uses after free.
    The trace workload always runs once, checked.

    ``explain=True`` makes the checked run the *explain flavour* (a separate compiled copy of
    the built-in strategies with event counters and a shadow true count per object, see
    include/refstrat/explain.h): ``result.explain`` then says which path operations took, what
    memory the scheme's structures cost and how long dead objects waited to be freed. The
    timed run is never the explain flavour.

    Options (keyword only): ops (per thread), fib_n, work (spin iterations of other work per fib
    call, or after every operation of the other workloads; not for trace), objects, shared_objects,
    shared_fraction, zipf, immortal, deferred and sharded (the per-object layers, on any strategy
    but gil, buffered and percpu, which take immortal only: ``StrategyInfo.refuses`` says so,
    include/refstrat/layers.h), layout ("packed" or "padded"), arena_size,
    pin, seed, trace and jitter (trace workload), depth, locks (a lock scheme of :func:`locks`, the
    one a trace's lock operations take; "none" by default), and every scheme knob of :func:`knobs`
    (switch_interval for gil, tick for coalesced, log_size for buffered, collect_interval for
    deferred and sharded, ...). Invalid values raise ValueError/TypeError naming the valid choices
    (the value checked is the converted one the C core receives, which checks it again; the bounds
    are in the documentation's "Bounds and errors" page and refstrat.knobs()); names holding NUL
    are a ValueError. A run that
    cannot complete raises a :class:`refstrat.RunError` (``ArenaExhaustedError`` when a pool
    stays empty, ``StalledError`` when a worker waits too long) or MemoryError.
    A signal handler that raises while the run is going (Ctrl-C's KeyboardInterrupt) stops it
    within about 20 ms plus a worker's next abort check; the exception propagates once every
    thread has been joined.
    """
    _validate_bool("check", check)
    _validate_bool("explain", explain)
    if explain and not check and workload != "trace":
        raise ValueError("explain=True needs the checked run; drop check=False")
    return _execute(
        _validate_strategy(strategy),
        workload,
        threads,
        options,
        timed="checked" if workload == "trace" else "unchecked",
        check=check,
        explain=explain,
    )


def speed_of_light(workload: str = "private", threads: int = 1, **options: Any) -> RunResult:
    """The same operations as :func:`run` with plain increments and no checks: the hardware limit.

    Exact only where no object is shared between threads; its counters are not checked."""
    if _validate_name("workload", workload) == "trace":
        raise ValueError("speed_of_light has no trace workload")
    return _execute("speed_of_light", workload, threads, options, check=False)


def limit(workload: str = "private", threads: int = 1, *, atomic: bool = False, **options: Any) -> RunResult:
    """The hardware limit of ``workload``: a hand-written C kernel doing the same count changes.

    Plain pointers to plain counts (``atomic=True``: lock-prefixed increments and decrements),
    no handles, no strategy hooks, no safepoints (include/refstrat/limit.h). Takes the options
    of :func:`run`; ``immortal`` and the scheme knobs change nothing. The result's ``strategy``
    is "limit" or "limit+atomic" and its counters prove nothing (``checked`` is False): the
    plain flavour loses updates on shared objects by design."""
    _validate_bool("atomic", atomic)
    workload = _validate_name("workload", workload)
    with_limit = [w.name for w in _WORKLOADS.values() if w.has_limit]
    if workload in _WORKLOADS and workload not in with_limit:  # an unknown one: run's error
        raise ValueError(f"limit has no {workload!r} workload; valid choices: {_choices(with_limit)}")
    return _execute("limit+atomic" if atomic else "limit", workload, threads, options, timed="limit", check=False)


class ArenaFullError(RuntimeError):
    """The stepping arena has no free slot left."""


class Arena:
    """One arena driven operation by operation from Python, for single-threaded checks.

    The calling thread acts as the only worker. ``flush()`` forces the scheme's safepoint (the
    biased merge queue is drained, buffered logs are committed, coalesced deltas are flushed
    with an epoch tick); after ``quiesce()`` every count is exact and every object whose true
    count is zero is freed. Operations on freed objects are counted (``stats()``), not performed.
    A lock serialises the methods, so sharing an Arena between Python threads is safe (but
    serial).

    Object ids: an id names one object for good. It is the slot the object lives in plus
    ``capacity`` times the number of objects that slot held before, so a fresh arena hands out
    ``0, 1, 2, ...`` and the object reusing a freed slot gets a new, larger id; the old id keeps
    naming the freed object (operations through it count as uses after free). The Arena stores
    nothing per id, so memory stays constant however many objects come and go. Ids repeat only
    after one slot has been reused 2**31 times. An id no ``alloc`` returned is an IndexError.
    """

    def __init__(self, strategy: str, capacity: int = 1024, *, immortal: bool = False, layout: str = "packed") -> None:
        strategy = _validate_strategy(strategy)
        capacity = _as_int("capacity", capacity)
        if not 1 <= capacity <= 2**32 - 2:
            raise ValueError(f"capacity must be in [1, {2**32 - 2}], got {capacity}")
        if not isinstance(immortal, bool):
            raise TypeError("immortal must be a bool")
        layout = _validate_name("layout", layout)
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; valid choices: {_choices(LAYOUTS)}")
        self.strategy = strategy
        self.capacity = capacity
        self._lock = threading.Lock()
        self._core = _core.StepArena(strategy, capacity, immortal, layout == "padded")

    @property
    def immortal(self) -> bool:
        """Whether immortal objects are honoured (asked for, or the strategy's own)."""
        return self._core.immortal

    def _new(self, setup: bool, immortal: bool) -> int:
        with self._lock:
            h = self._core.new(setup, immortal)
            if h is None:
                raise ArenaFullError(f"the arena's {self.capacity} slots are all live")
            idx, gen = h
            return idx + self.capacity * (gen >> 1)  # generations of live objects are odd

    def alloc(self) -> int:
        """A new private object with count 1; returns its id."""
        return self._new(False, False)

    def alloc_shared(self, immortal: bool = False) -> int:
        """An object with one permanent setup reference (immortal if asked and honoured)."""
        if not isinstance(immortal, bool):
            raise TypeError("immortal must be a bool")
        return self._new(True, immortal)

    def _handle(self, obj: object) -> tuple[int, int]:
        """(slot, generation) of an id; the core checks that it was issued (IndexError if not)."""
        if not isinstance(obj, int) or isinstance(obj, bool):
            raise TypeError(f"object id must be an int, got {_typename(obj)}")
        obj = operator.index(obj)
        if not 0 <= obj < self.capacity << 31:
            raise IndexError(f"no object {obj}: ids are in [0, {(self.capacity << 31) - 1}]")
        lives, idx = divmod(obj, self.capacity)
        return idx, 2 * lives + 1

    def _step(self, method: Any, obj: object) -> Any:
        idx, gen = self._handle(obj)
        with self._lock:
            try:
                return method(idx, gen)
            except IndexError:  # the core's verdict: that generation was never issued
                raise IndexError(f"no object {obj}: no alloc() returned that id") from None

    def incref(self, obj: int) -> bool:
        """One increment through the scheme's fast path; False (counted) if obj was freed."""
        return self._step(self._core.inc, obj)

    def decref(self, obj: int) -> bool:
        """One decrement through the scheme's fast path; False (counted) if obj was freed."""
        return self._step(self._core.dec, obj)

    def flush(self) -> None:
        with self._lock:
            self._core.flush()

    def quiesce(self) -> None:
        with self._lock:
            self._core.quiesce()

    def is_live(self, obj: int) -> bool:
        return self._step(self._core.live, obj)

    def count(self, obj: int) -> int:
        """The count the scheme has committed for a live object: exact after flush()/quiesce()."""
        if not self.is_live(obj):
            raise ValueError(f"object {obj} has been freed")
        return self._step(self._core.count, obj)

    def stats(self) -> dict[str, int]:
        """allocs, frees, double_frees, use_after_free so far."""
        with self._lock:
            return self._core.counters()
