/* broken_percpu_start_load: percpu whose kill starts its grace period with an acquire load of the
 * epoch, not the RMW that heads a release sequence.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a missing release sequence). kill stores atomic mode with a relaxed store; what publishes it
 * to every other thread is rs_grace_start's acq_rel RMW on the epoch: the epoch advances that
 * follow are CASes, which continue the RMW's release sequence, so a thread whose quiescent state
 * reads a later epoch (acquire) sees the mode switch and stops using its per-thread counter
 * before the fold. grace.h says so: "a plain acquire load would not publish the caller's
 * stores". This kill reads the epoch with that acquire load: a thread may pass its quiescent
 * states, still read percpu mode and count in its per-thread counter after (or unordered with)
 * the fold: a lost increment, a premature free, a data race on the counter. x86, SC and the
 * checker's TSO never show it (the seq_cst fence that follows drains the mode store before the
 * epoch can move); ARM and POWER can. Caught under memory="c11", e.g.
 *   T0: new(x) inc(x) send(x->T1) kill(x)    T1: recv(x) inc(x) dec(x) dec(x)
 * with T1 advancing the epoch itself and then incrementing in percpu mode.
 */
#ifndef RS_BROKEN_PERCPU_START_LOAD_H
#define RS_BROKEN_PERCPU_START_LOAD_H

#include "percpu_kill_with.h"

static inline uint64_t rs_bpcpu_start_load(rs_grace *g)
{
    uint64_t e = rs_pr_load_acquire(&g->epoch); /* the bug: a load heads no release sequence */
    rs_pr_fence_seq_cst();
    return e + 2;
}

static inline void rs_broken_percpu_start_load_kill(rs_thread *t, rs_obj *o)
{
    rs_bpcpu_kill_with(t, o, rs_bpcpu_start_load);
}

#define rs_broken_percpu_start_load_init rs_percpu_init
#define rs_broken_percpu_start_load_fini rs_percpu_fini
#define rs_broken_percpu_start_load_obj_init rs_percpu_obj_init
#define rs_broken_percpu_start_load_incref rs_percpu_incref
#define rs_broken_percpu_start_load_decref rs_percpu_decref
#define rs_broken_percpu_start_load_safepoint rs_percpu_safepoint
#define rs_broken_percpu_start_load_wait rs_percpu_wait
#define rs_broken_percpu_start_load_flush rs_percpu_flush
#define rs_broken_percpu_start_load_enter rs_percpu_enter
#define rs_broken_percpu_start_load_leave rs_percpu_leave
#define rs_broken_percpu_start_load_start rs_percpu_start
#define rs_broken_percpu_start_load_quiesce rs_percpu_quiesce
#define rs_broken_percpu_start_load_count rs_percpu_count

#endif
