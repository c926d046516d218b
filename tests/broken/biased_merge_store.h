/* broken_biased_merge_store: biased counting whose owner merges with a store, not a CAS.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a compare-and-swap replaced by a load and a store.
 * When the owner's local count reaches zero and the shared count is not zero, the owner gives the
 * object up by setting the MERGED flag on the shared count. It loads the shared count and stores
 * it back with the flag; a non-owner's increment or decrement (an atomic add / CAS on the shared
 * count) that lands between the load and the store is overwritten. A lost decrement leaves the
 * object alive for ever (a leak); a lost increment frees it while referenced. Single-threaded
 * only the owner touches the object and counts are exact.
 * Exposed by: the owner's last local drop racing a non-owner's update of the shared count, e.g.
 *   T0: new(x) send(x->T1) recv(x) dec(x)    T1: recv(x) inc(x) send(x->T0) dec(x)
 * with T1's dec between T0's load of the shared count and its store (a leak).
 */
#ifndef RS_BROKEN_BIASED_MERGE_STORE_H
#define RS_BROKEN_BIASED_MERGE_STORE_H

#include "refstrat/biased.h"
#include "refstrat/pr.h"

static RS_NOINLINE void rs_bbrc_merge_zero_store(rs_thread *t, rs_obj *o)
{
    int64_t shared = rs_pr_load_acquire(&o->rc);
    if (shared == 0) {
        rs_free(t, o);
        return;
    }
    rs_pr_store_relaxed(&o->owner, 0);
    int64_t want = (shared & ~(int64_t)RS_BRC_FLAGS) | RS_BRC_MERGED;
    rs_pr_store_release(&o->rc, want); /* the bug: the shared count may have changed since */
    if (want == RS_BRC_MERGED)
        rs_free(t, o);
}

RS_INLINE void rs_broken_biased_merge_store_decref(rs_thread *t, rs_obj *o)
{
    if (!rs_brc_is_owner(t, o)) {
        rs_brc_decref_shared(t, o);
        return;
    }
    uint32_t local = rs_pr_load_plain(&o->local) - 1;
    rs_pr_store_relaxed(&o->local, local);
    if (RS_UNLIKELY(local == 0))
        rs_bbrc_merge_zero_store(t, o);
}

#define rs_broken_biased_merge_store_incref rs_biased_incref
#define rs_broken_biased_merge_store_init rs_biased_init
#define rs_broken_biased_merge_store_fini rs_biased_fini
#define rs_broken_biased_merge_store_obj_init rs_biased_obj_init
#define rs_broken_biased_merge_store_safepoint rs_biased_safepoint
#define rs_broken_biased_merge_store_wait rs_biased_wait
#define rs_broken_biased_merge_store_enter rs_biased_enter
#define rs_broken_biased_merge_store_leave rs_biased_leave
#define rs_broken_biased_merge_store_start rs_biased_start
#define rs_broken_biased_merge_store_quiesce rs_biased_quiesce
#define rs_broken_biased_merge_store_flush rs_biased_flush
#define rs_broken_biased_merge_store_count rs_biased_count

#endif
