# cython: language_level=3, boundscheck=False, wraparound=False, freethreading_compatible=True
"""The native driver: strategy table, the multithreaded runner (GIL released) and the stepping arena.

Arguments reach this module already validated by refstrat._api (clear Python errors); the C core
checks every configuration field and every stepping handle again (rs_params_check, RS_ERR_HANDLE),
so that nothing a caller passes -- through this module or a plugin -- can crash the interpreter.
Every C error code (include/refstrat/error.h) becomes one exception class here (_raise).
"""
import os
from libc.stdint cimport uint8_t, uint16_t, uint32_t, int32_t, uint64_t, int64_t, int16_t
from libc.string cimport memset
from cpython.exc cimport PyErr_CheckSignals

# How often a waiting run() looks for signals: Ctrl-C stops a run within about this much plus
# the time a worker needs to reach its next abort check (every 1024 operations).
cdef double SIGNAL_POLL_SECONDS = 0.02

cdef extern from "refstrat/core.h" nogil:
    enum rs_err:
        RS_OK, RS_ERR_CONFIG, RS_ERR_NOMEM, RS_ERR_ARENA, RS_ERR_STALLED, RS_ERR_HANDLE, RS_ERR_PLUGIN
        RS_ERR_INTERRUPTED
    const uint64_t RS_MAX_THREADS, RS_MAX_OPS, RS_MAX_FIB_N, RS_MAX_WORK, RS_MAX_OBJECTS
    const uint64_t RS_MAX_SHARED_OBJECTS
    const uint64_t RS_MAX_DEPTH, RS_NIL, RS_MAX_TRACE_OBJECTS, RS_MAX_TRACE_OPS, RS_MAX_TRACE_MAILBOX
    const double RS_MAX_ZIPF
    const uint32_t RS_S_NO_COLLECTED
    enum rs_knob_kind:
        RS_KNOB_UINT, RS_KNOB_REAL
    ctypedef struct rs_knob:
        const char *name
        const char *strategy
        const char *doc
        int kind
        uint64_t def_u, low_u, high_u
        double def_r, low_r, high_r
    ctypedef struct rs_workload_info:
        const char *name
        const char *summary
        const char *reference
        int has_limit
        const char *twin
    ctypedef struct rs_handle:
        uint32_t idx
        uint32_t gen
    ctypedef struct rs_counters:
        uint64_t allocs, frees, double_frees, use_after_free
    ctypedef struct rs_trace_op:
        uint32_t kind, obj, arg
    ctypedef struct rs_trace:
        uint32_t nobjects, nshared
        const uint8_t *immortal
        const uint8_t *layers
        const rs_trace_op *ops
        const uint64_t *begin
        const int64_t *expected
        rs_handle *handles
        int64_t *final_counts
        int64_t *final_payloads
        uint64_t exclusion_violations
    ctypedef struct rs_params:
        uint32_t workload, threads
        uint64_t ops
        uint32_t fib_n, work, objects, shared_objects, depth, padded
        double shared_fraction, zipf
        uint64_t arena_size
        int pin, immortal
        uint32_t layers
        uint64_t seed, jitter
        uint32_t explain, checked, lock
        rs_trace *trace
    ctypedef struct rs_thread:
        uint64_t ops
        uint64_t first_uaf
        double cpu_seconds
        int cpu
    ctypedef struct rs_lock_scheme:
        const char *name
        const char *summary
        const char *reference
        int excludes
    ctypedef struct rs_strategy:
        const char *name
        const char *summary
        const char *reference
        int thread_safe
        uint32_t layers
        const rs_lock_scheme *locks
        uint32_t nlocks
    ctypedef struct rs_arena:
        uint32_t capacity, nsetup
    ctypedef struct rs_run:
        rs_arena arena
        uint32_t nthreads
        rs_thread *threads
        char errmsg[256]
        int immortal
        uint32_t layers
    ctypedef struct rs_explain_result:
        uint64_t ops, frees_measured, delay_dropped, early_frees
        double delay_ops[3]
        double delay_ns[3]
        int64_t dead_peak
        uint32_t header_bytes
        uint64_t side_bytes, side_bytes_peak, cross_ops
        uint32_t nhot
        uint32_t hot_idx[8]
        uint64_t hot_cross[8]
    ctypedef struct rs_result:
        uint64_t ops, allocs, frees, double_frees, use_after_free
        uint64_t leaks, lost_updates, premature_frees
        double wall_seconds, cpu_seconds, helper_cpu_seconds
        int pinned
        uint32_t helper_threads

    ctypedef struct rs_check_cfg:
        int mode, tso, c11
        const uint32_t *choices
        uint64_t nchoices, seed
        uint32_t pct_depth
        uint64_t pct_steps, max_steps
        const uint64_t *sleep_add
        uint64_t nsleep_add
        int races
    ctypedef struct rs_check_step:
        const char *file
        uint32_t line
        uint16_t thread, op, mo, nopts, choice
        uint8_t cur_runnable, drain_from
        int32_t obj
        int16_t cur
        uint32_t size
        uint64_t addr, runnable, asleep
        int32_t race, rf
    ctypedef struct rs_check_out:
        int verdict
        uint64_t nsteps
        rs_check_step *steps
        int64_t first_uaf_step, first_double_free_step
        uint32_t nthreads
        double seconds
        int32_t end_race[64]
        int64_t race_step[2]
        int32_t race_thread[2]
        int32_t race_kind[2]
        const char *race_file[2]
        uint32_t race_line[2]
        uint64_t race_addr
    const rs_strategy *rs_find_check_strategy(const char *name)
    int rs_check_execute(rs_run *r, const rs_check_cfg *cfg, rs_check_out *out)
    void rs_check_free(rs_check_out *out)

    int rs_builtin_count()
    const rs_strategy *rs_builtin(int i)
    const rs_strategy *rs_reserved_row(const char *name)
    int rs_reserved_count()
    const rs_strategy *rs_reserved_at(int i)
    const rs_strategy *rs_explain_strategy(const char *name)
    int rs_explain_result_of(const rs_run *r, rs_explain_result *out)
    int rs_explain_event_count()
    const char *rs_explain_event_name(int i)
    const char *rs_explain_event_doc(int i)
    uint64_t rs_explain_event(const rs_explain_result *x, int i)
    const rs_strategy *rs_find_strategy(const char *name)
    int rs_knob_count()
    const rs_knob *rs_knob_at(int i)
    int rs_workload_count()
    const rs_workload_info *rs_workload_at(int i)
    void rs_knob_set(rs_params *p, const rs_knob *k, uint64_t u, double r)
    int rs_plugin_load(const char *path, const rs_strategy **first, char *err, size_t errlen)
    int rs_run_create(const rs_strategy *s, const rs_params *p, rs_run **out, char *err, size_t errlen)
    int rs_run_execute(rs_run *r)
    ctypedef struct rs_bg:
        pass
    rs_bg *rs_run_start(rs_run *r)
    int rs_run_wait(rs_bg *b, double seconds, int *rc)
    void rs_run_interrupt(rs_run *r)
    void rs_run_result(const rs_run *r, rs_result *out)
    void rs_run_destroy(rs_run *r)
    int rs_step_create(const rs_strategy *s, uint32_t capacity, int immortal, int padded,
                       rs_run **out, char *err, size_t errlen)
    int rs_step_new(rs_run *r, int setup, int immortal, rs_handle *out)
    int rs_step_inc(rs_run *r, rs_handle h, int *performed)
    int rs_step_dec(rs_run *r, rs_handle h, int *performed)
    void rs_step_flush(rs_run *r)
    void rs_step_quiesce(rs_run *r)
    int rs_step_live(rs_run *r, rs_handle h, int *live)
    int rs_step_count(rs_run *r, rs_handle h, int64_t *count)
    void rs_step_counters(rs_run *r, rs_counters *out)
    void rs_step_destroy(rs_run *r)

