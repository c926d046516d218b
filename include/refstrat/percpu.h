/* percpu: per-thread counters while an object is live, one biased atomic after kill, as Linux's
 * percpu_ref.
 *
 * Invariant: an object's true count is, in percpu mode (rs_obj.aux == RS_PCPU_PERCPU),
 * rc - RS_PCPU_BIAS + the sum over threads of count[idx]; in atomic mode, after the fold, rc.
 * While the object is in percpu mode (from allocation until its kill), each thread counts its
 * increments and decrements in its own counter with plain operations: no atomics and no zero
 * detection, because rc holds the creator's initial reference plus the bias and cannot be zero.
 * kill (the vocabulary's kill: whoever holds the creator's initial reference drops it) stores
 * atomic mode, starts a grace period (refstrat/grace.h) and drops the initial reference with an
 * atomic decrement of rc; from then on every thread that sees atomic mode counts on rc. A thread
 * may still be between its load of the mode and its per-thread store (percpu_ref's RCU read-side
 * section): the grace period waits for it. Once every online thread has passed a quiescent state
 * (a safepoint or a wait), no thread will touch its counter for this object again and every
 * earlier per-thread update is visible, so the killer folds: it sums and zeroes every thread's
 * counter and adds (sum - RS_PCPU_BIAS) to rc (percpu_ref_switch_to_atomic_rcu).
 *
 * When an object may be freed: only in atomic mode, by the thread whose atomic decrement (or the
 * fold itself) takes rc to zero. In percpu mode never: a zero sum proves nothing (another thread's
 * per-thread store may be in flight). Objects never killed (a trace that releases its last
 * reference with dec, and the setup objects) are folded at quiesce, when every worker has left:
 * "setup objects are killed at quiesce", and an un-killed object whose references are all gone is
 * freed there.
 *
 * Kill points in the workloads (refstrat/workloads.h): the loop kernels' churn replacement and
 * final release of each private object; fib's frame release at return and the caller's release of
 * a fresh (above 256) result int; handoff's consumer release (the producer passes its initial
 * reference through the ring, so the consumer holds it: percpu_ref's owner handing the object on);
 * the trace's ("kill", id).
 *
 * Memory: each worker has one int32 counter per arena slot, allocated at init and indexed by slot
 * (3.14t's per-thread refcount arrays are indexed by a unique id the same way). That is
 * 4 * threads * arena slots bytes; a run needing more than RS_PCPU_MAX_BYTES is refused with an
 * error that says so. A slot's counters are zeroed by the fold that precedes its free, so a reused
 * slot starts at zero. Each worker's array is a separate cache-line-aligned allocation: a worker's
 * counter stores never share a line with another worker's (the fold's reads excepted).
 *
 * Simplifications: the kernel's counters are per CPU and protected by disabled preemption inside
 * an RCU read-side section; here they are per worker thread, and a worker's read-side section is
 * the stretch between two safepoints. The kernel's kill queues an RCU callback; here the killer
 * queues the fold and runs it at a later safepoint (every RS_PCPU_TICK safepoints, or `tick` when
 * smaller, or in wait), driving the epochs itself. No confirm_kill callback, no switch back to
 * percpu mode (percpu_ref_reinit/resurrect), no release callback beyond the free.
 * Sources: Linux include/linux/percpu-refcount.h and lib/percpu-refcount.c (Tejun Heo, 2013);
 * PERCPU_COUNT_BIAS is 1 << (BITS_PER_LONG - 1) on an unsigned long there, 1 << 62 here because
 * rc is a signed 64-bit word.
 *
 * Synchronization table:
 *   incref/decref/safepoint/wait(t)  worker t only      race with kills (mode store) and folds
 *                                                       (reads and zeroes of count[] after a
 *                                                       grace period, when t no longer writes it)
 *   kill(t, o)                       any holder, once   races with everyone's incref/decref of o
 *   fold (rs_pcpu_fold)              the killer, after its grace period; main thread at quiesce
 *   quiesce(r)                       main thread, after every worker has left (joined)
 */
#ifndef REFSTRAT_PERCPU_H
#define REFSTRAT_PERCPU_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "refstrat/grace.h"
#include "refstrat/runtime.h"

#define RS_PCPU_BIAS (1LL << 62)
#define RS_PCPU_TICK 64u                       /* safepoints between grace-period checks */
#define RS_PCPU_MAX_BYTES (1024ull << 20)      /* per-thread counters, all workers together */

