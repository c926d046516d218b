/* broken_biased_merge_clear_late: biased counting whose explicit merge clears the owner's fields
 * after the CAS that publishes the merged count: the order rs_brc_merge had until the C11 model
 * found it (issue 28), and CPython's before gh-119999.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: handshake steps reordered. Once the merging CAS has
 * published a count, another holder may take it to zero and free the object at once; the merger's
 * stores of local = 0 and owner = 0 that follow then write to a freed, perhaps reused, slot. Under
 * SC and x86-TSO the stores write zeros the free does not read, so every count, free and final
 * scan stays exact and no check there can tell; under memory="c11" they are a data race with the
 * free. Exposed by a queued decrement that the owner merges while the other thread still holds a
 * reference:
 *   T0: new(x) inc(x) send(x->T1) send(x->T1) work    T1: recv(x) recv(x) dec(x) dec(x)
 * with T1's first dec queueing x (shared 0), T0 merging it at a safepoint of its work (count 1),
 * and T1's second dec freeing x between T0's CAS and its late stores.
 */
#ifndef RS_BROKEN_BIASED_MERGE_CLEAR_LATE_H
#define RS_BROKEN_BIASED_MERGE_CLEAR_LATE_H

#include "refstrat/biased.h"
#include "refstrat/pr.h"

static inline int64_t rs_bbrc_late_merge(rs_obj *o, int64_t extra)
{
    int64_t shared = rs_pr_load_relaxed(&o->rc), count, want;
    const int64_t local = (int64_t)rs_pr_load_plain(&o->local);
    do {
        count = (shared >> RS_BRC_SHIFT) + local + extra;
        want = (int64_t)((uint64_t)count << RS_BRC_SHIFT) | RS_BRC_MERGED;
    } while (!rs_pr_cas_acq_rel(&o->rc, &shared, want));
    rs_pr_store_relaxed(&o->local, 0); /* the bug: after the CAS that lets another thread free o */
    rs_pr_store_relaxed(&o->owner, 0);
    return count;
}

static RS_NOINLINE void rs_bbrc_late_queue(rs_thread *t, rs_obj *o)
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
            return;
        }
        rs_pr_mutex_unlock(&b->lock);
    }
    if (rs_bbrc_late_merge(o, -1) == 0)
        rs_free(t, o);
}

static RS_NOINLINE void rs_bbrc_late_decref_shared(rs_thread *t, rs_obj *o)
{
    int64_t shared = rs_pr_load_relaxed(&o->rc), want;
    int queue;
    do {
        queue = shared == 0;
        want = queue ? RS_BRC_QUEUED : shared - ((int64_t)1 << RS_BRC_SHIFT);
    } while (!rs_pr_cas_acq_rel(&o->rc, &shared, want));
    if (queue)
        rs_bbrc_late_queue(t, o);
    else if (want == RS_BRC_MERGED)
        rs_free(t, o);
}

RS_INLINE void rs_broken_biased_merge_clear_late_decref(rs_thread *t, rs_obj *o)
{
    if (rs_brc_is_owner(t, o))
        rs_brc_decref_local(t, o);
    else
        rs_bbrc_late_decref_shared(t, o);
}

static inline void rs_bbrc_late_merge_list(rs_thread *t, uint32_t idx)
{
    const rs_arena *a = &t->run->arena;
    while (idx != RS_NIL) {
        rs_obj *o = rs_obj_at(a, idx);
        idx = rs_pr_load_plain(&o->next);
        if (rs_bbrc_late_merge(o, -1) == 0)
            rs_free(t, o);
    }
}

static RS_NOINLINE void rs_bbrc_late_drain(rs_thread *t)
{
    rs_brc_thread *b = (rs_brc_thread *)t->s;
    rs_pr_mutex_lock(&b->lock);
    uint32_t head = rs_pr_load_plain(&b->head);
    rs_pr_store_plain(&b->head, RS_NIL);
    rs_pr_store_relaxed(&b->pending, 0);
    rs_pr_mutex_unlock(&b->lock);
    rs_bbrc_late_merge_list(t, head);
}

RS_INLINE void rs_broken_biased_merge_clear_late_safepoint(rs_thread *t)
{
    rs_brc_thread *b = (rs_brc_thread *)t->s;
    if (RS_UNLIKELY(rs_pr_load_relaxed(&b->pending)))
        rs_bbrc_late_drain(t);
}

static inline void rs_broken_biased_merge_clear_late_wait(rs_thread *t)
{
    rs_broken_biased_merge_clear_late_safepoint(t);
    rs_pr_spin();
}

static inline void rs_broken_biased_merge_clear_late_flush(rs_thread *t) { rs_bbrc_late_drain(t); }

static inline void rs_broken_biased_merge_clear_late_leave(rs_thread *t)
{
    rs_brc_thread *b = (rs_brc_thread *)t->s;
    rs_pr_mutex_lock(&b->lock);
    rs_pr_store_plain(&b->alive, 0);
    uint32_t head = rs_pr_load_plain(&b->head);
    rs_pr_store_plain(&b->head, RS_NIL);
    rs_pr_store_relaxed(&b->pending, 0);
    rs_pr_mutex_unlock(&b->lock);
    rs_bbrc_late_merge_list(t, head);
}

#define rs_broken_biased_merge_clear_late_init rs_biased_init
#define rs_broken_biased_merge_clear_late_fini rs_biased_fini
#define rs_broken_biased_merge_clear_late_obj_init rs_biased_obj_init
#define rs_broken_biased_merge_clear_late_incref rs_biased_incref
#define rs_broken_biased_merge_clear_late_enter rs_biased_enter
#define rs_broken_biased_merge_clear_late_start rs_biased_start
#define rs_broken_biased_merge_clear_late_quiesce rs_biased_quiesce
#define rs_broken_biased_merge_clear_late_count rs_biased_count

#endif
