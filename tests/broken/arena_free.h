/* The arena's free path with one piece replaceable, for the broken arena variants (tests only).
 *
 * rs_obj_free() (refstrat/object.h) is called by every scheme through rs_free(); the arena
 * variants run `atomic` with a decrement that frees through rs_barena_free() instead, which is
 * rs_obj_free() with two knobs: `push` hands a slot to another pool's remote stack (the correct
 * one is rs_pool_give_remote) and `push_first` publishes the slot on that stack before the
 * generation CAS that marks it free (correct: after). Only the remote path differs: trace
 * programs never reuse a remote slot (every pool has room for all its allocations), so these
 * variants show in workloads that recycle objects across threads (handoff with a minimal
 * arena_size).
 */
#ifndef RS_BROKEN_ARENA_FREE_H
#define RS_BROKEN_ARENA_FREE_H

#include "refstrat/atomic.h"
#include "refstrat/pr.h"

typedef void (*rs_barena_push_fn)(const rs_arena *a, rs_pool *p, uint32_t idx);

RS_INLINE void rs_barena_free(rs_thread *t, rs_obj *o, rs_barena_push_fn push, int push_first)
{
    const rs_arena *a = &t->run->arena;
    rs_pool *self = t->pool;
    uint32_t pool = rs_pr_load_plain(&o->pool);
    rs_pool *home = pool == RS_NIL ? NULL : &a->pools[pool];
    int remote = home && home != self;
    if (push_first && remote)
        push(a, home, rs_obj_index(a, o));
    /* the generation: checked runs and setup objects, as rs_obj_free */
    if ((t->checked || !home) && RS_UNLIKELY(!rs_obj_mark_free(o, t->checked))) {
        t->c.double_frees++;
        rs_pr_event_double_free();
        return;
    }
    rs_pr_event_free(o, sizeof *o); /* as rs_obj_free: the C11 model's write to the whole object */
    t->c.frees++;
    if (!home || (push_first && remote))
        return;
    if (remote)
        push(a, home, rs_obj_index(a, o));
    else
        rs_pool_push_local(self, o);
}

#endif
