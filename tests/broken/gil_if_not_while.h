/* broken_gil_if_not_while: a GIL whose take waits with `if` instead of `while`.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a wait that does not recheck its condition. A thread
 * that finds the GIL held waits once on the condition variable; when it wakes (its switch
 * interval timed out, or spuriously) it takes the GIL without looking again, so two threads hold
 * it at once and their plain count updates race: lost increments, frees while referenced. The
 * timeout also sets the first holder's drop request, but that holder reads it only at its next
 * safepoint (and then drops a GIL the waiter already holds). Single-threaded there is no waiter and
 * it is exact.
 * Exposed by: a thread that waits for the GIL and wakes (timeout) while the holder is between the
 * load and the store of one plain update, e.g.  shared=1: T0: inc(0)    T1: inc(0)
 * (the scheduler must let the timed wait time out).
 */
#ifndef RS_BROKEN_GIL_IF_NOT_WHILE_H
#define RS_BROKEN_GIL_IF_NOT_WHILE_H

#include "gil_hooks.h"

static inline void rs_bgil_take_once(rs_thread *t)
{
    rs_gil_run *g = (rs_gil_run *)t->run->s;
    rs_pr_mutex_lock(&g->mutex);
    if (g->locked) { /* the bug: `while` in rs_gil_take() */
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += g->interval_ns;
        deadline.tv_sec += deadline.tv_nsec / 1000000000L;
        deadline.tv_nsec %= 1000000000L;
        if (rs_pr_cond_timedwait(&g->cond, &g->mutex, &deadline) == ETIMEDOUT && g->locked)
            rs_gil_request_drop(t, g);
    }
    g->locked = 1;
    g->holder = t->id1;
    g->switch_number++;
    rs_gil_clear_request(t);
    rs_pr_cond_broadcast(&g->switch_cond);
    rs_pr_mutex_unlock(&g->mutex);
}

RS_BROKEN_GIL_HOOKS(broken_gil_if_not_while, rs_bgil_take_once, rs_gil_drop)
#define rs_broken_gil_if_not_while_incref rs_gil_incref
#define rs_broken_gil_if_not_while_decref rs_gil_decref
#define rs_broken_gil_if_not_while_init rs_gil_init
#define rs_broken_gil_if_not_while_fini rs_gil_fini
#define rs_broken_gil_if_not_while_obj_init rs_gil_obj_init
#define rs_broken_gil_if_not_while_start rs_gil_start
#define rs_broken_gil_if_not_while_quiesce rs_gil_quiesce
#define rs_broken_gil_if_not_while_flush rs_gil_flush
#define rs_broken_gil_if_not_while_count rs_gil_count

#endif
