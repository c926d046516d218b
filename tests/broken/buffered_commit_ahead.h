/* broken_buffered_commit_ahead: a buffered commit round whose decrement step runs before its
 * handshake.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: handshake steps reordered (the commit step runs ahead
 * of the handshake). The round applies the decrements held back from the previous round first,
 * and only then asks the workers to submit, collects and applies this round's increments. The
 * round rule needs the opposite: an increment logged before a held-back decrement is only
 * guaranteed to have been submitted by this round's handshake. So a count reaches zero while that
 * reference is alive, and the object is freed early. Single-threaded it is exact: one worker's
 * increment is submitted with or before its own later decrement, a round ahead of it.
 * Exposed by: a worker whose increment is submitted only at the handshake of the round that
 * applies another worker's decrement, e.g.
 *   T0: new(x) inc(x) send(x->T1) inc(0) dec(0) dec(x)    T1: recv(x) dec(x)      (shared=1)
 */
#ifndef RS_BROKEN_BUFFERED_COMMIT_AHEAD_H
#define RS_BROKEN_BUFFERED_COMMIT_AHEAD_H

#include "refstrat/buffered.h"
#include "refstrat/pr.h"

static inline void rs_bbuf_round_commit_ahead(rs_run *r, rs_thread *self)
{
    rs_buf_run *s = (rs_buf_run *)r->s;
    rs_buf_apply_decrements(r, s->pending); /* the bug: step 3 before steps 1 and 2 */
    rs_buf_give_back(r, s->pending);
    rs_buf_handshake(r, self);
    rs_buf_batch *round = rs_buf_collect(r);
    rs_buf_apply_increments(round);
    s->pending = round;
}

static inline int rs_broken_buffered_commit_ahead_init(rs_run *r)
{
    int rc = rs_buffered_init(r);
    if (r->s)
        ((rs_buf_run *)r->s)->round = rs_bbuf_round_commit_ahead;
    return rc;
}

#define rs_broken_buffered_commit_ahead_fini rs_buffered_fini
#define rs_broken_buffered_commit_ahead_obj_init rs_buffered_obj_init
#define rs_broken_buffered_commit_ahead_incref rs_buffered_incref
#define rs_broken_buffered_commit_ahead_decref rs_buffered_decref
#define rs_broken_buffered_commit_ahead_safepoint rs_buffered_safepoint
#define rs_broken_buffered_commit_ahead_wait rs_buffered_wait
#define rs_broken_buffered_commit_ahead_flush rs_buffered_flush
#define rs_broken_buffered_commit_ahead_enter rs_buffered_enter
#define rs_broken_buffered_commit_ahead_leave rs_buffered_leave
#define rs_broken_buffered_commit_ahead_start rs_buffered_start
#define rs_broken_buffered_commit_ahead_quiesce rs_buffered_quiesce
#define rs_broken_buffered_commit_ahead_count rs_buffered_count

#endif
