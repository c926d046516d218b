/* lock `global`: one mutex for every object of the run, as the 1999 free-threading patch had.
 *
 * Invariant: a thread is between acquire and release of any object only while it holds the run's
 * one mutex; so at most one thread holds any object's lock at a time (more exclusion than asked
 * for: two threads locking different objects also wait for each other).
 * A waiter proceeds when the holder releases the mutex (pthread's own queue decides who).
 * Simplifications: the mutex is a pthread mutex, not the patch's own lock; a waiter blocks in
 * pthread_mutex_lock and so cannot run the count scheme's wait meanwhile (harmless: the holder
 * never waits while it holds it, refstrat.model's lock discipline).
 * Source: Greg Stein's free-threading patch for Python 1.4 (1999); Beazley, "An Inside Look at
 * the GIL Removal Patch of Lore" (2011).
 */
#ifndef REFSTRAT_LOCK_GLOBAL_H
#define REFSTRAT_LOCK_GLOBAL_H

#include <stdlib.h>
#include "refstrat/lock_none.h"
#include "refstrat/runtime.h"

typedef struct rs_lock_global_run {
    pthread_mutex_t m; /* the one lock: held from acquire to release */
} rs_lock_global_run;

static inline int rs_lock_global_init(rs_run *r)
{
    rs_lock_global_run *s = (rs_lock_global_run *)calloc(1, sizeof *s);
    if (!s)
        return -1;
    rs_pr_mutex_init(&s->m);
    r->lock_s = s;
    return 0;
}

static inline void rs_lock_global_fini(rs_run *r)
{
    rs_lock_global_run *s = (rs_lock_global_run *)r->lock_s;
    if (s)
        rs_pr_mutex_destroy(&s->m);
    free(s);
    r->lock_s = NULL;
}

static inline int rs_lock_global_acquire(rs_thread *t, rs_obj *o)
{
    (void)o;
    RS_STAT(t, lock_acquisitions);
    rs_pr_mutex_lock(&((rs_lock_global_run *)t->run->lock_s)->m);
    return 0;
}

static inline void rs_lock_global_release(rs_thread *t, rs_obj *o)
{
    (void)o;
    rs_pr_mutex_unlock(&((rs_lock_global_run *)t->run->lock_s)->m);
}

#define rs_lock_global_obj_init rs_lock_none_obj_init
#define rs_lock_global_safepoint rs_lock_none_safepoint
#define rs_lock_global_leave rs_lock_none_leave

#endif
