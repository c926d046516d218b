/* refstrat/runtime.h: runs, worker threads and the strategy interface.
 *
 * A run is one arena, one strategy and T worker threads executing one workload kernel. The runner
 * (src/runner.c) owns the life cycle:
 *
 *   init(run)                  main thread, before any worker exists: per-run and per-thread state
 *   obj_init(t0, o)            main thread acting as worker 0: setup objects
 *   start(run)                 main thread: helper threads (the buffered commit thread), each
 *                              started with rs_run_helper_start so that the run counts it
 *   enter(t) kernel leave(t)   each worker, after the start barrier
 *   quiesce(run)               main thread, after every worker has left: stop helpers, drain,
 *                              free everything whose true count is zero; counts are then exact
 *   count(run, o)              main thread, after quiesce: the true count
 *   fini(run)
 *
 * Inside a kernel a worker calls the scheme's incref/decref fast paths, safepoint() often (once per
 * kernel step: it must be cheap) and wait() in every spin-wait loop (a thread that waits must still
 * let the scheme make progress: drop the GIL, submit its log, tick its epoch, drain its queue).
 * flush(t) is a forced safepoint used by the stepping API.
 *
 * A strategy is one header defining rs_<name>_<hook> for every hook (trivial ones alias the
 * rs_noop_* helpers below) plus one entry in refstrat/registry.h.
 */
#ifndef REFSTRAT_RUNTIME_H
#define REFSTRAT_RUNTIME_H

#include <pthread.h>
#include "refstrat/error.h"
#include "refstrat/explain.h"
#include "refstrat/knobs.h"
#include "refstrat/object.h"

/* Bumped whenever a struct below, or the meaning of a field, changes: a plugin built against
 * other headers is refused. */
#define RS_ABI_VERSION 7

/* The workloads, in enum rs_workload order:
 *     W(name, NAME, kernel, limit, twin, summary, reference, ...)
 * Everything that lists workloads is generated from here: the enum (RS_W_<NAME>), every
 * strategy's kernel row (refstrat/registry.h), the limit rows (refstrat/limit.h), the runner's
 * sizing and set-up (src/runner.c) and the table refstrat.workloads() reads (rs_workload_at() in
 * refstrat/core.h). Arguments after W reach every W unchanged: the registry passes a copy's tag
 * and operations through them.
 *   kernel  names two macros beside the kernel in refstrat/workloads.h: kernel(OPS, t, tag,
 *           RS_W_<NAME>), the body of one kernel copy, and kernel##_PRELUDE(tag, OPS), what one
 *           copy needs defined first (fib's recursive function; empty for most).
 *   limit   the same pair for the hand-written kernel in refstrat/limit.h, with A (0 plain,
 *           1 atomic) for OPS; or RS_NONE: refstrat.limit() refuses the workload.
 *   twin    the name of its Python twin in refstrat/bench/twins.py (the bench's --real rows),
 *           or RS_NONE: --real leaves the workload out.
 * The runner's part is four functions beside the kernel, by name, as a scheme's hooks are:
 *   rs_w_<name>_setup_objects(p)        objects that exist before the run, shared by every worker
 *   rs_w_<name>_pool_need(p, worker, floor)  objects one worker may hold live at once (floor: the
 *                                       least an explicit arena_size must give it)
 *   rs_w_<name>_marks(r, idx)           RS_LAYERS flags of setup object idx
 *   rs_w_<name>_prepare(r)              the workload's state before the workers start (0, or -1
 *                                       when memory is short); freed by rs_run_destroy
 * Adding a workload: its kernel, kernel macros and those four functions in refstrat/workloads.h,
 * its limit kernel in refstrat/limit.h (or RS_NONE), and one line here. */
