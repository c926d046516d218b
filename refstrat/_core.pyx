# cython: language_level=3, boundscheck=False, wraparound=False, freethreading_compatible=True
"""The native driver: strategy table, the multithreaded runner (GIL released) and the stepping arena.

Arguments reach this module already validated by refstrat._api (clear Python errors); the checks
here are the last line of defence so that nothing a caller passes can crash the interpreter.
"""
from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.string cimport memset

cdef extern from "refstrat/core.h" nogil:
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
        const rs_trace_op *ops
        const uint64_t *begin
        const int64_t *expected
        int64_t *final_counts
    ctypedef struct rs_params:
        uint32_t workload, threads
        uint64_t ops
        uint32_t fib_n, work, objects, shared_objects, depth, padded
        double shared_fraction, zipf
        uint64_t arena_size
        int pin, immortal
        uint64_t seed, jitter
        double switch_interval
        uint32_t tick, log_size, explain, checked
        rs_trace *trace
    ctypedef struct rs_thread:
        uint64_t ops
        uint64_t first_uaf
        double cpu_seconds
        int cpu
    ctypedef struct rs_strategy:
        const char *name
        const char *summary
        const char *reference
        int thread_safe
        int immortal
    ctypedef struct rs_arena:
        uint32_t capacity, nsetup
    ctypedef struct rs_run:
        rs_arena arena
        uint32_t nthreads
        rs_thread *threads
        char errmsg[256]
        int immortal
    ctypedef struct rs_explain_result:
        uint64_t slow, merges, queue_pushes, log_full, log_waits, commit_rounds
        uint64_t flushes, evictions, epochs, reviews, lock_acquisitions, lock_waits
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

    int rs_builtin_count()
    const rs_strategy *rs_builtin(int i)
    const rs_strategy *rs_speed_of_light()
    const rs_strategy *rs_limit(int atomic)
    const rs_strategy *rs_explain_strategy(const char *name)
    int rs_explain_result_of(const rs_run *r, rs_explain_result *out)
    const rs_strategy *rs_find_strategy(const char *name)
    int rs_plugin_load(const char *path, const rs_strategy **first, char *err, size_t errlen)
    rs_run *rs_run_create(const rs_strategy *s, const rs_params *p, char *err, size_t errlen)
    int rs_run_execute(rs_run *r)
    void rs_run_result(const rs_run *r, rs_result *out)
    void rs_run_destroy(rs_run *r)
    rs_run *rs_step_create(const rs_strategy *s, uint32_t capacity, int immortal, int padded,
                           char *err, size_t errlen)
    int rs_step_new(rs_run *r, int setup, int immortal, rs_handle *out)
    int rs_step_inc(rs_run *r, rs_handle h)
    int rs_step_dec(rs_run *r, rs_handle h)
    void rs_step_flush(rs_run *r)
    void rs_step_quiesce(rs_run *r)
    int rs_step_live(rs_run *r, rs_handle h)
    int64_t rs_step_count(rs_run *r, rs_handle h)
    void rs_step_counters(rs_run *r, rs_counters *out)
    void rs_step_destroy(rs_run *r)

# In enum rs_workload order.
WORKLOADS = ("fib", "private", "shared", "mixed", "handoff", "trace")

cdef dict _strategy_row(const rs_strategy *s):
    return dict(name=s.name.decode(), summary=s.summary.decode(), reference=s.reference.decode(),
                thread_safe=bool(s.thread_safe), immortal=bool(s.immortal))


def builtin_strategies():
    """The compiled-in strategies, in registry order, as dicts."""
    return [_strategy_row(rs_builtin(i)) for i in range(rs_builtin_count())]


def find_strategy(str name):
    """The strategy's row (built-in or plugin), or None."""
    cdef bytes b = name.encode()
    cdef const rs_strategy *s = rs_find_strategy(b)
    return None if s == NULL else _strategy_row(s)


def load_plugin(str path):
    """Load a strategy plugin (see include/refstrat/plugin.h); return the names it adds.

    Plugin strategies become valid names for run() and Arena but are never listed by
    refstrat.strategies(). Private: the test suite's broken variants use it."""
    cdef char err[512]
    cdef const rs_strategy *first = NULL
    cdef bytes b = path.encode()
    cdef int n = rs_plugin_load(b, &first, err, sizeof(err))
    if n < 0:
        raise OSError(err.decode(errors="replace"))
    return [first[i].name.decode() for i in range(n)]


cdef const rs_strategy *_lookup(str name) except NULL:
    if name == "speed_of_light":
        return rs_speed_of_light()
    if name in ("limit", "limit+atomic"):
        return rs_limit(name == "limit+atomic")
    cdef bytes b = name.encode()
    cdef const rs_strategy *s = rs_find_strategy(b)
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
    p.seed = cfg["seed"]
    p.jitter = cfg["jitter"]
    p.switch_interval = cfg["switch_interval"]
    p.tick = cfg["tick"]
    p.log_size = cfg["log_size"]
    p.checked = cfg.get("checked", 1)  # the checked copy unless a timed run asks otherwise
    p.explain = cfg.get("explain", 0)


