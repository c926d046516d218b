/* The runner: sizing and the validation of rs_params, run creation (arena, pools, threads, the
 * workload's setup objects), execution (worker threads, the start barrier, quiesce and the final
 * checks), running in the background, and the run's result. Strategy- and workload-specific code
 * lives in the headers; this file only drives it through the strategy's row and the workloads'
 * rs_w_<name>_* functions. Called by the binding (refstrat/_core.pyx, through refstrat/core.h),
 * by the stepping API (src/step.c: rs_run_alloc, rs_run_destroy) and by the check build's
 * scheduler (src/check.c: rs_run_finish). Calls src/registry.c (workload rows, the limit rows, the layers' last collection)
 * and src/explain.c (rs_explain_is); neither calls back. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "refstrat/core.h"
#include "refstrat/pr.h"
#include "internal.h"

/* The runner's part of each workload: the four rs_w_<name>_* functions of refstrat/workloads.h. */
typedef struct rs_workload_runner {
    uint32_t (*setup_objects)(const rs_params *);
    uint64_t (*pool_need)(const rs_params *, uint32_t worker, int floor);
    uint32_t (*marks)(const rs_run *, uint32_t idx);
    int (*prepare)(rs_run *);
} rs_workload_runner;
#define RS_WORKLOAD_RUNNER_(name, ...)                                                             \
    {rs_w_##name##_setup_objects, rs_w_##name##_pool_need, rs_w_##name##_marks, rs_w_##name##_prepare},
static const rs_workload_runner rs_runners[] = {RS_WORKLOADS(RS_WORKLOAD_RUNNER_)};

/* ---- sizing ---------------------------------------------------------------------------------- */

static uint32_t rs_setup_objects(const rs_params *p) { return rs_runners[p->workload].setup_objects(p); }

/* Objects one worker may hold live at once (before deferred frees). */
static uint64_t rs_pool_need(const rs_params *p, uint32_t worker, int floor)
{
    return rs_runners[p->workload].pool_need(p, worker, floor);
}

/* Room per worker for garbage that deferred schemes (buffered, coalesced) have not freed yet:
 * 64 Ki objects, less when there are many workers (about 4 Mi in all); a pool that runs dry
 * waits for the scheme to free, it does not fail. */
static uint64_t rs_pool_slack(uint32_t threads)
{
    uint64_t slack = (4u << 20) / threads;
    return slack > 65536 ? 65536 : slack < 4096 ? 4096 : slack;
}

/* The last line of defence behind Python's validation: every index the kernel will follow is in
 * range (holding rules are Python's; breaking them corrupts counts, never memory). */
static int rs_trace_check(const rs_trace *tr, uint32_t threads, char *err, size_t errlen)
{
    if (tr->nshared > tr->nobjects || tr->nobjects > RS_MAX_TRACE_OBJECTS || !tr->begin ||
        tr->begin[0] != 0 || (tr->nshared && !tr->immortal) || (tr->nobjects && (!tr->expected ||
        !tr->final_counts))) {
        snprintf(err, errlen, "malformed trace header");
        return -1;
    }
    if ((uint64_t)threads * tr->nobjects > RS_MAX_TRACE_MAILBOX) {
        snprintf(err, errlen, "a trace of %u objects on %u threads needs %llu mailboxes, more than "
                 "the %llu allowed (threads x objects)", tr->nobjects, threads,
                 (unsigned long long)threads * tr->nobjects, RS_MAX_TRACE_MAILBOX);
        return -1;
    }
    for (uint32_t i = 0; i < threads; i++)
        if (tr->begin[i + 1] < tr->begin[i]) {
            snprintf(err, errlen, "malformed trace: thread %u's operations are out of order", i);
            return -1;
        }
    if (tr->begin[threads] > RS_MAX_TRACE_OPS || (tr->begin[threads] && !tr->ops)) {
        snprintf(err, errlen, "malformed trace: %llu operations (at most %d)",
                 (unsigned long long)tr->begin[threads], RS_MAX_TRACE_OPS);
        return -1;
    }
    for (uint64_t k = 0; k < tr->begin[threads]; k++) {
        rs_trace_op op = tr->ops[k];
        if (op.kind >= RS_T_KINDS || op.obj >= tr->nobjects || (op.kind == RS_T_NEW && op.obj < tr->nshared) ||
            (op.kind == RS_T_SEND && op.arg >= threads)) {
            snprintf(err, errlen, "malformed trace: operation %llu is out of range", (unsigned long long)k);
            return -1;
        }
    }
    return 0;
}

/* One integer field against its inclusive range. */
static int rs_check_range(const char *name, uint64_t value, uint64_t lo, uint64_t hi, char *err,
                          size_t errlen)
{
    if (value >= lo && value <= hi)
        return 0;
    snprintf(err, errlen, "%s must be in [%llu, %llu], got %llu", name, (unsigned long long)lo,
             (unsigned long long)hi, (unsigned long long)value);
    return -1;
}

/* One floating-point field: written so that NaN fails too. */
static int rs_check_real(const char *name, double value, double lo, double hi, char *err, size_t errlen)
{
    if (value >= lo && value <= hi)
        return 0;
    snprintf(err, errlen, "%s must be in [%g, %g], got %g", name, lo, hi, value);
    return -1;
}

/* One knob against its range in refstrat/knobs.h, by kind. */
#define RS_KNOB_CHECK_UINT(name, low, high) rs_check_range(#name, p->name, low, high, err, errlen)
#define RS_KNOB_CHECK_REAL(name, low, high) rs_check_real(#name, p->name, low, high, err, errlen)
#define RS_KNOB_CHECK_(name, strategy, kind, def, low, high, doc)                                  \
    if (RS_KNOB_CHECK_##kind(name, low, high))                                                     \
        return RS_ERR_CONFIG;

int rs_params_check(const rs_params *p, char *err, size_t errlen)
{
    if (p->workload >= RS_W_COUNT) {
        snprintf(err, errlen, "unknown workload %u (valid: 0 to %d)", p->workload, RS_W_COUNT - 1);
        return RS_ERR_CONFIG;
    }
    if (rs_check_range("threads", p->threads, 1, RS_MAX_THREADS, err, errlen) ||
        rs_check_range("ops", p->ops, 1, RS_MAX_OPS, err, errlen) ||
        rs_check_range("fib_n", p->fib_n, 1, RS_MAX_FIB_N, err, errlen) ||
        rs_check_range("work", p->work, 0, RS_MAX_WORK, err, errlen) ||
        rs_check_range("objects", p->objects, 1, RS_MAX_OBJECTS, err, errlen) ||
        rs_check_range("shared_objects", p->shared_objects, 1, RS_MAX_SHARED_OBJECTS, err, errlen) ||
        rs_check_range("depth", p->depth, 1, RS_MAX_DEPTH, err, errlen) ||
        rs_check_range("padded", p->padded, 0, 1, err, errlen) ||
        rs_check_range("pin", (uint32_t)p->pin, 0, 1, err, errlen) ||
        rs_check_range("immortal", (uint32_t)p->immortal, 0, 1, err, errlen) ||
        (p->arena_size && rs_check_range("arena_size", p->arena_size, 1, RS_NIL - 1, err, errlen)) ||
        rs_check_real("shared_fraction", p->shared_fraction, 0.0, 1.0, err, errlen) ||
        rs_check_real("zipf", p->zipf, 0.0, RS_MAX_ZIPF, err, errlen))
        return RS_ERR_CONFIG;
    RS_KNOBS(RS_KNOB_CHECK_)
    if (p->layers & ~(uint32_t)(RS_F_DEFERRED | RS_F_SHARDED)) {
        snprintf(err, errlen, "layers may hold only RS_F_DEFERRED and RS_F_SHARDED, got %#x", p->layers);
        return RS_ERR_CONFIG;
    }
    if ((p->workload == RS_W_TRACE) != (p->trace != NULL)) {
        snprintf(err, errlen, p->trace ? "a trace is only for the trace workload"
                                       : "the trace workload needs a trace");
        return RS_ERR_CONFIG;
    }
    if (p->jitter && p->workload != RS_W_TRACE) {
        snprintf(err, errlen, "jitter is only for the trace workload");
        return RS_ERR_CONFIG;
    }
    if (p->work && p->workload == RS_W_TRACE) {
        snprintf(err, errlen, "work must be 0 for the trace workload, got %u", p->work);
        return RS_ERR_CONFIG;
    }
    if (p->workload == RS_W_TRACE && !p->checked) {
        snprintf(err, errlen, "the trace workload runs the checked copy only (it reports uses after free)");
        return RS_ERR_CONFIG;
    }
    if (p->trace && rs_trace_check(p->trace, p->threads, err, errlen) != 0)
        return RS_ERR_CONFIG;
    return RS_OK;
}

static uint64_t rs_arena_need(const rs_params *p, int floor)
{
    uint64_t total = rs_setup_objects(p), worst = 0;
    for (uint32_t i = 0; i < p->threads; i++) {
        uint64_t need = rs_pool_need(p, i, floor);
        worst = need > worst ? need : worst;
    }
    return total + worst * p->threads;
}

uint64_t rs_arena_minimum(const rs_params *p, char *err, size_t errlen)
{
    if (rs_params_check(p, err, errlen) != RS_OK)
        return 0;
    return rs_arena_need(p, 1);
}

/* ---- creation -------------------------------------------------------------------------------- */

static uint64_t rs_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The explain flavour's state: per-slot arrays and every thread's rs_stats (helper included). */
static int rs_explain_alloc(rs_run *r)
{
    size_t n = r->arena.capacity ? r->arena.capacity : 1;
    rs_explain_run *x = (rs_explain_run *)calloc(1, sizeof(rs_explain_run));
    if (!x)
        return -1;
    r->explain = x;
    x->shadow = (int64_t *)calloc(n, sizeof(int64_t));
    x->zero_op = (uint64_t *)calloc(n, sizeof(uint64_t));
    x->zero_ns = (uint64_t *)calloc(n, sizeof(uint64_t));
    x->last = (uint32_t *)calloc(n, sizeof(uint32_t));
    x->cross = (uint64_t *)calloc(n, sizeof(uint64_t));
    if (!x->shadow || !x->zero_op || !x->zero_ns || !x->last || !x->cross)
        return -1;
    for (uint32_t i = 0; i <= r->nthreads; i++)
        if (!(r->threads[i].stats = (rs_stats *)calloc(1, sizeof(rs_stats))))
            return -1;
    return 0;
}

static void rs_explain_free_state(rs_run *r)
{
    rs_explain_run *x = r->explain;
    if (x) {
        free(x->shadow);
        free(x->zero_op);
        free(x->zero_ns);
        free(x->last);
        free(x->cross);
        free(x);
        r->explain = NULL;
    }
    for (uint32_t i = 0; r->threads && i <= r->nthreads; i++) {
        if (r->threads[i].stats)
            free(r->threads[i].stats->delay);
        free(r->threads[i].stats);
        r->threads[i].stats = NULL;
    }
}

/* A run with its arena and threads (src/internal.h). */
rs_run *rs_run_alloc(const rs_strategy *s, const rs_params *p, uint64_t capacity, uint32_t nsetup,
                     int *code, char *err, size_t errlen)
{
    *code = RS_ERR_NOMEM;
    rs_run *r = (rs_run *)calloc(1, sizeof(rs_run));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->strategy = s;
    r->p = *p;
    r->nthreads = p->threads;
    r->layers = (p->immortal ? RS_F_IMMORTAL : 0) | (p->layers & RS_COLLECTED) | (s->layers & RS_LAYERS);
    r->immortal = (r->layers & RS_F_IMMORTAL) != 0;
    rs_pr_mutex_init(&r->error_lock);
    rs_arena *a = &r->arena;
    a->stride = p->padded ? RS_CACHELINE : sizeof(rs_obj);
    a->capacity = (uint32_t)capacity;
    a->nsetup = nsetup;
    a->npools = p->threads;
    size_t bytes = (size_t)capacity * a->stride;
    bytes = (bytes + RS_CACHELINE - 1) / RS_CACHELINE * RS_CACHELINE;
    /* The arena is zeroed (touched) up front: refuse what the machine cannot hold rather than
     * let the kernel's OOM killer end the process. */
    uint64_t ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * (uint64_t)sysconf(_SC_PAGESIZE);
    size_t need = bytes + (size_t)capacity * sizeof(rs_obj *); /* the slots and the free stacks */
    if (ram && need > ram / 4 * 3) {
        snprintf(err, errlen, "an arena of %llu objects needs %zu bytes, more than 3/4 of this "
                 "machine's %llu bytes of memory", (unsigned long long)capacity, need,
                 (unsigned long long)ram);
        *code = RS_ERR_CONFIG;
        rs_pr_mutex_destroy(&r->error_lock);
        free(r);
        return NULL;
    }
    a->base = (char *)rs_aligned_alloc(bytes ? bytes : RS_CACHELINE);
    a->pools = (rs_pool *)rs_aligned_alloc(sizeof(rs_pool) * p->threads);
    r->threads = (rs_thread *)rs_aligned_alloc(sizeof(rs_thread) * (p->threads + 1));
    if (!a->base || !a->pools || !r->threads) {
        snprintf(err, errlen, "out of memory for an arena of %llu objects (%zu bytes)",
                 (unsigned long long)capacity, bytes);
        free(a->base);
        free(a->pools);
        free(r->threads);
        free(r);
        return NULL;
    }
    memset(a->pools, 0, sizeof(rs_pool) * p->threads);
    memset(r->threads, 0, sizeof(rs_thread) * (p->threads + 1));
    uint64_t per = (capacity - nsetup) / p->threads;
    int stacks = 1;
    for (uint32_t i = 0; i < p->threads; i++) {
        rs_pool *pl = &a->pools[i];
        pl->begin = pl->bump = (uint32_t)(nsetup + i * per);
        pl->end = (uint32_t)(nsetup + (i + 1) * per);
        pl->depth = (uint32_t)per;
        pl->remote_head = RS_NIL;
        pl->free = (rs_obj **)malloc(sizeof(rs_obj *) * (per ? per : 1));
        stacks = stacks && pl->free;
    }
    uint64_t seed = p->seed;
    for (uint32_t i = 0; i <= p->threads; i++) {
        rs_thread *t = &r->threads[i];
        t->run = r;
        t->index = i;
        t->id1 = i + 1;
        t->pool = i < p->threads ? &a->pools[i] : NULL;
        t->rng = rs_splitmix(&seed) | 1;
        t->first_uaf = UINT64_MAX;
        t->cpu = -1;
        t->checked = p->checked != 0;
        t->own = p->checked || i == p->threads ? RS_NOPOOL : i;
        t->layers = r->layers;
    }
    if (!stacks) {
        snprintf(err, errlen, "out of memory for the free stacks of %llu objects",
                 (unsigned long long)capacity);
        rs_run_destroy(r);
        return NULL;
    }
    if (p->explain && rs_explain_alloc(r) != 0) {
        snprintf(err, errlen, "out of memory for the explain counters of %llu objects",
                 (unsigned long long)capacity);
        rs_run_destroy(r);
        return NULL;
    }
    if (s->init(r) != 0) {
        /* A strategy that refuses the run (percpu: too much memory) says why with rs_run_fail. */
        if (r->error) {
            *code = r->error;
            snprintf(err, errlen, "%s", r->errmsg);
        } else
            snprintf(err, errlen, "out of memory for the %s strategy's state", s->name);
        rs_run_destroy(r); /* fini copes with partial state */
        return NULL;
    }
    /* Touched only now, after init: a run the scheme refuses (percpu: too much memory) is
     * refused before its arena's pages are faulted in, in microseconds rather than seconds. */
    memset(a->base, 0, bytes); /* also faults the pages in before any timing starts */
    for (uint32_t i = 0; i < p->threads; i++)
        for (uint32_t idx = a->pools[i].begin; idx < a->pools[i].end; idx++) /* fixed: rs_obj_open */
            rs_pr_store_plain(&rs_obj_at(a, idx)->pool, i);
    return r;
}

static void rs_setup_object(rs_run *r, uint32_t idx, uint32_t marks, rs_handle *out)
{
    uint32_t flags = RS_F_SETUP | (marks & RS_LAYERS);
    *out = rs_obj_open(&r->arena, rs_obj_at(&r->arena, idx), flags, RS_NIL, 1); /* generations in every run */
    if (r->explain)
        r->explain->shadow[idx] = 1; /* the setup reference */
    r->strategy->obj_init(&r->threads[0], out->o); /* owned by worker 0 */
}

/* The run's lock scheme must be one of the strategy's (its flavour's table); the message lists them. */
static int rs_lock_check(const rs_strategy *s, const rs_params *p, char *err, size_t errlen)
{
    if (p->lock < s->nlocks)
        return 0;
    int n = snprintf(err, errlen, "unknown lock scheme %u for %s (valid: ", p->lock, s->name);
    for (uint32_t i = 0; i < s->nlocks && n > 0 && (size_t)n < errlen; i++)
        n += snprintf(err + n, errlen - (size_t)n, "%u %s%s", i, s->locks[i].name, i + 1 < s->nlocks ? ", " : ")");
    return -1;
}

static rs_run *rs_run_build(const rs_strategy *s, const rs_params *p, int *code, char *err, size_t errlen)
{
    *code = RS_ERR_CONFIG;
    uint64_t minimum = rs_arena_minimum(p, err, errlen);
    if (!minimum || rs_lock_check(s, p, err, errlen))
        return NULL;
    if (p->explain && (!p->checked || !rs_explain_is(s))) {
        snprintf(err, errlen, "an explain run needs the checked copy of a built-in strategy's explain "
                 "flavour (rs_explain_strategy), got %s", s->name);
        return NULL;
    }
    const char *copy = p->checked ? "checked" : "unchecked";
    for (int layered = 0; layered < 2; layered++)
        if (!s->kernels[p->checked ? 1 : 0][layered][p->workload]) {
            snprintf(err, errlen, "%s has no %s copy of the %s workload (a flavour table that leaves "
                     "it out: the explain flavour keeps checked copies only, the check flavour the "
                     "checked trace kernel only, the limit rows a workload whose limit is RS_NONE)", s->name, copy, rs_workload_at(p->workload)->name);
            return NULL;
        }
    uint32_t nsetup = rs_setup_objects(p);
    uint64_t capacity = p->arena_size;
    if (!capacity) {
        uint64_t worst = (rs_arena_need(p, 0) - nsetup) / p->threads;
        capacity = nsetup + (worst + rs_pool_slack(p->threads)) * p->threads;
    } else if (capacity < minimum) {
        snprintf(err, errlen, "arena_size %llu is too small: this workload needs at least %llu objects",
                 (unsigned long long)capacity, (unsigned long long)minimum);
        return NULL;
    }
    if (capacity >= RS_NIL) {
        snprintf(err, errlen, "arena_size %llu is too large: at most %u objects",
                 (unsigned long long)capacity, RS_NIL - 1);
        return NULL;
    }
    rs_run *r = rs_run_alloc(s, p, capacity, nsetup, code, err, errlen);
    if (!r)
        return NULL;
    *code = RS_ERR_NOMEM;
    r->nshared = nsetup;
    r->shared = (rs_handle *)calloc(nsetup ? nsetup : 1, sizeof(rs_handle));
    if (!r->shared)
        goto nomem;
    if ((r->layers & RS_COLLECTED) && (s->layers & RS_S_NO_COLLECTED)) {
        snprintf(err, errlen, "the deferred and sharded layers need a scheme whose counts are exact "
                 "when the world stops and that leaves rs_obj.aux to them; %s does not "
                 "(refstrat/deferred.h)", s->name);
        *code = RS_ERR_CONFIG;
        rs_run_destroy(r);
        return NULL;
    }
    r->lock = &s->locks[p->lock];
    if (r->lock->init(r) != 0)
        goto nomem;
    const rs_workload_runner *w = &rs_runners[p->workload];
    /* The layer flags a workload gives a setup object; a run honours those in its layers only. */
    for (uint32_t i = 0; i < nsetup; i++)
        rs_setup_object(r, i, w->marks(r, i), &r->shared[i]);
    if (rs_layers_init(r) != 0 || w->prepare(r) != 0)
        goto nomem;
    *code = RS_OK;
    return r;
nomem:
    snprintf(err, errlen, "out of memory setting up the workload");
    rs_run_destroy(r);
    return NULL;
}

int rs_run_create(const rs_strategy *s, const rs_params *p, rs_run **out, char *err, size_t errlen)
{
    int code;
    *out = rs_run_build(s, p, &code, err, errlen);
    return code;
}

void rs_run_destroy(rs_run *r)
{
    if (!r)
        return;
    r->strategy->fini(r);
    if (r->lock)
        r->lock->fini(r);
    rs_layers_fini(r);
    rs_explain_free_state(r);
    if (r->p.trace) {
        free(r->p.trace->handles);
        free(r->p.trace->mailbox);
        free(r->p.trace->payload);
        free(r->p.trace->inside);
        r->p.trace->handles = NULL;
        r->p.trace->mailbox = NULL;
        r->p.trace->payload = NULL;
        r->p.trace->inside = NULL;
    }
    free(r->rings);
    free(r->zipf_table);
    free(r->shared);
    free(r->arena.base);
    for (uint32_t i = 0; r->arena.pools && i < r->arena.npools; i++)
        free(r->arena.pools[i].free);
    free(r->arena.pools);
    free(r->threads);
    rs_pr_mutex_destroy(&r->error_lock);
    free(r);
}

/* ---- execution ------------------------------------------------------------------------------- */

/* A worker's part of the run, from the barrier's release to its last flush: its own function (never
 * inlined) because refstrat/bench/callgrind.py counts the instructions inside it, and the barrier's
 * wait, whose length depends on the machine's load, must stay out of that count. */
static RS_NOINLINE void rs_worker_run(rs_thread *t, rs_kernel_fn kernel)
{
    const rs_strategy *s = t->run->strategy;
    s->enter(t);
    rs_layers_enter(t);
    kernel(t);
    rs_layers_leave(t);
    s->leave(t);
}

static void *rs_worker_main(void *arg)
{
    rs_thread *t = (rs_thread *)arg;
    rs_run *r = t->run;
    rs_kernel_fn kernel = r->strategy->kernels[r->p.checked ? 1 : 0][r->layers ? 1 : 0][r->p.workload];
    /* The start barrier: count in, then wait for the main thread's go. Acquire pairs with its
     * release, so setup is visible; yielding keeps the wait cheap when threads outnumber cores. */
    rs_pr_faa_release(&r->ready, 1);
    while (!rs_pr_load_acquire(&r->go))
        rs_pr_yield();
    if (rs_run_aborted(r))
        return NULL;
    double cpu0 = rs_thread_cpu();
    rs_worker_run(t, kernel);
    t->cpu_seconds = rs_thread_cpu() - cpu0;
    return NULL;
}

/* Pin worker i to the i-th allowed core when there are enough of them; report whether it did. */
static int rs_plan_pinning(rs_run *r)
{
    cpu_set_t allowed;
    if (!r->p.pin || sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return 0;
    if ((uint32_t)CPU_COUNT(&allowed) < r->nthreads)
        return 0;
    uint32_t i = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && i < r->nthreads; cpu++)
        if (CPU_ISSET(cpu, &allowed))
            r->threads[i++].cpu = cpu;
    return 1;
}

static int rs_start_worker(rs_thread *t)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 8u << 20);
    if (t->cpu >= 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(t->cpu, &one);
        if (pthread_attr_setaffinity_np(&attr, sizeof one, &one) != 0)
            t->cpu = -1;
    }
    int rc = pthread_create(&t->th, &attr, rs_worker_main, t);
    pthread_attr_destroy(&attr);
    if (rc != 0 && t->cpu >= 0) { /* the OS refused the affinity: run unpinned */
        t->cpu = -1;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 8u << 20);
        rc = pthread_create(&t->th, &attr, rs_worker_main, t);
        pthread_attr_destroy(&attr);
    }
    return rc;
}

