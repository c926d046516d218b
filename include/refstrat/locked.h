/* locked: one global mutex around every count change (Greg Stein's 1999 free-threading patch,
 * which made CPython 4-7x slower).
 *
 * Invariant: rc is exact at every instant; every access to any rc holds the run's mutex.
 * Freed by the thread whose decrement takes rc to zero (after unlocking: nobody else holds a
 * reference, so nobody else can touch the object).
 * Source: the "free threading" patch for Python 1.4 (Stein, 1999); Beazley, "An Inside Look at the
 * GIL Removal Patch of Lore" (2011).
 */
#ifndef REFSTRAT_LOCKED_H
#define REFSTRAT_LOCKED_H

#include <stdlib.h>
#include "refstrat/runtime.h"

typedef struct rs_locked_run {
    pthread_mutex_t lock; /* guards every rs_obj.rc of the run */
} rs_locked_run;

static inline int rs_locked_init(rs_run *r)
{
    rs_locked_run *s = (rs_locked_run *)rs_aligned_alloc(sizeof(*s));
    if (!s)
        return -1;
    rs_pr_mutex_init(&s->lock);
    r->s = s;
    return 0;
}

static inline void rs_locked_fini(rs_run *r)
{
    rs_locked_run *s = (rs_locked_run *)r->s;
    if (s) {
        rs_pr_mutex_destroy(&s->lock);
        free(s);
    }
    r->s = NULL;
}

RS_INLINE void rs_locked_incref(rs_thread *t, rs_obj *o)
{
    rs_locked_run *s = (rs_locked_run *)t->run->s;
    RS_STAT(t, slow);
    RS_STAT(t, lock_acquisitions);
    rs_pr_mutex_lock(&s->lock);
    rs_pr_store_plain(&o->rc, rs_pr_load_plain(&o->rc) + 1);
    rs_pr_mutex_unlock(&s->lock);
}

RS_INLINE void rs_locked_decref(rs_thread *t, rs_obj *o)
{
    rs_locked_run *s = (rs_locked_run *)t->run->s;
    RS_STAT(t, slow);
    RS_STAT(t, lock_acquisitions);
    rs_pr_mutex_lock(&s->lock);
    int64_t rc = rs_pr_load_plain(&o->rc) - 1;
    rs_pr_store_plain(&o->rc, rc);
    rs_pr_mutex_unlock(&s->lock);
    int dead = rc == 0;
    if (dead)
        rs_free(t, o);
}

#define rs_locked_obj_init rs_plain_obj_init
#define rs_locked_safepoint rs_noop_thread
#define rs_locked_wait rs_relax_wait
#define rs_locked_enter rs_noop_thread
#define rs_locked_leave rs_noop_thread
#define rs_locked_start rs_noop_init
#define rs_locked_quiesce rs_noop_run
#define rs_locked_flush rs_noop_thread
#define rs_locked_count rs_plain_count

#endif