#define RS_WORKLOADS(W, ...)                                                                       \
    W(fib, FIB, RS_KERNEL_FIB, RS_LIMIT_FIB, fib,                                                  \
      "fib(n) recursively on every thread, with the refcount operations CPython 3.6 performs "    \
      "per call on the function, globals, builtins, code, bools, small ints and fresh objects",   \
      "Hastings' Gilectomy benchmark (PyCon 2016); CPython 3.6 Python/ceval.c", __VA_ARGS__)      \
    W(private, PRIVATE, RS_KERNEL_LOOP, RS_LIMIT_LOOP, private,                                    \
      "each thread touches only objects it allocated (plus churn: frees and reallocations)",      \
      "the common case biased refcounting optimises for (Choi et al., PACT 2018)", __VA_ARGS__)   \
    W(shared, SHARED, RS_KERNEL_LOOP, RS_LIMIT_LOOP, shared,                                       \
      "every thread hammers a small set of shared objects: the worst case for atomic",            \
      "cache-line ping-pong, Hastings (PyCon 2016)", __VA_ARGS__)                                 \
    W(mixed, MIXED, RS_KERNEL_LOOP, RS_LIMIT_LOOP, mixed,                                          \
      "a tunable fraction of operations hit shared objects, chosen with a Zipf skew",             \
      "Zipf-skewed sharing of hot objects", __VA_ARGS__)                                          \
    W(handoff, HANDOFF, RS_KERNEL_HANDOFF, RS_LIMIT_HANDOFF, handoff,                              \
      "producers allocate objects and pass them to the next thread, which releases them: "        \
      "every free is cross-thread",                                                                \
      "the hard case for biased (merge queues) and buffered (commit thread) counting", __VA_ARGS__) \
    W(trace, TRACE, RS_KERNEL_TRACE, RS_NONE, RS_NONE,                                             \
      "replays explicit per-thread operation lists given from Python (refstrat.Trace)",           \
      "refstrat.testing's fuzzer", __VA_ARGS__)                                                  \
    W(fib314, FIB314, RS_KERNEL_FIB314, RS_LIMIT_FIB314, RS_NONE,                                  \
      "fib(n) with CPython 3.14t's operations: borrowed loads, stack references to the frame's "  \
      "objects, deferred function and code objects",                                              \
      "CPython 3.14 Python/bytecodes.c (LOAD_FAST_BORROW), InternalDocs/stackrefs.md", __VA_ARGS__)

/* RS_NONE in a limit or twin column: the workload has none. RS_IS_NONE(x) is 1 when x is that
 * token and 0 for any other identifier (the probe's paste only names a macro for RS_NONE). */
#define RS_NONE_PROBE_RS_NONE ~, 1
#define RS_SECOND_(a, b, ...) b /* the second argument (registry.h's RS_VOCAB_OF uses it too) */
#define RS_IS_NONE_(...) RS_SECOND_(__VA_ARGS__, 0, ~)
#define RS_IS_NONE(x) RS_IS_NONE_(RS_NONE_PROBE_##x)
#define RS_CAT_(a, b) a##b
#define RS_CAT(a, b) RS_CAT_(a, b)

#define RS_W_ENUM_(name, NAME, ...) RS_W_##NAME,
enum rs_workload { RS_WORKLOADS(RS_W_ENUM_) RS_W_COUNT };

/* One workload as data (rs_workload_at() in refstrat/core.h). */
typedef struct rs_workload_info {
    const char *name;
    const char *summary;
    const char *reference;
    int has_limit;           /* a hand-written limit kernel (refstrat/limit.h) */
    const char *twin;        /* its Python twin's name (refstrat/bench/twins.py), or NULL */
} rs_workload_info;

/* PUSH, POP and KILL are the vocabulary's push, pop and kill (see rs_ops); SEND publishes first. */
/* LOCK/UNLOCK take and drop the object's lock (the run's lock scheme, refstrat/locks.h); READ and
 * WRITE are guarded accesses to the object's payload, made only while holding its lock. */
