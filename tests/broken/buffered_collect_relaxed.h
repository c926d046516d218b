/* broken_buffered_collect_relaxed: a buffered commit round that reads the submission rings' tails
 * relaxed.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a message-passing flag read relaxed). A worker fills a batch with plain stores, stores the
 * batch pointer in its ring slot and publishes it with a release store of the ring's tail; the
 * commit thread must read that tail with acquire before it reads the slot and the batch. This
 * round collects with a relaxed load: it sees the new tail but not necessarily what the tail
 * publishes, so it reads the slot and the log entries (plain) with no happens-before edge from
 * the worker's writes: a stale slot or count, a batch applied twice or never. x86, SC and the
 * checker's TSO never show it (TSO keeps the slot store before the tail store, and loads in
 * order); ARM and POWER can. Caught under memory="c11" as a data race between the worker's plain
 * stores to its batch and the commit thread's plain loads, e.g. two threads incrementing a
 * shared object:
 *   T0: inc(0)    T1: inc(0)      (shared=1)
 */
#ifndef RS_BROKEN_BUFFERED_COLLECT_RELAXED_H
#define RS_BROKEN_BUFFERED_COLLECT_RELAXED_H

#include "refstrat/buffered.h"
#include "refstrat/pr.h"

static inline rs_buf_batch *rs_bbuf_pop_relaxed(rs_buf_ring *q)
{
    uint32_t head = rs_pr_load_relaxed(&q->head);
    if (head == rs_pr_load_relaxed(&q->tail)) /* the bug: relaxed, not acquire */
        return NULL;
    rs_buf_batch *b = rs_pr_load_plain(&q->slot[head & (RS_BUF_RING - 1)]);
    rs_pr_store_release(&q->head, head + 1);
    return b;
}

static inline void rs_bbuf_round_collect_relaxed(rs_run *r, rs_thread *self)
{
    rs_buf_run *s = (rs_buf_run *)r->s;
    rs_buf_handshake(r, self);
    rs_buf_batch *round = NULL;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_buf_thread *b = (rs_buf_thread *)r->threads[i].s;
        rs_buf_batch *bb;
        while ((bb = rs_bbuf_pop_relaxed(&b->submitted)) != NULL) {
            bb->next = round;
            round = bb;
        }
    }
    rs_buf_apply_increments(round);
    rs_buf_apply_decrements(r, s->pending);
    rs_buf_give_back(r, s->pending);
    s->pending = round;
}

static inline int rs_broken_buffered_collect_relaxed_init(rs_run *r)
{
    int rc = rs_buffered_init(r);
    if (r->s)
        ((rs_buf_run *)r->s)->round = rs_bbuf_round_collect_relaxed;
    return rc;
}

#define rs_broken_buffered_collect_relaxed_fini rs_buffered_fini
#define rs_broken_buffered_collect_relaxed_obj_init rs_buffered_obj_init
#define rs_broken_buffered_collect_relaxed_incref rs_buffered_incref
#define rs_broken_buffered_collect_relaxed_decref rs_buffered_decref
#define rs_broken_buffered_collect_relaxed_safepoint rs_buffered_safepoint
#define rs_broken_buffered_collect_relaxed_wait rs_buffered_wait
#define rs_broken_buffered_collect_relaxed_flush rs_buffered_flush
#define rs_broken_buffered_collect_relaxed_enter rs_buffered_enter
#define rs_broken_buffered_collect_relaxed_leave rs_buffered_leave
#define rs_broken_buffered_collect_relaxed_start rs_buffered_start
#define rs_broken_buffered_collect_relaxed_quiesce rs_buffered_quiesce
#define rs_broken_buffered_collect_relaxed_count rs_buffered_count

#endif
