/* broken lock private_keeps_fast_path: `private` whose owner keeps its private path after the
 * promotion.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: handshake steps reordered (the owner honours the
 * promotion but never switches). The owner tests only that it owns the object: once a foreigner
 * holds the promoted PyMutex, the owner enters through its private flag beside it (or leaves the
 * byte LOCKED for ever, a deadlock). Single-threaded exact.
 * Exposed by: the owner locking again after a foreigner asked, e.g.
 *   T0: new(2) inc(2) send(2->T1) lock(2) write(2) unlock(2) lock(2) write(2) unlock(2) dec(2)
 *   T1: recv(2) lock(2) write(2) unlock(2) dec(2)
 */
#ifndef RS_BROKEN_LOCK_PRIVATE_KEEPS_FAST_PATH_H
#define RS_BROKEN_LOCK_PRIVATE_KEEPS_FAST_PATH_H

#include "refstrat/locks.h"

static inline int rs_lock_broken_private_keeps_fast_path_acquire(rs_thread *t, rs_obj *o)
{
    uint32_t idx;
    rs_private_slot *p = rs_private_slot_of(t, o, &idx);
    if (rs_pr_load_plain(&p->owner) == t->index) { /* the bug: the mode is not looked at */
        rs_pr_store_plain(&p->held, 1u);
        return 0;
    }
    return rs_private_lock_foreign(t, rs_private_of(t), p, idx);
}

static inline void rs_lock_broken_private_keeps_fast_path_release(rs_thread *t, rs_obj *o)
{
    uint32_t idx;
    rs_private_slot *p = rs_private_slot_of(t, o, &idx);
    if (rs_pr_load_plain(&p->owner) == t->index) {
        rs_pr_store_plain(&p->held, 0u);
        return;
    }
    rs_pymutex_unlock(t, &rs_private_of(t)->lot, idx, &p->byte);
}

#define rs_lock_broken_private_keeps_fast_path_init rs_lock_private_init
#define rs_lock_broken_private_keeps_fast_path_fini rs_lock_private_fini
#define rs_lock_broken_private_keeps_fast_path_obj_init rs_lock_private_obj_init
#define rs_lock_broken_private_keeps_fast_path_safepoint rs_lock_private_safepoint
#define rs_lock_broken_private_keeps_fast_path_leave rs_lock_private_leave

#endif