enum rs_trace_kind { RS_T_NEW = 0, RS_T_INC, RS_T_DEC, RS_T_SEND, RS_T_RECV, RS_T_PUSH, RS_T_POP,
                     RS_T_KILL, RS_T_LOCK, RS_T_UNLOCK, RS_T_READ, RS_T_WRITE, RS_T_KINDS };

typedef struct rs_trace_op {
    uint32_t kind; /* enum rs_trace_kind */
    uint32_t obj;  /* trace object id */
    uint32_t arg;  /* RS_T_SEND: destination thread */
} rs_trace_op;

/* A validated trace (Python checks it before the run; rs_trace_check() re-checks every index). */
typedef struct rs_trace {
    uint32_t nobjects;        /* ids [0, nshared) are setup objects, the rest private */
    uint32_t nshared;
    const uint8_t *immortal;  /* [nshared]: marked immortal when the run honours immortality */
    const uint8_t *layers;    /* [nobjects] or NULL: RS_F_DEFERRED (any id) and RS_F_SHARDED (setup
                               * ids only) marks, honoured when the run has those layers on */
    const rs_trace_op *ops;   /* every thread's ops, concatenated */
    const uint64_t *begin;    /* [threads + 1]: thread i runs ops[begin[i] .. begin[i+1]) */
    const int64_t *expected;  /* [nobjects]: true count after quiesce (0: must be freed) */
    /* run state, owned by the runner */
    rs_handle *handles;       /* [nobjects]: written by the allocating thread before any send */
    uint32_t *mailbox;        /* [threads * nobjects], atomic: references sent and not yet taken */
    int64_t *final_counts;    /* [nobjects] output: count after quiesce, -1 when freed */
    int64_t *payload;         /* [nobjects], run state: the guarded payload, plain under the object's lock */
    uint32_t *inside;         /* [nobjects], run state, atomic (relaxed): threads between LOCK and UNLOCK */
    int64_t *final_payloads;  /* [nobjects] output, or NULL: the payload after the run */
    uint64_t exclusion_violations; /* output, atomic (relaxed) during the run: a LOCK that found another
                               * thread inside, or a READ that saw the payload change under its lock */
} rs_trace;

typedef struct rs_params {
    uint32_t workload;        /* enum rs_workload */
    uint32_t threads;
    uint64_t ops;             /* per thread: loop and handoff workloads */
    uint32_t fib_n;
    uint32_t work;            /* spin iterations of other work: per call (fib), per refcount
                               * operation (private, shared, mixed, handoff) */
    uint32_t objects;         /* private objects per thread */
    uint32_t shared_objects;
    uint32_t depth;           /* references a loop kernel holds at most (its value stack) */
    uint32_t padded;          /* one header per cache line */
    double shared_fraction;   /* mixed */
    double zipf;              /* mixed */
    uint64_t arena_size;      /* 0: computed from the workload */
    int pin;
    int immortal;             /* honour RS_F_IMMORTAL on any strategy */
    uint32_t layers;          /* RS_F_DEFERRED | RS_F_SHARDED: the other layers to honour */
    uint64_t seed;
    uint64_t jitter;          /* trace: seed of the pauses between ops; 0 = none */
    RS_KNOBS(RS_KNOB_FIELD)   /* the scheme knobs (refstrat/knobs.h): switch_interval, tick, ... */
    uint32_t explain;         /* 1: the explain flavour (refstrat/explain.h); needs checked */
    uint32_t checked;         /* 1: the checked kernel copy (handles validated, operations counted
                                 one by one); 0: the unchecked copy that timed runs execute */
    uint32_t lock;            /* the lock scheme: an index into the strategy's locks (refstrat/locks.h) */
    rs_trace *trace;
} rs_params;

struct rs_run;
struct rs_ring;
struct rs_layer_run;
struct rs_layer_thread;

