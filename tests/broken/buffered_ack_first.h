/* broken_buffered_ack_first: a buffered worker that acknowledges before it submits.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: handshake steps reordered. At a safepoint that sees a
 * new req_epoch the worker stores its acknowledgement first and hands its partial batch over
 * second. The commit thread, seeing the ack, collects the round without that batch, so the
 * increments in it are applied a round late -- after the decrements that the round rule says they
 * must precede. A count reaches zero while a reference logged in the late batch is alive: the
 * object is freed early (then the late increment and decrement touch a freed object, a double
 * free). Single-threaded the commit thread still applies every batch, increments a round before
 * decrements, and counts are exact.
 * Exposed by: the commit thread's collect between the worker's ack and its submit, with the late
 * batch holding an increment of an object another thread drops, e.g.
 *   T0: new(x) inc(x) send(x->T1) inc(0) dec(0) dec(x)    T1: recv(x) dec(x)      (shared=1)
 */
#ifndef RS_BROKEN_BUFFERED_ACK_FIRST_H
#define RS_BROKEN_BUFFERED_ACK_FIRST_H

#include "refstrat/buffered.h"
#include "refstrat/pr.h"

static inline void rs_bbuf_ack_first(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_run *s = (rs_buf_run *)t->run->s;
    uint64_t e = rs_pr_load_acquire(&s->req_epoch);
    if (e != b->acked) {
        b->acked = e;
        rs_pr_store_release(&b->ack_epoch, e); /* the bug: acknowledged before the submission */
        rs_buf_submit(t);
    }
}

static RS_NOINLINE void rs_bbuf_ack_first_slow(rs_thread *t)
{
    rs_bbuf_ack_first(t);
    rs_buf_refill(t);
}

RS_INLINE void rs_broken_buffered_ack_first_safepoint(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_run *s = (rs_buf_run *)t->run->s;
    if (RS_UNLIKELY(rs_pr_load_relaxed(&s->req_epoch) != b->acked))
        rs_bbuf_ack_first_slow(t);
}

static inline void rs_broken_buffered_ack_first_wait(rs_thread *t)
{
    rs_bbuf_ack_first_slow(t);
    rs_pr_spin();
}

#define rs_broken_buffered_ack_first_init rs_buffered_init
#define rs_broken_buffered_ack_first_fini rs_buffered_fini
#define rs_broken_buffered_ack_first_obj_init rs_buffered_obj_init
#define rs_broken_buffered_ack_first_incref rs_buffered_incref
#define rs_broken_buffered_ack_first_decref rs_buffered_decref
#define rs_broken_buffered_ack_first_flush rs_buffered_flush
#define rs_broken_buffered_ack_first_enter rs_buffered_enter
#define rs_broken_buffered_ack_first_leave rs_buffered_leave
#define rs_broken_buffered_ack_first_start rs_buffered_start
#define rs_broken_buffered_ack_first_quiesce rs_buffered_quiesce
#define rs_broken_buffered_ack_first_count rs_buffered_count

#endif