def workloads():
    """Every workload of the core (RS_WORKLOADS in include/refstrat/runtime.h), in enum order,
    as dicts: name, summary, reference, has_limit and twin (None when it has none)."""
    cdef const rs_workload_info *w
    out = []
    for i in range(rs_workload_count()):
        w = rs_workload_at(i)
        out.append(dict(name=w.name.decode(), summary=w.summary.decode(), reference=w.reference.decode(),
                        has_limit=bool(w.has_limit), twin=None if w.twin == NULL else w.twin.decode()))
    return out


# The per-object layers (include/refstrat/object.h's RS_F_* bits), by the names the API uses.
LAYERS = dict(immortal=1, deferred=4, sharded=8)
COLLECTED = ("deferred", "sharded")  # the layers a strategy with RS_S_NO_COLLECTED refuses


def knobs():
    """Every scheme knob of the core (RS_KNOBS in include/refstrat/knobs.h), in list order, as
    dicts: name, strategy, kind ("int" or "real"), default, low, high (inclusive), doc."""
    cdef const rs_knob *k
    out = []
    for i in range(rs_knob_count()):
        k = rs_knob_at(i)
        real = k.kind == RS_KNOB_REAL
        out.append(dict(name=k.name.decode(), strategy=k.strategy.decode(), kind="real" if real else "int",
                        default=k.def_r if real else k.def_u, low=k.low_r if real else k.low_u,
                        high=k.high_r if real else k.high_u, doc=k.doc.decode()))
    return out


