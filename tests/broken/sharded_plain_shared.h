/* broken_sharded_plain_shared: per-thread counting that forgot the per-thread part.
 *
 * BROKEN ON PURPOSE (tests only). Sharded objects are counted with plain loads and stores, as the
 * sharded layer's slots are, but on the object's one shared count instead of the calling thread's
 * own slot. It tests the header flag itself, so it is registered as refusing the collected layers
 * (RS_S_NO_COLLECTED): with the sharded layer on, the layer would count sharded objects in its
 * place and the bug would never run. Exact on one thread; two threads changing a sharded object
 * at once lose updates. Exposed by two threads each incrementing shared object 0, marked sharded
 * (final count 3, this gives 2 when the increments interleave between load and store).
 */
#ifndef RS_BROKEN_SHARDED_PLAIN_SHARED_H
#define RS_BROKEN_SHARDED_PLAIN_SHARED_H

#include "refstrat/sharded.h"

RS_INLINE void rs_broken_sharded_plain_shared_change(rs_thread *t, rs_obj *o, int64_t d)
{
    if (rs_pr_load_plain(&o->flags) & RS_F_SHARDED) {
        /* BUG: a plain read-modify-write of the shared count, not of this thread's slot */
        int64_t v = rs_pr_load_relaxed(&o->rc) + d;
        rs_pr_store_relaxed(&o->rc, v);
        if (v == 0)
            rs_free(t, o);
    } else if (d > 0) {
        rs_sharded_incref(t, o);
    } else {
        rs_sharded_decref(t, o);
    }
}

RS_INLINE void rs_broken_sharded_plain_shared_incref(rs_thread *t, rs_obj *o)
{
    rs_broken_sharded_plain_shared_change(t, o, 1);
}

RS_INLINE void rs_broken_sharded_plain_shared_decref(rs_thread *t, rs_obj *o)
{
    rs_broken_sharded_plain_shared_change(t, o, -1);
}

#define rs_broken_sharded_plain_shared_init rs_sharded_init
#define rs_broken_sharded_plain_shared_fini rs_sharded_fini
#define rs_broken_sharded_plain_shared_obj_init rs_sharded_obj_init
#define rs_broken_sharded_plain_shared_safepoint rs_sharded_safepoint
#define rs_broken_sharded_plain_shared_wait rs_sharded_wait
#define rs_broken_sharded_plain_shared_enter rs_sharded_enter
#define rs_broken_sharded_plain_shared_leave rs_sharded_leave
#define rs_broken_sharded_plain_shared_start rs_sharded_start
#define rs_broken_sharded_plain_shared_quiesce rs_sharded_quiesce
#define rs_broken_sharded_plain_shared_flush rs_sharded_flush
#define rs_broken_sharded_plain_shared_count rs_sharded_count

#endif
