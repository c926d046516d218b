/* broken_biased_no_queue: biased counting without the merge queue.
 *
 * BROKEN ON PURPOSE (tests only). A non-owner's decrement that finds the shared count at zero
 * subtracts anyway instead of queueing the object for its owner. The shared count goes negative
 * and nobody ever looks at the object again: when the non-owner drops the last reference (the
 * owner handed its reference over and kept none), the object is never freed. Caught as a leak
 * after quiesce by a two-thread program as small as
 *   T0: new(x) send(x->T1)    T1: recv(x) dec(x)
 */
#ifndef RS_BROKEN_BIASED_NO_QUEUE_H
#define RS_BROKEN_BIASED_NO_QUEUE_H

#include "refstrat/biased.h"

static RS_NOINLINE void rs_brc_broken_decref_shared(rs_thread *t, rs_obj *o)
{
    int64_t v = rs_pr_sub_fetch_acq_rel(&o->rc, (int64_t)1 << RS_BRC_SHIFT);
    if (v == RS_BRC_MERGED)
        rs_free(t, o);
}

RS_INLINE void rs_broken_biased_no_queue_decref(rs_thread *t, rs_obj *o)
{
    if (RS_LIKELY(rs_brc_is_owner(t, o)))
        rs_brc_decref_local(t, o);
    else
        rs_brc_broken_decref_shared(t, o);
}

#define rs_broken_biased_no_queue_incref rs_biased_incref
#define rs_broken_biased_no_queue_init rs_biased_init
#define rs_broken_biased_no_queue_fini rs_biased_fini
#define rs_broken_biased_no_queue_obj_init rs_biased_obj_init
#define rs_broken_biased_no_queue_safepoint rs_biased_safepoint
#define rs_broken_biased_no_queue_wait rs_biased_wait
#define rs_broken_biased_no_queue_enter rs_biased_enter
#define rs_broken_biased_no_queue_leave rs_biased_leave
#define rs_broken_biased_no_queue_start rs_biased_start
#define rs_broken_biased_no_queue_quiesce rs_biased_quiesce
#define rs_broken_biased_no_queue_flush rs_biased_flush
#define rs_broken_biased_no_queue_count rs_biased_count

#endif