# In enum rs_workload order.
WORKLOADS = tuple(w["name"] for w in workloads())

# The core's bounds (include/refstrat/core.h and knobs.h), inclusive: refstrat._api validates
# against these.
INT_RANGES = dict(
    threads=(1, RS_MAX_THREADS), ops=(1, RS_MAX_OPS), fib_n=(1, RS_MAX_FIB_N), work=(0, RS_MAX_WORK),
    objects=(1, RS_MAX_OBJECTS), shared_objects=(1, RS_MAX_SHARED_OBJECTS), seed=(0, 2**64 - 1),
    jitter=(0, 2**64 - 1), depth=(1, RS_MAX_DEPTH), arena_size=(1, RS_NIL - 1),
    **{k["name"]: (k["low"], k["high"]) for k in knobs() if k["kind"] == "int"},
)
FLOAT_RANGES = dict(
    shared_fraction=(0.0, 1.0), zipf=(0.0, RS_MAX_ZIPF),
    **{k["name"]: (k["low"], k["high"]) for k in knobs() if k["kind"] == "real"},
)
MAX_TRACE_OBJECTS = RS_MAX_TRACE_OBJECTS
MAX_TRACE_OPS = RS_MAX_TRACE_OPS
MAX_TRACE_MAILBOX = RS_MAX_TRACE_MAILBOX


class RunError(RuntimeError):
    """A run that started but could not complete (the message says why)."""


class ArenaExhaustedError(RunError):
    """A worker's pool stayed empty: the arena is too small for what the scheme keeps alive."""


class StalledError(RunError):
    """A worker waited too long for another one (RS_WAIT_LIMIT seconds)."""


_ERRORS = {RS_ERR_CONFIG: ValueError, RS_ERR_NOMEM: MemoryError, RS_ERR_ARENA: ArenaExhaustedError,
           RS_ERR_STALLED: StalledError, RS_ERR_HANDLE: IndexError, RS_ERR_PLUGIN: OSError,
           RS_ERR_INTERRUPTED: KeyboardInterrupt}


cdef int _raise(int code, str message) except -1:
    """Raise the exception class of C error `code` (never returns normally unless RS_OK)."""
    if code == RS_OK:
        return 0
    raise _ERRORS.get(code, RunError)(message)


cdef bytes _cname(str what, str name):
    """`name` as a C string; a NUL inside would silently cut it short, so it is refused."""
    if "\0" in name:
        raise ValueError(f"{what} {name!r} contains a NUL character")
    try:
        return name.encode()
    except UnicodeEncodeError as exc:  # a lone surrogate has no UTF-8 form for C to read
        raise ValueError(f"{what} {name!r} is not valid text: {exc.reason} at index {exc.start}") from None

