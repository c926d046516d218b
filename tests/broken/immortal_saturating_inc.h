/* broken_immortal_saturating_inc: `immortal` with PEP 683's GIL-build increment ported as is.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a compare-and-swap replaced by a load and a store.
 * CPython 3.12's default build increments by reading the count, returning when the new value
 * would wrap into the immortal range, and storing it back: correct under a GIL. Ported to a
 * free-threaded scheme with atomic accesses but no read-modify-write, two threads that increment
 * one mortal object at once both store value + 1 and one increment is lost; the object is later
 * freed while a reference is still held. Immortal objects are skipped by the kernel as in
 * `immortal`, and a single thread sees exact counts.
 * Exposed by: two increments of one mortal object, the second load before the first store, e.g.
 *   shared=1: T0: inc(0)    T1: inc(0)          (final count 2, the model says 3)
 */
#ifndef RS_BROKEN_IMMORTAL_SATURATING_INC_H
#define RS_BROKEN_IMMORTAL_SATURATING_INC_H

#include "refstrat/immortal.h"
#include "refstrat/pr.h"

RS_INLINE void rs_broken_immortal_saturating_inc_incref(rs_thread *t, rs_obj *o)
{
    (void)t;
    int64_t v = rs_pr_load_relaxed(&o->rc) + 1;
    if (RS_UNLIKELY(v == INT64_MAX)) /* would enter the reserved range: saturate (PEP 683) */
        return;
    rs_pr_store_relaxed(&o->rc, v); /* the bug: not one atomic read-modify-write */
}

#define rs_broken_immortal_saturating_inc_decref rs_immortal_decref
#define rs_broken_immortal_saturating_inc_init rs_immortal_init
#define rs_broken_immortal_saturating_inc_fini rs_immortal_fini
#define rs_broken_immortal_saturating_inc_obj_init rs_immortal_obj_init
#define rs_broken_immortal_saturating_inc_safepoint rs_immortal_safepoint
#define rs_broken_immortal_saturating_inc_wait rs_immortal_wait
#define rs_broken_immortal_saturating_inc_enter rs_immortal_enter
#define rs_broken_immortal_saturating_inc_leave rs_immortal_leave
#define rs_broken_immortal_saturating_inc_start rs_immortal_start
#define rs_broken_immortal_saturating_inc_quiesce rs_immortal_quiesce
#define rs_broken_immortal_saturating_inc_flush rs_immortal_flush
#define rs_broken_immortal_saturating_inc_count rs_immortal_count

#endif
