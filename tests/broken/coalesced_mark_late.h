/* broken_coalesced_mark_late: Refcache marking a pending review dirty only after the flush's add.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: handshake steps reordered. A flush of an object whose
 * review is pending must mark the review dirty before it adds its delta to the global count
 * (rs_coal_mark_dirty, from rs_coal_flush_slot). Here it relies on its zero test alone, which runs
 * after the add: a reviewer that reads the count between the add (which left it at zero) and the
 * zero test sees "zero, clean", ends the review and frees the object; the flusher's zero test then
 * queues a review of the freed object, and the main thread's quiesce reviews and frees it again
 * (a double free). Single-threaded the reviewer is the flushing worker itself and cannot run
 * between the two steps, so counts are exact. It is the order refstrat's coalesced had until the
 * check build found this schedule (bench/reduction_teeth.txt).
 * Exposed by: a review queued by one worker's flush to zero while another holds unflushed
 * increments; the review's epochs pass; the other worker's flush of its last decrement reaches zero
 * and stops before its zero test while the reviewer ticks (three preemptions). Needs the ticks to
 * fall just so: its catalog program shows it at tick 5, not at ticks 1-4, 6 or 8 (bound 3).
 */
#ifndef RS_BROKEN_COALESCED_MARK_LATE_H
#define RS_BROKEN_COALESCED_MARK_LATE_H

#include "refstrat/coalesced.h"

static void rs_bcoal_mark_nothing(rs_obj *o)
{
    (void)o; /* the bug: the zero test after the add is left to mark the review dirty */
}

static inline int rs_broken_coalesced_mark_late_init(rs_run *r)
{
    int rc = rs_coalesced_init(r);
    if (r->s)
        ((rs_coal_run *)r->s)->on_pending = rs_bcoal_mark_nothing;
    return rc;
}

#define rs_broken_coalesced_mark_late_fini rs_coalesced_fini
#define rs_broken_coalesced_mark_late_obj_init rs_coalesced_obj_init
#define rs_broken_coalesced_mark_late_incref rs_coalesced_incref
#define rs_broken_coalesced_mark_late_decref rs_coalesced_decref
#define rs_broken_coalesced_mark_late_safepoint rs_coalesced_safepoint
#define rs_broken_coalesced_mark_late_wait rs_coalesced_wait
#define rs_broken_coalesced_mark_late_flush rs_coalesced_flush
#define rs_broken_coalesced_mark_late_enter rs_coalesced_enter
#define rs_broken_coalesced_mark_late_leave rs_coalesced_leave
#define rs_broken_coalesced_mark_late_start rs_coalesced_start
#define rs_broken_coalesced_mark_late_quiesce rs_coalesced_quiesce
#define rs_broken_coalesced_mark_late_count rs_coalesced_count

#endif