typedef struct rs_thread {
    /* written before the start barrier, read-only after */
    struct rs_run *run;
    uint32_t index;          /* worker index; the helper context has index == nthreads */
    uint32_t id1;            /* index + 1: the biased scheme's owner id */
    rs_pool *pool;           /* NULL in the helper context */
    void *s;                 /* the strategy's per-thread state */
    int checked;             /* the run's p.checked (rs_free: generations, double-free detection) */
    uint32_t own;            /* the pool whose objects rs_free frees inline: index in unchecked
                              * runs; RS_NOPOOL in checked ones and in the helper context */
    rs_stats *stats;         /* explain runs: this thread's event counters; NULL otherwise */
    uint32_t layers;         /* the run's rs_run.layers, copied here: read on every layered op */
    struct rs_layer_thread *layer; /* deferred/sharded state (refstrat/layers.h), NULL when off */
    /* owner thread only */
    rs_counters c;
    uint64_t rng;
    uint64_t ops;            /* refcount operations performed */
    uint64_t first_uaf;      /* trace: index of the first op that hit a freed object, or UINT64_MAX */
    double cpu_seconds;
    int cpu;                 /* the core it was pinned to, or -1 */
    pthread_t th;
    void (*lock_wait)(struct rs_thread *); /* the count scheme's wait, for a lock's waits (set by a kernel
                              * that takes locks, before its first; NULL: yield) */
    /* atomic, relaxed both ways: another thread asks this worker to stop at its next safepoint
     * (gil: drop the GIL); the worker polls it in its safepoint hook and clears it. One load from
     * the thread's own state, as CPython's eval breaker (tstate->eval_breaker since 3.12, a
     * global before): a scheme's poll costs what an interpreter's does. What the request means,
     * and what orders the data around it, is the scheme's (gil: its mutex). */
    uint32_t eval_breaker;
} RS_ALIGNED rs_thread;

typedef struct rs_strategy rs_strategy;

typedef struct rs_run {
    const rs_strategy *strategy;
    rs_params p;
    rs_arena arena;
    uint32_t nthreads;
    rs_thread *threads;      /* [nthreads + 1]: workers, then the helper context */
    void *s;                 /* the strategy's per-run state */
    int immortal;            /* RS_F_IMMORTAL is honoured in this run */
    uint32_t layers;         /* the RS_LAYERS flags honoured in this run (immortal included) */
    struct rs_layer_run *layer; /* deferred/sharded collection state (refstrat/layers.h) or NULL */
    int stepping;            /* driven op by op by the stepping API: no workers, no helpers */
    int abort;               /* atomic: a worker hit an error, everyone stops */
    int error;               /* enum rs_err of the first failure, RS_OK while none */
    char errmsg[256];        /* written once, by whoever set error (under error_lock) */
    pthread_mutex_t error_lock;
    /* workload state, set up before the start barrier and read-only after */
    rs_handle *shared;       /* setup objects */
    uint32_t nshared;
    uint16_t *zipf_table;    /* mixed: uniform 10-bit draw -> shared object index */
    struct rs_ring *rings;   /* handoff: ring i carries objects from worker i to i + 1 */
    rs_explain_run *explain; /* explain runs only (refstrat/explain.h) */
    const struct rs_lock_scheme *lock; /* the run's lock scheme (refstrat/locks.h), fixed at creation */
    void *lock_s;            /* its per-run state (its init allocates it, its fini frees it) */
    /* results */
    double wall_seconds;
    double helper_cpu_seconds;  /* helper threads plus the main thread's quiesce */
    uint32_t helper_threads; /* threads the scheme started beside the workers (rs_run_helper_start):
                              * the main thread writes it in the start hook, reads it after */
    int pinned;
    uint64_t leaks, lost_updates, premature_frees; /* the final checks, after quiesce */
    /* start gate: workers count themselves in, then wait for go */
    uint32_t ready;          /* atomic */
    int go;                  /* atomic: the main thread releases every worker at once */
} rs_run;

