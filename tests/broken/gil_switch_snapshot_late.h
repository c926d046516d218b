/* broken_gil_switch_snapshot_late: a forced GIL switch that reads switch_number too late.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a wait that misses its wake-up. A holder asked to
 * drop (its eval_breaker) releases the GIL and must sleep until another thread has taken it
 * (CPython's FORCE_SWITCHING): it remembers switch_number and waits on switch_cond until the
 * number moves. Here the drop unlocks the mutex after releasing the GIL and takes it again to
 * wait, reading switch_number only then. A waiter that takes the GIL in between has already
 * moved the number and broadcast: the dropper waits for a second switch that never comes (the new
 * holder never drops by itself while the old one sleeps). A deadlock; with real threads the run
 * hangs, so the timing-based tests never run it. Single-threaded nobody waits and it is exact.
 * Exposed by: a second thread that waits for the GIL, times out and sets the holder's drop
 * request; the holder polls it at a safepoint and the waiter's take runs between the two critical
 * sections, e.g.
 *   shared=1: T0: inc(0) dec(0)    T1: inc(0) dec(0)
 * (the scheduler must let the timed wait time out); reported as a deadlock.
 */
#ifndef RS_BROKEN_GIL_SWITCH_SNAPSHOT_LATE_H
#define RS_BROKEN_GIL_SWITCH_SNAPSHOT_LATE_H

#include "gil_hooks.h"

static inline void rs_bgil_drop_snapshot_late(rs_thread *t, int force)
{
    rs_gil_run *g = (rs_gil_run *)t->run->s;
    rs_pr_mutex_lock(&g->mutex);
    g->locked = 0;
    g->holder = 0;
    rs_pr_cond_signal(&g->cond);
    rs_pr_mutex_unlock(&g->mutex);
    if (!force)
        return;
    rs_pr_mutex_lock(&g->mutex);
    uint64_t seen = g->switch_number; /* the bug: read after a window in which a take can run */
    while (g->switch_number == seen && !rs_run_aborted(t->run))
        rs_pr_cond_wait(&g->switch_cond, &g->mutex);
    rs_pr_mutex_unlock(&g->mutex);
}

RS_BROKEN_GIL_HOOKS(broken_gil_switch_snapshot_late, rs_gil_take, rs_bgil_drop_snapshot_late)
#define rs_broken_gil_switch_snapshot_late_incref rs_gil_incref
#define rs_broken_gil_switch_snapshot_late_decref rs_gil_decref
#define rs_broken_gil_switch_snapshot_late_init rs_gil_init
#define rs_broken_gil_switch_snapshot_late_fini rs_gil_fini
#define rs_broken_gil_switch_snapshot_late_obj_init rs_gil_obj_init
#define rs_broken_gil_switch_snapshot_late_start rs_gil_start
#define rs_broken_gil_switch_snapshot_late_quiesce rs_gil_quiesce
#define rs_broken_gil_switch_snapshot_late_flush rs_gil_flush
#define rs_broken_gil_switch_snapshot_late_count rs_gil_count

#endif
