/* broken_coalesced_review_relaxed: coalesced whose reviewer reads the global epoch relaxed.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a message-passing flag read relaxed: coalesced's epoch). A review may free its object once the
 * global epoch has reached the review's epoch: every worker has flushed its whole table since the
 * zero was seen. That is only true for the reviewer if its read of the epoch acquires (pairing
 * with the advancer's CAS, which acquired every worker's announcement, which released its
 * flushes). Relaxed, the reviewer sees the new epoch but not necessarily the flushes it stands
 * for: it may read the count's old zero and the review state's old "pending, clean" while another
 * worker's increment has been flushed, and free a live object; its free races with the flushers'
 * accesses. x86, SC and the checker's TSO never show it (loads are not reordered with loads
 * there); ARM and POWER can. Caught under memory="c11" (a premature free, or a data race with the
 * free), e.g.
 *   T0: new(x) inc(x) send(x->T1) dec(x)    T1: recv(x) dec(x)
 * with epochs ticking on every safepoint (tick=1).
 */
#ifndef RS_BROKEN_COALESCED_REVIEW_RELAXED_H
#define RS_BROKEN_COALESCED_REVIEW_RELAXED_H

#include "refstrat/coalesced.h"

static inline void rs_bcoal_review_relaxed(rs_run *r, rs_coal_thread *c, rs_thread *freer)
{
    rs_coal_run *s = (rs_coal_run *)r->s;
    uint64_t now = rs_pr_load_relaxed(&s->grace.epoch); /* the bug: relaxed, not rs_grace_read */
    uint32_t keep = 0;
    for (uint32_t i = 0; i < c->nreview; i++) {
        rs_coal_review e = c->review[i];
        rs_obj *o = rs_obj_at(&r->arena, e.idx);
        if (e.epoch > now) {
            c->review[keep++] = e;
            continue;
        }
        uint32_t clean = RS_REVIEW_PENDING;
        int zero = rs_pr_load_acquire(&o->rc) == 0;
        if (rs_pr_cas_strong_acq_rel_acquire(&o->aux, &clean, 0)) {
            if (zero)
                rs_free(freer, o);
        } else {
            rs_pr_store_release(&o->aux, RS_REVIEW_PENDING);
            e.epoch = now + 2;
            c->review[keep++] = e;
        }
    }
    c->nreview = keep;
}

static RS_NOINLINE void rs_broken_coalesced_review_relaxed_flush(rs_thread *t)
{
    rs_run *r = t->run;
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    rs_coal_run *s = (rs_coal_run *)r->s;
    c->until_tick = r->p.tick;
    uint64_t e = rs_grace_read(&s->grace);
    rs_coal_flush_all(t);
    rs_grace_announce(&s->grace, t->index, e);
    rs_grace_try_advance(&s->grace);
    rs_bcoal_review_relaxed(r, c, t);
}

RS_INLINE void rs_broken_coalesced_review_relaxed_safepoint(rs_thread *t)
{
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    if (RS_UNLIKELY(--c->until_tick == 0))
        rs_broken_coalesced_review_relaxed_flush(t);
}

static inline void rs_broken_coalesced_review_relaxed_wait(rs_thread *t)
{
    rs_broken_coalesced_review_relaxed_flush(t);
    rs_pr_spin();
}

#define rs_broken_coalesced_review_relaxed_init rs_coalesced_init
#define rs_broken_coalesced_review_relaxed_fini rs_coalesced_fini
#define rs_broken_coalesced_review_relaxed_obj_init rs_coalesced_obj_init
#define rs_broken_coalesced_review_relaxed_incref rs_coalesced_incref
#define rs_broken_coalesced_review_relaxed_decref rs_coalesced_decref
#define rs_broken_coalesced_review_relaxed_enter rs_coalesced_enter
#define rs_broken_coalesced_review_relaxed_leave rs_coalesced_leave
#define rs_broken_coalesced_review_relaxed_start rs_coalesced_start
#define rs_broken_coalesced_review_relaxed_quiesce rs_coalesced_quiesce
#define rs_broken_coalesced_review_relaxed_count rs_coalesced_count

#endif