cdef dict _strategy_row(const rs_strategy *s):
    return dict(name=s.name.decode(), summary=s.summary.decode(), reference=s.reference.decode(),
                thread_safe=bool(s.thread_safe), immortal=bool(s.layers & LAYERS["immortal"]),
                layers=tuple(name for name, bit in LAYERS.items() if s.layers & bit),
                refuses=COLLECTED if s.layers & RS_S_NO_COLLECTED else ())


def builtin_locks():
    """The compiled-in lock schemes (refstrat/locks.h), in registry order, as dicts: name, summary,
    reference, excludes (whether it gives mutual exclusion)."""
    cdef const rs_strategy *s = rs_builtin(0)
    return [dict(name=s.locks[i].name.decode(), summary=s.locks[i].summary.decode(),
                 reference=s.locks[i].reference.decode(), excludes=bool(s.locks[i].excludes))
            for i in range(s.nlocks)]


def strategy_locks(str strategy):
    """The lock schemes ``strategy``'s kernels may run with (the built-ins, then a plugin's own),
    or None for an unknown strategy."""
    cdef bytes b = _cname("strategy", strategy)
    cdef const rs_strategy *s = rs_reserved_row(b)
    if s == NULL:
        s = rs_find_strategy(b)
    return None if s == NULL else [s.locks[i].name.decode() for i in range(s.nlocks)]


cdef int _set_lock(rs_params *p, const rs_strategy *s, dict cfg) except -1:
    """p.lock from cfg["locks"] (a name), among the locks of s's flavour."""
    name = cfg.get("locks", "none")
    names = [s.locks[i].name.decode() for i in range(s.nlocks)]
    if name not in names:
        raise ValueError(f"unknown lock scheme {name!r} for {s.name.decode()}; valid choices: {', '.join(names)}")
    p.lock = names.index(name)
    return 0


def builtin_strategies():
    """The compiled-in strategies, in registry order, as dicts."""
    return [_strategy_row(rs_builtin(i)) for i in range(rs_builtin_count())]


def find_strategy(str name):
    """The strategy's row (built-in or plugin), or None. A name holding NUL is a ValueError."""
    cdef bytes b = _cname("strategy", name)
    cdef const rs_strategy *s = rs_find_strategy(b)
    return None if s == NULL else _strategy_row(s)


def load_plugin(path):
    """Load a strategy plugin (see include/refstrat/plugin.h); return the names it defines.

    Plugin strategies become valid names for run() and Arena but are never listed by
    refstrat.strategies(). Loading the same library again registers nothing and returns the same
    names; a strategy named like a built-in or an already loaded one is a ValueError (nothing is
    registered); a path holding NUL is a ValueError; a library that cannot be loaded an OSError.
    Private: the test suite's broken variants use it."""
    cdef char err[512]
    cdef const rs_strategy *first = NULL
    cdef bytes b = os.fsencode(path)
    if b"\0" in b:
        raise ValueError(f"plugin path {path!r} contains a NUL character")
    cdef int n = rs_plugin_load(b, &first, err, sizeof(err))
    if n < 0:
        _raise(-n, err.decode(errors="replace"))
    return [first[i].name.decode() for i in range(n)]


def reserved_rows():
    """The names of the rows that are not strategies (speed_of_light, the limits), from the core's
    one list: no plugin may take them."""
    return [rs_reserved_at(i).name.decode() for i in range(rs_reserved_count())]


cdef const rs_strategy *_lookup(str name) except NULL:
    cdef bytes b = _cname("strategy", name)
    cdef const rs_strategy *s = rs_reserved_row(b)
    if s != NULL:
        return s
    s = rs_find_strategy(b)
    if s == NULL:
        raise ValueError(f"unknown strategy {name!r}")
    return s