cdef int _fill_trace(rs_trace *tr, object trace, uint32_t threads) except -1:
    # trace: (nobjects, nshared, immortal: bytes, ops: array('I'), begin: array('Q'),
    #         expected: array('q'), final_counts: array('q'))
    cdef const uint8_t[::1] immortal = trace[2]
    cdef const uint32_t[::1] ops = trace[3]
    cdef const uint64_t[::1] begin = trace[4]
    cdef const int64_t[::1] expected = trace[5]
    cdef int64_t[::1] final = trace[6]
    if begin.shape[0] != threads + 1 or ops.shape[0] != 3 * begin[begin.shape[0] - 1] \
            or immortal.shape[0] != trace[1] or expected.shape[0] != trace[0] or final.shape[0] != trace[0]:
        raise ValueError("malformed compiled trace")
    memset(tr, 0, sizeof(rs_trace))
    tr.nobjects = trace[0]
    tr.nshared = trace[1]
    tr.immortal = &immortal[0] if immortal.shape[0] else NULL
    tr.ops = <const rs_trace_op *>&ops[0] if ops.shape[0] else NULL
    tr.begin = &begin[0]
    tr.expected = &expected[0] if expected.shape[0] else NULL
    tr.final_counts = &final[0] if final.shape[0] else NULL
    return 0


def execute(str strategy, dict cfg, trace=None):
    """Run one configuration with the GIL released; return a dict of raw results.

    Raises ValueError for a configuration the core rejects and RuntimeError when the run fails
    (the message says why)."""
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
    if trace is not None:
        _fill_trace(&tr, trace, p.threads)
        p.trace = &tr
    cdef rs_run *r = rs_run_create(s, &p, err, sizeof(err))
    if r == NULL:
        raise ValueError(err.decode())
    try:
        with nogil:
            rc = rs_run_execute(r)
        if rc != 0:
            raise RuntimeError(f"{strategy} on {cfg['workload']}: {r.errmsg.decode(errors='replace')}")
        rs_run_result(r, &res)
        threads = [r.threads[i] for i in range(r.nthreads)]
        return dict(
            ops=res.ops, allocs=res.allocs, frees=res.frees, double_frees=res.double_frees,
            use_after_free=res.use_after_free, leaks=res.leaks, lost_updates=res.lost_updates,
            premature_frees=res.premature_frees, wall_seconds=res.wall_seconds,
            cpu_seconds=res.cpu_seconds, helper_cpu_seconds=res.helper_cpu_seconds,
            pinned=bool(res.pinned), immortal=bool(r.immortal),
            ops_per_thread=tuple(t["ops"] for t in threads),
            worker_cpu_seconds=tuple(t["cpu_seconds"] for t in threads),
            cpus=tuple(t["cpu"] for t in threads),
            first_use_after_free=tuple(None if t["first_uaf"] == 0xFFFFFFFFFFFFFFFF else t["first_uaf"]
                                       for t in threads),
            explain=_explain_dict(r) if p.explain else None,
        )
    finally:
        rs_run_destroy(r)


cdef dict _explain_dict(rs_run *r):
    cdef rs_explain_result x
    if rs_explain_result_of(r, &x) != 0:
        raise MemoryError("out of memory summarising the explain counters")
    return dict(
        events=dict(slow=x.slow, merges=x.merges, queue_pushes=x.queue_pushes, log_full=x.log_full,
                    log_waits=x.log_waits, commit_rounds=x.commit_rounds, flushes=x.flushes,
                    evictions=x.evictions, epochs=x.epochs, reviews=x.reviews,
                    lock_acquisitions=x.lock_acquisitions, lock_waits=x.lock_waits),
        ops=x.ops, frees_measured=x.frees_measured, delay_dropped=x.delay_dropped,
        early_frees=x.early_frees, delay_ops=tuple(x.delay_ops[i] for i in range(3)),
        delay_ns=tuple(x.delay_ns[i] for i in range(3)), dead_peak=x.dead_peak,
        header_bytes=x.header_bytes, side_bytes=x.side_bytes, side_bytes_peak=x.side_bytes_peak,
        cross_ops=x.cross_ops, nsetup=r.arena.nsetup,
        hot=tuple((x.hot_idx[i], x.hot_cross[i]) for i in range(x.nhot)),
    )


cdef inline rs_handle _handle(uint32_t idx, uint32_t gen):
    cdef rs_handle h
    h.idx = idx
    h.gen = gen
    return h


cdef class StepArena:
    """One arena driven op by op from the calling thread (worker 0). See refstrat.Arena."""
    cdef rs_run *r
    cdef readonly str strategy

    def __cinit__(self, str strategy, uint32_t capacity, bint immortal, bint padded):
        cdef char err[256]
        cdef const rs_strategy *s = _lookup(strategy)
        self.strategy = strategy
        self.r = rs_step_create(s, capacity, immortal, padded, err, sizeof(err))
        if self.r == NULL:
            raise ValueError(err.decode())

    def __dealloc__(self):
        if self.r != NULL:
            rs_step_destroy(self.r)
            self.r = NULL

    def new(self, bint setup, bint immortal):
        """(idx, gen) of a new object, or None when the arena is full."""
        cdef rs_handle h
        if rs_step_new(self.r, setup, immortal, &h) != 0:
            return None
        return (h.idx, h.gen)

    def inc(self, uint32_t idx, uint32_t gen):
        return bool(rs_step_inc(self.r, _handle(idx, gen)))

    def dec(self, uint32_t idx, uint32_t gen):
        return bool(rs_step_dec(self.r, _handle(idx, gen)))

    def flush(self):
        rs_step_flush(self.r)

    def quiesce(self):
        rs_step_quiesce(self.r)

    def live(self, uint32_t idx, uint32_t gen):
        return bool(rs_step_live(self.r, _handle(idx, gen)))

    def count(self, uint32_t idx, uint32_t gen):
        return rs_step_count(self.r, _handle(idx, gen))

    def counters(self):
        cdef rs_counters c
        rs_step_counters(self.r, &c)
        return dict(allocs=c.allocs, frees=c.frees, double_frees=c.double_frees,
                    use_after_free=c.use_after_free)

    @property
    def immortal(self):
        return bool(self.r.immortal)
