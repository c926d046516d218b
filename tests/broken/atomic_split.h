/* broken_atomic_split: `atomic` done as a separate atomic load, add and store.
 *
 * BROKEN ON PURPOSE (tests only). Each access is atomic, so there is no torn value, but the
 * read-modify-write is not: two threads that load the same value both store value + 1 and one
 * update is lost (the classic Gilectomy pitfall). Caught as wrong final counts, premature frees
 * and operations on freed objects under concurrent updates of one object.
 */
#ifndef RS_BROKEN_ATOMIC_SPLIT_H
#define RS_BROKEN_ATOMIC_SPLIT_H

#include "refstrat/atomic.h"

RS_INLINE void rs_broken_atomic_split_incref(rs_thread *t, rs_obj *o)
{
    (void)t;
    int64_t v = rs_pr_load_relaxed(&o->rc);
    rs_pr_store_relaxed(&o->rc, v + 1);
}

RS_INLINE void rs_broken_atomic_split_decref(rs_thread *t, rs_obj *o)
{
    int64_t v = rs_pr_load_acquire(&o->rc) - 1;
    rs_pr_store_release(&o->rc, v);
    if (v == 0)
        rs_free(t, o);
}

#define rs_broken_atomic_split_init rs_atomic_init
#define rs_broken_atomic_split_fini rs_atomic_fini
#define rs_broken_atomic_split_obj_init rs_atomic_obj_init
#define rs_broken_atomic_split_safepoint rs_atomic_safepoint
#define rs_broken_atomic_split_wait rs_atomic_wait
#define rs_broken_atomic_split_enter rs_atomic_enter
#define rs_broken_atomic_split_leave rs_atomic_leave
#define rs_broken_atomic_split_start rs_atomic_start
#define rs_broken_atomic_split_quiesce rs_atomic_quiesce
#define rs_broken_atomic_split_flush rs_atomic_flush
#define rs_broken_atomic_split_count rs_atomic_count

#endif
