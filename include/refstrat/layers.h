/* refstrat/layers.h: per-object modes that compose with any strategy (immortal, deferred, sharded)
 * and the stop-the-world collection that deferred and sharded share.
 *
 * A run honours a set of layers (rs_run.layers: the strategy's own, plus immortal=, deferred=,
 * sharded= of the run); an object takes part through its header flags. The kernels come in two
 * copies per checked flag (refstrat/registry.h): the unlayered copy never looks at the flags; the
 * layered one tests `flags & t->layers` once per operation and, on a hit, takes rs_layer_op:
 * immortal skips the operation (PEP 683), deferred records push/pop on the thread's stack
 * (refstrat/deferred.h), sharded adds to the thread's slot (refstrat/sharded.h). Everything else
 * goes to the scheme. The layered copy's safepoint also runs rs_layers_safepoint, its wait
 * rs_layers_wait.
 *
 * The collection (deferred, sharded): every `collect_interval` safepoints a worker asks for one.
 * It takes the collection right (busy), bumps the stop generation to an odd value and waits until
 * every other online worker has parked at a safepoint for that generation (a worker waiting on
 * another parks from its wait loop, so nobody waits on a parked thread). Each worker flushes its
 * scheme before it parks (biased drains its queue, coalesced flushes its table), so the scheme's
 * count is exact or too high (a biased decrement queued since) at the stop, never too low. The
 * collector then merges every worker's sharded slots, sweeps the deferred candidates (once enough
 * safepoints have passed to pay for it: RS_SWEEP_FLOOR), and ends the stop (even generation) and
 * releases the right. Workers enter and leave holding the right, so the
 * online set is fixed during a collection; a leaver merges its slots then. Quiesce runs a last
 * collection on the main thread, after every worker has left.
 * Cost: the stop, the scan and the resume are paid by the workers (parked time is wall time, the
 * collector's work is in its CPU time); the quiesce collection is in helper_cpu_seconds.
 *
 * Synchronization table:
 *   rs_layer_op(t)          worker t                    its own stack and slots only
 *   rs_layers_safepoint(t)  worker t                    parks while a collection runs
 *   rs_layers_collect(t)    the worker holding busy     every other online worker parked
 *   rs_layers_enter/leave   worker t, taking busy       waits (parking) while a collection runs
 *   rs_layers_quiesce(r)    main thread, after the workers
 */
#ifndef REFSTRAT_LAYERS_H
#define REFSTRAT_LAYERS_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "refstrat/runtime.h"
#include "refstrat/deferred.h"
#include "refstrat/sharded.h"

#define RS_COLLECTED (RS_F_DEFERRED | RS_F_SHARDED) /* the layers that need collections */

typedef struct rs_layer_thread {
    /* owner worker only (the collector reads them while the owner is parked or gone) */
    uint32_t until_collect;      /* safepoints left before this worker asks for a collection */
    const uint32_t *stop;        /* &run->layer->stop, cached for the safepoint's one load */
    rs_deferred_stack stack;     /* deferred objects' stack references */
    rs_deferred_list own;        /* private deferred objects this worker created */
    rs_sharded_slots slots;      /* sharded objects' per-thread counts (NULL: layer off) */
    rs_deferred_stack popped;    /* pops of entries out of a pop's reach (refstrat/deferred.h),
                                  * after the hot fields: only a trace's out-of-order pop uses it */
    char pad_[RS_CACHELINE];
    /* atomic: the owner stores, the collector loads */
    uint32_t parked;             /* the stop generation this worker is parked for, 0 = running */
    int online;                  /* entered and not left; changed only holding busy */
    char pad2_[RS_CACHELINE - sizeof(uint32_t) - sizeof(int)];
} RS_ALIGNED rs_layer_thread;

static inline rs_deferred_stack *rs_deferred_popped(rs_deferred_stack *s)
{
    return &((rs_layer_thread *)((char *)s - offsetof(rs_layer_thread, stack)))->popped;
}

