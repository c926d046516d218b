/* broken_percpu_kill_no_grace: percpu_ref's kill without the grace period.
 *
 * BROKEN ON PURPOSE (tests only). kill stores atomic mode and folds every thread's counter at
 * once, instead of after every online thread has passed a quiescent state. A thread that loaded
 * percpu mode just before the kill's store still writes its per-thread counter afterwards: that
 * increment is never folded (the fold has already read and zeroed the counter), so rc is short by
 * one and a later atomic decrement frees the object while a reference is held. Caught as a use
 * after free or a premature free, e.g.
 *   T0: new(x) inc(x) send(x->1) kill(x)    T1: recv(x) inc(x) dec(x) dec(x)
 * with T1 preempted between its mode load and its counter store in inc(x).
 */
#ifndef RS_BROKEN_PERCPU_KILL_NO_GRACE_H
#define RS_BROKEN_PERCPU_KILL_NO_GRACE_H

#include "refstrat/percpu.h"

static inline void rs_broken_percpu_kill_no_grace_kill(rs_thread *t, rs_obj *o)
{
    rs_pr_store_relaxed(&o->aux, RS_PCPU_ATOMIC);
    (void)rs_pr_sub_fetch_acq_rel(&o->rc, 1); /* the initial reference: the bias keeps rc above zero */
    rs_pcpu_fold(t, o); /* the bug: no grace period between the mode switch and the fold */
}

#define rs_broken_percpu_kill_no_grace_init rs_percpu_init
#define rs_broken_percpu_kill_no_grace_fini rs_percpu_fini
#define rs_broken_percpu_kill_no_grace_obj_init rs_percpu_obj_init
#define rs_broken_percpu_kill_no_grace_incref rs_percpu_incref
#define rs_broken_percpu_kill_no_grace_decref rs_percpu_decref
#define rs_broken_percpu_kill_no_grace_safepoint rs_percpu_safepoint
#define rs_broken_percpu_kill_no_grace_wait rs_percpu_wait
#define rs_broken_percpu_kill_no_grace_flush rs_percpu_flush
#define rs_broken_percpu_kill_no_grace_enter rs_percpu_enter
#define rs_broken_percpu_kill_no_grace_leave rs_percpu_leave
#define rs_broken_percpu_kill_no_grace_start rs_percpu_start
#define rs_broken_percpu_kill_no_grace_quiesce rs_percpu_quiesce
#define rs_broken_percpu_kill_no_grace_count rs_percpu_count

#endif
