/* broken_biased_drain_unlocked: biased counting whose owner takes its merge queue without the lock.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a queued reference dropped. A non-owner pushes an
 * object on its owner's merge queue under the queue's lock; the owner must detach the queue under
 * the same lock. This one reads the head and stores the empty queue without it, sparing the
 * safepoint a mutex: a push that lands between the load and the store links itself in front of
 * the old head, and the store then drops it. That object is never merged and never freed (a
 * leak). Single-threaded no object is ever queued and it is exact.
 * Exposed by: a non-owner's push between the owner's load of the head and its store, e.g.
 *   T0: new(x) new(y) send(x->T1) send(y->T1) inc(0) dec(0) inc(0) dec(0)
 *   T1: recv(x) recv(y) dec(x) dec(y)                                      (shared=1)
 * (T1's dec(x) queues x; T0's safepoint loads the head; T1's dec(y) queues y; T0 stores empty).
 */
#ifndef RS_BROKEN_BIASED_DRAIN_UNLOCKED_H
#define RS_BROKEN_BIASED_DRAIN_UNLOCKED_H

#include "refstrat/biased.h"
#include "refstrat/pr.h"

static RS_NOINLINE void rs_bbrc_drain_unlocked(rs_thread *t)
{
    rs_brc_thread *b = (rs_brc_thread *)t->s;
    uint32_t head = rs_pr_load_relaxed(&b->head); /* the bug: b->lock not taken */
    rs_pr_store_relaxed(&b->head, RS_NIL);
    rs_pr_store_relaxed(&b->pending, 0);
    rs_brc_merge_list(t, head);
}

static inline void rs_broken_biased_drain_unlocked_safepoint(rs_thread *t)
{
    if (RS_UNLIKELY(rs_pr_load_relaxed(&((rs_brc_thread *)t->s)->pending)))
        rs_bbrc_drain_unlocked(t);
}

static inline void rs_broken_biased_drain_unlocked_wait(rs_thread *t)
{
    rs_broken_biased_drain_unlocked_safepoint(t);
    rs_pr_spin();
}

#define rs_broken_biased_drain_unlocked_flush rs_bbrc_drain_unlocked
#define rs_broken_biased_drain_unlocked_incref rs_biased_incref
#define rs_broken_biased_drain_unlocked_decref rs_biased_decref
#define rs_broken_biased_drain_unlocked_init rs_biased_init
#define rs_broken_biased_drain_unlocked_fini rs_biased_fini
#define rs_broken_biased_drain_unlocked_obj_init rs_biased_obj_init
#define rs_broken_biased_drain_unlocked_enter rs_biased_enter
#define rs_broken_biased_drain_unlocked_leave rs_biased_leave
#define rs_broken_biased_drain_unlocked_start rs_biased_start
#define rs_broken_biased_drain_unlocked_quiesce rs_biased_quiesce
#define rs_broken_biased_drain_unlocked_count rs_biased_count

#endif
