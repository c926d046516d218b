/* broken_biased_shared_dec_relaxed: biased counting whose non-owner decrement CAS is relaxed.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a relaxed decrement that frees). _Py_DecRefShared's CAS is acq_rel. Relaxed, it neither
 * releases the non-owner's accesses to the owner that later frees at its local zero (the owner's
 * acquire load of the shared count reads this CAS and synchronises with nothing), nor acquires
 * the owner's accesses when this CAS leaves the count exactly MERGED and the non-owner frees.
 * Values stay exact on every machine (a CAS reads the latest count); x86, SC and the checker's
 * TSO never show it. Caught under memory="c11" as a data race of the free with the other
 * thread's accesses, whichever thread frees, e.g.
 *   T0: new(x) send(x->T1) recv(x) dec(x)    T1: recv(x) inc(x) send(x->T0) dec(x)
 */
#ifndef RS_BROKEN_BIASED_SHARED_DEC_RELAXED_H
#define RS_BROKEN_BIASED_SHARED_DEC_RELAXED_H

#include "biased_shared_dec_release.h"

static inline int rs_bbrc_cas_relaxed(int64_t *rc, int64_t *expected, int64_t desired)
{
    return rs_pr_cas_relaxed(rc, expected, desired); /* the bug: relaxed, not acq_rel */
}

RS_INLINE void rs_broken_biased_shared_dec_relaxed_decref(rs_thread *t, rs_obj *o)
{
    if (RS_LIKELY(rs_brc_is_owner(t, o)))
        rs_brc_decref_local(t, o);
    else
        rs_bbrc_decref_shared_with(t, o, rs_bbrc_cas_relaxed);
}

#define rs_broken_biased_shared_dec_relaxed_init rs_biased_init
#define rs_broken_biased_shared_dec_relaxed_fini rs_biased_fini
#define rs_broken_biased_shared_dec_relaxed_obj_init rs_biased_obj_init
#define rs_broken_biased_shared_dec_relaxed_incref rs_biased_incref
#define rs_broken_biased_shared_dec_relaxed_safepoint rs_biased_safepoint
#define rs_broken_biased_shared_dec_relaxed_wait rs_biased_wait
#define rs_broken_biased_shared_dec_relaxed_flush rs_biased_flush
#define rs_broken_biased_shared_dec_relaxed_enter rs_biased_enter
#define rs_broken_biased_shared_dec_relaxed_leave rs_biased_leave
#define rs_broken_biased_shared_dec_relaxed_start rs_biased_start
#define rs_broken_biased_shared_dec_relaxed_quiesce rs_biased_quiesce
#define rs_broken_biased_shared_dec_relaxed_count rs_biased_count

#endif
