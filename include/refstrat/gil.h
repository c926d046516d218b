/* gil: the Global Interpreter Lock itself, the "standard CPython" line of the 2016 charts.
 *
 * Invariant: a worker touches counts only while it holds the GIL, so plain increments are exact.
 * Freed by the holder whose decrement takes rc to zero.
 * A worker takes the GIL when it enters its kernel and keeps it. A thread that wants it waits on a
 * condition variable for one switch interval (default 5 ms, sys.getswitchinterval()); if no switch
 * happened meanwhile it sets the holder's eval_breaker (rs_thread), which the holder polls at every
 * safepoint with one load of its own state, as CPython polls tstate->eval_breaker (3.13 sets the
 * drop-request bit on the holder's thread state). The holder then drops the GIL and, as CPython's
 * FORCE_SWITCHING does, waits until another thread has taken it before asking for it again.
 * Waiting threads sleep, so the work is serialised and CPU time stays close to wall time. A worker
 * that must wait for another (a full ring, a mailbox) releases the GIL while it waits, as blocking
 * calls do.
 * Source: CPython Python/ceval_gil.c (the "new GIL", Antoine Pitrou, 3.2).
 */
#ifndef REFSTRAT_GIL_H
#define REFSTRAT_GIL_H

#include <errno.h>
#include <stdlib.h>
#include "refstrat/runtime.h"

typedef struct rs_gil_run {
    pthread_mutex_t mutex;     /* guards locked, holder, switch_number */
    pthread_cond_t cond;       /* signalled when the GIL is dropped */
    pthread_cond_t switch_cond;/* signalled when the GIL is taken (forced switching) */
    /* locked, holder, switch_number are plain C: only a thread holding mutex touches them, so
     * the mutex's own primitives are the points where another thread sees them change. */
    int locked;                /* under mutex */
    uint32_t holder;           /* under mutex: id1 of the holder */
    uint64_t switch_number;    /* under mutex: number of times the GIL was taken */
    long interval_ns;          /* read-only */
} rs_gil_run;

/* The drop request lives in the holder's rs_thread.eval_breaker: set by a waiter holding the mutex
 * (so it names the holder of that moment), cleared by each new holder, polled relaxed by the holder
 * at its safepoints. Relaxed both ways: the handover itself is ordered by the mutex. */
static inline void rs_gil_request_drop(rs_thread *t, rs_gil_run *g)
{
    rs_pr_store_relaxed(&t->run->threads[g->holder - 1].eval_breaker, 1);
}

static inline void rs_gil_clear_request(rs_thread *t)
{
    rs_pr_store_relaxed(&t->eval_breaker, 0);
}

static inline int rs_gil_init(rs_run *r)
{
    rs_gil_run *g = (rs_gil_run *)rs_aligned_alloc(sizeof(rs_gil_run));
    if (!g)
        return -1;
    rs_pr_mutex_init(&g->mutex);
    rs_pr_cond_init(&g->cond);
    rs_pr_cond_init(&g->switch_cond);
    g->locked = 0;
    g->holder = 0;
    g->switch_number = 0;
    g->interval_ns = (long)(r->p.switch_interval * 1e9); /* refstrat.run() checks >= 1 us */
    r->s = g;
    return 0;
}

static inline void rs_gil_fini(rs_run *r)
{
    rs_gil_run *g = (rs_gil_run *)r->s;
    if (g) {
        rs_pr_cond_destroy(&g->switch_cond);
        rs_pr_cond_destroy(&g->cond);
        rs_pr_mutex_destroy(&g->mutex);
        free(g);
    }
    r->s = NULL;
}

static inline void rs_gil_take(rs_thread *t)
{
    rs_gil_run *g = (rs_gil_run *)t->run->s;
    rs_pr_mutex_lock(&g->mutex);
    while (g->locked) {
        RS_STAT(t, lock_waits);
        uint64_t seen = g->switch_number;
        struct timespec deadline;
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_nsec += g->interval_ns;
        deadline.tv_sec += deadline.tv_nsec / 1000000000L;
        deadline.tv_nsec %= 1000000000L;
        int rc = rs_pr_cond_timedwait(&g->cond, &g->mutex, &deadline);
        if (rc == ETIMEDOUT && g->locked && g->switch_number == seen)
            rs_gil_request_drop(t, g);
    }
    g->locked = 1;
    RS_STAT(t, lock_acquisitions);
    g->holder = t->id1;
    g->switch_number++;
    rs_gil_clear_request(t);
    rs_pr_cond_broadcast(&g->switch_cond);
    rs_pr_mutex_unlock(&g->mutex);
}

/* force: wait until another thread has taken the GIL (a requested switch). */
static inline void rs_gil_drop(rs_thread *t, int force)
{
    rs_gil_run *g = (rs_gil_run *)t->run->s;
    rs_pr_mutex_lock(&g->mutex);
    g->locked = 0;
    g->holder = 0;
    rs_pr_cond_signal(&g->cond);
    if (force) {
        uint64_t seen = g->switch_number;
        while (g->switch_number == seen && !rs_run_aborted(t->run))
            rs_pr_cond_wait(&g->switch_cond, &g->mutex);
    }
    rs_pr_mutex_unlock(&g->mutex);
}

RS_INLINE void rs_gil_incref(rs_thread *t, rs_obj *o)
{
    (void)t;
    rs_pr_store_plain(&o->rc, rs_pr_load_plain(&o->rc) + 1);
}

RS_INLINE void rs_gil_decref(rs_thread *t, rs_obj *o)
{
    int64_t rc = rs_pr_load_plain(&o->rc) - 1;
    rs_pr_store_plain(&o->rc, rc);
    if (rc == 0)
        rs_free(t, o);
}

static RS_NOINLINE void rs_gil_yield(rs_thread *t)
{
    rs_gil_drop(t, 1);
    rs_gil_take(t);
}

RS_INLINE void rs_gil_safepoint(rs_thread *t)
{
    if (RS_UNLIKELY(rs_pr_load_relaxed(&t->eval_breaker)))
        rs_gil_yield(t);
}

/* A blocked worker lets the others run, as a blocking call under Py_BEGIN_ALLOW_THREADS does. */
static inline void rs_gil_wait(rs_thread *t)
{
    rs_gil_drop(t, 0);
    rs_pr_yield();
    rs_gil_take(t);
}

#define rs_gil_obj_init rs_plain_obj_init
#define rs_gil_enter rs_gil_take
static inline void rs_gil_leave(rs_thread *t) { rs_gil_drop(t, 0); }
#define rs_gil_start rs_noop_init
#define rs_gil_quiesce rs_noop_run
#define rs_gil_flush rs_noop_thread
#define rs_gil_count rs_plain_count

#endif