enum { RS_PCPU_PERCPU = 0u, RS_PCPU_ATOMIC = 1u }; /* rs_obj.aux; rs_obj_open() sets 0 */

typedef struct rs_pcpu_kill {
    uint32_t idx;
    uint64_t target; /* fold once the grace period ending at this epoch is done */
} rs_pcpu_kill;

typedef struct rs_pcpu_thread {
    /* [capacity]: this worker's share of each percpu-mode object. The worker reads and writes
     * its own entries with plain operations; a fold reads and zeroes them after a grace period
     * (or at quiesce), when this worker no longer touches that entry. */
    int32_t *count;
    /* owner only (the main thread after the worker has left) */
    rs_pcpu_kill *pending;          /* kills waiting for their grace period, oldest first */
    uint32_t npending, pending_cap;
    uint32_t until_tick;            /* safepoints left before the next grace-period check */
} RS_ALIGNED rs_pcpu_thread;

typedef struct rs_pcpu_run {
    rs_grace grace;
    /* read-only during a run */
    rs_pcpu_thread **th;  /* [nthreads] */
    uint32_t tick;        /* min(p.tick, RS_PCPU_TICK), at least 1 */
} RS_ALIGNED rs_pcpu_run;

static inline int rs_percpu_init(rs_run *r)
{
    uint64_t bytes = (uint64_t)r->nthreads * r->arena.capacity * sizeof(int32_t);
    if (bytes > RS_PCPU_MAX_BYTES) {
        char msg[200];
        snprintf(msg, sizeof msg, "percpu: per-thread counters need %llu bytes (4 x %u threads x "
                 "%u slots), more than its limit of %llu; use fewer threads or a smaller arena_size",
                 (unsigned long long)bytes, r->nthreads, r->arena.capacity,
                 (unsigned long long)RS_PCPU_MAX_BYTES);
        rs_run_fail(r, RS_ERR_CONFIG, msg);
        return -1;
    }
    rs_pcpu_run *s = (rs_pcpu_run *)rs_aligned_alloc(sizeof(rs_pcpu_run));
    if (!s)
        return -1;
    memset(s, 0, sizeof *s);
    r->s = s;
    s->tick = r->p.tick && r->p.tick < RS_PCPU_TICK ? r->p.tick : RS_PCPU_TICK;
    s->th = (rs_pcpu_thread **)calloc(r->nthreads ? r->nthreads : 1, sizeof(rs_pcpu_thread *));
    if (!s->th || rs_grace_init(&s->grace, r->nthreads) != 0)
        return -1;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_pcpu_thread *c = (rs_pcpu_thread *)rs_aligned_alloc(sizeof(rs_pcpu_thread));
        if (!c)
            return -1;
        memset(c, 0, sizeof *c);
        s->th[i] = c;
        r->threads[i].s = c;
        c->until_tick = s->tick;
        c->count = (int32_t *)rs_aligned_alloc(sizeof(int32_t) * (r->arena.capacity ? r->arena.capacity : 1));
        if (!c->count)
            return -1;
        memset(c->count, 0, sizeof(int32_t) * r->arena.capacity);
    }
    return 0;
}

static inline void rs_percpu_fini(rs_run *r)
{
    rs_pcpu_run *s = (rs_pcpu_run *)r->s;
    if (!s)
        return;
    for (uint32_t i = 0; s->th && i < r->nthreads; i++) {
        if (s->th[i]) {
            free(s->th[i]->count);
            free(s->th[i]->pending);
        }
        free(s->th[i]);
        r->threads[i].s = NULL;
    }
    free(s->th);
    rs_grace_fini(&s->grace);
    free(s);
    r->s = NULL;
}

/* percpu_ref_init: the initial reference and the bias both live in rc. Setup objects too: they
 * are killed at quiesce. Plain: the object reaches other threads only through a release. */
static inline void rs_percpu_obj_init(rs_thread *t, rs_obj *o)
{
    (void)t;
    rs_pr_store_plain(&o->rc, 1 + RS_PCPU_BIAS);
}

RS_INLINE int32_t *rs_pcpu_slot(rs_thread *t, rs_obj *o)
{
    return &((rs_pcpu_thread *)t->s)->count[rs_obj_index(&t->run->arena, o)];
}

