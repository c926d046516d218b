/* broken lock private_no_handshake: `private` whose foreign locker promotes the lock itself,
 * without waiting for the owner's safepoint.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: handshake steps reordered (the promotion without the
 * owner's part). The foreigner flips the mode and takes a free byte while the owner may be inside
 * on its private flag. Single-threaded exact.
 * Exposed by: a foreign lock while the owner is between lock and unlock, e.g.
 *   T0: new(2) inc(2) send(2->T1) lock(2) write(2) unlock(2) lock(2) write(2) unlock(2) dec(2)
 *   T1: recv(2) lock(2) write(2) unlock(2) dec(2)
 */
#ifndef RS_BROKEN_LOCK_PRIVATE_NO_HANDSHAKE_H
#define RS_BROKEN_LOCK_PRIVATE_NO_HANDSHAKE_H

#include "refstrat/locks.h"

static inline int rs_lock_broken_private_no_handshake_acquire(rs_thread *t, rs_obj *o)
{
    uint32_t idx;
    rs_private_slot *p = rs_private_slot_of(t, o, &idx);
    if (rs_pr_load_plain(&p->owner) != t->index && rs_pr_load_acquire(&p->mode) != RS_PUBLIC_MODE) {
        uint32_t no = 0;
        if (rs_pr_cas_acq_rel(&p->asked, &no, 1u))
            rs_private_promote(t, p, 0); /* the bug: the owner is not asked */
    }
    return rs_lock_private_acquire(t, o);
}

#define rs_lock_broken_private_no_handshake_release rs_lock_private_release
#define rs_lock_broken_private_no_handshake_init rs_lock_private_init
#define rs_lock_broken_private_no_handshake_fini rs_lock_private_fini
#define rs_lock_broken_private_no_handshake_obj_init rs_lock_private_obj_init
#define rs_lock_broken_private_no_handshake_safepoint rs_lock_private_safepoint
#define rs_lock_broken_private_no_handshake_leave rs_lock_private_leave

#endif