typedef struct rs_layer_run {
    uint32_t busy;               /* atomic: the collection right (a collector, an enter, a leave);
                                  * CAS acq_rel to take, store release to give back */
    char pad_[RS_CACHELINE - sizeof(uint32_t)];
    uint32_t stop;               /* atomic: odd while a collection stops the world; written by
                                  * the collector (release), polled at every safepoint (relaxed,
                                  * then acquire in rs_layers_park) */
    char pad2_[RS_CACHELINE - sizeof(uint32_t)];
    /* written before the start barrier, read-only after */
    rs_obj **byid;               /* sharded: unique id -> object */
    uint32_t nids;
    /* the holder of busy only (a collector; quiesce after every worker has left) */
    rs_deferred_roots roots;     /* the sweep's table of stack entries */
    uint64_t owed;               /* safepoints since the last sweep, as the collections report
                                  * them (saturating) */
} RS_ALIGNED rs_layer_run;

/* A layer's hit: 1 when a layer took the operation, 0 when the scheme does it. Inline: for the
 * objects a layer marks, this is the hot path (CPython's stack references and _Py_INCREF_TYPE are
 * inline stores), and `stackref` and `up` are constants at each kernel site. */
RS_INLINE int rs_layer_op(rs_thread *t, rs_obj *o, uint32_t hit, int up, int stackref)
{
    rs_layer_thread *l = t->layer;
    if ((hit & RS_F_DEFERRED) && stackref) {
        if (up) {
            rs_deferred_push(t, &l->stack, o);
        } else {
            uint32_t reads = rs_deferred_pop(&l->stack, o);
            RS_STAT_ADD(t, pop_reads, reads);
        }
        return 1;
    }
    if (hit & RS_F_SHARDED) {
        rs_sharded_add(&l->slots, o, up ? 1 : -1);
        return 1;
    }
    return 0;
}

/* The count after quiesce (and the collector's): the scheme's, plus the merged sharded counts. */
static inline int64_t rs_layers_count(rs_run *r, rs_obj *o)
{
    int64_t c = r->strategy->count(r, o);
    if (rs_pr_load_plain(&o->flags) & r->layers & RS_F_SHARDED)
        c += (int64_t)rs_pr_load_plain(&o->aux64);
    return c;
}

/* A sweep reads every tracked object, stack entry and recorded pop (its size), whatever changed
 * since the last one, so sweeping at every collection costs size x collections: quadratic in
 * the operations when the size grows with them, as a trace's objects and stack entries do. A
 * collection therefore sweeps only once the safepoints owed since the last sweep cover a quarter
 * of its size beyond a floor (CPython's free-threaded GC likewise collects only once the young
 * objects exceed a quarter of the long-lived ones, gc_should_collect, "to avoid quadratic
 * behavior"): a sweep's size is then at most 4 per safepoint owed plus the floor, and the
 * sweeps' reads (at most 3 per unit of size) linear in the operations. Below the floor every
 * collection sweeps, as before: a small run (every systematic check's) frees at the same
 * collections, with the same primitives in the same order. Quiesce always sweeps. */
#define RS_SWEEP_FLOOR 256

/* With every other online worker parked (or after all have left): merge, then sweep. `owed`:
 * the safepoints this collection stands for (UINT64_MAX at quiesce: sweep). */
static inline void rs_layers_collect(rs_thread *self, uint64_t owed)
{
    rs_run *r = self->run;
    RS_STAT(self, collections);
    rs_layer_run *L = r->layer;
    uint64_t size = 0, tracked = 0, pops = 0;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_layer_thread *l = r->threads[i].layer;
        if (l->slots.count && rs_pr_load_relaxed(&l->online))
            rs_sharded_merge(&l->slots, L->byid, L->nids);
        tracked += l->own.n;
        pops += l->popped.n;
        size += l->stack.n;
    }
    size += tracked + pops;
    L->owed = owed > UINT64_MAX - L->owed ? UINT64_MAX : L->owed + owed;
    if (size > RS_SWEEP_FLOOR && (size - RS_SWEEP_FLOOR) / 4 > L->owed)
        return;
    L->owed = 0;
    RS_STAT(self, sweeps);
    if (!tracked && !pops)
        return; /* nothing to free, nothing to cancel: the stacks need no reading */
    rs_deferred_roots *R = &L->roots;
    if (rs_deferred_roots_reserve(R, size) != 0) {
        rs_run_fail(r, RS_ERR_NOMEM, "deferred: out of memory for the collector's table of roots");
        return; /* nothing freed: a failed run keeps its objects */
    }
    uint64_t reads = 0;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_layer_thread *l = r->threads[i].layer;
        reads += rs_deferred_settle(R, &l->stack, &l->popped);
    }
    if (tracked) {
        for (uint32_t i = 0; i < r->nthreads; i++) {
            rs_deferred_stack *s = &r->threads[i].layer->stack;
            for (uint32_t k = 0; k < s->n; k++)
                rs_deferred_roots_add(R, s->obj[k]);
            reads += s->n;
        }
        for (uint32_t i = 0; i < r->nthreads; i++)
            reads += rs_deferred_sweep(self, &r->threads[i].layer->own, R, rs_layers_count);
        rs_deferred_roots_clear(R);
    }
    RS_STAT_ADD(self, sweep_reads, reads);
}

