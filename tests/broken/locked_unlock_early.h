/* broken_locked_unlock_early: `locked` whose decrement tests for zero after unlocking.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a lock released too early (a check split from its
 * update). The decrement happens under the mutex, but the zero test rereads the count after the
 * unlock. Two holders that drop the last two references both decrement under the lock (2 -> 1 -> 0)
 * and then both read 0 and both free (a double free). Single-threaded it is exact.
 * Exposed by: both decrements (with their unlocks) before either zero test, e.g.
 *   T0: new(x) inc(x) send(x->T1) dec(x)    T1: recv(x) dec(x)
 */
#ifndef RS_BROKEN_LOCKED_UNLOCK_EARLY_H
#define RS_BROKEN_LOCKED_UNLOCK_EARLY_H

#include "refstrat/locked.h"
#include "refstrat/pr.h"

RS_INLINE void rs_broken_locked_unlock_early_decref(rs_thread *t, rs_obj *o)
{
    rs_locked_run *s = (rs_locked_run *)t->run->s;
    rs_pr_mutex_lock(&s->lock);
    rs_pr_store_plain(&o->rc, rs_pr_load_plain(&o->rc) - 1);
    rs_pr_mutex_unlock(&s->lock);
    if (rs_pr_load_relaxed(&o->rc) == 0) /* the bug: read outside the lock, after the unlock */
        rs_free(t, o);
}

#define rs_broken_locked_unlock_early_incref rs_locked_incref
#define rs_broken_locked_unlock_early_init rs_locked_init
#define rs_broken_locked_unlock_early_fini rs_locked_fini
#define rs_broken_locked_unlock_early_obj_init rs_locked_obj_init
#define rs_broken_locked_unlock_early_safepoint rs_locked_safepoint
#define rs_broken_locked_unlock_early_wait rs_locked_wait
#define rs_broken_locked_unlock_early_enter rs_locked_enter
#define rs_broken_locked_unlock_early_leave rs_locked_leave
#define rs_broken_locked_unlock_early_start rs_locked_start
#define rs_broken_locked_unlock_early_quiesce rs_locked_quiesce
#define rs_broken_locked_unlock_early_flush rs_locked_flush
#define rs_broken_locked_unlock_early_count rs_locked_count

#endif
