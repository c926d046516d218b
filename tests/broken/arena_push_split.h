/* broken_arena_push_split: the arena's remote free pushed with a load and a store, not a CAS.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a compare-and-swap replaced by a load and a store.
 * A thread freeing another pool's object pushes it on that pool's remote stack by reading the
 * head, linking the slot to it and storing the slot as the new head. If the owner takes the whole
 * stack (its exchange) between the load and the store, the slot is pushed linked to a list the
 * owner already owns: those slots are handed out twice, so two live objects share one slot (the
 * second allocation bumps the first one's generation: operations on a "freed" object, double
 * frees). Concurrent pushes by two freers lose a slot. The scheme is `atomic`; single-threaded
 * there is no remote free and it is exact.
 * Exposed by: the owner's exchange between a remote freer's load and store; only in workloads
 * that reuse remotely freed slots (handoff with a minimal arena_size), never in a trace program.
 */
#ifndef RS_BROKEN_ARENA_PUSH_SPLIT_H
#define RS_BROKEN_ARENA_PUSH_SPLIT_H

#include "arena_free.h"

static void rs_barena_push_split(const rs_arena *a, rs_pool *p, uint32_t idx)
{
    rs_obj *o = rs_obj_at(a, idx);
    uint32_t head = rs_pr_load_acquire(&p->remote_head);
    rs_pr_store_plain(&o->next, head);
    rs_pr_store_release(&p->remote_head, idx); /* the bug: the head may have changed since */
}

RS_INLINE void rs_broken_arena_push_split_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_add_fetch_acq_rel(&o->rc, -1) == 0)
        rs_barena_free(t, o, rs_barena_push_split, 0);
}

#define rs_broken_arena_push_split_incref rs_atomic_incref
#define rs_broken_arena_push_split_init rs_atomic_init
#define rs_broken_arena_push_split_fini rs_atomic_fini
#define rs_broken_arena_push_split_obj_init rs_atomic_obj_init
#define rs_broken_arena_push_split_safepoint rs_atomic_safepoint
#define rs_broken_arena_push_split_wait rs_atomic_wait
#define rs_broken_arena_push_split_enter rs_atomic_enter
#define rs_broken_arena_push_split_leave rs_atomic_leave
#define rs_broken_arena_push_split_start rs_atomic_start
#define rs_broken_arena_push_split_quiesce rs_atomic_quiesce
#define rs_broken_arena_push_split_flush rs_atomic_flush
#define rs_broken_arena_push_split_count rs_atomic_count

#endif