/* The operation vocabulary. Every scheme defines incref and decref; the rest are optional (NULL:
 * the default, folded away at compile time because a kernel copy's rs_ops is a constant):
 *   push     a reference taken onto a thread's evaluation stack (CPython's stack references);
 *            it never leaves the thread and is dropped by pop on the same thread. Default: incref.
 *   pop      drops a reference taken by push. Default: decref.
 *   publish  the object is about to become reachable from another thread (a handoff, a send);
 *            called by a thread holding a reference, before the release that publishes it.
 *            Default: nothing.
 *   kill     drops the reference the creating thread was given by rs_new (percpu_ref_kill: from
 *            here on, the count may reach zero); at most once per object. Default: decref. */
typedef struct rs_ops {
    void (*incref)(rs_thread *, rs_obj *);
    void (*decref)(rs_thread *, rs_obj *);
    void (*safepoint)(rs_thread *);
    void (*wait)(rs_thread *);
    void (*obj_init)(rs_thread *, rs_obj *);
    void (*push)(rs_thread *, rs_obj *);
    void (*pop)(rs_thread *, rs_obj *);
    void (*publish)(rs_thread *, rs_obj *);
    void (*kill)(rs_thread *, rs_obj *);
    int layered;  /* 1: test the header's flags against the run's layers (t->layers) once per
                   * operation and take the cold path on a hit (refstrat/layers.h); 0: no test */
    int checked;  /* validate every handle (use-after-free detection) */
} rs_ops;

typedef int (*rs_kernel_fn)(rs_thread *);

/* A lock scheme (refstrat/locks.h): per-object locks beside the counts, chosen per run. A kernel
 * that takes locks calls them through the run's row (rs_run.lock); the others never touch it.
 *   init/fini    per-run state sized by the arena (main thread, before the workers / after)
 *   obj_init     a new object's lock, free (private: owned by the creating thread); before the
 *                object is published
 *   acquire      take o's lock, waiting as long as needed: 0, or -1 when the run aborted meanwhile
 *   release      drop it (the caller holds it: the kernel checks that)
 *   safepoint    honour other threads' requests (private: promotions); cheap, called once per
 *                kernel step and in every wait
 *   leave        the worker's last call: after it, others never wait on it */
typedef struct rs_lock_scheme {
    const char *name;
    const char *summary;
    const char *reference;
    int excludes;            /* 1: mutual exclusion; 0: none (the `none` scheme: the GIL's job) */
    int (*init)(rs_run *);
    void (*fini)(rs_run *);
    void (*obj_init)(rs_thread *, rs_obj *);
    int (*acquire)(rs_thread *, rs_obj *);
    void (*release)(rs_thread *, rs_obj *);
    void (*safepoint)(rs_thread *);
    void (*leave)(rs_thread *);
} rs_lock_scheme;

/* rs_strategy.layers beyond RS_LAYERS: the strategy refuses the collected layers (deferred,
 * sharded; refstrat/layers.h). A collection needs counts that are exact when the world stops and
 * rs_obj.aux left to the sweep (refstrat/deferred.h): gil's and buffered's counts lag behind a
 * switch or a commit, and percpu keeps its mode in aux. rs_run_create refuses such a run. */
#define RS_S_NO_COLLECTED (1u << 16)

struct rs_strategy {
    const char *name;
    const char *summary;
    const char *reference;
    int thread_safe;
    uint32_t layers;         /* RS_LAYERS flags always on for this strategy (immortal: RS_F_IMMORTAL;
                              * cpython314t: all three); the others only when the run asks; plus
                              * RS_S_NO_COLLECTED when it cannot take deferred or sharded */
    int (*init)(rs_run *);   /* before the arena's slots are zeroed: it may size its state by
                              * r->arena.capacity, never touch a slot (obj_init does that) */
    void (*fini)(rs_run *);
    void (*obj_init)(rs_thread *, rs_obj *);
    void (*enter)(rs_thread *);
    void (*leave)(rs_thread *);
    int (*start)(rs_run *);
    void (*quiesce)(rs_run *);
    void (*flush)(rs_thread *);
    int64_t (*count)(rs_run *, rs_obj *);
    void (*incref)(rs_thread *, rs_obj *);
    void (*decref)(rs_thread *, rs_obj *);
    rs_kernel_fn kernels[2][2][RS_W_COUNT]; /* [checked][layered: any layer on][workload] */
    const rs_lock_scheme *locks; /* the lock schemes its kernels may run with, in this flavour (the
                              * built-ins of refstrat/locks.h, then a plugin's RS_EXTRA_LOCKS) */
    uint32_t nlocks;
};