/* After quiesce: every setup object must hold its expected count; with a trace, every object;
 * otherwise every pool object must be free (the workloads release all they allocate). */
static void rs_check_results(rs_run *r)
{
    const rs_arena *a = &r->arena;
    const rs_trace *tr = r->p.workload == RS_W_TRACE ? r->p.trace : NULL;
    uint32_t nobjects = tr ? tr->nobjects : a->nsetup;
    for (uint32_t id = 0; id < nobjects; id++) {
        rs_handle h = id < a->nsetup ? r->shared[id] : tr->handles[id];
        int64_t expected = tr ? tr->expected[id] : 1, count = -1;
        /* An id no thread created keeps the zero handle {0, 0}; slot 0 still has generation 0
         * when no thread took it, so only an issued (odd) generation may be compared. */
        if (rs_gen_live(h.gen) && rs_handle_ok(a, h)) {
            count = rs_layers_count(r, h.o);
            if (expected == 0)
                r->leaks++;
            else
                r->lost_updates += (uint64_t)llabs(count - expected);
        } else if (expected > 0) {
            r->premature_frees++;
            r->lost_updates += (uint64_t)expected;
        }
        if (tr)
            tr->final_counts[id] = count;
        if (tr && tr->final_payloads)
            tr->final_payloads[id] = tr->payload[id];
    }
    if (tr || rs_limit_row_is(r->strategy))
        return; /* a limit's kernels keep the slots they take to themselves (refstrat/limit.h) */
    for (uint32_t i = 0; i < a->npools; i++) {
        if (!r->p.checked) { /* no generations on pool objects: read the free stacks */
            r->leaks += rs_pool_scan(a, &a->pools[i], &r->threads[r->nthreads].c.double_frees);
            continue;
        }
        for (uint32_t idx = a->pools[i].begin; idx < a->pools[i].bump; idx++)
            r->leaks += rs_gen_live(rs_obj_at(a, idx)->gen);
    }
}

