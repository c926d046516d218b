/* broken_buffered_ack_relaxed: a buffered commit round that waits for the acknowledgements with
 * relaxed loads.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a message-passing flag read relaxed). In step 1 of a round the commit thread waits until every
 * online worker's ack_epoch reaches the new epoch; a worker submits its partial batch (a release
 * store of its ring's tail) and then acknowledges (a release store of ack_epoch). The wait must
 * acquire: only then does the commit thread's collect see the submission the acknowledgement
 * vouches for. Relaxed, it may see the acknowledgement and still read the ring's old tail, leave
 * the batch for the next round and apply its increments a round late, after a decrement of the
 * previous round has taken the count to zero: a premature free, a use after free. x86, SC and
 * the checker's TSO never show it (TSO keeps the worker's two stores and the commit thread's two
 * loads in order); ARM and POWER can. Caught under memory="c11" by the counts (a freed object
 * used), e.g.
 *   T0: new(x) inc(x) send(x->T1) inc(0) dec(0) dec(x)    T1: recv(x) dec(x)      (shared=1)
 */
#ifndef RS_BROKEN_BUFFERED_ACK_RELAXED_H
#define RS_BROKEN_BUFFERED_ACK_RELAXED_H

#include "refstrat/buffered.h"
#include "refstrat/pr.h"

static inline void rs_bbuf_handshake_relaxed(rs_run *r, rs_thread *self)
{
    rs_buf_run *s = (rs_buf_run *)r->s;
    uint64_t e = s->req_epoch + 1;
    rs_pr_store_release(&s->req_epoch, e);
    if (self)
        rs_buf_ack(self);
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_buf_thread *b = (rs_buf_thread *)r->threads[i].s;
        unsigned spins = 0;
        /* the bug: relaxed, not acquire */
        while (rs_pr_load_relaxed(&b->online) && rs_pr_load_relaxed(&b->ack_epoch) < e) {
            if (++spins % 64 == 0)
                rs_pr_yield();
            else
                rs_pr_spin();
        }
    }
}

static inline void rs_bbuf_round_ack_relaxed(rs_run *r, rs_thread *self)
{
    rs_buf_run *s = (rs_buf_run *)r->s;
    rs_bbuf_handshake_relaxed(r, self);
    rs_buf_batch *round = rs_buf_collect(r);
    rs_buf_apply_increments(round);
    rs_buf_apply_decrements(r, s->pending);
    rs_buf_give_back(r, s->pending);
    s->pending = round;
}

static inline int rs_broken_buffered_ack_relaxed_init(rs_run *r)
{
    int rc = rs_buffered_init(r);
    if (r->s)
        ((rs_buf_run *)r->s)->round = rs_bbuf_round_ack_relaxed;
    return rc;
}

#define rs_broken_buffered_ack_relaxed_fini rs_buffered_fini
#define rs_broken_buffered_ack_relaxed_obj_init rs_buffered_obj_init
#define rs_broken_buffered_ack_relaxed_incref rs_buffered_incref
#define rs_broken_buffered_ack_relaxed_decref rs_buffered_decref
#define rs_broken_buffered_ack_relaxed_safepoint rs_buffered_safepoint
#define rs_broken_buffered_ack_relaxed_wait rs_buffered_wait
#define rs_broken_buffered_ack_relaxed_flush rs_buffered_flush
#define rs_broken_buffered_ack_relaxed_enter rs_buffered_enter
#define rs_broken_buffered_ack_relaxed_leave rs_buffered_leave
#define rs_broken_buffered_ack_relaxed_start rs_buffered_start
#define rs_broken_buffered_ack_relaxed_quiesce rs_buffered_quiesce
#define rs_broken_buffered_ack_relaxed_count rs_buffered_count

#endif
