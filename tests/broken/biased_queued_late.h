/* broken_biased_queued_late: biased counting that sets QUEUED after queueing the object.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a flag set after the object is published. A
 * non-owner's decrement that finds the shared count at zero must mark it QUEUED (one CAS) and
 * then push the object on the owner's merge queue. This one pushes first and stores QUEUED
 * afterwards. The owner can drain the queue in between: its merge folds local and shared counts
 * into a MERGED count and gives the object up -- and the late store then overwrites that merged
 * count with a bare QUEUED word. The count is lost: the object is never freed (a leak), or a
 * later decrement sees a wrong count. Single-threaded no thread is a non-owner and it is exact.
 * Exposed by: the owner draining its queue (at a safepoint or while it waits) between the push
 * and the store, e.g.
 *   T0: new(x) inc(x) send(x->T1) recv(y) dec(y) dec(x)    T1: recv(x) dec(x) new(y) send(y->T0)
 * (T0 drains while it waits for y; its last dec then finds the bare QUEUED word: a leak).
 */
#ifndef RS_BROKEN_BIASED_QUEUED_LATE_H
#define RS_BROKEN_BIASED_QUEUED_LATE_H

#include "refstrat/biased.h"
#include "refstrat/pr.h"

static RS_NOINLINE void rs_bbrc_decref_shared_queued_late(rs_thread *t, rs_obj *o)
{
    int64_t shared = rs_pr_load_relaxed(&o->rc), want;
    do {
        if (shared == 0) {
            rs_brc_queue(t, o);
            rs_pr_store_release(&o->rc, RS_BRC_QUEUED); /* the bug: after the push, not before */
            return;
        }
        want = shared - ((int64_t)1 << RS_BRC_SHIFT);
    } while (!rs_pr_cas_acq_rel(&o->rc, &shared, want));
    if (want == RS_BRC_MERGED)
        rs_free(t, o);
}

RS_INLINE void rs_broken_biased_queued_late_decref(rs_thread *t, rs_obj *o)
{
    if (RS_LIKELY(rs_brc_is_owner(t, o)))
        rs_brc_decref_local(t, o);
    else
        rs_bbrc_decref_shared_queued_late(t, o);
}

#define rs_broken_biased_queued_late_incref rs_biased_incref
#define rs_broken_biased_queued_late_init rs_biased_init
#define rs_broken_biased_queued_late_fini rs_biased_fini
#define rs_broken_biased_queued_late_obj_init rs_biased_obj_init
#define rs_broken_biased_queued_late_safepoint rs_biased_safepoint
#define rs_broken_biased_queued_late_wait rs_biased_wait
#define rs_broken_biased_queued_late_enter rs_biased_enter
#define rs_broken_biased_queued_late_leave rs_biased_leave
#define rs_broken_biased_queued_late_start rs_biased_start
#define rs_broken_biased_queued_late_quiesce rs_biased_quiesce
#define rs_broken_biased_queued_late_flush rs_biased_flush
#define rs_broken_biased_queued_late_count rs_biased_count

#endif
