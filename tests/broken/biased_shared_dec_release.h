/* broken_biased_shared_dec_release: biased counting whose non-owner decrement CAS only releases.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order.
 * _Py_DecRefShared's CAS is acq_rel: its release orders the non-owner's accesses before its drop,
 * and its acquire lets the non-owner whose CAS leaves the count exactly MERGED (merged, zero) see
 * everything the owner did before it merged (the owner's merge CAS releases it). With a release
 * CAS the non-owner frees without acquiring the owner's accesses. The values are exact on every
 * machine (a CAS reads the latest count), so x86, SC and the checker's TSO never show it; ARM and
 * POWER can let the owner's last accesses land after the free. Caught under memory="c11" as a
 * data race of the free with the owner's accesses, e.g.
 *   T0: new(x) send(x->T1) recv(x) dec(x)    T1: recv(x) inc(x) send(x->T0) dec(x)
 * with T0's dec (local 1 -> 0, shared 1: merged) before T1's (shared 1 -> 0, MERGED: T1 frees).
 */
#ifndef RS_BROKEN_BIASED_SHARED_DEC_RELEASE_H
#define RS_BROKEN_BIASED_SHARED_DEC_RELEASE_H

#include "refstrat/biased.h"
#include "refstrat/pr.h"

/* _Py_DecRefShared with its CAS replaceable (broken_biased_shared_dec_relaxed uses it too). */
typedef int (*rs_bbrc_cas_fn)(int64_t *rc, int64_t *expected, int64_t desired);

static RS_NOINLINE void rs_bbrc_decref_shared_with(rs_thread *t, rs_obj *o, rs_bbrc_cas_fn cas)
{
    int64_t shared = rs_pr_load_relaxed(&o->rc), want;
    int queue;
    do {
        queue = shared == 0;
        want = queue ? RS_BRC_QUEUED : shared - ((int64_t)1 << RS_BRC_SHIFT);
    } while (!cas(&o->rc, &shared, want));
    if (queue)
        rs_brc_queue(t, o);
    else if (want == RS_BRC_MERGED)
        rs_free(t, o);
}

static inline int rs_bbrc_cas_release(int64_t *rc, int64_t *expected, int64_t desired)
{
    return rs_pr_cas_release(rc, expected, desired); /* the bug: release, not acq_rel */
}

RS_INLINE void rs_broken_biased_shared_dec_release_decref(rs_thread *t, rs_obj *o)
{
    if (RS_LIKELY(rs_brc_is_owner(t, o)))
        rs_brc_decref_local(t, o);
    else
        rs_bbrc_decref_shared_with(t, o, rs_bbrc_cas_release);
}

#define rs_broken_biased_shared_dec_release_init rs_biased_init
#define rs_broken_biased_shared_dec_release_fini rs_biased_fini
#define rs_broken_biased_shared_dec_release_obj_init rs_biased_obj_init
#define rs_broken_biased_shared_dec_release_incref rs_biased_incref
#define rs_broken_biased_shared_dec_release_safepoint rs_biased_safepoint
#define rs_broken_biased_shared_dec_release_wait rs_biased_wait
#define rs_broken_biased_shared_dec_release_flush rs_biased_flush
#define rs_broken_biased_shared_dec_release_enter rs_biased_enter
#define rs_broken_biased_shared_dec_release_leave rs_biased_leave
#define rs_broken_biased_shared_dec_release_start rs_biased_start
#define rs_broken_biased_shared_dec_release_quiesce rs_biased_quiesce
#define rs_broken_biased_shared_dec_release_count rs_biased_count

#endif
