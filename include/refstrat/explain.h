/* refstrat/explain.h: the explain flavour's counters, compiled only where RS_EXPLAIN is defined.
 *
 * src/explain.c defines RS_EXPLAIN before including refstrat/registry.h and instantiates its own
 * table of every built-in strategy; src/registry.c does not, so the timed kernels contain none of
 * this: RS_STAT() and the rs_explain_* hooks below expand to nothing there. A run asks for the
 * flavour with rs_params.explain (it is always a checked, untimed run).
 *
 * What the flavour records:
 *  - scheme events, per thread (rs_stats, owner only, summed after the run): RS_STAT(t, field)
 *    lines in the schemes' slow paths;
 *  - a shadow true count per arena slot, maintained by every operation, allocation and free:
 *    the operation that takes it to zero stamps the slot with the time and the global operation
 *    clock; the free reads the stamp back: the reclamation delay, in ns and in operations;
 *  - the number of dead but unfreed objects (shadow zero, not yet freed) and its peak;
 *  - per slot, the operations made by a thread other than the one before (cross-thread
 *    operations: the cache line changed hands), for the hot-objects report.
 *
 * Synchronization table (all of it explain-only):
 *   rs_explain_run arrays   any worker or helper    atomic, relaxed except the shadow count
 *                                                  (acq_rel: the zero stamp is read by the free)
 *   rs_stats                its thread              read by the main thread after join
 */
#ifndef REFSTRAT_EXPLAIN_H
#define REFSTRAT_EXPLAIN_H

#include "refstrat/object.h"
#include "refstrat/pr.h"

/* Scheme events: field, description. One list for C, the driver and the report. */
#define RS_STAT_FIELDS(X)                                                                          \
    X(slow, "operations on the atomic, shared or locked path")                                     \
    X(merges, "biased: local and shared counts merged")                                            \
    X(queue_pushes, "biased: objects pushed on an owner's merge queue")                            \
    X(log_full, "buffered: logs handed over because they were full")                               \
    X(log_waits, "buffered: waits for an empty log")                                               \
    X(commit_rounds, "buffered: commit rounds")                                                    \
    X(flushes, "coalesced: delta slots flushed to the global count")                               \
    X(evictions, "coalesced: slots flushed early for a conflicting object")                        \
    X(epochs, "coalesced: epoch ticks")                                                            \
    X(reviews, "coalesced: objects reviewed for freeing")                                          \
    X(lock_acquisitions, "locked, gil, lock schemes: lock acquisitions")                           \
    X(lock_contended, "lock schemes (pymutex, private): acquisitions that found the lock taken")   \
    X(lock_parks, "lock schemes (pymutex, private): waiters queued in the parking lot")            \
    X(lock_wakeups, "lock schemes (pymutex, private): parked waiters woken")                       \
    X(lock_promotions, "private lock: private locks promoted to pymutex")                          \
    X(lock_waits, "gil: waits for the lock (a timed wait on its condition variable)")              \
    X(collections, "deferred, sharded layers: stop-the-world collections, quiesce's included")      \
    X(parks, "deferred, sharded layers: a worker parked for another's collection")                 \
    X(sweeps, "deferred layer: collections that swept (the others owed too few safepoints)")       \
    X(sweep_reads, "deferred layer: stack entries, recorded pops and tracked objects sweeps read") \
    X(pop_reads, "deferred layer: stack entries read by pops of an entry below the top")

#define RS_STAT_MEMBER(name, doc) uint64_t name;

/* Per thread (workers and the helper context), owner only. */
typedef struct rs_stats {
    RS_STAT_FIELDS(RS_STAT_MEMBER)
    uint64_t *delay;          /* pairs (operations, ns), one per measured free */
    uint64_t ndelay, delay_cap;
    uint64_t delay_dropped;   /* frees not measured: out of memory for the samples */
} rs_stats;

