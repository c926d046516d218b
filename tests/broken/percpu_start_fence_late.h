/* broken_percpu_start_fence_late: percpu whose kill starts its grace period with a relaxed RMW
 * and puts the fence after it.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a fence in the wrong place). rs_grace_start's RMW on the epoch is acq_rel so that its release
 * publishes kill's relaxed store of atomic mode to every thread that later reads an advanced
 * epoch. Here the RMW is relaxed and the seq_cst fence that follows it is meant to make up for
 * it; but a fence releases only the stores before it to readers of stores *after* it, and the
 * RMW that heads the release sequence comes before. A thread may pass its quiescent states, read
 * percpu mode still and count in its per-thread counter unordered with the fold: a lost
 * increment, a premature free, a data race on the counter. x86, SC and the checker's TSO never
 * show it (every locked RMW is a full barrier); ARM and POWER can. Caught under memory="c11", e.g.
 *   T0: new(x) inc(x) send(x->T1) kill(x)    T1: recv(x) inc(x) dec(x) dec(x)
 * with T1 advancing the epoch itself and then incrementing in percpu mode.
 */
#ifndef RS_BROKEN_PERCPU_START_FENCE_LATE_H
#define RS_BROKEN_PERCPU_START_FENCE_LATE_H

#include "percpu_kill_with.h"

static inline uint64_t rs_bpcpu_start_fence_late(rs_grace *g)
{
    uint64_t e = rs_pr_faa_relaxed(&g->epoch, 0);
    rs_pr_fence_seq_cst(); /* the bug: after the RMW it was to publish through, not before */
    return e + 2;
}

static inline void rs_broken_percpu_start_fence_late_kill(rs_thread *t, rs_obj *o)
{
    rs_bpcpu_kill_with(t, o, rs_bpcpu_start_fence_late);
}

#define rs_broken_percpu_start_fence_late_init rs_percpu_init
#define rs_broken_percpu_start_fence_late_fini rs_percpu_fini
#define rs_broken_percpu_start_fence_late_obj_init rs_percpu_obj_init
#define rs_broken_percpu_start_fence_late_incref rs_percpu_incref
#define rs_broken_percpu_start_fence_late_decref rs_percpu_decref
#define rs_broken_percpu_start_fence_late_safepoint rs_percpu_safepoint
#define rs_broken_percpu_start_fence_late_wait rs_percpu_wait
#define rs_broken_percpu_start_fence_late_flush rs_percpu_flush
#define rs_broken_percpu_start_fence_late_enter rs_percpu_enter
#define rs_broken_percpu_start_fence_late_leave rs_percpu_leave
#define rs_broken_percpu_start_fence_late_start rs_percpu_start
#define rs_broken_percpu_start_fence_late_quiesce rs_percpu_quiesce
#define rs_broken_percpu_start_fence_late_count rs_percpu_count

#endif
