/* broken lock pymutex_lost_wakeup: `pymutex` whose release looks at the parking lot without the
 * bucket's mutex.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a wait that misses its wake-up. A release that finds
 * PARKED reads the bucket's queue unlocked; finding it empty, it clears the byte without the
 * mutex. A waiter that validated the byte (still LOCKED|PARKED) and queued itself between that
 * read and the clear is never woken: it waits for ever (the scheduler's deadlock).
 * Exposed by: a waiter parking while the holder releases, e.g.
 *   T0: lock(0) write(0) unlock(0)    T1: lock(0) write(0) unlock(0)
 */
#ifndef RS_BROKEN_LOCK_PYMUTEX_LOST_WAKEUP_H
#define RS_BROKEN_LOCK_PYMUTEX_LOST_WAKEUP_H

#include "refstrat/locks.h"

static inline void rs_lock_broken_pymutex_lost_wakeup_release(rs_thread *t, rs_obj *o)
{
    rs_lock_pymutex_run *s = (rs_lock_pymutex_run *)t->run->lock_s;
    uint32_t i = rs_obj_index(&t->run->arena, o);
    uint8_t v = RS_PYMUTEX_LOCKED;
    while (v == RS_PYMUTEX_LOCKED)
        if (rs_pr_cas_release(&s->byte[i], &v, (uint8_t)0))
            return;
    if (rs_pr_load_relaxed(&rs_park_bucket_of(&s->lot, i)->head) == RS_NIL) { /* the bug: unlocked */
        rs_pr_store_release(&s->byte[i], (uint8_t)0);
        return;
    }
    rs_unpark_one(t, &s->lot, i, &s->byte[i]);
}

#define rs_lock_broken_pymutex_lost_wakeup_acquire rs_lock_pymutex_acquire
#define rs_lock_broken_pymutex_lost_wakeup_init rs_lock_pymutex_init
#define rs_lock_broken_pymutex_lost_wakeup_fini rs_lock_pymutex_fini
#define rs_lock_broken_pymutex_lost_wakeup_obj_init rs_lock_pymutex_obj_init
#define rs_lock_broken_pymutex_lost_wakeup_safepoint rs_lock_pymutex_safepoint
#define rs_lock_broken_pymutex_lost_wakeup_leave rs_lock_pymutex_leave

#endif
