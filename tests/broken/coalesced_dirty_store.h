/* broken_coalesced_dirty_store: Refcache marking a pending review dirty with a load and a store.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a compare-and-swap replaced by a load and a store.
 * A flush that leaves the global count at zero while a review of the object is pending must mark
 * it dirty in one step with the reviewer's "pending, clean -> none" transition. Here the flush
 * loads the review state, sees "pending" and then stores "pending, dirty". A reviewer that ends
 * the review between the load and the store (the count read nonzero: another flush raised it)
 * leaves no review queued, and the store then marks the object "pending" for ever: every later
 * flush that reaches zero only marks it dirty and queues nothing, so the object is never reviewed
 * and never freed (a leak). Single-threaded the reviewer is the flushing worker itself and cannot
 * run between the two steps, so counts are exact.
 * Exposed by: three flushes of one object around one review: a zero (review queued), a worker's
 * flush to zero whose load sees the review, another worker's positive flush and the review in
 * between that load and its store, then the last drop. Needs deltas held across safepoints
 * (tick > 1: with tick=1 a flush that reads zero means the object is dead) and reviews during the
 * run (a small tick).
 */
#ifndef RS_BROKEN_COALESCED_DIRTY_STORE_H
#define RS_BROKEN_COALESCED_DIRTY_STORE_H

#include "refstrat/coalesced.h"
#include "refstrat/pr.h"

static void rs_bcoal_dirty_store(rs_thread *t, rs_obj *o)
{
    if (rs_pr_load_acquire(&o->aux) & RS_REVIEW_PENDING) {
        rs_pr_store_release(&o->aux, RS_REVIEW_PENDING | RS_REVIEW_DIRTY); /* the bug: no CAS */
        return;
    }
    rs_coal_queue_review(t, o);
}

static inline int rs_broken_coalesced_dirty_store_init(rs_run *r)
{
    int rc = rs_coalesced_init(r);
    if (r->s)
        ((rs_coal_run *)r->s)->on_zero = rs_bcoal_dirty_store;
    return rc;
}

#define rs_broken_coalesced_dirty_store_fini rs_coalesced_fini
#define rs_broken_coalesced_dirty_store_obj_init rs_coalesced_obj_init
#define rs_broken_coalesced_dirty_store_incref rs_coalesced_incref
#define rs_broken_coalesced_dirty_store_decref rs_coalesced_decref
#define rs_broken_coalesced_dirty_store_safepoint rs_coalesced_safepoint
#define rs_broken_coalesced_dirty_store_wait rs_coalesced_wait
#define rs_broken_coalesced_dirty_store_flush rs_coalesced_flush
#define rs_broken_coalesced_dirty_store_enter rs_coalesced_enter
#define rs_broken_coalesced_dirty_store_leave rs_coalesced_leave
#define rs_broken_coalesced_dirty_store_start rs_coalesced_start
#define rs_broken_coalesced_dirty_store_quiesce rs_coalesced_quiesce
#define rs_broken_coalesced_dirty_store_count rs_coalesced_count

#endif
