/* biased: biased reference counting, as CPython's free-threaded build does it (PEP 703).
 *
 * Fields: rs_obj.owner is ob_tid (the owning worker's id1; 0 = unowned, i.e. merged), rs_obj.local
 * is ob_ref_local (written only by the owner, no atomics), rs_obj.rc is ob_ref_shared (atomic; the
 * low two bits are flags: QUEUED 0x2, MERGED 0x3; the count is rc >> 2 and may be negative).
 * Invariant: true count = local + (rc >> 2), plus one for each queued, not yet merged decrement
 * being still counted (a queued object's pending decrement is applied by the merge, extra = -1).
 *
 * incref: the owner adds to local; any other thread atomically adds 1 << 2 to rc.
 * decref by the owner: local - 1; at zero, merge: rc == 0 frees at once, otherwise the owner gives
 * the object up (owner = 0) and sets MERGED; a merged count of zero frees.
 * decref by another thread, a CAS loop on rc: when rc is 0 it does not subtract but sets QUEUED and
 * pushes the object on the owner's merge queue (the queue holds that reference); otherwise it
 * subtracts 1 << 2 and frees when the result is exactly MERGED (a merged count of zero).
 * The owner drains its queue at safepoints: for each object, an explicit merge with extra = -1
 * (local and rc folded into rc | MERGED, owner = 0), freeing at zero. A worker that leaves drains
 * its queue and is marked gone under its queue lock; later queuers merge on the spot.
 * When an object may be freed: only when local + (rc >> 2) + pending queued decrements is zero,
 * decided by exactly one thread (the owner's local drop to zero with rc == 0, the CAS that makes rc
 * exactly MERGED, or the merge that computes zero).
 * Simplifications: the header's immortal flag replaces local == UINT32_MAX; no weakrefs
 * (MAYBE_WEAKREF is never set); merge queues are intrusive lists through rs_obj.next under a
 * per-worker mutex (CPython: a per-thread array in a mutex-protected hash bucket).
 * Sources: Choi, Shull, Torrellas, "Biased Reference Counting" (PACT 2018); PEP 703; CPython
 * Include/internal/pycore_object.h, Objects/object.c (_Py_DecRefShared, _Py_MergeZeroLocalRefcount,
 * _Py_ExplicitMergeRefcount) and Python/brc.c.
 *
 * Synchronization table:
 *   incref/decref(t, o)     any worker     races with every other worker's incref/decref of o
 *   safepoint/wait(t)       worker t       drains t's queue; races with queuers (queue lock)
 *   leave(t)                worker t       races with queuers (queue lock)
 */
#ifndef REFSTRAT_BIASED_H
#define REFSTRAT_BIASED_H

#include <stdlib.h>
#include <string.h>
#include "refstrat/runtime.h"

#define RS_BRC_SHIFT 2
#define RS_BRC_QUEUED 0x2
#define RS_BRC_MERGED 0x3
#define RS_BRC_FLAGS 0x3

typedef struct rs_brc_thread {
    int pending;              /* atomic: the queue is not empty (a hint polled at safepoints) */
    char pad_[RS_CACHELINE - sizeof(int)];
    pthread_mutex_t lock;     /* guards head and alive */
    uint32_t head;            /* merge queue, linked through rs_obj.next */
    int alive;                /* the worker is in its kernel and will drain its queue */
} RS_ALIGNED rs_brc_thread;

static inline int rs_biased_init(rs_run *r)
{
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_brc_thread *b = (rs_brc_thread *)rs_aligned_alloc(sizeof(rs_brc_thread));
        if (!b)
            return -1;
        memset(b, 0, sizeof *b);
        rs_pr_mutex_init(&b->lock);
        b->head = RS_NIL;
        r->threads[i].s = b;
    }
    return 0;
}

static inline void rs_biased_fini(rs_run *r)
{
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_brc_thread *b = (rs_brc_thread *)r->threads[i].s;
        if (b) {
            rs_pr_mutex_destroy(&b->lock);
            free(b);
        }
        r->threads[i].s = NULL;
    }
}

RS_INLINE void rs_biased_obj_init(rs_thread *t, rs_obj *o)
{
    rs_pr_store_plain(&o->local, 1);
    rs_pr_store_plain(&o->rc, 0);
    rs_pr_store_relaxed(&o->owner, t->id1);
}

