/* nonatomic: plain increments, what a GIL build of CPython does.
 *
 * Invariant: rc is the number of references, provided only one thread touches the object at a time.
 * Freed when a decrement takes rc to zero.
 * Exact with one thread. With several threads sharing objects, the read-modify-write of two threads
 * interleaves and updates are lost: it is the speed-of-light baseline and the proof that the
 * correctness checks find races. Not thread-safe; never run it under a race detector.
 * Source: CPython's Py_INCREF/Py_DECREF in the default (GIL) build, Include/refcount.h.
 */
#ifndef REFSTRAT_NONATOMIC_H
#define REFSTRAT_NONATOMIC_H

#include "refstrat/runtime.h"

RS_INLINE void rs_nonatomic_incref(rs_thread *t, rs_obj *o)
{
    (void)t;
    rs_pr_store_plain(&o->rc, rs_pr_load_plain(&o->rc) + 1);
}

RS_INLINE void rs_nonatomic_decref(rs_thread *t, rs_obj *o)
{
    int64_t rc = rs_pr_load_plain(&o->rc) - 1;
    rs_pr_store_plain(&o->rc, rc);
    if (rc == 0)
        rs_free(t, o);
}

#define rs_nonatomic_init rs_noop_init
#define rs_nonatomic_fini rs_noop_run
#define rs_nonatomic_obj_init rs_plain_obj_init
#define rs_nonatomic_safepoint rs_noop_thread
#define rs_nonatomic_wait rs_relax_wait
#define rs_nonatomic_enter rs_noop_thread
#define rs_nonatomic_leave rs_noop_thread
#define rs_nonatomic_start rs_noop_init
#define rs_nonatomic_quiesce rs_noop_run
#define rs_nonatomic_flush rs_noop_thread
#define rs_nonatomic_count rs_plain_count

#endif
