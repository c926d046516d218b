/* broken_buffered_submit_relaxed: buffered workers that publish a submitted batch with a relaxed
 * store of the ring's tail.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a too-weak publication). A worker fills its batch with plain stores (the log entries, their
 * count), stores the batch pointer in its submission ring's slot and makes it visible to the
 * commit thread with a store of the tail; that store must release, pairing with the commit
 * thread's acquire of the tail (rs_buf_pop), or the commit thread may read the slot and the
 * batch before the worker's writes to them: a stale batch pointer, a stale count, increments
 * applied to the wrong objects or not at all. x86, SC and the checker's TSO never show it (TSO
 * keeps a thread's stores in order); ARM and POWER can. Caught under memory="c11" as a data race
 * between the worker's plain stores to its batch and the commit thread's plain loads, e.g.
 *   T0: inc(0)    T1: inc(0)      (shared=1)
 */
#ifndef RS_BROKEN_BUFFERED_SUBMIT_RELAXED_H
#define RS_BROKEN_BUFFERED_SUBMIT_RELAXED_H

#include "refstrat/buffered.h"
#include "refstrat/pr.h"

/* rs_buf_submit, and every hook that submits, with the broken push. */
static inline void rs_bbuf_submit_relaxed(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    if (b->cur && (rs_pr_load_plain(&b->cur->ninc) || rs_pr_load_plain(&b->cur->ndec))) {
        rs_buf_ring *q = &b->submitted;
        uint32_t tail = rs_pr_load_relaxed(&q->tail);
        rs_pr_store_plain(&q->slot[tail & (RS_BUF_RING - 1)], b->cur); /* never full: see rs_buf_submit */
        rs_pr_store_relaxed(&q->tail, tail + 1); /* the bug: relaxed, not release */
        b->cur = NULL;
    }
}

static inline void rs_bbuf_ack_relaxed_submit(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_run *s = (rs_buf_run *)t->run->s;
    uint64_t e = rs_pr_load_acquire(&s->req_epoch);
    if (e != b->acked) {
        rs_bbuf_submit_relaxed(t);
        b->acked = e;
        rs_pr_store_release(&b->ack_epoch, e);
    }
}

static RS_NOINLINE void rs_bbuf_refill_submit_relaxed(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    unsigned spins = 0;
    while (!b->cur) {
        rs_buf_batch *nb = rs_buf_pop(&b->returned);
        if (nb) {
            rs_pr_store_plain(&nb->ninc, 0);
            rs_pr_store_plain(&nb->ndec, 0);
            b->cur = nb;
            break;
        }
        rs_bbuf_ack_relaxed_submit(t);
        if (t->run->stepping)
            ((rs_buf_run *)t->run->s)->round(t->run, t);
        else if (++spins % 64 == 0)
            rs_pr_yield();
        else
            rs_pr_spin();
    }
}

static inline void rs_bbuf_log_submit_relaxed(rs_thread *t, rs_obj *o, int inc)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_batch *cur = b->cur;
    uint32_t *np = inc ? &cur->ninc : &cur->ndec;
    uint32_t n = rs_pr_load_plain(np);
    rs_pr_store_plain(np, n + 1);
    rs_pr_store_plain(&(inc ? cur->inc : cur->dec)[n], o);
    if (RS_UNLIKELY(n + 1 == b->log_size)) {
        rs_bbuf_submit_relaxed(t);
        rs_bbuf_refill_submit_relaxed(t);
    }
}

RS_INLINE void rs_broken_buffered_submit_relaxed_incref(rs_thread *t, rs_obj *o) { rs_bbuf_log_submit_relaxed(t, o, 1); }
RS_INLINE void rs_broken_buffered_submit_relaxed_decref(rs_thread *t, rs_obj *o) { rs_bbuf_log_submit_relaxed(t, o, 0); }

static inline void rs_broken_buffered_submit_relaxed_safepoint(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_run *s = (rs_buf_run *)t->run->s;
    if (RS_UNLIKELY(rs_pr_load_relaxed(&s->req_epoch) != b->acked)) {
        rs_bbuf_ack_relaxed_submit(t);
        rs_bbuf_refill_submit_relaxed(t);
    }
}

static inline void rs_broken_buffered_submit_relaxed_wait(rs_thread *t)
{
    rs_bbuf_ack_relaxed_submit(t);
    rs_bbuf_refill_submit_relaxed(t);
    rs_pr_spin();
}

static inline void rs_broken_buffered_submit_relaxed_flush(rs_thread *t)
{
    rs_bbuf_submit_relaxed(t);
    if (t->run->stepping) {
        rs_buf_run *s = (rs_buf_run *)t->run->s;
        s->round(t->run, t);
        s->round(t->run, t);
    }
    rs_bbuf_refill_submit_relaxed(t);
}

static inline void rs_broken_buffered_submit_relaxed_leave(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_bbuf_submit_relaxed(t);
    rs_pr_store_release(&b->online, 0);
}

#define rs_broken_buffered_submit_relaxed_init rs_buffered_init
#define rs_broken_buffered_submit_relaxed_fini rs_buffered_fini
#define rs_broken_buffered_submit_relaxed_obj_init rs_buffered_obj_init
#define rs_broken_buffered_submit_relaxed_enter rs_buffered_enter
#define rs_broken_buffered_submit_relaxed_start rs_buffered_start
#define rs_broken_buffered_submit_relaxed_quiesce rs_buffered_quiesce
#define rs_broken_buffered_submit_relaxed_count rs_buffered_count

#endif