RS_INLINE int rs_brc_is_owner(rs_thread *t, rs_obj *o)
{
    return rs_pr_load_relaxed(&o->owner) == t->id1;
}

/* Fold local into shared, adding extra; the caller owns o or its owner is gone. Returns the count.
 * local and owner are cleared before the CAS, not after it (as rs_brc_merge_zero clears owner):
 * once the CAS has published a merged count, another holder may drop the last reference and free
 * the object at once, so a store after it would write to a freed, perhaps reused, slot (found by
 * the C11 model as a data race with the free; CPython fixed the same order in gh-119999, and
 * 3.13's _Py_ExplicitMergeRefcount stores ob_ref_local and ob_tid before its CAS, as here).
 * Nothing reads them meanwhile: local is the owner's (this thread, or gone), and a non-owner that
 * reads owner == 0 takes the shared path, as it would once merged. Relaxed: the CAS's release
 * orders them before any later access. */
static inline int64_t rs_brc_merge(rs_obj *o, int64_t extra)
{
    int64_t shared = rs_pr_load_relaxed(&o->rc), count, want;
    const int64_t local = (int64_t)rs_pr_load_plain(&o->local);
    rs_pr_store_relaxed(&o->local, 0);
    rs_pr_store_relaxed(&o->owner, 0);
    do {
        count = (shared >> RS_BRC_SHIFT) + local + extra;
        want = (int64_t)((uint64_t)count << RS_BRC_SHIFT) | RS_BRC_MERGED;
        /* Acq_rel: as a decrement, it releases this thread's accesses (the two stores above
         * included) to whoever frees o, paired with that thread's acquire (a non-owner's CAS
         * reading this merged count, or the merge of a queued decrement); its acquire pairs with
         * the release of the other holders' shared decrements. */
    } while (!rs_pr_cas_acq_rel(&o->rc, &shared, want));
    return count;
}

RS_INLINE void rs_biased_incref(rs_thread *t, rs_obj *o)
{
    if (RS_LIKELY(rs_brc_is_owner(t, o)))
        rs_pr_store_relaxed(&o->local, rs_pr_load_plain(&o->local) + 1);
    else {
        RS_STAT(t, slow);
        rs_pr_faa_relaxed(&o->rc, (int64_t)1 << RS_BRC_SHIFT);
    }
}

/* The owner's local count reached zero (_Py_MergeZeroLocalRefcount). */
static RS_NOINLINE void rs_brc_merge_zero(rs_thread *t, rs_obj *o)
{
    /* Acquire pairs with the release of other threads' shared decrements. */
    int64_t shared = rs_pr_load_acquire(&o->rc), want;
    if (shared == 0) {
        rs_free(t, o);
        return;
    }
    RS_STAT(t, merges);
    rs_pr_store_relaxed(&o->owner, 0);
    do {
        want = (shared & ~(int64_t)RS_BRC_FLAGS) | RS_BRC_MERGED;
        /* Acq_rel: as rs_brc_merge(). */
    } while (!rs_pr_cas_acq_rel(&o->rc, &shared, want));
    if (want == RS_BRC_MERGED)
        rs_free(t, o);
}

/* Give o to its owner's merge queue, or merge it here when the owner is gone (_Py_brc_queue_object). */
static RS_NOINLINE void rs_brc_queue(rs_thread *t, rs_obj *o)
{
    rs_run *r = t->run;
    uint32_t owner = rs_pr_load_relaxed(&o->owner);
    if (owner >= 1 && owner <= r->nthreads) {
        rs_brc_thread *b = (rs_brc_thread *)r->threads[owner - 1].s;
        rs_pr_mutex_lock(&b->lock);
        if (rs_pr_load_plain(&b->alive)) {
            rs_pr_store_plain(&o->next, rs_pr_load_plain(&b->head));
            rs_pr_store_plain(&b->head, rs_obj_index(&r->arena, o));
            rs_pr_store_relaxed(&b->pending, 1);
            rs_pr_mutex_unlock(&b->lock);
            RS_STAT(t, queue_pushes);
            return;
        }
        rs_pr_mutex_unlock(&b->lock);
    }
    RS_STAT(t, merges);
    if (rs_brc_merge(o, -1) == 0)
        rs_free(t, o);
}