RS_INLINE void rs_percpu_incref(rs_thread *t, rs_obj *o)
{
    /* Relaxed: a kill's mode store is ordered for this thread by the grace period (its quiescent
     * state reads an epoch that follows the kill's rs_grace_start), not by this load. */
    if (RS_LIKELY(rs_pr_load_relaxed(&o->aux) == RS_PCPU_PERCPU)) {
        int32_t *c = rs_pcpu_slot(t, o);
        rs_pr_store_plain(c, rs_pr_load_plain(c) + 1);
        return;
    }
    RS_STAT(t, slow);
    /* Relaxed: an increment publishes nothing (the thread already holds a reference). */
    rs_pr_faa_relaxed(&o->rc, 1);
}

RS_INLINE void rs_percpu_decref(rs_thread *t, rs_obj *o)
{
    if (RS_LIKELY(rs_pr_load_relaxed(&o->aux) == RS_PCPU_PERCPU)) {
        int32_t *c = rs_pcpu_slot(t, o);
        rs_pr_store_plain(c, rs_pr_load_plain(c) - 1); /* no zero test: percpu_ref_put */
        return;
    }
    RS_STAT(t, slow);
    /* Acq_rel: the release orders this thread's accesses before its drop; the acquire of the
     * decrement that reaches zero (or of the fold's add) makes every earlier one visible to the
     * freer (as Linux refcount_dec_and_test). */
    if (rs_pr_sub_fetch_acq_rel(&o->rc, 1) == 0)
        rs_free(t, o);
}

/* Sum and zero every worker's counter for o and take the bias out; free when nothing is left.
 * Called once no worker can touch those counters: after the grace period, or at quiesce. */
static inline void rs_pcpu_fold(rs_thread *t, rs_obj *o)
{
    rs_run *r = t->run;
    rs_pcpu_run *s = (rs_pcpu_run *)r->s;
    uint32_t idx = rs_obj_index(&r->arena, o);
    int64_t sum = 0;
    /* Plain: the grace period (rs_grace_done's acquire, through the advancer's acquire of each
     * worker's quiescent state) orders every worker's last store to its entry before these. */
    for (uint32_t i = 0; i < r->nthreads; i++) {
        sum += rs_pr_load_plain(&s->th[i]->count[idx]);
        rs_pr_store_plain(&s->th[i]->count[idx], 0);
    }
    RS_STAT(t, flushes);
    /* Acq_rel, as a decrement: the release orders the zeroing before the free and any reuse of
     * the slot; the acquire sees every atomic decrement before this add. */
    if (rs_pr_add_fetch_acq_rel(&o->rc, sum - RS_PCPU_BIAS) == 0)
        rs_free(t, o);
}

/* percpu_ref_kill: atomic mode, a grace period, then the initial reference's put. */
static inline void rs_percpu_kill(rs_thread *t, rs_obj *o)
{
    rs_run *r = t->run;
    rs_pcpu_run *s = (rs_pcpu_run *)r->s;
    rs_pcpu_thread *c = (rs_pcpu_thread *)t->s;
    RS_STAT(t, slow);
    /* Relaxed: rs_grace_start's release (an RMW the later epoch advances continue) publishes it
     * to every thread that passes a quiescent state in the grace period. */
    rs_pr_store_relaxed(&o->aux, RS_PCPU_ATOMIC);
    uint64_t target = rs_grace_start(&s->grace);
    if (c->npending == c->pending_cap) {
        uint32_t cap = c->pending_cap ? 2 * c->pending_cap : 256;
        rs_pcpu_kill *np = (rs_pcpu_kill *)realloc(c->pending, sizeof(*np) * cap);
        if (!np) {
            rs_run_fail(r, RS_ERR_NOMEM, "percpu: out of memory for the pending kills");
            return;
        }
        c->pending = np;
        c->pending_cap = cap;
    }
    c->pending[c->npending].idx = rs_obj_index(&r->arena, o);
    c->pending[c->npending].target = target;
    c->npending++;
    /* The initial reference, atomically: the bias keeps rc above zero until the fold. */
    if (rs_pr_sub_fetch_acq_rel(&o->rc, 1) == 0)
        rs_free(t, o);
}

/* Fold the kills whose grace period is over (targets grow in queue order). */
static inline void rs_pcpu_fold_ready(rs_thread *t)
{
    rs_pcpu_run *s = (rs_pcpu_run *)t->run->s;
    rs_pcpu_thread *c = (rs_pcpu_thread *)t->s;
    uint32_t k = 0;
    while (k < c->npending && rs_grace_done(&s->grace, c->pending[k].target))
        rs_pcpu_fold(t, rs_obj_at(&t->run->arena, c->pending[k++].idx));
    if (k) {
        memmove(c->pending, c->pending + k, sizeof(*c->pending) * (c->npending - k));
        c->npending -= k;
    }
}

