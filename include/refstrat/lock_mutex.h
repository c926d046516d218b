/* lock `mutex`: a pthread mutex per object, the Gilectomy's first lock (Py_LOCK/Py_UNLOCK).
 *
 * Invariant: at most one thread is between acquire and release of an object: the one holding
 * its slot's mutex. Different objects never wait for each other.
 * A waiter proceeds when the holder releases the object's mutex.
 * Simplifications: the mutexes live beside the arena (one per slot, allocated by init), not in
 * the header, so the count schemes' headers and layout are unchanged; a slot's mutex serves
 * every object the slot holds in turn (a freed object's lock is never held: the lock discipline
 * keeps a reference while locked). The talk's lock is a futex-based userspace lock; glibc's
 * mutex is one too. A waiter blocks in pthread_mutex_lock (see lock_global.h).
 * Source: Hastings, "The Gilectomy" (PyCon 2016): every list and dict gets a lock.
 */
#ifndef REFSTRAT_LOCK_MUTEX_H
#define REFSTRAT_LOCK_MUTEX_H

#include <stdlib.h>
#include "refstrat/lock_none.h"
#include "refstrat/runtime.h"

typedef struct rs_lock_mutex_run {
    pthread_mutex_t *m; /* [capacity]: slot i's lock, held from acquire to release */
    uint32_t n;
} rs_lock_mutex_run;

static inline int rs_lock_mutex_init(rs_run *r)
{
    rs_lock_mutex_run *s = (rs_lock_mutex_run *)calloc(1, sizeof *s);
    if (!s)
        return -1;
    r->lock_s = s;
    s->n = r->arena.capacity;
    s->m = (pthread_mutex_t *)calloc(s->n ? s->n : 1, sizeof(pthread_mutex_t));
    if (!s->m)
        return -1;
    for (uint32_t i = 0; i < s->n; i++)
        rs_pr_mutex_init(&s->m[i]);
    return 0;
}

static inline void rs_lock_mutex_fini(rs_run *r)
{
    rs_lock_mutex_run *s = (rs_lock_mutex_run *)r->lock_s;
    if (s) {
        for (uint32_t i = 0; s->m && i < s->n; i++)
            rs_pr_mutex_destroy(&s->m[i]);
        free(s->m);
    }
    free(s);
    r->lock_s = NULL;
}

RS_INLINE pthread_mutex_t *rs_lock_mutex_of(rs_thread *t, rs_obj *o)
{
    return &((rs_lock_mutex_run *)t->run->lock_s)->m[rs_obj_index(&t->run->arena, o)];
}

static inline int rs_lock_mutex_acquire(rs_thread *t, rs_obj *o)
{
    RS_STAT(t, lock_acquisitions);
    rs_pr_mutex_lock(rs_lock_mutex_of(t, o));
    return 0;
}

static inline void rs_lock_mutex_release(rs_thread *t, rs_obj *o) { rs_pr_mutex_unlock(rs_lock_mutex_of(t, o)); }

#define rs_lock_mutex_obj_init rs_lock_none_obj_init
#define rs_lock_mutex_safepoint rs_lock_none_safepoint
#define rs_lock_mutex_leave rs_lock_none_leave

#endif