cdef void _fill_params(rs_params *p, dict cfg):
    memset(p, 0, sizeof(rs_params))
    p.workload = WORKLOADS.index(cfg["workload"])
    p.threads = cfg["threads"]
    p.ops = cfg["ops"]
    p.fib_n = cfg["fib_n"]
    p.work = cfg["work"]
    p.objects = cfg["objects"]
    p.shared_objects = cfg["shared_objects"]
    p.depth = cfg["depth"]
    p.padded = cfg["layout"] == "padded"
    p.shared_fraction = cfg["shared_fraction"]
    p.zipf = cfg["zipf"]
    p.arena_size = cfg["arena_size"] or 0
    p.pin = cfg["pin"]
    p.immortal = cfg["immortal"]
    p.layers = (LAYERS["deferred"] if cfg.get("deferred") else 0) | \
        (LAYERS["sharded"] if cfg.get("sharded") else 0)
    p.seed = cfg["seed"]
    p.jitter = cfg["jitter"]
    cdef const rs_knob *k
    for i in range(rs_knob_count()):
        k = rs_knob_at(i)
        value = cfg[k.name.decode()]
        if k.kind == RS_KNOB_REAL:
            rs_knob_set(p, k, 0, value)
        else:
            rs_knob_set(p, k, value, 0.0)
    p.checked = cfg.get("checked", 1)  # the checked copy unless a timed run asks otherwise
    p.explain = cfg.get("explain", 0)


cdef int _fill_trace(rs_trace *tr, object trace, uint32_t threads) except -1:
    # trace: (nobjects, nshared, immortal: bytes, ops: array('I'), begin: array('Q'),
    #         layers: bytes (empty, or one RS_F_* mark byte per object),
    #         expected: array('q'), final_counts: array('q'))
    cdef const uint8_t[::1] immortal = trace[2]
    cdef const uint32_t[::1] ops = trace[3]
    cdef const uint64_t[::1] begin = trace[4]
    cdef const uint8_t[::1] layers = trace[5]
    cdef const int64_t[::1] expected = trace[6]
    cdef int64_t[::1] final = trace[7]
    if begin.shape[0] != threads + 1 or ops.shape[0] != 3 * begin[begin.shape[0] - 1] \
            or immortal.shape[0] != trace[1] or expected.shape[0] != trace[0] or final.shape[0] != trace[0] \
            or (layers.shape[0] and layers.shape[0] != trace[0]):
        raise ValueError("malformed compiled trace")
    memset(tr, 0, sizeof(rs_trace))
    tr.nobjects = trace[0]
    tr.nshared = trace[1]
    tr.immortal = &immortal[0] if immortal.shape[0] else NULL
    tr.layers = &layers[0] if layers.shape[0] else NULL
    tr.ops = <const rs_trace_op *>&ops[0] if ops.shape[0] else NULL
    tr.begin = &begin[0]
    tr.expected = &expected[0] if expected.shape[0] else NULL
    tr.final_counts = &final[0] if final.shape[0] else NULL
    cdef int64_t[::1] payloads
    if len(trace) > 8:  # run_arrays's third array: room for the payloads after the run
        payloads = trace[8]
        if payloads.shape[0] != trace[0]:
            raise ValueError("malformed compiled trace")
        tr.final_payloads = &payloads[0] if payloads.shape[0] else NULL
    return 0


