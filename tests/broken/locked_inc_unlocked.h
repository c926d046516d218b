/* broken_locked_inc_unlocked: `locked` that skips the mutex on increments.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a check split from its update (an unprotected
 * read-modify-write). The "optimisation": an increment can never free, so it does not take the
 * lock. But the decrements under the lock are read-modify-writes of the same word: an increment
 * that runs between a decrement's load and store is overwritten (or overwrites it), so counts are
 * lost in both directions: frees while referenced, leaks. Single-threaded it is exact.
 * Exposed by: an increment and another thread's decrement of one object interleaved inside the
 * decrement, e.g.  shared=1: T0: inc(0)    T1: inc(0) dec(0)
 */
#ifndef RS_BROKEN_LOCKED_INC_UNLOCKED_H
#define RS_BROKEN_LOCKED_INC_UNLOCKED_H

#include "refstrat/locked.h"
#include "refstrat/pr.h"

RS_INLINE void rs_broken_locked_inc_unlocked_incref(rs_thread *t, rs_obj *o)
{
    (void)t; /* the bug: no rs_pr_mutex_lock(&s->lock) around the update */
    rs_pr_store_plain(&o->rc, rs_pr_load_plain(&o->rc) + 1);
}

#define rs_broken_locked_inc_unlocked_decref rs_locked_decref
#define rs_broken_locked_inc_unlocked_init rs_locked_init
#define rs_broken_locked_inc_unlocked_fini rs_locked_fini
#define rs_broken_locked_inc_unlocked_obj_init rs_locked_obj_init
#define rs_broken_locked_inc_unlocked_safepoint rs_locked_safepoint
#define rs_broken_locked_inc_unlocked_wait rs_locked_wait
#define rs_broken_locked_inc_unlocked_enter rs_locked_enter
#define rs_broken_locked_inc_unlocked_leave rs_locked_leave
#define rs_broken_locked_inc_unlocked_start rs_locked_start
#define rs_broken_locked_inc_unlocked_quiesce rs_locked_quiesce
#define rs_broken_locked_inc_unlocked_flush rs_locked_flush
#define rs_broken_locked_inc_unlocked_count rs_locked_count

#endif