int rs_run_execute(rs_run *r)
{
    const rs_strategy *s = r->strategy;
    uint32_t T = r->nthreads, started = 0;
    int pinned = rs_plan_pinning(r);
    if (s->start(r) != 0) {
        rs_run_fail(r, RS_ERR_NOMEM, "cannot start the strategy's helper thread");
        return r->error;
    }
    for (; started < T; started++) {
        if (rs_start_worker(&r->threads[started]) != 0)
            break;
        pinned &= r->threads[started].cpu >= 0;
    }
    if (started < T)
        rs_run_fail(r, RS_ERR_NOMEM, "cannot start a worker thread");
    while (rs_pr_load_acquire(&r->ready) < started)
        rs_pr_yield();
    double wall0 = rs_now();
    rs_pr_store_release(&r->go, 1);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(r->threads[i].th, NULL);
    rs_run_finish(r);
    r->wall_seconds = rs_now() - wall0;
    r->pinned = pinned && started == T;
    if (!r->pinned)
        for (uint32_t i = 0; i < T; i++)
            r->threads[i].cpu = -1;
    return r->error;
}

void rs_run_finish(rs_run *r)
{
    double qcpu = rs_thread_cpu();
    r->strategy->quiesce(r);
    rs_layers_quiesce_run(r);
    r->helper_cpu_seconds += rs_thread_cpu() - qcpu;
    if (!r->error)
        rs_check_results(r);
}

