/* broken_biased_merge_zero_relaxed: biased counting whose owner reads the shared count relaxed
 * when its local count reaches zero.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a relaxed free decision). _Py_MergeZeroLocalRefcount frees at once when the shared count is
 * zero; that load must acquire, because the non-owners' shared decrements that brought it to zero
 * (CAS acq_rel, release half) are what order their accesses before the free. Relaxed, the owner
 * frees with no happens-before edge from them. Every value read is still right (the shared count
 * is zero), so x86, SC and the checker's TSO never show it; ARM and POWER can reorder the
 * non-owner's last accesses past the owner's free. Caught under memory="c11" as a data race of
 * the free with the non-owner's accesses, e.g.
 *   T0: new(x) send(x->T1) recv(x) dec(x)    T1: recv(x) inc(x) send(x->T0) dec(x)
 * with T1's dec (shared 1 -> 0) before T0's dec (local 1 -> 0, shared read as 0: T0 frees).
 */
#ifndef RS_BROKEN_BIASED_MERGE_ZERO_RELAXED_H
#define RS_BROKEN_BIASED_MERGE_ZERO_RELAXED_H

#include "refstrat/biased.h"
#include "refstrat/pr.h"

static RS_NOINLINE void rs_bbrc_merge_zero_relaxed(rs_thread *t, rs_obj *o)
{
    int64_t shared = rs_pr_load_relaxed(&o->rc), want; /* the bug: relaxed, not acquire */
    if (shared == 0) {
        rs_free(t, o);
        return;
    }
    rs_pr_store_relaxed(&o->owner, 0);
    do {
        want = (shared & ~(int64_t)RS_BRC_FLAGS) | RS_BRC_MERGED;
    } while (!rs_pr_cas_acq_rel(&o->rc, &shared, want));
    if (want == RS_BRC_MERGED)
        rs_free(t, o);
}

RS_INLINE void rs_broken_biased_merge_zero_relaxed_decref(rs_thread *t, rs_obj *o)
{
    if (!rs_brc_is_owner(t, o)) {
        rs_brc_decref_shared(t, o);
        return;
    }
    uint32_t local = rs_pr_load_plain(&o->local) - 1;
    rs_pr_store_relaxed(&o->local, local);
    if (RS_UNLIKELY(local == 0))
        rs_bbrc_merge_zero_relaxed(t, o);
}

#define rs_broken_biased_merge_zero_relaxed_init rs_biased_init
#define rs_broken_biased_merge_zero_relaxed_fini rs_biased_fini
#define rs_broken_biased_merge_zero_relaxed_obj_init rs_biased_obj_init
#define rs_broken_biased_merge_zero_relaxed_incref rs_biased_incref
#define rs_broken_biased_merge_zero_relaxed_safepoint rs_biased_safepoint
#define rs_broken_biased_merge_zero_relaxed_wait rs_biased_wait
#define rs_broken_biased_merge_zero_relaxed_flush rs_biased_flush
#define rs_broken_biased_merge_zero_relaxed_enter rs_biased_enter
#define rs_broken_biased_merge_zero_relaxed_leave rs_biased_leave
#define rs_broken_biased_merge_zero_relaxed_start rs_biased_start
#define rs_broken_biased_merge_zero_relaxed_quiesce rs_biased_quiesce
#define rs_broken_biased_merge_zero_relaxed_count rs_biased_count

#endif
