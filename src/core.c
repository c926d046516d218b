/* The runner: arena and pools, workload setup, worker threads, quiesce and the final checks,
 * the stepping API and the plugin loader. Strategy- and workload-specific code lives in the
 * headers; this file only drives it through the table in refstrat/registry.h. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "refstrat/core.h"
#include "refstrat/limit.h"
#include "refstrat/plugin.h"

RS_DEFINE_STRATEGY_TABLE(RS_STRATEGIES, rs_builtins)

/* The speed-of-light copy: nonatomic counts with no use-after-free checks, the hardware limit of
 * the same operations. Not a strategy: never listed, only reached through rs_speed_of_light(). */
RS_DEFINE_KERNELS(sol, RS_OPS(nonatomic, 0, 0))
static const rs_strategy rs_sol = {
    "speed_of_light", "plain increments with no checks: the hardware limit of the same operations",
    "a plain C loop", 0, 0,
    rs_nonatomic_init, rs_nonatomic_fini, rs_nonatomic_obj_init, rs_nonatomic_enter,
    rs_nonatomic_leave, rs_nonatomic_start, rs_nonatomic_quiesce, rs_nonatomic_flush,
    rs_nonatomic_count, rs_nonatomic_incref_fn, rs_nonatomic_decref_fn,
    {{RS_KERNEL_ROW(sol), RS_KERNEL_ROW(sol)}, {RS_KERNEL_ROW(sol), RS_KERNEL_ROW(sol)}}};

/* The limit rows: hand-written kernels (refstrat/limit.h), plain and atomic. Not strategies either;
 * reached through rs_limit(). The hooks are nonatomic's no-ops. */
RS_DEFINE_LIMIT(plain, 0)
RS_DEFINE_LIMIT(atomic, 1)
#define RS_LIMIT_ENTRY(label, summary, tag)                                                        \
    {label, summary, "a hand-written C kernel per workload", 0, 0,                                 \
     rs_nonatomic_init, rs_nonatomic_fini, rs_nonatomic_obj_init, rs_nonatomic_enter,              \
     rs_nonatomic_leave, rs_nonatomic_start, rs_nonatomic_quiesce, rs_nonatomic_flush,             \
     rs_nonatomic_count, rs_nonatomic_incref_fn, rs_nonatomic_decref_fn,                           \
     {{RS_LIMIT_ROW(tag), RS_LIMIT_ROW(tag)}, {RS_LIMIT_ROW(tag), RS_LIMIT_ROW(tag)}}}
static const rs_strategy rs_limits[2] = {
    RS_LIMIT_ENTRY("limit", "plain increments through plain pointers: the hardware limit", plain),
    RS_LIMIT_ENTRY("limit+atomic", "lock-prefixed increments through plain pointers", atomic)};

#define RS_MAX_PLUGIN_STRATEGIES 256
static const rs_strategy *rs_plugins[RS_MAX_PLUGIN_STRATEGIES];
static int rs_nplugins;
static pthread_mutex_t rs_plugin_lock = PTHREAD_MUTEX_INITIALIZER;

int rs_builtin_count(void) { return (int)(sizeof rs_builtins / sizeof rs_builtins[0]); }
const rs_strategy *rs_builtin(int i) { return i >= 0 && i < rs_builtin_count() ? &rs_builtins[i] : NULL; }
const rs_strategy *rs_speed_of_light(void) { return &rs_sol; }
const rs_strategy *rs_limit(int atomic) { return &rs_limits[atomic ? 1 : 0]; }

const rs_strategy *rs_find_strategy(const char *name)
{
    for (int i = 0; i < rs_builtin_count(); i++)
        if (!strcmp(rs_builtins[i].name, name))
            return &rs_builtins[i];
    const rs_strategy *found = NULL;
    pthread_mutex_lock(&rs_plugin_lock);
    for (int i = 0; i < rs_nplugins && !found; i++)
        if (!strcmp(rs_plugins[i]->name, name))
            found = rs_plugins[i];
    pthread_mutex_unlock(&rs_plugin_lock);
    return found;
}

