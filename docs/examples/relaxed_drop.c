/* relaxed_drop.c: `atomic` with its decrement made relaxed, deliberately wrong, for the
 * documentation's memory="c11" example (docs/checking.md); the test suite's copy is
 * tests/broken/atomic_dec_relaxed.h.
 *
 * The count stays exact on every machine (the decrement is one atomic RMW), so SC and x86-TSO
 * pass it. But the thread whose decrement reaches zero frees without acquiring the other
 * holders' accesses, and theirs are not released before their drop: on ARM or POWER a holder's
 * last accesses may land after the free. The C11 model reports the free's data race.
 */
#include "refstrat/plugin.h"

RS_INLINE void rs_relaxed_drop_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_faa_relaxed(&o->rc, -1) == 1) /* wrong: atomic's is acq_rel */
        rs_free(t, o);
}

#define rs_relaxed_drop_incref rs_atomic_incref
#define rs_relaxed_drop_init rs_atomic_init
#define rs_relaxed_drop_fini rs_atomic_fini
#define rs_relaxed_drop_obj_init rs_atomic_obj_init
#define rs_relaxed_drop_enter rs_atomic_enter
#define rs_relaxed_drop_leave rs_atomic_leave
#define rs_relaxed_drop_start rs_atomic_start
#define rs_relaxed_drop_quiesce rs_atomic_quiesce
#define rs_relaxed_drop_flush rs_atomic_flush
#define rs_relaxed_drop_safepoint rs_atomic_safepoint
#define rs_relaxed_drop_wait rs_atomic_wait
#define rs_relaxed_drop_count rs_atomic_count

#define RELAXED_DROP(RS_X) RS_X(relaxed_drop, 1, 0, "atomic with a relaxed decrement (wrong on ARM)", "docs")
RS_DEFINE_PLUGIN(RELAXED_DROP)
