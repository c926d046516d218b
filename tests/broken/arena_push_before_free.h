/* broken_arena_push_before_free: the arena's remote free publishes the slot before marking it
 * free.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a flag set after the object is published. A thread
 * freeing another pool's object pushes the slot on that pool's remote stack and only then moves
 * the slot's generation from live (odd) to free (even) with its CAS. The owner can take the slot
 * and allocate it in between: its rs_obj_open() bumps the still-odd generation to an even one,
 * the freer's CAS then finds it even and counts a double free, and the new object lives with a
 * "free" generation (its own free is reported as a double free too). The scheme is `atomic`;
 * single-threaded there is no remote free and it is exact.
 * Exposed by: the owner's exchange and allocation between a remote freer's push and its CAS; only
 * in workloads that reuse remotely freed slots (handoff with a minimal arena_size), never in a
 * trace program.
 */
#ifndef RS_BROKEN_ARENA_PUSH_BEFORE_FREE_H
#define RS_BROKEN_ARENA_PUSH_BEFORE_FREE_H

#include "arena_free.h"

RS_INLINE void rs_broken_arena_push_before_free_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_add_fetch_acq_rel(&o->rc, -1) == 0)
        rs_barena_free(t, o, rs_pool_give_remote, 1); /* the bug: push_first */
}

#define rs_broken_arena_push_before_free_incref rs_atomic_incref
#define rs_broken_arena_push_before_free_init rs_atomic_init
#define rs_broken_arena_push_before_free_fini rs_atomic_fini
#define rs_broken_arena_push_before_free_obj_init rs_atomic_obj_init
#define rs_broken_arena_push_before_free_safepoint rs_atomic_safepoint
#define rs_broken_arena_push_before_free_wait rs_atomic_wait
#define rs_broken_arena_push_before_free_enter rs_atomic_enter
#define rs_broken_arena_push_before_free_leave rs_atomic_leave
#define rs_broken_arena_push_before_free_start rs_atomic_start
#define rs_broken_arena_push_before_free_quiesce rs_atomic_quiesce
#define rs_broken_arena_push_before_free_flush rs_atomic_flush
#define rs_broken_arena_push_before_free_count rs_atomic_count

#endif
