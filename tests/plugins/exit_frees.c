/* A test plugin (tests/test_defence.py): two schemes that get their exit work wrong, so that the
 * arena's final scan must see it in an unchecked run as in a checked one (refstrat/object.h:
 * the timed copies' pool objects carry no generation; the scan reads the free stacks).
 *
 *   plugin_no_final_review  coalesced whose quiesce skips the final reviews: the objects that died
 *                           in the last epochs are never freed, a leak.
 *   plugin_exit_refree      atomic whose quiesce frees a free object again (the first slot on
 *                           worker 0's free stack), a double free.
 */
#include "refstrat/plugin.h"

#define RS_EXIT_FREES(RS_X)                                                                        \
    RS_X(plugin_no_final_review, 1, 0, "TEST: coalesced without its final reviews", "tests")     \
    RS_X(plugin_exit_refree, 1, 0, "TEST: atomic that frees a free object at quiesce", "tests")

#define rs_plugin_no_final_review_init rs_coalesced_init
#define rs_plugin_no_final_review_fini rs_coalesced_fini
#define rs_plugin_no_final_review_obj_init rs_coalesced_obj_init
#define rs_plugin_no_final_review_enter rs_coalesced_enter
#define rs_plugin_no_final_review_leave rs_coalesced_leave
#define rs_plugin_no_final_review_start rs_coalesced_start
#define rs_plugin_no_final_review_quiesce rs_noop_run /* the bug */
#define rs_plugin_no_final_review_flush rs_coalesced_flush
#define rs_plugin_no_final_review_count rs_coalesced_count
#define rs_plugin_no_final_review_incref rs_coalesced_incref
#define rs_plugin_no_final_review_decref rs_coalesced_decref
#define rs_plugin_no_final_review_safepoint rs_coalesced_safepoint
#define rs_plugin_no_final_review_wait rs_coalesced_wait

static inline void rs_plugin_exit_refree_quiesce(rs_run *r)
{
    rs_pool *p = &r->arena.pools[0];
    if (p->nfree > 0) /* the bug: this object was freed already */
        rs_free_now(&r->threads[r->nthreads], p->free[0]);
}

#define rs_plugin_exit_refree_init rs_atomic_init
#define rs_plugin_exit_refree_fini rs_atomic_fini
#define rs_plugin_exit_refree_obj_init rs_atomic_obj_init
#define rs_plugin_exit_refree_enter rs_atomic_enter
#define rs_plugin_exit_refree_leave rs_atomic_leave
#define rs_plugin_exit_refree_start rs_atomic_start
#define rs_plugin_exit_refree_flush rs_atomic_flush
#define rs_plugin_exit_refree_count rs_atomic_count
#define rs_plugin_exit_refree_incref rs_atomic_incref
#define rs_plugin_exit_refree_decref rs_atomic_decref
#define rs_plugin_exit_refree_safepoint rs_atomic_safepoint
#define rs_plugin_exit_refree_wait rs_atomic_wait

RS_DEFINE_PLUGIN(RS_EXIT_FREES)
