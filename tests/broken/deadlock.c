/* A test-only plugin for the check build's deadlock detection (tests/test_check.py): `locked`
 * whose decrement returns without unlocking when it frees, so the next lock of the run's mutex
 * waits forever. Check flavour only matters: under real threads the next lock hangs the process,
 * so it is never run with schedule=None. Built by refstrat.testing.build_plugin. */
#include "refstrat/plugin.h"

RS_INLINE void rs_broken_locked_keeps_lock_decref(rs_thread *t, rs_obj *o)
{
    rs_locked_run *s = (rs_locked_run *)t->run->s;
    rs_pr_mutex_lock(&s->lock);
    int64_t rc = rs_pr_load_plain(&o->rc) - 1;
    rs_pr_store_plain(&o->rc, rc);
    if (rc == 0) {
        rs_free(t, o);
        return; /* the bug: the mutex stays locked */
    }
    rs_pr_mutex_unlock(&s->lock);
}

#define rs_broken_locked_keeps_lock_incref rs_locked_incref
#define rs_broken_locked_keeps_lock_init rs_locked_init
#define rs_broken_locked_keeps_lock_fini rs_locked_fini
#define rs_broken_locked_keeps_lock_obj_init rs_locked_obj_init
#define rs_broken_locked_keeps_lock_safepoint rs_locked_safepoint
#define rs_broken_locked_keeps_lock_wait rs_locked_wait
#define rs_broken_locked_keeps_lock_enter rs_locked_enter
#define rs_broken_locked_keeps_lock_leave rs_locked_leave
#define rs_broken_locked_keeps_lock_start rs_locked_start
#define rs_broken_locked_keeps_lock_quiesce rs_locked_quiesce
#define rs_broken_locked_keeps_lock_flush rs_locked_flush
#define rs_broken_locked_keeps_lock_count rs_locked_count

#define RS_DEADLOCK(RS_X)                                                                          \
    RS_X(broken_locked_keeps_lock, 1, 0, "BROKEN: locked, a free leaves the mutex locked", "tests")

RS_DEFINE_PLUGIN(RS_DEADLOCK)
