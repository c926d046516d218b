/* coalesced: per-thread delta tables with epoch-confirmed frees, as in Refcache.
 *
 * Invariant: the true count of an object is rs_obj.rc (the global count, atomic) plus the delta
 * every worker holds for it in its table. A worker's incref/decref touches only its own table, no
 * atomics: the table is direct-mapped by object index; a conflicting slot is flushed (rc += delta,
 * one atomic add) before it is reused. So a zero global count proves nothing by itself.
 *
 * Epochs (refstrat/grace.h): every `tick` safepoints a worker flushes every slot it used, zero
 * deltas included, and then announces a quiescent state in the epoch it read before the flush; the
 * global epoch advances once every online worker has flushed in the current one.
 *
 * When an object may be freed: when a flush leaves rc == 0, the flushing worker queues the object
 * for review at global epoch + 2 (or, when a review is already pending, marks it dirty). The review
 * runs once the global epoch has reached that value, i.e. after every worker has flushed its whole
 * table at least once since the zero was seen: rc != 0 drops the review; rc == 0 and dirty
 * re-queues it two epochs later; rc == 0 and clean frees it. Flushing zero deltas matters: a
 * worker that touched the object after the zero marks it dirty even when its net delta is zero.
 * A flush marks a pending review dirty *before* it changes the count, so that no review can end
 * between a flush's add and its zero test: sv6 does the two under the object's lock; split, a
 * reviewer could free the object the flusher then queues again (a double free the check build
 * found: a PCT search over hand-off programs, then an exhaustive search at 3 preemptions).
 * Frees happen on the reviewing worker (or the main thread at quiesce).
 *
 * Simplifications: sv6 keys its 4096-slot table by pointer hash and ticks on a 10 ms timer; refstrat
 * keys by arena index and ticks by safepoint count (`tick`, default 16384), so runs are
 * reproducible and cost no clock reads on the hot path.
 * Source: Clements, Kaashoek, Zeldovich, "RadixVM: Scalable address spaces for multithreaded
 * applications" (EuroSys 2013), section on Refcache; coalescing after Levanoni and Petrank
 * (OOPSLA 2001).
 *
 * Synchronization table (the epochs' own is in refstrat/grace.h):
 *   incref/decref/safepoint/wait(t)  worker t only        race with other workers' flushes/reviews
 *   rs_coalesced_quiesce(r)          main thread          after every worker has left
 */
#ifndef REFSTRAT_COALESCED_H
#define REFSTRAT_COALESCED_H

#include <stdlib.h>
#include <string.h>
#include "refstrat/grace.h"
#include "refstrat/runtime.h"

#define RS_COAL_SLOTS 4096 /* per worker, as sv6 */

enum { RS_REVIEW_PENDING = 1u, RS_REVIEW_DIRTY = 2u }; /* bits of rs_obj.aux */

typedef struct rs_coal_slot {
    uint32_t idx;   /* object in this slot, RS_NIL when empty */
    int32_t delta;
} rs_coal_slot;

typedef struct rs_coal_review {
    uint32_t idx;
    uint64_t epoch; /* review once the global epoch has reached this */
} rs_coal_review;

typedef struct rs_coal_thread {
    /* owner worker only (the main thread after the worker has left) */
    rs_coal_slot slot[RS_COAL_SLOTS];
    uint16_t used[RS_COAL_SLOTS];   /* indices of non-empty slots */
    uint32_t nused;
    uint32_t until_tick;            /* safepoints left before the next tick */
    rs_coal_review *review;         /* growable review queue */
    uint32_t nreview, review_cap;
} RS_ALIGNED rs_coal_thread;

typedef struct rs_coal_run {
    rs_grace grace;  /* the epochs: a worker's quiescent state is a flush of its whole table */
    /* What a flush that leaves the global count at zero does: rs_coal_queue_review; what a flush
     * of an object whose review is pending and clean does before it adds: rs_coal_mark_dirty.
     * Fields (read-only during a run) so that a variant of the scheme (tests/broken) reuses the
     * rest; the second is called only while a review is pending, off the common path. */
    void (*on_zero)(rs_thread *t, rs_obj *o);
    void (*on_pending)(rs_obj *o);
} RS_ALIGNED rs_coal_run;

static void rs_coal_queue_review(rs_thread *t, rs_obj *o);
static void rs_coal_mark_dirty(rs_obj *o);