/* Take the collection right; while a collection holds it, park for it (t is online). */
static inline void rs_layers_take(rs_thread *t, int online);

/* Park until the collection of generation g (odd) is over. */
static RS_NOINLINE void rs_layers_park(rs_thread *t, uint32_t g)
{
    rs_layer_run *L = t->run->layer;
    rs_layer_thread *l = t->layer;
    RS_STAT(t, parks);
    t->run->strategy->flush(t); /* the scheme's count must not be too low at the stop */
    /* Release pairs with the collector's acquire: this worker's stack, slots and counts are
     * visible to it. */
    rs_pr_store_release(&l->parked, g);
    /* Acquire pairs with the collector's release that ends the stop: its merges and frees are
     * visible here. */
    while (rs_pr_load_acquire(&L->stop) == g)
        rs_pr_yield();
    /* Relaxed: a collector waits for its own generation, which a stale value never equals. */
    rs_pr_store_relaxed(&l->parked, 0);
}

static inline void rs_layers_take(rs_thread *t, int online)
{
    rs_layer_run *L = t->run->layer;
    for (;;) {
        uint32_t free_ = 0;
        /* Acq_rel pairs with the release that gives the right back. */
        if (rs_pr_cas_strong_acq_rel(&L->busy, &free_, 1))
            return;
        uint32_t g = rs_pr_load_acquire(&L->stop);
        if (online && (g & 1))
            rs_layers_park(t, g);
        else
            rs_pr_yield();
    }
}

static inline void rs_layers_give(rs_layer_run *L)
{
    rs_pr_store_release(&L->busy, 0); /* pairs with the next taker's CAS */
}

/* Stop the world, collect, resume. t is online and holds no right yet. */
static RS_NOINLINE void rs_layers_stop_and_collect(rs_thread *t)
{
    rs_run *r = t->run;
    rs_layer_run *L = r->layer;
    rs_layer_thread *me = t->layer;
    me->until_collect = r->p.collect_interval;
    uint32_t free_ = 0;
    if (!rs_pr_cas_strong_acq_rel(&L->busy, &free_, 1))
        return; /* another worker collects (or one enters or leaves): we park for it, if at all,
                 * at our next safepoint */
    r->strategy->flush(t);
    uint32_t g = rs_pr_load_relaxed(&L->stop) + 1;
    rs_pr_store_release(&L->stop, g); /* pairs with the workers' acquire in rs_layers_park */
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_layer_thread *l = r->threads[i].layer;
        if (l == me)
            continue;
        /* Acquire pairs with the parker's release: its state is visible from here on. */
        while (rs_pr_load_relaxed(&l->online) && rs_pr_load_acquire(&l->parked) != g) {
            if (rs_run_aborted(r)) { /* a worker failed and will never park: give up the stop */
                rs_pr_store_release(&L->stop, g + 1);
                rs_layers_give(L);
                return;
            }
            rs_pr_yield();
        }
    }
    rs_layers_collect(t, r->p.collect_interval);
    rs_pr_store_release(&L->stop, g + 1);
    rs_layers_give(L);
}

/* The layered copy's addition to every safepoint and wait. */
RS_INLINE void rs_layers_safepoint(rs_thread *t)
{
    rs_layer_thread *l = t->layer;
    if (!l)
        return; /* immortal only: nothing to collect */
    uint32_t g = rs_pr_load_relaxed(l->stop);
    if (RS_UNLIKELY(g & 1))
        rs_layers_park(t, g);
    else if (RS_UNLIKELY(--l->until_collect == 0))
        rs_layers_stop_and_collect(t);
}

/* The layered copy's addition to every wait: park for a collection, never start one (a spinning
 * waiter would otherwise count its spins as safepoints and stop the world again and again). */
