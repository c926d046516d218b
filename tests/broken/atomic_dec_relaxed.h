/* broken_atomic_dec_relaxed: `atomic` whose decrement is relaxed.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a relaxed free decision). The decrement is still one atomic read-modify-write, so the count is
 * exact on every machine and exactly one thread sees zero; but it neither releases this thread's
 * accesses to the object nor acquires the other holders'. The thread that frees has no
 * happens-before edge from another holder's last accesses (its handle check, its own
 * decrement): the free, a write to the whole object, races with them. x86 cannot show it (every
 * locked RMW is a full barrier, and TSO keeps loads and stores in order), nor can SC or the
 * checker's TSO; ARM and POWER can (an ldadd without acquire/release semantics lets the
 * holder's earlier loads and stores be reordered after it, so they may see or clobber the slot
 * after its reuse). Caught under memory="c11" as a data race on the object with the free, e.g.
 *   T0: new(x) inc(x) send(x->T1) dec(x)    T1: recv(x) dec(x)
 * with T0's decrement before T1's (T1 frees).
 */
#ifndef RS_BROKEN_ATOMIC_DEC_RELAXED_H
#define RS_BROKEN_ATOMIC_DEC_RELAXED_H

#include "refstrat/atomic.h"
#include "refstrat/pr.h"

RS_INLINE void rs_broken_atomic_dec_relaxed_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_faa_relaxed(&o->rc, -1) == 1) /* the bug: relaxed, not acq_rel */
        rs_free(t, o);
}

#define rs_broken_atomic_dec_relaxed_incref rs_atomic_incref
#define rs_broken_atomic_dec_relaxed_init rs_atomic_init
#define rs_broken_atomic_dec_relaxed_fini rs_atomic_fini
#define rs_broken_atomic_dec_relaxed_obj_init rs_atomic_obj_init
#define rs_broken_atomic_dec_relaxed_safepoint rs_atomic_safepoint
#define rs_broken_atomic_dec_relaxed_wait rs_atomic_wait
#define rs_broken_atomic_dec_relaxed_enter rs_atomic_enter
#define rs_broken_atomic_dec_relaxed_leave rs_atomic_leave
#define rs_broken_atomic_dec_relaxed_start rs_atomic_start
#define rs_broken_atomic_dec_relaxed_quiesce rs_atomic_quiesce
#define rs_broken_atomic_dec_relaxed_flush rs_atomic_flush
#define rs_broken_atomic_dec_relaxed_count rs_atomic_count

#endif
