/* broken lock private_promote_ignores_held: `private` whose promotion forgets that the owner holds
 * the lock.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a flag dropped at a hand-over. The owner promotes at
 * a safepoint inside its critical section but writes the byte free: the foreigner takes the
 * PyMutex while the owner is still inside. Single-threaded exact.
 * Exposed by: a promotion asked while the owner is between lock and unlock, e.g.
 *   T0: new(2) inc(2) send(2->T1) lock(2) write(2) unlock(2) lock(2) write(2) unlock(2) dec(2)
 *   T1: recv(2) lock(2) write(2) unlock(2) dec(2)
 */
#ifndef RS_BROKEN_LOCK_PRIVATE_PROMOTE_IGNORES_HELD_H
#define RS_BROKEN_LOCK_PRIVATE_PROMOTE_IGNORES_HELD_H

#include "refstrat/locks.h"

static inline void rs_broken_private_promote_free(rs_thread *t, rs_private_slot *p)
{
    rs_private_promote(t, p, 0); /* the bug: p->held is not consulted */
}

static inline void rs_lock_broken_private_promote_ignores_held_safepoint(rs_thread *t)
{
    rs_private_drain(t, rs_broken_private_promote_free);
}

static inline void rs_lock_broken_private_promote_ignores_held_leave(rs_thread *t)
{
    rs_private_close(t, rs_lock_broken_private_promote_ignores_held_safepoint);
}

#define rs_lock_broken_private_promote_ignores_held_acquire rs_lock_private_acquire
#define rs_lock_broken_private_promote_ignores_held_release rs_lock_private_release
#define rs_lock_broken_private_promote_ignores_held_init rs_lock_private_init
#define rs_lock_broken_private_promote_ignores_held_fini rs_lock_private_fini
#define rs_lock_broken_private_promote_ignores_held_obj_init rs_lock_private_obj_init

#endif