def execute(str strategy, dict cfg, trace=None):
    """Run one configuration with the GIL released; return a dict of raw results.

    Raises ValueError for a configuration the core rejects (rs_params_check), MemoryError when
    memory or threads run short, and a RunError subclass when the run fails (the message says
    why)."""
    cdef const rs_strategy *s = _lookup(strategy)
    cdef bytes name = strategy.encode()
    if cfg.get("explain"):
        s = rs_explain_strategy(name)
        if s == NULL:
            raise ValueError(f"no explain flavour for {strategy!r}: only the built-in strategies have one")
    cdef rs_params p
    cdef rs_trace tr
    cdef char err[256]
    cdef rs_result res
    cdef int rc
    _fill_params(&p, cfg)
    _set_lock(&p, s, cfg)
    if trace is not None:
        _fill_trace(&tr, trace, p.threads)
        p.trace = &tr
    cdef rs_run *r = NULL
    rc = rs_run_create(s, &p, &r, err, sizeof(err))
    if rc != RS_OK:  # err is only written on failure: decode it after the call, not before
        _raise(rc, err.decode(errors="replace"))
    try:
        rc = _execute_polling_signals(r)
        _raise(rc, f"{strategy} on {cfg['workload']}: {r.errmsg.decode(errors='replace')}")
        rs_run_result(r, &res)
        threads = [r.threads[i] for i in range(r.nthreads)]
        return dict(
            ops=res.ops, allocs=res.allocs, frees=res.frees, double_frees=res.double_frees,
            use_after_free=res.use_after_free, leaks=res.leaks, lost_updates=res.lost_updates,
            premature_frees=res.premature_frees, wall_seconds=res.wall_seconds,
            cpu_seconds=res.cpu_seconds, helper_cpu_seconds=res.helper_cpu_seconds,
            helper_threads=res.helper_threads,
            pinned=bool(res.pinned), immortal=bool(r.immortal),
            layers=tuple(name for name, bit in LAYERS.items() if r.layers & bit),
            ops_per_thread=tuple(t["ops"] for t in threads),
            worker_cpu_seconds=tuple(t["cpu_seconds"] for t in threads),
            cpus=tuple(t["cpu"] for t in threads),
            first_use_after_free=tuple(None if t["first_uaf"] == 0xFFFFFFFFFFFFFFFF else t["first_uaf"]
                                       for t in threads),
            explain=_explain_dict(r) if p.explain else None,
            exclusion_violations=tr.exclusion_violations if trace is not None else 0,
        )
    finally:
        rs_run_destroy(r)


def has_check_flavour(str name):
    """Whether ``name`` has a check-build flavour (built-ins always; plugins built with both)."""
    cdef bytes b = _cname("strategy", name)
    return rs_find_check_strategy(b) != NULL


