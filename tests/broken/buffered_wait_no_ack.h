/* broken_buffered_wait_no_ack: a buffered worker that spins without acknowledging.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a wait that misses its wake-up (a deadlock). The
 * scheme's wait hook is what a worker calls in every spin-wait loop (a recv on an empty mailbox,
 * an empty pool); buffered's must acknowledge the commit thread's handshake there. This one only
 * pauses. A worker waiting for another one leaves the commit thread stuck in its handshake; if the
 * other worker then waits for the commit thread (a full set of logs: it needs an empty batch
 * back), nobody can move. Counts are never wrong: the failure is a deadlock (with real threads a
 * stall that the kernel's 30 s wait limit ends as a failed run, so the timing-based tests never
 * run it). Single-threaded no worker waits for another and it is exact.
 * Exposed by: T1 waiting on a recv while T0, which sends only after filling every log it owns,
 * waits for a batch back; needs a small log_size (the minimum, 16) and T0 logging
 * RS_BUF_BATCHES x 16 = 64 increments before its send, e.g.
 *   T0: new(x) then 64 x (inc(0) dec(0)) then send(x->T1)    T1: recv(x) dec(x)    (shared=1)
 */
#ifndef RS_BROKEN_BUFFERED_WAIT_NO_ACK_H
#define RS_BROKEN_BUFFERED_WAIT_NO_ACK_H

#include "refstrat/buffered.h"
#include "refstrat/pr.h"

static inline void rs_broken_buffered_wait_no_ack_wait(rs_thread *t)
{
    (void)t; /* the bug: no rs_buf_safepoint_slow(t), so no acknowledgement while waiting */
    rs_pr_spin();
}

#define rs_broken_buffered_wait_no_ack_init rs_buffered_init
#define rs_broken_buffered_wait_no_ack_fini rs_buffered_fini
#define rs_broken_buffered_wait_no_ack_obj_init rs_buffered_obj_init
#define rs_broken_buffered_wait_no_ack_incref rs_buffered_incref
#define rs_broken_buffered_wait_no_ack_decref rs_buffered_decref
#define rs_broken_buffered_wait_no_ack_safepoint rs_buffered_safepoint
#define rs_broken_buffered_wait_no_ack_flush rs_buffered_flush
#define rs_broken_buffered_wait_no_ack_enter rs_buffered_enter
#define rs_broken_buffered_wait_no_ack_leave rs_buffered_leave
#define rs_broken_buffered_wait_no_ack_start rs_buffered_start
#define rs_broken_buffered_wait_no_ack_quiesce rs_buffered_quiesce
#define rs_broken_buffered_wait_no_ack_count rs_buffered_count

#endif