static inline int rs_coalesced_init(rs_run *r)
{
    rs_coal_run *s = (rs_coal_run *)rs_aligned_alloc(sizeof(rs_coal_run));
    if (!s)
        return -1;
    memset(s, 0, sizeof *s);
    s->on_zero = rs_coal_queue_review;
    s->on_pending = rs_coal_mark_dirty;
    r->s = s;
    if (rs_grace_init(&s->grace, r->nthreads) != 0)
        return -1;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_coal_thread *c = (rs_coal_thread *)rs_aligned_alloc(sizeof(rs_coal_thread));
        if (!c)
            return -1;
        memset(c, 0, sizeof *c);
        for (int k = 0; k < RS_COAL_SLOTS; k++)
            c->slot[k].idx = RS_NIL;
        c->until_tick = r->p.tick;
        r->threads[i].s = c;
    }
    return 0;
}

static inline void rs_coalesced_fini(rs_run *r)
{
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_coal_thread *c = (rs_coal_thread *)r->threads[i].s;
        if (c)
            free(c->review);
        free(c);
        r->threads[i].s = NULL;
    }
    if (r->s)
        rs_grace_fini(&((rs_coal_run *)r->s)->grace);
    free(r->s);
    r->s = NULL;
}

#define rs_coalesced_obj_init rs_plain_obj_init

/* A flush left the global count at zero: queue a review, or mark the pending one dirty. One CAS
 * for the whole transition, so that a reviewer clearing the state (rs_coal_review_queue) either
 * sees the dirty mark or makes this flush queue a fresh review. */
static RS_NOINLINE void rs_coal_queue_review(rs_thread *t, rs_obj *o)
{
    rs_run *r = t->run;
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    rs_coal_run *s = (rs_coal_run *)r->s;
    uint32_t old = rs_pr_load_relaxed(&o->aux), want;
    do {
        want = (old & RS_REVIEW_PENDING) ? (old | RS_REVIEW_DIRTY) : RS_REVIEW_PENDING;
        /* Acq_rel pairs with the reviewer's CAS that ends a review. */
    } while (!rs_pr_cas_acq_rel(&o->aux, &old, want));
    if (old & RS_REVIEW_PENDING)
        return;
    if (c->nreview == c->review_cap) {
        uint32_t cap = c->review_cap ? 2 * c->review_cap : 256;
        rs_coal_review *nr = (rs_coal_review *)realloc(c->review, sizeof(*nr) * cap);
        if (!nr) {
            rs_run_fail(r, RS_ERR_NOMEM, "coalesced: out of memory for the review queue");
            return;
        }
        c->review = nr;
        c->review_cap = cap;
    }
    rs_coal_review *e = &c->review[c->nreview++];
    e->idx = rs_obj_index(&r->arena, o);
    e->epoch = rs_grace_read(&s->grace) + 2;
}

/* A flush is about to add to (or read) the count of an object under review: mark the review dirty
 * first. A reviewer that then reads a zero count fails its CAS from "pending, clean" and re-queues,
 * so it cannot free the object before this flush's zero test has queued or marked its review. */
static void rs_coal_mark_dirty(rs_obj *o)
{
    uint32_t old = RS_REVIEW_PENDING;
    /* Acq_rel pairs with the reviewer's CAS that ends a review. Fails when the review ended or
     * is dirty already: nothing to do either way. */
    rs_pr_cas_acq_rel(&o->aux, &old, RS_REVIEW_PENDING | RS_REVIEW_DIRTY);
}
RS_INLINE void rs_coal_flush_slot(rs_thread *t, rs_coal_slot *sl)
{
    rs_obj *o = rs_obj_at(&t->run->arena, sl->idx);
    int64_t v;
    RS_STAT(t, flushes);
    /* Acquire pairs with the CAS that queued the review (rs_coal_queue_review). */
    if (RS_UNLIKELY(rs_pr_load_acquire(&o->aux) == RS_REVIEW_PENDING))
        ((rs_coal_run *)t->run->s)->on_pending(o);
    /* Acq_rel: the release publishes this worker's accesses before its share of the count; the
     * acquire lets a worker that sees zero see every other flush that led to it. */
    if (sl->delta)
        v = rs_pr_add_fetch_acq_rel(&o->rc, (int64_t)sl->delta);
    else
        v = rs_pr_load_acquire(&o->rc);
    sl->delta = 0;
    if (v == 0)
        ((rs_coal_run *)t->run->s)->on_zero(t, o);
}