static RS_NOINLINE void rs_pcpu_tick(rs_thread *t)
{
    rs_pcpu_run *s = (rs_pcpu_run *)t->run->s;
    ((rs_pcpu_thread *)t->s)->until_tick = s->tick;
    RS_STAT(t, epochs);
    rs_grace_try_advance(&s->grace);
    rs_pcpu_fold_ready(t);
}

RS_INLINE void rs_percpu_safepoint(rs_thread *t)
{
    rs_pcpu_thread *c = (rs_pcpu_thread *)t->s;
    rs_grace_quiescent(&((rs_pcpu_run *)t->run->s)->grace, t->index);
    if (RS_UNLIKELY(c->npending) && --c->until_tick == 0)
        rs_pcpu_tick(t);
}

/* A forced safepoint: announce, advance, fold what is ready. */
static inline void rs_percpu_flush(rs_thread *t)
{
    rs_grace_quiescent(&((rs_pcpu_run *)t->run->s)->grace, t->index);
    rs_pcpu_tick(t);
}

static inline void rs_percpu_wait(rs_thread *t)
{
    rs_percpu_flush(t);
    rs_pr_spin();
}

static inline void rs_percpu_enter(rs_thread *t)
{
    rs_grace_online(&((rs_pcpu_run *)t->run->s)->grace, t->index);
}

/* Offline after the last per-thread store: it happens before any epoch that skips this worker.
 * Pending kills stay queued for quiesce. */
static inline void rs_percpu_leave(rs_thread *t)
{
    rs_grace_offline(&((rs_pcpu_run *)t->run->s)->grace, t->index);
}

#define rs_percpu_start rs_noop_init

/* Fold the objects of slots [from, to), all opened at some time, that are still in percpu mode.
 * Those are live: an object is freed only in atomic mode (the invariant). A checked run also
 * tests the generation, so that a broken variant's freed slot is not folded; the unchecked runs'
 * pool objects carry none (refstrat/object.h). */
static inline void rs_pcpu_fold_opened(rs_run *r, rs_thread *helper, uint32_t from, uint32_t to)
{
    for (uint32_t idx = from; idx < to; idx++) {
        rs_obj *o = rs_obj_at(&r->arena, idx);
        if (rs_pr_load_relaxed(&o->aux) == RS_PCPU_PERCPU &&
            (!r->p.checked || rs_gen_live(rs_pr_load_relaxed(&o->gen)))) {
            rs_pr_store_relaxed(&o->aux, RS_PCPU_ATOMIC);
            rs_pcpu_fold(helper, o);
        }
    }
}

/* Every worker has left and was joined: no grace period is needed any more. Fold the pending
 * kills, then every object still in percpu mode (setup objects, and private objects nobody
 * killed): afterwards every live object is in atomic mode and rc is its exact count. */
static inline void rs_percpu_quiesce(rs_run *r)
{
    rs_thread *helper = &r->threads[r->nthreads];
    rs_pcpu_run *s = (rs_pcpu_run *)r->s;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_pcpu_thread *c = s->th[i];
        for (uint32_t k = 0; k < c->npending; k++)
            rs_pcpu_fold(helper, rs_obj_at(&r->arena, c->pending[k].idx));
        c->npending = 0;
    }
    rs_pcpu_fold_opened(r, helper, 0, r->arena.nsetup);
    for (uint32_t i = 0; i < r->arena.npools; i++)
        rs_pcpu_fold_opened(r, helper, r->arena.pools[i].begin, r->arena.pools[i].bump);
}

/* The true count (see the invariant); exact on the main thread after quiesce, and in a stepping
 * run (one thread). */
static inline int64_t rs_percpu_count(rs_run *r, rs_obj *o)
{
    int64_t v = rs_pr_load_relaxed(&o->rc);
    if (rs_pr_load_relaxed(&o->aux) == RS_PCPU_ATOMIC)
        return v;
    rs_pcpu_run *s = (rs_pcpu_run *)r->s;
    uint32_t idx = rs_obj_index(&r->arena, o);
    for (uint32_t i = 0; i < r->nthreads; i++)
        v += rs_pr_load_plain(&s->th[i]->count[idx]);
    return v - RS_PCPU_BIAS;
}

#endif