/* ---- running in the background (see core.h) -------------------------------------------------- */

struct rs_bg {
    rs_run *r;
    pthread_t th;
    pthread_mutex_t m;
    pthread_cond_t c;
    int done; /* under m: the runner thread has finished */
    int rc;   /* under m, written before done */
};

static void *rs_bg_main(void *arg)
{
    rs_bg *b = (rs_bg *)arg;
    int rc = rs_run_execute(b->r);
    rs_pr_mutex_lock(&b->m);
    b->rc = rc;
    b->done = 1;
    rs_pr_cond_signal(&b->c);
    rs_pr_mutex_unlock(&b->m);
    return NULL;
}

rs_bg *rs_run_start(rs_run *r)
{
    rs_bg *b = (rs_bg *)calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->r = r;
    rs_pr_mutex_init(&b->m);
    rs_pr_cond_init(&b->c); /* CLOCK_MONOTONIC: a step of the wall clock must not stall Ctrl-C */
    if (pthread_create(&b->th, NULL, rs_bg_main, b) != 0) {
        rs_pr_cond_destroy(&b->c);
        rs_pr_mutex_destroy(&b->m);
        free(b);
        return NULL;
    }
    return b;
}

int rs_run_wait(rs_bg *b, double seconds, int *rc)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline); /* the clock of rs_pr_cond_init */
    long long ns = deadline.tv_nsec + (long long)(seconds * 1e9);
    deadline.tv_sec += (time_t)(ns / 1000000000LL);
    deadline.tv_nsec = (long)(ns % 1000000000LL);
    rs_pr_mutex_lock(&b->m);
    while (!b->done && rs_pr_cond_timedwait(&b->c, &b->m, &deadline) != ETIMEDOUT)
        ;
    int done = b->done;
    rs_pr_mutex_unlock(&b->m);
    if (!done)
        return 0;
    pthread_join(b->th, NULL);
    *rc = b->rc;
    rs_pr_cond_destroy(&b->c);
    rs_pr_mutex_destroy(&b->m);
    free(b);
    return 1;
}

void rs_run_interrupt(rs_run *r)
{
    rs_run_fail(r, RS_ERR_INTERRUPTED, "interrupted");
}

void rs_run_result(const rs_run *r, rs_result *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i <= r->nthreads; i++) {
        const rs_thread *t = &r->threads[i];
        out->ops += t->ops;
        out->allocs += t->c.allocs;
        out->frees += t->c.frees;
        out->double_frees += t->c.double_frees;
        out->use_after_free += t->c.use_after_free;
        out->cpu_seconds += t->cpu_seconds;
    }
    out->helper_cpu_seconds = r->helper_cpu_seconds;
    out->cpu_seconds += r->helper_cpu_seconds;
    out->wall_seconds = r->wall_seconds;
    out->leaks = r->leaks;
    out->lost_updates = r->lost_updates;
    out->premature_frees = r->premature_frees;
    out->pinned = r->pinned;
    out->helper_threads = r->helper_threads;
}

