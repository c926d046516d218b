/* broken_arena_push_relaxed: the arena's remote free pushed with a relaxed CAS.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a publication or free decided with a too-weak order
 * (a too-weak publication). A thread freeing another pool's object links the slot into that
 * pool's remote stack (a plain store of its next link) and publishes it with a CAS of the stack's
 * head. The CAS must release, pairing with the owner's acquire exchange in rs_pool_take(): that
 * is what makes the link, and everything the freer did to the object, visible to the owner before
 * it walks the stack and reuses the slot. Relaxed, the owner may read a stale link and reopen the
 * slot while the freer's accesses are still in flight. x86, SC and the checker's TSO never show
 * it (a locked CAS is a full barrier, and TSO keeps the link store before the CAS); ARM and POWER
 * do. The scheme is `atomic`. Caught under memory="c11" as a data race between the freer's
 * accesses (the link store) and the owner's reads and writes of the reused slot, e.g.
 *   T0: new(x) send(x->T1) new(y) dec(y)    T1: recv(x) dec(x)       (one slot per pool)
 * where T0's new(y) takes back the slot T1 freed.
 */
#ifndef RS_BROKEN_ARENA_PUSH_RELAXED_H
#define RS_BROKEN_ARENA_PUSH_RELAXED_H

#include "arena_free.h"

static inline void rs_barena_give_remote_relaxed(const rs_arena *a, rs_pool *p, uint32_t idx)
{
    rs_obj *o = rs_obj_at(a, idx);
    uint32_t head = rs_pr_load_relaxed(&p->remote_head);
    do {
        rs_pr_store_plain(&o->next, head);
    } while (!rs_pr_cas_relaxed(&p->remote_head, &head, idx)); /* the bug: relaxed, not release */
}

RS_INLINE void rs_broken_arena_push_relaxed_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_add_fetch_acq_rel(&o->rc, -1) == 0)
        rs_barena_free(t, o, rs_barena_give_remote_relaxed, 0);
}

#define rs_broken_arena_push_relaxed_incref rs_atomic_incref
#define rs_broken_arena_push_relaxed_init rs_atomic_init
#define rs_broken_arena_push_relaxed_fini rs_atomic_fini
#define rs_broken_arena_push_relaxed_obj_init rs_atomic_obj_init
#define rs_broken_arena_push_relaxed_safepoint rs_atomic_safepoint
#define rs_broken_arena_push_relaxed_wait rs_atomic_wait
#define rs_broken_arena_push_relaxed_enter rs_atomic_enter
#define rs_broken_arena_push_relaxed_leave rs_atomic_leave
#define rs_broken_arena_push_relaxed_start rs_atomic_start
#define rs_broken_arena_push_relaxed_quiesce rs_atomic_quiesce
#define rs_broken_arena_push_relaxed_flush rs_atomic_flush
#define rs_broken_arena_push_relaxed_count rs_atomic_count

#endif