/* A non-owner's decrement (_Py_DecRefShared). */
static RS_NOINLINE void rs_brc_decref_shared(rs_thread *t, rs_obj *o)
{
    int64_t shared = rs_pr_load_relaxed(&o->rc), want;
    int queue;
    RS_STAT(t, slow);
    do {
        queue = shared == 0;
        want = queue ? RS_BRC_QUEUED : shared - ((int64_t)1 << RS_BRC_SHIFT);
        /* Release: this thread's accesses to o happen before whoever frees it. */
    } while (!rs_pr_cas_acq_rel(&o->rc, &shared, want));
    if (queue)
        rs_brc_queue(t, o);
    else if (want == RS_BRC_MERGED)
        rs_free(t, o);
}

/* The owner's decrement: plain store, merge at zero. */
RS_INLINE void rs_brc_decref_local(rs_thread *t, rs_obj *o)
{
    uint32_t local = rs_pr_load_plain(&o->local) - 1;
    rs_pr_store_relaxed(&o->local, local);
    if (RS_UNLIKELY(local == 0))
        rs_brc_merge_zero(t, o);
}

RS_INLINE void rs_biased_decref(rs_thread *t, rs_obj *o)
{
    if (RS_LIKELY(rs_brc_is_owner(t, o)))
        rs_brc_decref_local(t, o);
    else
        rs_brc_decref_shared(t, o);
}

static inline void rs_brc_merge_list(rs_thread *t, uint32_t idx)
{
    const rs_arena *a = &t->run->arena;
    while (idx != RS_NIL) {
        rs_obj *o = rs_obj_at(a, idx);
        idx = rs_pr_load_plain(&o->next); /* before the merge: a free may hand the slot on */
        RS_STAT(t, merges);
        if (rs_brc_merge(o, -1) == 0)
            rs_free(t, o);
    }
}

static RS_NOINLINE void rs_brc_drain(rs_thread *t)
{
    rs_brc_thread *b = (rs_brc_thread *)t->s;
    rs_pr_mutex_lock(&b->lock);
    uint32_t head = rs_pr_load_plain(&b->head);
    rs_pr_store_plain(&b->head, RS_NIL);
    rs_pr_store_relaxed(&b->pending, 0);
    rs_pr_mutex_unlock(&b->lock);
    rs_brc_merge_list(t, head);
}

RS_INLINE void rs_biased_safepoint(rs_thread *t)
{
    rs_brc_thread *b = (rs_brc_thread *)t->s;
    if (RS_UNLIKELY(rs_pr_load_relaxed(&b->pending)))
        rs_brc_drain(t);
}

static inline void rs_biased_wait(rs_thread *t)
{
    rs_biased_safepoint(t);
    rs_pr_spin();
}

static inline void rs_biased_flush(rs_thread *t) { rs_brc_drain(t); }

static inline void rs_biased_enter(rs_thread *t)
{
    rs_brc_thread *b = (rs_brc_thread *)t->s;
    rs_pr_mutex_lock(&b->lock);
    rs_pr_store_plain(&b->alive, 1);
    rs_pr_mutex_unlock(&b->lock);
}

/* _Py_brc_remove_thread: drain and mark gone under the lock, so no object is queued afterwards. */
static inline void rs_biased_leave(rs_thread *t)
{
    rs_brc_thread *b = (rs_brc_thread *)t->s;
    rs_pr_mutex_lock(&b->lock);
    rs_pr_store_plain(&b->alive, 0);
    uint32_t head = rs_pr_load_plain(&b->head);
    rs_pr_store_plain(&b->head, RS_NIL);
    rs_pr_store_relaxed(&b->pending, 0);
    rs_pr_mutex_unlock(&b->lock);
    rs_brc_merge_list(t, head);
}

#define rs_biased_start rs_noop_init
#define rs_biased_quiesce rs_noop_run

static inline int64_t rs_biased_count(rs_run *r, rs_obj *o)
{
    (void)r;
    return (int64_t)rs_pr_load_plain(&o->local) + (rs_pr_load_plain(&o->rc) >> RS_BRC_SHIFT);
}

#endif
