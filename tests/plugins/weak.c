/* A test plugin (tests/test_c11.py): a weak-memory bug that only memory="c11" can show.
 *
 *   plugin_atomic_relaxed_dec  atomic whose decrement is relaxed: the count is exact in every
 *                              model (an RMW is an RMW), but the thread that takes it to zero has
 *                              not acquired the other holders' accesses, so its free races with
 *                              them (on ARM the object's memory can be reused while another core's
 *                              accesses to it are still in flight). SC and TSO order every RMW, so
 *                              they cannot see it.
 */
#include "refstrat/plugin.h"
#include "refstrat/atomic.h"

static inline void rs_plugin_atomic_relaxed_dec_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_faa_relaxed(&o->rc, -1) == 1) /* the bug: acq_rel belongs here */
        rs_free(t, o);
}

#define RS_WEAK(RS_X) RS_X(plugin_atomic_relaxed_dec, 1, 0, "TEST: atomic with a relaxed decrement", "tests")

#define rs_plugin_atomic_relaxed_dec_init rs_atomic_init
#define rs_plugin_atomic_relaxed_dec_fini rs_atomic_fini
#define rs_plugin_atomic_relaxed_dec_obj_init rs_atomic_obj_init
#define rs_plugin_atomic_relaxed_dec_enter rs_atomic_enter
#define rs_plugin_atomic_relaxed_dec_leave rs_atomic_leave
#define rs_plugin_atomic_relaxed_dec_start rs_atomic_start
#define rs_plugin_atomic_relaxed_dec_quiesce rs_atomic_quiesce
#define rs_plugin_atomic_relaxed_dec_flush rs_atomic_flush
#define rs_plugin_atomic_relaxed_dec_count rs_atomic_count
#define rs_plugin_atomic_relaxed_dec_incref rs_atomic_incref
#define rs_plugin_atomic_relaxed_dec_safepoint rs_atomic_safepoint
#define rs_plugin_atomic_relaxed_dec_wait rs_atomic_wait

RS_DEFINE_PLUGIN(RS_WEAK)