int rs_plugin_load(const char *path, const rs_strategy **first, char *err, size_t errlen)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cannot load plugin %s: %s", path, dlerror());
        return -1;
    }
    const rs_plugin *p = (const rs_plugin *)dlsym(h, RS_PLUGIN_SYMBOL);
    if (!p) {
        snprintf(err, errlen, "%s defines no %s (build it with RS_DEFINE_PLUGIN)", path, RS_PLUGIN_SYMBOL);
        dlclose(h);
        return -1;
    }
    if (p->abi != RS_ABI_VERSION || p->sizeof_obj != sizeof(rs_obj) ||
        p->sizeof_thread != sizeof(rs_thread) || p->sizeof_run != sizeof(rs_run) ||
        p->sizeof_strategy != sizeof(rs_strategy) || p->sizeof_params != sizeof(rs_params)) {
        snprintf(err, errlen, "plugin %s was built against other refstrat headers (ABI %u, core %u)",
                 path, p->abi, RS_ABI_VERSION);
        dlclose(h);
        return -1;
    }
    pthread_mutex_lock(&rs_plugin_lock);
    if (rs_nplugins + (int)p->count > RS_MAX_PLUGIN_STRATEGIES) {
        pthread_mutex_unlock(&rs_plugin_lock);
        snprintf(err, errlen, "too many plugin strategies (at most %d)", RS_MAX_PLUGIN_STRATEGIES);
        return -1;
    }
    for (uint32_t i = 0; i < p->count; i++)
        rs_plugins[rs_nplugins++] = &p->strategies[i];
    pthread_mutex_unlock(&rs_plugin_lock);
    *first = p->strategies;
    /* Never dlclose: the registered entries point into the library. */
    return (int)p->count;
}

/* ---- sizing ---------------------------------------------------------------------------------- */

static uint32_t rs_setup_objects(const rs_params *p)
{
    switch (p->workload) {
    case RS_W_FIB: return RS_FIB_NSETUP;
    case RS_W_SHARED:
    case RS_W_MIXED: return p->shared_objects;
    case RS_W_TRACE: return p->trace ? p->trace->nshared : 0;
    default: return 0;
    }
}

/* Objects one worker may hold live at once (before deferred frees). */
static uint64_t rs_pool_need(const rs_params *p, uint32_t worker)
{
    switch (p->workload) {
    case RS_W_FIB: return 2 * (uint64_t)p->fib_n + 8;
    case RS_W_PRIVATE:
    case RS_W_MIXED: return (uint64_t)p->objects + 2;
    case RS_W_SHARED: return 1;
    case RS_W_HANDOFF: return 2 * RS_RING + 2;
    case RS_W_TRACE: {
        uint64_t news = 0;
        for (uint64_t k = p->trace->begin[worker]; k < p->trace->begin[worker + 1]; k++)
            news += p->trace->ops[k].kind == RS_T_NEW;
        return news ? news : 1;
    }
    default: return 1;
    }
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
    if (tr->nshared > tr->nobjects || !tr->begin || tr->begin[0] != 0) {
        snprintf(err, errlen, "malformed trace header");
        return -1;
    }
    for (uint32_t i = 0; i < threads; i++)
        if (tr->begin[i + 1] < tr->begin[i]) {
            snprintf(err, errlen, "malformed trace: thread %u's operations are out of order", i);
            return -1;
        }
    for (uint64_t k = 0; k < tr->begin[threads]; k++) {
        rs_trace_op op = tr->ops[k];
        if (op.kind > RS_T_RECV || op.obj >= tr->nobjects || (op.kind == RS_T_NEW && op.obj < tr->nshared) ||
            (op.kind == RS_T_SEND && op.arg >= threads)) {
            snprintf(err, errlen, "malformed trace: operation %llu is out of range", (unsigned long long)k);
            return -1;
        }
    }
    return 0;
}

uint64_t rs_arena_minimum(const rs_params *p, char *err, size_t errlen)
{
    if (p->workload >= RS_W_COUNT) {
        snprintf(err, errlen, "unknown workload %u", p->workload);
        return 0;
    }
    if (p->threads < 1 || p->threads > 1024) {
        snprintf(err, errlen, "threads must be in [1, 1024], got %u", p->threads);
        return 0;
    }
    if (p->workload == RS_W_TRACE && !p->trace) {
        snprintf(err, errlen, "the trace workload needs a trace");
        return 0;
    }
    if (p->workload == RS_W_TRACE && !p->checked) {
        snprintf(err, errlen, "the trace workload runs the checked copy only (it reports uses after free)");
        return 0;
    }
    if (p->workload == RS_W_TRACE && rs_trace_check(p->trace, p->threads, err, errlen) != 0)
        return 0;
    uint64_t total = rs_setup_objects(p), worst = 0;
    for (uint32_t i = 0; i < p->threads; i++) {
        uint64_t need = rs_pool_need(p, i);
        worst = need > worst ? need : worst;
    }
    return total + worst * p->threads;
}

