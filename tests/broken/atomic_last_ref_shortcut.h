/* broken_atomic_last_ref_shortcut: `atomic` with a "sole owner" shortcut on the decrement.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a check split from its atomic update. To skip the
 * locked instruction when this thread looks like the last holder, the decrement first loads the
 * count: 1 means "mine alone", so it frees without touching the count; otherwise it subtracts.
 * The load and the subtract are separate steps: two holders that both load 2 both subtract, the
 * count reaches 0 and nobody frees (a leak). Single-threaded it is exact.
 * Exposed by: two holders dropping at once, both loads scheduled before either subtract, e.g.
 *   T0: new(x) inc(x) send(x->T1) dec(x)    T1: recv(x) dec(x)
 */
#ifndef RS_BROKEN_ATOMIC_LAST_REF_SHORTCUT_H
#define RS_BROKEN_ATOMIC_LAST_REF_SHORTCUT_H

#include "refstrat/atomic.h"
#include "refstrat/pr.h"

RS_INLINE void rs_broken_atomic_last_ref_shortcut_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_load_acquire(&o->rc) == 1) /* the bug: another holder may decrement meanwhile */
        rs_free(t, o);
    else
        rs_pr_faa_acq_rel(&o->rc, -1);
}

#define rs_broken_atomic_last_ref_shortcut_incref rs_atomic_incref
#define rs_broken_atomic_last_ref_shortcut_init rs_atomic_init
#define rs_broken_atomic_last_ref_shortcut_fini rs_atomic_fini
#define rs_broken_atomic_last_ref_shortcut_obj_init rs_atomic_obj_init
#define rs_broken_atomic_last_ref_shortcut_safepoint rs_atomic_safepoint
#define rs_broken_atomic_last_ref_shortcut_wait rs_atomic_wait
#define rs_broken_atomic_last_ref_shortcut_enter rs_atomic_enter
#define rs_broken_atomic_last_ref_shortcut_leave rs_atomic_leave
#define rs_broken_atomic_last_ref_shortcut_start rs_atomic_start
#define rs_broken_atomic_last_ref_shortcut_quiesce rs_atomic_quiesce
#define rs_broken_atomic_last_ref_shortcut_flush rs_atomic_flush
#define rs_broken_atomic_last_ref_shortcut_count rs_atomic_count

#endif
