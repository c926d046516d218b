/* broken_coalesced_no_epoch: Refcache without the epoch check.
 *
 * BROKEN ON PURPOSE (tests only). A flush that leaves the global count at zero frees the object on
 * the spot instead of queueing a review two epochs later. But the true count is the global count
 * plus every thread's unflushed delta, so a zero global count proves nothing: another thread may
 * hold a positive delta (a reference it took and has not flushed yet). Caught as operations on
 * freed objects, double frees and premature frees when one thread's flush reaches zero while
 * another still holds increments, e.g.
 *   T0: new(x) inc(x) send(x->T1) ... dec(x)    T1: recv(x) dec(x)   (T1 leaves first)
 */
#ifndef RS_BROKEN_COALESCED_NO_EPOCH_H
#define RS_BROKEN_COALESCED_NO_EPOCH_H

#include "refstrat/coalesced.h"

static void rs_coal_free_at_zero(rs_thread *t, rs_obj *o)
{
    rs_free(t, o); /* the bug: no review, no epochs */
}

static inline int rs_broken_coalesced_no_epoch_init(rs_run *r)
{
    int rc = rs_coalesced_init(r);
    if (r->s)
        ((rs_coal_run *)r->s)->on_zero = rs_coal_free_at_zero;
    return rc;
}

#define rs_broken_coalesced_no_epoch_fini rs_coalesced_fini
#define rs_broken_coalesced_no_epoch_obj_init rs_coalesced_obj_init
#define rs_broken_coalesced_no_epoch_incref rs_coalesced_incref
#define rs_broken_coalesced_no_epoch_decref rs_coalesced_decref
#define rs_broken_coalesced_no_epoch_safepoint rs_coalesced_safepoint
#define rs_broken_coalesced_no_epoch_wait rs_coalesced_wait
#define rs_broken_coalesced_no_epoch_flush rs_coalesced_flush
#define rs_broken_coalesced_no_epoch_enter rs_coalesced_enter
#define rs_broken_coalesced_no_epoch_leave rs_coalesced_leave
#define rs_broken_coalesced_no_epoch_start rs_coalesced_start
#define rs_broken_coalesced_no_epoch_quiesce rs_coalesced_quiesce
#define rs_broken_coalesced_no_epoch_count rs_coalesced_count

#endif
