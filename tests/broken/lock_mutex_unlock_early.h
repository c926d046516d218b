/* broken lock mutex_unlock_early: `mutex` that drops the object's mutex as soon as it has it.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a lock released too early (an unlock before the last
 * guarded write). Acquire locks and unlocks at once, release does nothing: the holder's guarded
 * writes run unlocked, so a second locker gets in meanwhile. Single-threaded it is exact.
 * Exposed by: two lockers of one shared object, e.g.
 *   T0: lock(0) write(0) write(0) unlock(0)    T1: lock(0) write(0) read(0) unlock(0)
 */
#ifndef RS_BROKEN_LOCK_MUTEX_UNLOCK_EARLY_H
#define RS_BROKEN_LOCK_MUTEX_UNLOCK_EARLY_H

#include "refstrat/locks.h"

static inline int rs_lock_broken_mutex_unlock_early_acquire(rs_thread *t, rs_obj *o)
{
    rs_pr_mutex_lock(rs_lock_mutex_of(t, o));
    rs_pr_mutex_unlock(rs_lock_mutex_of(t, o)); /* the bug: before the guarded accesses */
    return 0;
}

static inline void rs_lock_broken_mutex_unlock_early_release(rs_thread *t, rs_obj *o) { (void)t; (void)o; }

#define rs_lock_broken_mutex_unlock_early_init rs_lock_mutex_init
#define rs_lock_broken_mutex_unlock_early_fini rs_lock_mutex_fini
#define rs_lock_broken_mutex_unlock_early_obj_init rs_lock_mutex_obj_init
#define rs_lock_broken_mutex_unlock_early_safepoint rs_lock_mutex_safepoint
#define rs_lock_broken_mutex_unlock_early_leave rs_lock_mutex_leave

#endif
