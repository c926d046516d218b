/* broken_coalesced_offline_first: a Refcache worker that goes offline before its last flush.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: handshake steps reordered (a flag published before
 * the data it stands for). A leaving worker marks itself offline and then flushes its delta
 * table. Epochs advance without waiting for offline workers, so while the leaving worker sits
 * between the two steps the others can move the epoch on twice and review an object whose global
 * count reads zero although the leaving worker still holds an unflushed positive delta for it:
 * the object is freed while another worker holds a reference. Single-threaded the worker's own
 * flush comes before any review it could miss, and counts are exact.
 * Exposed by: a worker that increments an object and hands both references away, then leaves
 * before its next tick; the receiver drops one (its flush reads zero) and ticks twice more before
 * the leaver's flush, e.g. with tick=5 (T1 never ticks, T0 ticks every 5 ops):
 *   T0: new(x) send(x->T1) recv(x) recv(x) dec(x) 8 x (inc(0) dec(0)) dec(x)
 *   T1: recv(x) inc(x) send(x->T0) send(x->T0)                            (shared=1)
 */
#ifndef RS_BROKEN_COALESCED_OFFLINE_FIRST_H
#define RS_BROKEN_COALESCED_OFFLINE_FIRST_H

#include "refstrat/coalesced.h"
#include "refstrat/pr.h"

static inline void rs_broken_coalesced_offline_first_leave(rs_thread *t)
{
    /* the bug: offline before the flush, not after */
    rs_grace_offline(&((rs_coal_run *)t->run->s)->grace, t->index);
    rs_coal_flush_all(t);
}

#define rs_broken_coalesced_offline_first_init rs_coalesced_init
#define rs_broken_coalesced_offline_first_fini rs_coalesced_fini
#define rs_broken_coalesced_offline_first_obj_init rs_coalesced_obj_init
#define rs_broken_coalesced_offline_first_incref rs_coalesced_incref
#define rs_broken_coalesced_offline_first_decref rs_coalesced_decref
#define rs_broken_coalesced_offline_first_safepoint rs_coalesced_safepoint
#define rs_broken_coalesced_offline_first_wait rs_coalesced_wait
#define rs_broken_coalesced_offline_first_flush rs_coalesced_flush
#define rs_broken_coalesced_offline_first_enter rs_coalesced_enter
#define rs_broken_coalesced_offline_first_start rs_coalesced_start
#define rs_broken_coalesced_offline_first_quiesce rs_coalesced_quiesce
#define rs_broken_coalesced_offline_first_count rs_coalesced_count

#endif