RS_INLINE void rs_coal_change(rs_thread *t, rs_obj *o, int32_t d)
{
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    uint32_t idx = rs_obj_index(&t->run->arena, o);
    uint32_t k = idx & (RS_COAL_SLOTS - 1);
    rs_coal_slot *sl = &c->slot[k];
    if (RS_LIKELY(sl->idx == idx)) {
        sl->delta += d;
        return;
    }
    if (sl->idx == RS_NIL)
        c->used[c->nused++] = (uint16_t)k;
    else {
        RS_STAT(t, evictions);
        RS_STAT(t, slow);
        rs_coal_flush_slot(t, sl); /* conflict: the table is "full" here */
    }
    sl->idx = idx;
    sl->delta = d;
}

RS_INLINE void rs_coalesced_incref(rs_thread *t, rs_obj *o) { rs_coal_change(t, o, 1); }
RS_INLINE void rs_coalesced_decref(rs_thread *t, rs_obj *o) { rs_coal_change(t, o, -1); }

static inline void rs_coal_flush_all(rs_thread *t)
{
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    for (uint32_t i = 0; i < c->nused; i++) {
        rs_coal_slot *sl = &c->slot[c->used[i]];
        rs_coal_flush_slot(t, sl);
        sl->idx = RS_NIL;
    }
    c->nused = 0;
}

/* Review the queued objects whose epoch has come; `freer` does the frees. */
static inline void rs_coal_review_queue(rs_run *r, rs_coal_thread *c, rs_thread *freer)
{
    rs_coal_run *s = (rs_coal_run *)r->s;
    uint64_t now = rs_grace_read(&s->grace);
    uint32_t keep = 0;
    for (uint32_t i = 0; i < c->nreview; i++) {
        rs_coal_review e = c->review[i];
        rs_obj *o = rs_obj_at(&r->arena, e.idx);
        if (e.epoch > now) {
            c->review[keep++] = e;
            continue;
        }
        RS_STAT(freer, reviews);
        /* Ending a review is a CAS from "pending, clean": a flush that reached zero meanwhile has
         * set dirty (the CAS fails and the review goes on two epochs later) or will queue anew. */
        uint32_t clean = RS_REVIEW_PENDING;
        int zero = rs_pr_load_acquire(&o->rc) == 0;
        if (rs_pr_cas_strong_acq_rel_acquire(&o->aux, &clean, 0)) {
            if (zero)
                rs_free(freer, o);
        } else {
            rs_pr_store_release(&o->aux, RS_REVIEW_PENDING);
            e.epoch = now + 2;
            c->review[keep++] = e;
        }
    }
    c->nreview = keep;
}

static RS_NOINLINE void rs_coal_tick(rs_thread *t)
{
    rs_run *r = t->run;
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    rs_coal_run *s = (rs_coal_run *)r->s;
    c->until_tick = r->p.tick;
    RS_STAT(t, epochs);
    uint64_t e = rs_grace_read(&s->grace);
    rs_coal_flush_all(t);
    /* The quiescent state comes after the flush: the flush happens before the epoch moves on. */
    rs_grace_announce(&s->grace, t->index, e);
    rs_grace_try_advance(&s->grace);
    rs_coal_review_queue(r, c, t);
}

RS_INLINE void rs_coalesced_safepoint(rs_thread *t)
{
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    if (RS_UNLIKELY(--c->until_tick == 0))
        rs_coal_tick(t);
}

static inline void rs_coalesced_wait(rs_thread *t)
{
    rs_coal_tick(t);
    rs_pr_spin();
}

#define rs_coalesced_flush rs_coal_tick

static inline void rs_coalesced_enter(rs_thread *t)
{
    rs_grace_online(&((rs_coal_run *)t->run->s)->grace, t->index);
}

static inline void rs_coalesced_leave(rs_thread *t)
{
    rs_coal_flush_all(t);
    /* Offline after the last flush: it happens before any epoch that skips this worker. */
    rs_grace_offline(&((rs_coal_run *)t->run->s)->grace, t->index);
}

#define rs_coalesced_start rs_noop_init

/* Every worker has left with an empty table: advance epochs and review until no review is left. */
static inline void rs_coalesced_quiesce(rs_run *r)
{
    rs_thread *helper = &r->threads[r->nthreads];
    for (;;) {
        uint32_t left = 0;
        for (uint32_t i = 0; i < r->nthreads; i++) {
            rs_coal_thread *c = (rs_coal_thread *)r->threads[i].s;
            rs_coal_review_queue(r, c, helper);
            left += c->nreview;
        }
        if (!left)
            break;
        rs_grace_try_advance(&((rs_coal_run *)r->s)->grace);
    }
}

#define rs_coalesced_count rs_plain_count

#endif
