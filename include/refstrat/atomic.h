/* atomic: a lock-prefixed add or subtract on every count change (the Gilectomy's first step).
 *
 * Invariant: rc is the exact number of references at every instant.
 * Freed by the thread whose decrement takes rc to zero.
 * Increments are relaxed: a thread can only add a reference it already holds, so nothing is
 * published by an increment. A decrement is acq_rel: its release orders this thread's earlier
 * accesses before the drop, and the acquire of the decrement that reaches zero makes all of them
 * visible to the thread that frees (as Linux refcount_dec_and_test()).
 * Source: Larry Hastings, "The Gilectomy" (PyCon 2016); Linux include/linux/refcount.h.
 */
#ifndef REFSTRAT_ATOMIC_H
#define REFSTRAT_ATOMIC_H

#include "refstrat/runtime.h"

RS_INLINE void rs_atomic_incref(rs_thread *t, rs_obj *o)
{
    (void)t;
    RS_STAT(t, slow);
    rs_pr_faa_relaxed(&o->rc, 1);
}

RS_INLINE void rs_atomic_decref(rs_thread *t, rs_obj *o)
{
    RS_STAT(t, slow);
    if (rs_pr_sub_fetch_acq_rel(&o->rc, 1) == 0)
        rs_free(t, o);
}

#define rs_atomic_init rs_noop_init
#define rs_atomic_fini rs_noop_run
#define rs_atomic_obj_init rs_plain_obj_init
#define rs_atomic_safepoint rs_noop_thread
#define rs_atomic_wait rs_relax_wait
#define rs_atomic_enter rs_noop_thread
#define rs_atomic_leave rs_noop_thread
#define rs_atomic_start rs_noop_init
#define rs_atomic_quiesce rs_noop_run
#define rs_atomic_flush rs_noop_thread
#define rs_atomic_count rs_plain_count

#endif