def check_execute(str strategy, dict cfg, trace, choices, bint pct, uint64_t seed,
                  uint32_t pct_depth, uint64_t pct_steps, bint tso, uint64_t max_steps, bint want_log,
                  sleep_add=None, bint want_trace=False, bint c11=False):
    """Run a trace under the deterministic scheduler of the check build (src/check.c).

    ``c11`` runs the C11 model (src/check_c11.c) instead of SC (``tso`` false).
    ``sleep_add`` (an ``array("Q")``, or None: no sleep sets) gives, per decision, the options
    already explored from it (bits), whose threads sleep from there on (rs_check_cfg).

    Returns a dict: the run's counters, ``verdict`` (0 done, 1 deadlock, 2 step bound,
    3 pruned by the sleep sets), ``decisions`` [(nopts, choice, cur_runnable, drain_from,
    asleep)] for every step with a choice (``asleep``: the options whose thread slept),
    ``trace`` (with want_trace, which also turns the race detection on) [(thread, op, addr,
    size, nopts, choice, cur, runnable, race)] for every step (``runnable``: the threads among
    the options, bits; ``race``: rs_check_step.race), ``end_race`` [(step, thread)] (the
    races of the threads that could still run at the end, rs_check_out.end_race),
    ``steps`` (with want_log) [(thread, op, mo, file, line, nopts, choice, obj, rf)] (``rf``: the
    step of the store a C11 load read, -1 the value before the run, -2 none), ``race`` (verdict 4,
    a data race: [(step, thread, kind, file, line)] of the earlier and the racing access, kind as
    rs_check_out.race_kind; else None), the first
    use-after-free / double-free step (or -1), ``handles`` (arena slot of every trace object)."""
    cdef bytes b = _cname("strategy", strategy)
    cdef const rs_strategy *s = rs_find_check_strategy(b)
    if s == NULL:
        raise ValueError(f"strategy {strategy!r} has no check flavour")
    cdef rs_params p
    cdef rs_trace tr
    cdef char err[256]
    cdef rs_result res
    cdef rs_check_cfg c
    cdef rs_check_out out
    cdef int rc
    cdef const uint32_t[::1] ch = choices
    cdef const uint64_t[::1] sl
    _fill_params(&p, cfg)
    _set_lock(&p, s, cfg)
    _fill_trace(&tr, trace, p.threads)
    p.trace = &tr
    memset(&c, 0, sizeof(c))
    c.mode = 1 if pct else 0
    c.tso = tso
    c.c11 = c11
    c.choices = &ch[0] if ch.shape[0] else NULL
    c.nchoices = ch.shape[0]
    c.seed = seed
    c.pct_depth = pct_depth
    c.pct_steps = pct_steps
    c.max_steps = max_steps
    c.races = want_trace
    if sleep_add is not None:
        sl = sleep_add
        c.sleep_add = &sl[0] if sl.shape[0] else <const uint64_t *>&c.nsleep_add  # non-NULL: sleep sets on
        c.nsleep_add = sl.shape[0]
    cdef rs_run *r = NULL
    rc = rs_run_create(s, &p, &r, err, sizeof(err))
    if rc != RS_OK:
        _raise(rc, err.decode(errors="replace"))
    memset(&out, 0, sizeof(out))
    try:
        with nogil:
            rc = rs_check_execute(r, &c, &out)
        _raise(rc, f"{strategy} (check build): {r.errmsg.decode(errors='replace')}")
        rs_run_result(r, &res)
        files = {}
        decisions = []
        steps = []
        trace_out = []
        for i in range(out.nsteps):
            st = out.steps[i]
            if st.nopts > 1:
                decisions.append((st.nopts, st.choice, st.cur_runnable, st.drain_from, st.asleep))
            if want_trace:
                trace_out.append((st.thread, st.op, st.addr, st.size, st.nopts, st.choice, st.cur, st.runnable,
                                  st.race))
            if want_log:
                key = <size_t>st.file
                f = files.get(key)
                if f is None:
                    f = files[key] = (<bytes>st.file).decode(errors="replace") if st.file != NULL else ""
                steps.append((st.thread, st.op, st.mo, f, st.line, st.nopts, st.choice, st.obj, st.rf))
        return dict(
            use_after_free=res.use_after_free, double_frees=res.double_frees, leaks=res.leaks,
            lost_updates=res.lost_updates, premature_frees=res.premature_frees, ops=res.ops,
            verdict=out.verdict, nsteps=out.nsteps, decisions=decisions, steps=steps, trace=trace_out,
            first_uaf_step=out.first_uaf_step, first_double_free_step=out.first_double_free_step,
            nthreads=out.nthreads, seconds=out.seconds,
            end_race=[(out.end_race[q], q) for q in range(min(out.nthreads, 64)) if out.end_race[q] >= 0],
            handles=[tr.handles[i].idx for i in range(tr.nobjects)],
            race=None if out.verdict != 4 else [
                (out.race_step[k], out.race_thread[k], out.race_kind[k],
                 (<bytes>out.race_file[k]).decode(errors="replace") if out.race_file[k] != NULL else "",
                 out.race_line[k]) for k in range(2)],
            exclusion_violations=tr.exclusion_violations,
        )
    finally:
        rs_check_free(&out)
        rs_run_destroy(r)


cdef int _execute_polling_signals(rs_run *r) except? -1:
    """rs_run_execute on a background thread while this thread waits with the GIL released and
    runs Python's signal handlers between waits. A handler that raises (Ctrl-C's KeyboardInterrupt)
    stops the run, waits for every worker to leave, then its exception propagates."""
    cdef int rc = 0
    cdef int finished = 0
    cdef rs_bg *bg
    with nogil:
        bg = rs_run_start(r)
    if bg == NULL:
        raise RuntimeError("cannot start the run's thread")
    pending = None
    while True:
        with nogil:
            finished = rs_run_wait(bg, SIGNAL_POLL_SECONDS, &rc)
        if finished:
            break
        if pending is None:
            try:
                PyErr_CheckSignals()
            except BaseException as exc:
                pending = exc
                rs_run_interrupt(r)
    if pending is not None:
        raise pending
    return rc


