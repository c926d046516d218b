/* broken_atomic_dec_release: `atomic` whose decrement releases but does not acquire.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order.
 * The decrement is a release RMW: every holder's accesses are ordered before its own drop, but the
 * drop that reaches zero does not acquire the others', so the free is not ordered after them.
 * Linux's refcount_dec_and_test() is a release decrement followed, on the zero path only, by
 * smp_acquire__after_ctrl_dep(); this is that code with the acquire forgotten. x86, SC and the
 * checker's TSO cannot show it (a locked RMW is a full barrier); on ARM and POWER the freeing
 * thread's later accesses to the slot (the generation CAS, the reuse) may be satisfied before
 * another holder's accesses have become visible. Caught under memory="c11" as a data race of the
 * free with another holder's accesses, e.g.
 *   T0: new(x) inc(x) send(x->T1) dec(x)    T1: recv(x) dec(x)
 * with T0's decrement before T1's (T1 frees).
 */
#ifndef RS_BROKEN_ATOMIC_DEC_RELEASE_H
#define RS_BROKEN_ATOMIC_DEC_RELEASE_H

#include "refstrat/atomic.h"
#include "refstrat/pr.h"

RS_INLINE void rs_broken_atomic_dec_release_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_faa_release(&o->rc, -1) == 1) /* the bug: no acquire on the path that frees */
        rs_free(t, o);
}

#define rs_broken_atomic_dec_release_incref rs_atomic_incref
#define rs_broken_atomic_dec_release_init rs_atomic_init
#define rs_broken_atomic_dec_release_fini rs_atomic_fini
#define rs_broken_atomic_dec_release_obj_init rs_atomic_obj_init
#define rs_broken_atomic_dec_release_safepoint rs_atomic_safepoint
#define rs_broken_atomic_dec_release_wait rs_atomic_wait
#define rs_broken_atomic_dec_release_enter rs_atomic_enter
#define rs_broken_atomic_dec_release_leave rs_atomic_leave
#define rs_broken_atomic_dec_release_start rs_atomic_start
#define rs_broken_atomic_dec_release_quiesce rs_atomic_quiesce
#define rs_broken_atomic_dec_release_flush rs_atomic_flush
#define rs_broken_atomic_dec_release_count rs_atomic_count

#endif