RS_INLINE void rs_layers_wait(rs_thread *t)
{
    rs_layer_thread *l = t->layer;
    if (!l)
        return;
    uint32_t g = rs_pr_load_relaxed(l->stop);
    if (RS_UNLIKELY(g & 1))
        rs_layers_park(t, g);
}

static inline void rs_layers_enter(rs_thread *t)
{
    if (!t->layer)
        return;
    rs_layers_take(t, 0);
    rs_pr_store_relaxed(&t->layer->online, 1); /* published by the give's release */
    rs_layers_give(t->run->layer);
}

/* A leaving worker merges its slots (CPython: at thread exit) and goes offline. */
static inline void rs_layers_leave(rs_thread *t)
{
    rs_layer_thread *l = t->layer;
    if (!l)
        return;
    rs_layers_take(t, 1);
    if (l->slots.count)
        rs_sharded_merge(&l->slots, t->run->layer->byid, t->run->layer->nids);
    rs_pr_store_relaxed(&l->online, 0);
    rs_layers_give(t->run->layer);
}

/* Main thread, after the scheme's quiesce: the last collection, on the helper context. */
static inline void rs_layers_quiesce(rs_run *r)
{
    if (r->layer)
        rs_layers_collect(&r->threads[r->nthreads], UINT64_MAX);
}

/* A trace's new object: mark and track it when the trace marks it deferred. */
static inline void rs_layers_new(rs_thread *t, rs_handle h, uint32_t marks)
{
    if (!(marks & t->layers & RS_F_DEFERRED) || !t->layer)
        return;
    rs_pr_store_plain(&h.o->flags, rs_pr_load_plain(&h.o->flags) | RS_F_DEFERRED);
    rs_deferred_track(t, &t->layer->own, h);
}

static inline void rs_layers_fini(rs_run *r)
{
    for (uint32_t i = 0; r->threads && i <= r->nthreads; i++) {
        rs_layer_thread *l = r->threads[i].layer;
        if (l) {
            free(l->stack.obj);
            free(l->popped.obj);
            free(l->own.h);
            free(l->slots.count);
            free(l);
        }
        r->threads[i].layer = NULL;
    }
    if (r->layer) {
        free(r->layer->byid);
        rs_deferred_roots_fini(&r->layer->roots);
    }
    free(r->layer);
    r->layer = NULL;
}

/* After the setup objects exist: the collection state, the unique ids. 0, or -1 out of memory. */
static inline int rs_layers_init(rs_run *r)
{
    if (!(r->layers & RS_COLLECTED))
        return 0;
    rs_layer_run *L = (rs_layer_run *)rs_aligned_alloc(sizeof(rs_layer_run));
    if (!L)
        return -1;
    memset(L, 0, sizeof *L);
    r->layer = L;
    if (r->layers & RS_F_SHARDED) {
        for (uint32_t i = 0; i < r->nshared; i++)
            L->nids += (rs_pr_load_plain(&r->shared[i].o->flags) & RS_F_SHARDED) != 0;
        L->byid = (rs_obj **)malloc(sizeof(rs_obj *) * (L->nids ? L->nids : 1));
        if (!L->byid)
            return -1;
        uint32_t id = 0;
        for (uint32_t i = 0; i < r->nshared; i++) {
            rs_obj *o = r->shared[i].o;
            if (rs_pr_load_plain(&o->flags) & RS_F_SHARDED) {
                rs_pr_store_plain(&o->spare, id);
                rs_pr_store_plain(&o->aux64, 0);
                L->byid[id++] = o;
            }
        }
    }
    size_t slot_bytes = ((sizeof(int64_t) * (L->nids ? L->nids : 1) + RS_CACHELINE - 1) /
                         RS_CACHELINE) * RS_CACHELINE;
    for (uint32_t i = 0; i <= r->nthreads; i++) {
        rs_layer_thread *l = (rs_layer_thread *)rs_aligned_alloc(sizeof(rs_layer_thread));
        if (!l)
            return -1;
        memset(l, 0, sizeof *l);
        r->threads[i].layer = l;
        l->until_collect = r->p.collect_interval;
        l->stop = &L->stop;
        if ((r->layers & RS_F_SHARDED) && i < r->nthreads) {
            l->slots.count = (int64_t *)rs_aligned_alloc(slot_bytes);
            if (!l->slots.count)
                return -1;
            memset(l->slots.count, 0, slot_bytes);
        }
    }
    return 0;
}

#endif