def explain_events():
    """The explain flavour's scheme events (RS_STAT_FIELDS in include/refstrat/explain.h), in list
    order, as (name, description) pairs."""
    return [(rs_explain_event_name(i).decode(), rs_explain_event_doc(i).decode())
            for i in range(rs_explain_event_count())]


cdef dict _explain_dict(rs_run *r):
    cdef rs_explain_result x
    if rs_explain_result_of(r, &x) != 0:
        raise MemoryError("out of memory summarising the explain counters")
    return dict(
        events={rs_explain_event_name(i).decode(): rs_explain_event(&x, i)
                for i in range(rs_explain_event_count())},
        ops=x.ops, frees_measured=x.frees_measured, delay_dropped=x.delay_dropped,
        early_frees=x.early_frees, delay_ops=tuple(x.delay_ops[i] for i in range(3)),
        delay_ns=tuple(x.delay_ns[i] for i in range(3)), dead_peak=x.dead_peak,
        header_bytes=x.header_bytes, side_bytes=x.side_bytes, side_bytes_peak=x.side_bytes_peak,
        cross_ops=x.cross_ops, nsetup=r.arena.nsetup,
        hot=tuple((x.hot_idx[i], x.hot_cross[i]) for i in range(x.nhot)),
    )


cdef inline rs_handle _handle(uint32_t idx, uint32_t gen):
    cdef rs_handle h
    memset(&h, 0, sizeof(h))  # the core resolves the slot's address after checking idx
    h.idx = idx
    h.gen = gen
    return h


cdef str _no_handle(uint32_t idx, uint32_t gen):
    return f"no object issued at slot {idx} with generation {gen}"


cdef class StepArena:
    """One arena driven op by op from the calling thread (worker 0). See refstrat.Arena."""
    cdef rs_run *r
    cdef readonly str strategy

    def __cinit__(self, str strategy, uint32_t capacity, bint immortal, bint padded):
        self.r = NULL
        cdef char err[256]
        cdef const rs_strategy *s = _lookup(strategy)
        self.strategy = strategy
        cdef int rc = rs_step_create(s, capacity, immortal, padded, &self.r, err, sizeof(err))
        if rc != RS_OK:
            _raise(rc, err.decode(errors="replace"))

    def __dealloc__(self):
        if self.r != NULL:
            rs_step_destroy(self.r)
            self.r = NULL

    def new(self, bint setup, bint immortal):
        """(idx, gen) of a new object, or None when the arena is full."""
        cdef rs_handle h
        if rs_step_new(self.r, setup, immortal, &h) != RS_OK:
            return None
        return (h.idx, h.gen)

    # Handle errors (a slot past the arena, a generation never issued) come back from C as
    # RS_ERR_HANDLE: the check lives there so that every binding has it.
    def inc(self, uint32_t idx, uint32_t gen):
        cdef int done = 0
        _raise(rs_step_inc(self.r, _handle(idx, gen), &done), _no_handle(idx, gen))
        return bool(done)

    def dec(self, uint32_t idx, uint32_t gen):
        cdef int done = 0
        _raise(rs_step_dec(self.r, _handle(idx, gen), &done), _no_handle(idx, gen))
        return bool(done)

    def flush(self):
        rs_step_flush(self.r)

    def quiesce(self):
        rs_step_quiesce(self.r)

    def live(self, uint32_t idx, uint32_t gen):
        cdef int live = 0
        _raise(rs_step_live(self.r, _handle(idx, gen), &live), _no_handle(idx, gen))
        return bool(live)

    def count(self, uint32_t idx, uint32_t gen):
        """The committed count of a live object (IndexError when freed or never issued)."""
        cdef int64_t c = 0
        _raise(rs_step_count(self.r, _handle(idx, gen), &c), _no_handle(idx, gen) + " that is live")
        return c

    def counters(self):
        cdef rs_counters c
        rs_step_counters(self.r, &c)
        return dict(allocs=c.allocs, frees=c.frees, double_frees=c.double_frees,
                    use_after_free=c.use_after_free)

    @property
    def immortal(self):
        return bool(self.r.immortal)
