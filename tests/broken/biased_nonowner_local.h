/* broken_biased_nonowner_local: biased counting where a non-owner also writes ob_ref_local.
 *
 * BROKEN ON PURPOSE (tests only). Every thread takes the owner's fast path: a plain load and store
 * of `local` with no atomics. That is only sound when one thread writes local; with two, their
 * read-modify-writes interleave and updates are lost, exactly like `nonatomic`. Caught under
 * concurrent updates of one object by its owner and another thread.
 */
#ifndef RS_BROKEN_BIASED_NONOWNER_LOCAL_H
#define RS_BROKEN_BIASED_NONOWNER_LOCAL_H

#include "refstrat/biased.h"

RS_INLINE void rs_broken_biased_nonowner_local_incref(rs_thread *t, rs_obj *o)
{
    (void)t;
    rs_pr_store_relaxed(&o->local, rs_pr_load_relaxed(&o->local) + 1);
}

RS_INLINE void rs_broken_biased_nonowner_local_decref(rs_thread *t, rs_obj *o)
{
    uint32_t local = rs_pr_load_relaxed(&o->local) - 1;
    rs_pr_store_relaxed(&o->local, local);
    if (RS_UNLIKELY(local == 0))
        rs_brc_merge_zero(t, o);
}

#define rs_broken_biased_nonowner_local_init rs_biased_init
#define rs_broken_biased_nonowner_local_fini rs_biased_fini
#define rs_broken_biased_nonowner_local_obj_init rs_biased_obj_init
#define rs_broken_biased_nonowner_local_safepoint rs_biased_safepoint
#define rs_broken_biased_nonowner_local_wait rs_biased_wait
#define rs_broken_biased_nonowner_local_enter rs_biased_enter
#define rs_broken_biased_nonowner_local_leave rs_biased_leave
#define rs_broken_biased_nonowner_local_start rs_biased_start
#define rs_broken_biased_nonowner_local_quiesce rs_biased_quiesce
#define rs_broken_biased_nonowner_local_flush rs_biased_flush
#define rs_broken_biased_nonowner_local_count rs_biased_count

#endif
