/* broken_atomic_dec_then_load: `atomic` whose zero test is a separate load after the decrement.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a check split from its atomic update. The decrement
 * itself is one atomic read-modify-write, but its result is thrown away and the zero test reads
 * the count again. Two threads that drop the last two references both decrement (2 -> 1 -> 0)
 * before either reloads: both read 0 and both free (a double free), or one frees while the other
 * still holds the object. Single-threaded it is exact.
 * Exposed by: two holders dropping at once, both decrements scheduled before both reloads, e.g.
 *   T0: new(x) inc(x) send(x->T1) dec(x)    T1: recv(x) dec(x)
 */
#ifndef RS_BROKEN_ATOMIC_DEC_THEN_LOAD_H
#define RS_BROKEN_ATOMIC_DEC_THEN_LOAD_H

#include "refstrat/atomic.h"
#include "refstrat/pr.h"

RS_INLINE void rs_broken_atomic_dec_then_load_decref(rs_thread *t, rs_obj *o)
{
    rs_pr_faa_acq_rel(&o->rc, -1);
    if (rs_pr_load_acquire(&o->rc) == 0) /* the bug: not the value the decrement produced */
        rs_free(t, o);
}

#define rs_broken_atomic_dec_then_load_incref rs_atomic_incref
#define rs_broken_atomic_dec_then_load_init rs_atomic_init
#define rs_broken_atomic_dec_then_load_fini rs_atomic_fini
#define rs_broken_atomic_dec_then_load_obj_init rs_atomic_obj_init
#define rs_broken_atomic_dec_then_load_safepoint rs_atomic_safepoint
#define rs_broken_atomic_dec_then_load_wait rs_atomic_wait
#define rs_broken_atomic_dec_then_load_enter rs_atomic_enter
#define rs_broken_atomic_dec_then_load_leave rs_atomic_leave
#define rs_broken_atomic_dec_then_load_start rs_atomic_start
#define rs_broken_atomic_dec_then_load_quiesce rs_atomic_quiesce
#define rs_broken_atomic_dec_then_load_flush rs_atomic_flush
#define rs_broken_atomic_dec_then_load_count rs_atomic_count

#endif