/* Per run; arrays have one entry per arena slot. */
typedef struct rs_explain_run {
    int64_t *shadow;          /* true count */
    uint64_t *zero_op;        /* clock of the operation that made it zero; 0: not dead */
    uint64_t *zero_ns;        /* its time */
    uint32_t *last;           /* id1 of the last thread to operate on it */
    uint64_t *cross;          /* operations by a thread other than the previous one */
    uint64_t clock;           /* operations so far, every thread */
    int64_t dead, dead_peak;  /* objects dead but not yet freed */
    uint64_t early_frees;     /* frees of objects whose shadow count was not zero */
} rs_explain_run;

#ifdef RS_EXPLAIN

#define RS_STAT(t, field) ((void)((t)->stats->field++))
#define RS_STAT_ADD(t, field, k) ((void)((t)->stats->field += (k)))

RS_INLINE uint64_t rs_explain_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One performed operation (delta +1 or -1) on slot idx by thread id1. */
static inline void rs_explain_op(rs_explain_run *x, uint32_t id1, uint32_t idx, int delta)
{
    uint64_t now = rs_pr_faa_relaxed(&x->clock, 1) + 1;
    uint32_t prev = rs_pr_load_relaxed(&x->last[idx]);
    if (prev != id1) {
        if (prev)
            rs_pr_faa_relaxed(&x->cross[idx], 1);
        rs_pr_store_relaxed(&x->last[idx], id1);
    }
    /* Acq_rel: the stamps below are ordered after every other thread's operations that led here,
     * and before the free (which reads them after its own acquire of the scheme's hand-off). */
    if (rs_pr_add_fetch_acq_rel(&x->shadow[idx], delta) == 0) {
        rs_pr_store_relaxed(&x->zero_ns[idx], rs_explain_ns());
        rs_pr_store_release(&x->zero_op[idx], now);
        int64_t dead = rs_pr_add_fetch_relaxed(&x->dead, 1), peak = rs_pr_load_relaxed(&x->dead_peak);
        while (dead > peak && !rs_pr_cas_relaxed(&x->dead_peak, &peak, dead))
            ;
    }
}

static inline void rs_explain_new(rs_explain_run *x, uint32_t id1, uint32_t idx)
{
    rs_pr_store_relaxed(&x->shadow[idx], 1);
    rs_pr_store_relaxed(&x->last[idx], id1);
}

/* The scheme frees slot idx: record the delay since its count became zero. */
static inline void rs_explain_free(rs_explain_run *x, rs_stats *st, uint32_t idx)
{
    uint64_t zero = rs_pr_xchg_acquire(&x->zero_op[idx], 0); /* pairs with the release above */
    if (!zero) {
        rs_pr_faa_relaxed(&x->early_frees, 1);
        return;
    }
    rs_pr_add_fetch_relaxed(&x->dead, -1);
    uint64_t ops = rs_pr_load_relaxed(&x->clock) - zero;
    uint64_t ns = rs_explain_ns() - rs_pr_load_relaxed(&x->zero_ns[idx]);
    if (st->ndelay == st->delay_cap) {
        uint64_t cap = st->delay_cap ? 2 * st->delay_cap : 4096;
        uint64_t *grown = cap <= (1u << 26) ? (uint64_t *)realloc(st->delay, cap * 2 * sizeof(uint64_t)) : NULL;
        if (!grown) {
            st->delay_dropped++;
            return;
        }
        st->delay = grown;
        st->delay_cap = cap;
    }
    st->delay[2 * st->ndelay] = ops;
    st->delay[2 * st->ndelay + 1] = ns;
    st->ndelay++;
}

#define RS_EXPLAIN_OP(t, idx, delta) rs_explain_op((t)->run->explain, (t)->id1, (idx), (delta))
#define RS_EXPLAIN_NEW(t, idx) rs_explain_new((t)->run->explain, (t)->id1, (idx))
#define RS_EXPLAIN_FREE(t, o)                                                                      \
    rs_explain_free((t)->run->explain, (t)->stats, rs_obj_index(&(t)->run->arena, (o)))

#else

#define RS_STAT(t, field) ((void)0)
#define RS_STAT_ADD(t, field, k) ((void)(k)) /* k: a local kept for the stat alone */
#define RS_EXPLAIN_OP(t, idx, delta) ((void)0)
#define RS_EXPLAIN_NEW(t, idx) ((void)0)
#define RS_EXPLAIN_FREE(t, o) ((void)0)

#endif

#endif
