/* broken_signed_dec_release: Lean-style signed counts whose shared decrement only releases.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order.
 * Once an object is shared (rc < 0) every holder drops its reference with an atomic add of 1.
 * Here the add is a release RMW, as Lean's lean_dec_ref_cold would be written by someone who
 * remembered that a drop must publish the holder's accesses but forgot that the drop that
 * reaches zero must also acquire everyone else's before it frees (Linux pairs its release
 * decrement with smp_acquire__after_ctrl_dep() on the zero path). Counts stay exact on every
 * machine; x86, SC and the checker's TSO never show it (a locked RMW is a full barrier). On ARM
 * and POWER the freeing thread's accesses to the slot may be satisfied before the other holder's
 * have become visible. Caught under memory="c11" as a data race of the free with the other
 * holder's accesses, e.g.
 *   T0: new(x) inc(x) send(x->T1) dec(x)    T1: recv(x) dec(x)
 * (the send publishes x: both drops take the shared path).
 */
#ifndef RS_BROKEN_SIGNED_DEC_RELEASE_H
#define RS_BROKEN_SIGNED_DEC_RELEASE_H

#include "signed_dec_relaxed.h"

static inline int64_t rs_bsigned_drop_release(int64_t *rc)
{
    return rs_pr_faa_release(rc, 1) + 1; /* the bug: release, not acq_rel */
}

RS_INLINE void rs_broken_signed_dec_release_decref(rs_thread *t, rs_obj *o)
{
    rs_bsigned_decref_with(t, o, rs_bsigned_drop_release);
}

#define rs_broken_signed_dec_release_obj_init rs_signed_obj_init
#define rs_broken_signed_dec_release_incref rs_signed_incref
#define rs_broken_signed_dec_release_publish rs_signed_publish
#define rs_broken_signed_dec_release_init rs_signed_init
#define rs_broken_signed_dec_release_fini rs_signed_fini
#define rs_broken_signed_dec_release_safepoint rs_signed_safepoint
#define rs_broken_signed_dec_release_wait rs_signed_wait
#define rs_broken_signed_dec_release_enter rs_signed_enter
#define rs_broken_signed_dec_release_leave rs_signed_leave
#define rs_broken_signed_dec_release_start rs_signed_start
#define rs_broken_signed_dec_release_quiesce rs_signed_quiesce
#define rs_broken_signed_dec_release_flush rs_signed_flush
#define rs_broken_signed_dec_release_count rs_signed_count

#endif
