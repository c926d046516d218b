/* broken_buffered_dec_first: buffered counting that applies decrements before increments.
 *
 * BROKEN ON PURPOSE (tests only). The commit thread applies the batches collected in a round
 * decrements first, increments second, and does not hold decrements back a round. So a count can reach zero while an increment that happened earlier still sits in
 * the log: the object is freed with references alive (Hastings' "increments before decrements"
 * rule, broken). Caught even on one thread by `new(x) inc(x) dec(x) ... dec(x)`: the round frees x
 * on the first decrement, and the later dec is an operation on a freed object (or a double free).
 */
#ifndef RS_BROKEN_BUFFERED_DEC_FIRST_H
#define RS_BROKEN_BUFFERED_DEC_FIRST_H

#include "refstrat/buffered.h"

static inline void rs_bbuf_round(rs_run *r, rs_thread *self)
{
    rs_buf_handshake(r, self);
    rs_buf_batch *round = rs_buf_collect(r);
    rs_buf_apply_decrements(r, round); /* the bug: decrements first, and not held back a round */
    rs_buf_apply_increments(round);
    rs_buf_give_back(r, round);
}

static inline int rs_broken_buffered_dec_first_init(rs_run *r)
{
    int rc = rs_buffered_init(r);
    if (r->s)
        ((rs_buf_run *)r->s)->round = rs_bbuf_round;
    return rc;
}

#define rs_broken_buffered_dec_first_fini rs_buffered_fini
#define rs_broken_buffered_dec_first_obj_init rs_buffered_obj_init
#define rs_broken_buffered_dec_first_incref rs_buffered_incref
#define rs_broken_buffered_dec_first_decref rs_buffered_decref
#define rs_broken_buffered_dec_first_safepoint rs_buffered_safepoint
#define rs_broken_buffered_dec_first_wait rs_buffered_wait
#define rs_broken_buffered_dec_first_flush rs_buffered_flush
#define rs_broken_buffered_dec_first_enter rs_buffered_enter
#define rs_broken_buffered_dec_first_leave rs_buffered_leave
#define rs_broken_buffered_dec_first_start rs_buffered_start
#define rs_broken_buffered_dec_first_quiesce rs_buffered_quiesce
#define rs_broken_buffered_dec_first_count rs_buffered_count

#endif
