/* broken_percpu_announce_relaxed: percpu whose threads announce their quiescent states with a
 * relaxed store.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a message-passing flag written relaxed). A worker updates its per-thread counters with plain
 * stores and, at a safepoint, announces the epoch it has seen; the fold after a grace period reads
 * and zeroes those counters with plain accesses. What orders them is the announcement's release
 * (rs_grace_announce) paired with the advancer's acquire, then the epoch CAS and rs_grace_done's
 * acquire. Relaxed, the epoch can advance past a worker whose counter stores the folder does not
 * see: the fold reads a stale counter (a lost update, a premature free or a leak) and races with
 * the worker's stores. x86, SC and the checker's TSO never show it (TSO keeps a thread's stores
 * in order); ARM and POWER can. Caught under memory="c11" as a data race on the per-thread
 * counter (or a wrong count), e.g.
 *   T0: new(x) inc(x) send(x->T1) kill(x)    T1: recv(x) inc(x) dec(x) dec(x)
 * with T1's percpu increment before its quiescent state and the fold on T0.
 */
#ifndef RS_BROKEN_PERCPU_ANNOUNCE_RELAXED_H
#define RS_BROKEN_PERCPU_ANNOUNCE_RELAXED_H

#include "refstrat/percpu.h"

static inline void rs_bpcpu_quiescent_relaxed(rs_grace *g, uint32_t i)
{
    uint64_t e = rs_grace_read(g);
    if (RS_UNLIKELY(e != g->th[i].seen_local)) {
        g->th[i].seen_local = e;
        rs_pr_store_relaxed(&g->th[i].seen, e); /* the bug: relaxed, not release */
    }
}

static inline void rs_broken_percpu_announce_relaxed_safepoint(rs_thread *t)
{
    rs_pcpu_thread *c = (rs_pcpu_thread *)t->s;
    rs_bpcpu_quiescent_relaxed(&((rs_pcpu_run *)t->run->s)->grace, t->index);
    if (RS_UNLIKELY(c->npending) && --c->until_tick == 0)
        rs_pcpu_tick(t);
}

static inline void rs_broken_percpu_announce_relaxed_flush(rs_thread *t)
{
    rs_bpcpu_quiescent_relaxed(&((rs_pcpu_run *)t->run->s)->grace, t->index);
    rs_pcpu_tick(t);
}

static inline void rs_broken_percpu_announce_relaxed_wait(rs_thread *t)
{
    rs_broken_percpu_announce_relaxed_flush(t);
    rs_pr_spin();
}

#define rs_broken_percpu_announce_relaxed_init rs_percpu_init
#define rs_broken_percpu_announce_relaxed_fini rs_percpu_fini
#define rs_broken_percpu_announce_relaxed_obj_init rs_percpu_obj_init
#define rs_broken_percpu_announce_relaxed_incref rs_percpu_incref
#define rs_broken_percpu_announce_relaxed_decref rs_percpu_decref
#define rs_broken_percpu_announce_relaxed_kill rs_percpu_kill
#define rs_broken_percpu_announce_relaxed_enter rs_percpu_enter
#define rs_broken_percpu_announce_relaxed_leave rs_percpu_leave
#define rs_broken_percpu_announce_relaxed_start rs_percpu_start
#define rs_broken_percpu_announce_relaxed_quiesce rs_percpu_quiesce
#define rs_broken_percpu_announce_relaxed_count rs_percpu_count

#endif
