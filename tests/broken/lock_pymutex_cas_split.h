/* broken lock pymutex_cas_split: `pymutex` whose fast path takes the byte with a load and a store.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a compare-and-swap replaced by a load and a store.
 * Two lockers that both load a free byte both store LOCKED and both enter. Single-threaded exact.
 * Exposed by: both loads before either store, e.g.
 *   T0: lock(0) write(0) write(0) unlock(0)    T1: lock(0) write(0) read(0) unlock(0)
 */
#ifndef RS_BROKEN_LOCK_PYMUTEX_CAS_SPLIT_H
#define RS_BROKEN_LOCK_PYMUTEX_CAS_SPLIT_H

#include "refstrat/locks.h"

static inline int rs_lock_broken_pymutex_cas_split_acquire(rs_thread *t, rs_obj *o)
{
    rs_lock_pymutex_run *s = (rs_lock_pymutex_run *)t->run->lock_s;
    uint32_t i = rs_obj_index(&t->run->arena, o);
    uint8_t v = rs_pr_load_acquire(&s->byte[i]);
    if (!(v & RS_PYMUTEX_LOCKED)) {
        rs_pr_store_relaxed(&s->byte[i], (uint8_t)(v | RS_PYMUTEX_LOCKED)); /* the bug: not a CAS */
        return 0;
    }
    return rs_pymutex_lock_slow(t, &s->lot, i, &s->byte[i]);
}

#define rs_lock_broken_pymutex_cas_split_release rs_lock_pymutex_release
#define rs_lock_broken_pymutex_cas_split_init rs_lock_pymutex_init
#define rs_lock_broken_pymutex_cas_split_fini rs_lock_pymutex_fini
#define rs_lock_broken_pymutex_cas_split_obj_init rs_lock_pymutex_obj_init
#define rs_lock_broken_pymutex_cas_split_safepoint rs_lock_pymutex_safepoint
#define rs_lock_broken_pymutex_cas_split_leave rs_lock_pymutex_leave

#endif
