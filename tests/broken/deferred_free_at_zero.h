/* broken_deferred_free_at_zero: `deferred` whose decref frees at the heap count's zero.
 *
 * BROKEN ON PURPOSE (tests only). The deferred layer leaves a deferred object's stack references
 * out of its count, so a zero heap count does not mean dead: only a collection that scans the
 * stacks may free it (rs_free ignores the zero for that reason). This decref calls the arena's
 * free directly when its decrement reaches zero, ignoring the stack roots: an object a thread
 * still holds on its stack is freed under it. Exposed by one thread: new x, push x, dec x (heap
 * count 0, one stack reference left), pop x (a use after free).
 */
#ifndef RS_BROKEN_DEFERRED_FREE_AT_ZERO_H
#define RS_BROKEN_DEFERRED_FREE_AT_ZERO_H

#include "refstrat/deferred.h"

#define rs_broken_deferred_free_at_zero_incref rs_deferred_incref

RS_INLINE void rs_broken_deferred_free_at_zero_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_sub_fetch_acq_rel(&o->rc, 1) == 0)
        rs_free_now(t, o); /* BUG: rs_free would leave a deferred object to the collector */
}

#define rs_broken_deferred_free_at_zero_init rs_deferred_init
#define rs_broken_deferred_free_at_zero_fini rs_deferred_fini
#define rs_broken_deferred_free_at_zero_obj_init rs_deferred_obj_init
#define rs_broken_deferred_free_at_zero_safepoint rs_deferred_safepoint
#define rs_broken_deferred_free_at_zero_wait rs_deferred_wait
#define rs_broken_deferred_free_at_zero_enter rs_deferred_enter
#define rs_broken_deferred_free_at_zero_leave rs_deferred_leave
#define rs_broken_deferred_free_at_zero_start rs_deferred_start
#define rs_broken_deferred_free_at_zero_quiesce rs_deferred_quiesce
#define rs_broken_deferred_free_at_zero_flush rs_deferred_flush
#define rs_broken_deferred_free_at_zero_count rs_deferred_count

#endif