/* ---- creation -------------------------------------------------------------------------------- */

static uint64_t rs_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int rs_build_zipf(rs_run *r)
{
    uint32_t n = r->nshared;
    double *cdf = (double *)malloc(sizeof(double) * n);
    r->zipf_table = (uint16_t *)malloc(sizeof(uint16_t) * RS_ZIPF_TABLE);
    if (!cdf || !r->zipf_table) {
        free(cdf);
        return -1;
    }
    double sum = 0;
    for (uint32_t k = 0; k < n; k++)
        cdf[k] = (sum += 1.0 / pow((double)(k + 1), r->p.zipf));
    uint32_t k = 0;
    for (uint32_t i = 0; i < RS_ZIPF_TABLE; i++) {
        double u = (i + 0.5) / RS_ZIPF_TABLE * sum;
        while (k + 1 < n && cdf[k] < u)
            k++;
        r->zipf_table[i] = (uint16_t)k;
    }
    free(cdf);
    return 0;
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

static rs_run *rs_run_alloc(const rs_strategy *s, const rs_params *p, uint64_t capacity, uint32_t nsetup,
                            char *err, size_t errlen)
{
    rs_run *r = (rs_run *)calloc(1, sizeof(rs_run));
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->strategy = s;
    r->p = *p;
    r->nthreads = p->threads;
    r->immortal = p->immortal || s->immortal;
    pthread_mutex_init(&r->error_lock, NULL);
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
    if (ram && bytes > ram / 4 * 3) {
        snprintf(err, errlen, "an arena of %llu objects needs %zu bytes, more than 3/4 of this "
                 "machine's %llu bytes of memory", (unsigned long long)capacity, bytes,
                 (unsigned long long)ram);
        pthread_mutex_destroy(&r->error_lock);
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
    memset(a->base, 0, bytes); /* also faults the pages in before any timing starts */
    memset(a->pools, 0, sizeof(rs_pool) * p->threads);
    memset(r->threads, 0, sizeof(rs_thread) * (p->threads + 1));
    uint64_t per = (capacity - nsetup) / p->threads;
    for (uint32_t i = 0; i < p->threads; i++) {
        rs_pool *pl = &a->pools[i];
        pl->begin = pl->bump = (uint32_t)(nsetup + i * per);
        pl->end = (uint32_t)(nsetup + (i + 1) * per);
        pl->free_head = RS_NIL;
        pl->remote_head = RS_NIL;
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
    }
    if (p->explain && rs_explain_alloc(r) != 0) {
        snprintf(err, errlen, "out of memory for the explain counters of %llu objects",
                 (unsigned long long)capacity);
        rs_run_destroy(r);
        return NULL;
    }
    if (s->init(r) != 0) {
        snprintf(err, errlen, "out of memory for the %s strategy's state", s->name);
        rs_run_destroy(r); /* fini copes with partial state */
        return NULL;
    }
    return r;
}

static void rs_setup_object(rs_run *r, uint32_t idx, int immortal, rs_handle *out)
{
    uint32_t flags = RS_F_SETUP | (immortal && r->immortal ? RS_F_IMMORTAL : 0);
    *out = rs_obj_open(&r->arena, idx, flags, RS_NIL);
    if (r->explain)
        r->explain->shadow[idx] = 1; /* the setup reference */
    r->strategy->obj_init(&r->threads[0], rs_obj_at(&r->arena, idx)); /* owned by worker 0 */
}

rs_run *rs_run_create(const rs_strategy *s, const rs_params *p, char *err, size_t errlen)
{
    uint64_t minimum = rs_arena_minimum(p, err, errlen);
    if (!minimum)
        return NULL;
    if (p->explain && (!p->checked || !rs_explain_is(s))) {
        snprintf(err, errlen, "an explain run needs the checked copy of a built-in strategy's explain "
                 "flavour (rs_explain_strategy), got %s", s->name);
        return NULL;
    }
    uint32_t nsetup = rs_setup_objects(p);
    uint64_t capacity = p->arena_size;
    if (!capacity) {
        uint64_t worst = (minimum - nsetup) / p->threads;
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
    rs_run *r = rs_run_alloc(s, p, capacity, nsetup, err, errlen);
    if (!r)
        return NULL;
    r->nshared = nsetup;
    r->shared = (rs_handle *)calloc(nsetup ? nsetup : 1, sizeof(rs_handle));
    if (!r->shared)
        goto nomem;
    for (uint32_t i = 0; i < nsetup; i++) {
        int immortal = p->workload == RS_W_FIB ||
                       (p->workload == RS_W_TRACE && p->trace->immortal[i]);
        rs_setup_object(r, i, immortal, &r->shared[i]);
    }
    if (p->workload == RS_W_MIXED && rs_build_zipf(r) != 0)
        goto nomem;
    if (p->workload == RS_W_HANDOFF) {
        r->rings = (rs_ring *)rs_aligned_alloc(sizeof(rs_ring) * p->threads);
        if (!r->rings)
            goto nomem;
        memset(r->rings, 0, sizeof(rs_ring) * p->threads);
    }
    if (p->workload == RS_W_TRACE) {
        rs_trace *tr = p->trace;
        tr->handles = (rs_handle *)calloc(tr->nobjects ? tr->nobjects : 1, sizeof(rs_handle));
        tr->mailbox = (uint32_t *)calloc((size_t)p->threads * (tr->nobjects ? tr->nobjects : 1), sizeof(uint32_t));
        if (!tr->handles || !tr->mailbox)
            goto nomem;
        for (uint32_t i = 0; i < tr->nshared; i++)
            tr->handles[i] = r->shared[i];
    }
    return r;
nomem:
    snprintf(err, errlen, "out of memory setting up the workload");
    rs_run_destroy(r);
    return NULL;
}

void rs_run_destroy(rs_run *r)
{
    if (!r)
        return;
    r->strategy->fini(r);
    rs_explain_free_state(r);
    if (r->p.trace) {
        free(r->p.trace->handles);
        free(r->p.trace->mailbox);
        r->p.trace->handles = NULL;
        r->p.trace->mailbox = NULL;
    }
    free(r->rings);
    free(r->zipf_table);
    free(r->shared);
    free(r->arena.base);
    free(r->arena.pools);
    free(r->threads);
    pthread_mutex_destroy(&r->error_lock);
    free(r);
}

/* ---- execution ------------------------------------------------------------------------------- */

static void *rs_worker_main(void *arg)
{
    rs_thread *t = (rs_thread *)arg;
    rs_run *r = t->run;
    rs_kernel_fn kernel = r->strategy->kernels[r->p.checked ? 1 : 0][r->immortal ? 1 : 0][r->p.workload];
    /* The start barrier: count in, then wait for the main thread's go. Acquire pairs with its
     * release, so setup is visible; yielding keeps the wait cheap when threads outnumber cores. */
    __atomic_fetch_add(&r->ready, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&r->go, __ATOMIC_ACQUIRE))
        sched_yield();
    if (rs_run_aborted(r))
        return NULL;
    double cpu0 = rs_thread_cpu();
    r->strategy->enter(t);
    kernel(t);
    r->strategy->leave(t);
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
        if (rs_handle_ok(a, h)) {
            count = r->strategy->count(r, h.o);
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
    }
    if (tr)
        return;
    for (uint32_t i = 0; i < a->npools; i++)
        for (uint32_t idx = a->pools[i].begin; idx < a->pools[i].bump; idx++)
            r->leaks += rs_gen_live(rs_obj_at(a, idx)->gen);
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
    while (__atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) < started)
        sched_yield();
    double wall0 = rs_now();
    __atomic_store_n(&r->go, 1, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(r->threads[i].th, NULL);
    double qcpu = rs_thread_cpu();
    s->quiesce(r);
    r->helper_cpu_seconds += rs_thread_cpu() - qcpu;
    r->wall_seconds = rs_now() - wall0;
    r->pinned = pinned && started == T;
    if (!r->pinned)
        for (uint32_t i = 0; i < T; i++)
            r->threads[i].cpu = -1;
    if (!r->error)
        rs_check_results(r);
    return r->error;
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
}

/* ---- stepping -------------------------------------------------------------------------------- */

rs_run *rs_step_create(const rs_strategy *s, uint32_t capacity, int immortal, int padded,
                       char *err, size_t errlen)
{
    rs_params p;
    memset(&p, 0, sizeof p);
    p.workload = RS_W_PRIVATE;
    p.threads = 1;
    p.padded = padded;
    p.immortal = immortal;
    p.seed = 1;
    p.switch_interval = 0.005;
    p.tick = 64;
    p.log_size = 64;
    p.checked = 1;
    if (capacity < 1 || capacity >= RS_NIL) {
        snprintf(err, errlen, "capacity must be in [1, %u], got %u", RS_NIL - 1, capacity);
        return NULL;
    }
    rs_run *r = rs_run_alloc(s, &p, capacity, 0, err, errlen);
    if (!r)
        return NULL;
    r->stepping = 1;
    s->enter(&r->threads[0]);
    return r;
}

int rs_step_new(rs_run *r, int setup, int immortal, rs_handle *out)
{
    rs_thread *t = &r->threads[0];
    uint32_t idx = rs_pool_take(&r->arena, t->pool);
    /* Deferred schemes free on flush (coalesced needs a few epoch ticks). */
    for (int tries = 0; idx == RS_NIL && tries < 8; tries++) {
        r->strategy->flush(t);
        idx = rs_pool_take(&r->arena, t->pool);
    }
    if (idx == RS_NIL)
        return -1;
    uint32_t flags = setup ? RS_F_SETUP | (immortal && r->immortal ? RS_F_IMMORTAL : 0) : 0;
    *out = rs_obj_open(&r->arena, idx, flags, setup ? RS_NIL : 0);
    r->strategy->obj_init(t, rs_obj_at(&r->arena, idx));
    t->c.allocs++;
    return 0;
}

/* A handle from Python carries (idx, gen) only: resolve the slot, refusing an index out of range. */
static rs_handle rs_step_handle(const rs_run *r, rs_handle h)
{
    h.o = h.idx < r->arena.capacity ? rs_obj_at(&r->arena, h.idx) : NULL;
    return h;
}

static int rs_step_op(rs_run *r, rs_handle h, int inc)
{
    rs_thread *t = &r->threads[0];
    h = rs_step_handle(r, h);
    if (!rs_handle_ok(&r->arena, h)) {
        t->c.use_after_free++;
        return 0;
    }
    rs_obj *o = h.o;
    int imm = r->immortal && (o->flags & RS_F_IMMORTAL);
    int mode = r->strategy->immortal ? r->strategy->immortal : 1;
    if (inc) {
        if (!imm)
            r->strategy->incref(t, o);
    } else if (!imm || mode == 2) {
        r->strategy->decref(t, o);
    }
    t->ops++;
    return 1;
}

int rs_step_inc(rs_run *r, rs_handle h) { return rs_step_op(r, h, 1); }
int rs_step_dec(rs_run *r, rs_handle h) { return rs_step_op(r, h, 0); }
void rs_step_flush(rs_run *r) { r->strategy->flush(&r->threads[0]); }

void rs_step_quiesce(rs_run *r)
{
    rs_thread *t = &r->threads[0];
    r->strategy->leave(t);
    r->strategy->quiesce(r);
    r->strategy->enter(t);
}

int rs_step_live(rs_run *r, rs_handle h) { return rs_handle_ok(&r->arena, rs_step_handle(r, h)); }

int64_t rs_step_count(rs_run *r, rs_handle h)
{
    h = rs_step_handle(r, h);
    return h.o ? r->strategy->count(r, h.o) : -1;
}

void rs_step_counters(rs_run *r, rs_counters *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i <= r->nthreads; i++) {
        out->allocs += r->threads[i].c.allocs;
        out->frees += r->threads[i].c.frees;
        out->double_frees += r->threads[i].c.double_frees;
        out->use_after_free += r->threads[i].c.use_after_free;
    }
}

void rs_step_destroy(rs_run *r)
{
    if (!r)
        return;
    r->strategy->leave(&r->threads[0]);
    r->strategy->quiesce(r);
    rs_run_destroy(r);
}
