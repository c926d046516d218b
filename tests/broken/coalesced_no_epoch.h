/* broken_coalesced_no_epoch: Refcache without the epoch check.
 *
 * BROKEN ON PURPOSE (tests only). A flush that leaves the global count at zero frees the object on
 * the spot instead of queueing a review two epochs later. But the true count is the global count
 * plus every thread's unflushed delta, so a zero global count proves nothing: another thread may
 * hold a positive delta (a reference it took and has not flushed yet). Caught as operations on
 * freed objects, double frees and premature frees when one thread's flush reaches zero while
 * another still holds increments, e.g.
 *   T0: new(x) inc(x) send(x->T1) ... dec(x)    T1: recv(x) dec(x)   (T1 leaves first)
 */
#ifndef RS_BROKEN_COALESCED_NO_EPOCH_H
#define RS_BROKEN_COALESCED_NO_EPOCH_H

#include "refstrat/coalesced.h"

RS_INLINE void rs_coal_broken_flush_slot(rs_thread *freer, rs_coal_slot *sl)
{
    rs_obj *o = rs_obj_at(&freer->run->arena, sl->idx);
    int64_t d = sl->delta;
    sl->delta = 0;
    if (d && __atomic_add_fetch(&o->rc, d, __ATOMIC_ACQ_REL) == 0)
        rs_free(freer, o); /* the bug: no review, no epochs */
}

RS_INLINE void rs_coal_broken_change(rs_thread *t, rs_obj *o, int32_t d)
{
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    uint32_t idx = rs_obj_index(&t->run->arena, o);
    uint32_t k = idx & (RS_COAL_SLOTS - 1);
    rs_coal_slot *sl = &c->slot[k];
    if (RS_LIKELY(sl->idx == idx)) {
        sl->delta += d;
        return;
    }
    if (sl->idx == RS_NIL)
        c->used[c->nused++] = (uint16_t)k;
    else
        rs_coal_broken_flush_slot(t, sl);
    sl->idx = idx;
    sl->delta = d;
}

static inline void rs_coal_broken_flush_all(rs_thread *t)
{
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    for (uint32_t i = 0; i < c->nused; i++) {
        rs_coal_slot *sl = &c->slot[c->used[i]];
        rs_coal_broken_flush_slot(t, sl);
        sl->idx = RS_NIL;
    }
    c->nused = 0;
}

static RS_NOINLINE void rs_coal_broken_tick(rs_thread *t)
{
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    c->until_tick = t->run->p.tick;
    rs_coal_broken_flush_all(t);
}

RS_INLINE void rs_broken_coalesced_no_epoch_incref(rs_thread *t, rs_obj *o) { rs_coal_broken_change(t, o, 1); }
RS_INLINE void rs_broken_coalesced_no_epoch_decref(rs_thread *t, rs_obj *o) { rs_coal_broken_change(t, o, -1); }

RS_INLINE void rs_broken_coalesced_no_epoch_safepoint(rs_thread *t)
{
    rs_coal_thread *c = (rs_coal_thread *)t->s;
    if (RS_UNLIKELY(--c->until_tick == 0))
        rs_coal_broken_tick(t);
}

static inline void rs_broken_coalesced_no_epoch_wait(rs_thread *t)
{
    rs_coal_broken_tick(t);
    rs_cpu_relax();
}

static inline void rs_broken_coalesced_no_epoch_leave(rs_thread *t)
{
    rs_coal_broken_flush_all(t);
    __atomic_store_n(&((rs_coal_thread *)t->s)->online, 0, __ATOMIC_RELEASE);
}

#define rs_broken_coalesced_no_epoch_flush rs_coal_broken_tick
#define rs_broken_coalesced_no_epoch_init rs_coalesced_init
#define rs_broken_coalesced_no_epoch_fini rs_coalesced_fini
#define rs_broken_coalesced_no_epoch_obj_init rs_coalesced_obj_init
#define rs_broken_coalesced_no_epoch_enter rs_coalesced_enter
#define rs_broken_coalesced_no_epoch_start rs_coalesced_start
#define rs_broken_coalesced_no_epoch_quiesce rs_coalesced_quiesce
#define rs_broken_coalesced_no_epoch_count rs_coalesced_count

#endif