/* Record the first error of a run and make every worker stop. Any thread. */
static inline void rs_run_fail(rs_run *r, enum rs_err code, const char *msg)
{
    rs_pr_mutex_lock(&r->error_lock);
    if (!r->error) {
        r->error = code;
        size_t i = 0;
        for (; msg[i] && i < sizeof r->errmsg - 1; i++)
            r->errmsg[i] = msg[i];
        r->errmsg[i] = 0;
    }
    rs_pr_mutex_unlock(&r->error_lock);
    rs_pr_store_release(&r->abort, 1);
}

RS_INLINE int rs_run_aborted(rs_run *r) { return rs_pr_load_acquire(&r->abort); }

/* Start one of the scheme's helper threads (buffered's commit thread), from its start hook: 0 on
 * success, as pthread_create. Counted, so that a report can say where a helper had no CPU of its
 * own and took turns with the workers on theirs. Main thread. */
static inline int rs_run_helper_start(rs_run *r, pthread_t *th, void *(*fn)(void *), void *arg)
{
    int rc = rs_pr_thread_create(th, fn, arg);
    if (rc == 0)
        r->helper_threads++;
    return rc;
}

/* Free o now: the collector's free (refstrat/layers.h), and rs_free's for everything else. */
RS_INLINE void rs_free_now(rs_thread *t, rs_obj *o)
{
    RS_EXPLAIN_FREE(t, o);
    rs_obj_free(&t->run->arena, t->pool, t->index, &t->c, o, t->checked);
}

/* Every free but the inline one of rs_free. A deferred object is not dead: its heap count
 * reached zero, but stack references are not counted, so only a collection that scans them may
 * free it (refstrat/deferred.h); the scheme's zero is ignored and the collector decides. */
static RS_NOINLINE void rs_free_slow(rs_thread *t, rs_obj *o)
{
    if (RS_UNLIKELY(rs_pr_load_plain(&o->flags) & t->layers & RS_F_DEFERRED))
        return;
    rs_free_now(t, o);
}

/* The scheme decided o is dead. The common case of a timed run, a worker freeing an object of its
 * own pool, is inline: a compare, a tally and a push, as a runtime's thread-local free list (no
 * generation: refstrat/object.h). Such an object is never deferred: a pool object is marked so
 * only by a trace, which runs checked. Everything else goes out of line. The slot's pool is fixed
 * before the run starts, so reading it is not a shared access (nor, in the check build, a
 * scheduling point: a checked run's free meets no more of them than before). */
RS_INLINE void rs_free(rs_thread *t, rs_obj *o)
{
    if (RS_LIKELY(o->pool == t->own)) {
        t->c.frees++;
        rs_pool_push_local(t->pool, o);
        return;
    }
    rs_free_slow(t, o);
}

/* Hooks for schemes that need nothing there. */
static inline int rs_noop_init(rs_run *r) { (void)r; return 0; }
static inline void rs_noop_run(rs_run *r) { (void)r; }
static inline void rs_noop_thread(rs_thread *t) { (void)t; }
static inline void rs_relax_wait(rs_thread *t) { (void)t; rs_pr_spin(); }
static inline void rs_plain_obj_init(rs_thread *t, rs_obj *o) { (void)t; rs_pr_store_plain(&o->rc, 1); }
static inline int64_t rs_plain_count(rs_run *r, rs_obj *o) { (void)r; return rs_pr_load_plain(&o->rc); }

#endif
