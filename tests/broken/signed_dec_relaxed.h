/* broken_signed_dec_relaxed: Lean-style signed counts whose shared decrement is relaxed.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a relaxed free decision). Once an object is shared (rc < 0) every holder drops its reference
 * with an atomic add of 1; here that add is relaxed instead of acq_rel, so the holder whose add
 * reaches zero frees without acquiring the other holders' accesses, and theirs are not released
 * before their drop. Counts stay exact on every machine (an RMW reads the latest value); x86, SC
 * and the checker's TSO never show it. On ARM and POWER a holder's last accesses may land after
 * the free. Caught under memory="c11" as a data race of the free with the other holder's
 * accesses, e.g.
 *   T0: new(x) inc(x) send(x->T1) dec(x)    T1: recv(x) dec(x)
 * (the send publishes x: both drops take the shared path).
 */
#ifndef RS_BROKEN_SIGNED_DEC_RELAXED_H
#define RS_BROKEN_SIGNED_DEC_RELAXED_H

#include "refstrat/signed.h"

/* signed's decref with the shared drop replaceable (broken_signed_dec_release uses it too): `drop`
 * adds 1 to the negative count and returns the new value. */
typedef int64_t (*rs_bsigned_drop_fn)(int64_t *rc);

RS_INLINE void rs_bsigned_decref_with(rs_thread *t, rs_obj *o, rs_bsigned_drop_fn drop)
{
    int64_t v = rs_pr_load_relaxed(&o->rc);
    if (RS_LIKELY(v > 1)) {
        rs_pr_store_plain(&o->rc, v - 1);
        return;
    }
    if (v == 1) {
        rs_pr_store_plain(&o->rc, 0);
        rs_free(t, o);
        return;
    }
    if (drop(&o->rc) == 0)
        rs_free(t, o);
}

static inline int64_t rs_bsigned_drop_relaxed(int64_t *rc)
{
    return rs_pr_add_fetch_relaxed(rc, 1); /* the bug: relaxed, not acq_rel */
}

RS_INLINE void rs_broken_signed_dec_relaxed_decref(rs_thread *t, rs_obj *o)
{
    rs_bsigned_decref_with(t, o, rs_bsigned_drop_relaxed);
}

#define rs_broken_signed_dec_relaxed_obj_init rs_signed_obj_init
#define rs_broken_signed_dec_relaxed_incref rs_signed_incref
#define rs_broken_signed_dec_relaxed_publish rs_signed_publish
#define rs_broken_signed_dec_relaxed_init rs_signed_init
#define rs_broken_signed_dec_relaxed_fini rs_signed_fini
#define rs_broken_signed_dec_relaxed_safepoint rs_signed_safepoint
#define rs_broken_signed_dec_relaxed_wait rs_signed_wait
#define rs_broken_signed_dec_relaxed_enter rs_signed_enter
#define rs_broken_signed_dec_relaxed_leave rs_signed_leave
#define rs_broken_signed_dec_relaxed_start rs_signed_start
#define rs_broken_signed_dec_relaxed_quiesce rs_signed_quiesce
#define rs_broken_signed_dec_relaxed_flush rs_signed_flush
#define rs_broken_signed_dec_relaxed_count rs_signed_count

#endif
