/* immortal: PEP 683 immortal objects over `atomic`.
 *
 * Invariant: an object marked immortal (the workload's shared singletons: small ints, True/False,
 * the function, its code, the module globals) never changes its count and is never freed; every
 * other object follows `atomic`.
 * The check itself is the kernel's layered copy (refstrat/layers.h, rs_ops.layered): one test of
 * the header's flags against the run's layers before the fast path, so that immortality is also a
 * layer on any other strategy (refstrat.run(..., immortal=True)); CPython 3.13t is biased +
 * immortal, 3.14t adds the deferred and sharded layers (refstrat/cpython314t.h).
 * Simplification: CPython marks immortality with a reserved count value (count >= 3 << 30 in the
 * default build, ob_ref_local == UINT32_MAX free-threaded); refstrat uses a header flag so that
 * one mechanism serves every scheme. The cost is the same: one well-predicted branch.
 * Source: PEP 683, "Immortal Objects, Using a Fixed Refcount" (Python 3.12).
 */
#ifndef REFSTRAT_IMMORTAL_H
#define REFSTRAT_IMMORTAL_H

#include "refstrat/atomic.h"

#define rs_immortal_incref rs_atomic_incref
#define rs_immortal_decref rs_atomic_decref
#define rs_immortal_init rs_atomic_init
#define rs_immortal_fini rs_atomic_fini
#define rs_immortal_obj_init rs_atomic_obj_init
#define rs_immortal_safepoint rs_atomic_safepoint
#define rs_immortal_wait rs_atomic_wait
#define rs_immortal_enter rs_atomic_enter
#define rs_immortal_leave rs_atomic_leave
#define rs_immortal_start rs_atomic_start
#define rs_immortal_quiesce rs_atomic_quiesce
#define rs_immortal_flush rs_atomic_flush
#define rs_immortal_count rs_atomic_count

#endif
