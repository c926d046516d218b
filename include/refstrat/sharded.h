/* sharded: CPython 3.14t's per-thread reference counts, as a layer over any scheme.
 *
 * Invariant: an object marked sharded (RS_F_SHARDED, setup objects only, honoured when the run has
 * the layer on) has a unique id (rs_obj.spare) given at setup; every count change a worker makes to
 * it (incref, decref, and push/pop unless it is also deferred) is a plain add to that worker's own
 * slot for the id. True count = the scheme's count + rs_obj.aux64 (the slots merged so far) + every
 * online worker's slot.
 * Merges: a collection (refstrat/layers.h), with the world stopped, adds every worker's slot into
 * aux64 and zeroes it; a leaving worker adds its slots into aux64 (holding the collection right, so
 * no collection runs beside it), as CPython merges a thread's counts at thread exit.
 * When it may be freed: only after a merge finds scheme count + aux64 zero; the scheme never sees
 * the slots, so its own count cannot reach zero first. (Setup objects keep their setup reference,
 * so in refstrat's workloads a sharded object is never freed; the counts must still come out exact
 * after quiesce.)
 *
 * Simplifications: CPython's ids come from a pool with a free list and are reused after the object
 * dies (Python/uniqueid.c); the per-thread array is resized as ids are handed out and indexed by
 * id - 1 (_Py_THREAD_INCREF_OBJECT). refstrat hands out ids 0..n-1 to the setup objects and sizes
 * every worker's array once. CPython stores the merged counts in ob_ref_shared; refstrat keeps them
 * in aux64 because the scheme's count field means a different thing in every scheme.
 * Which objects: CPython 3.14t gives ids to heap types, code objects and the globals and builtins
 * dicts (Python/uniqueid.c, whose 3.13 comment says "only used for heap types"; 3.14 adds code
 * objects and dicts, _PyDict_UniqueId). So in fib: code, globals, builtins (fib has no heap type);
 * in shared and mixed, the shared objects.
 * Sources: CPython Include/internal/pycore_uniqueid.h, Python/uniqueid.c
 * (_PyObject_MergePerThreadRefcounts), _Py_INCREF_TYPE in Include/internal/pycore_object.h.
 *
 * Synchronization table:
 *   rs_sharded_add(t)        worker t only, plain          the collector reads t's slots at a stop
 *   rs_sharded_merge(r)      the collector or a leaver, holding the collection right
 */
#ifndef REFSTRAT_SHARDED_H
#define REFSTRAT_SHARDED_H

#include "refstrat/atomic.h"

/* One worker's counts, indexed by unique id: its own cache lines (allocated per worker, aligned
 * and rounded up to whole lines), so no other worker's slot shares a line with it. */
typedef struct rs_sharded_slots {
    int64_t *count;   /* [nids]: worker only while it runs; the merger at a stop or at its leave */
} rs_sharded_slots;

RS_INLINE void rs_sharded_add(rs_sharded_slots *s, const rs_obj *o, int64_t d)
{
    uint32_t id = rs_pr_load_plain(&o->spare);
    rs_pr_store_plain(&s->count[id], rs_pr_load_plain(&s->count[id]) + d);
}

/* Fold s into the objects' merged counts and zero it. `byid` maps id to object. */
static inline void rs_sharded_merge(rs_sharded_slots *s, rs_obj *const *byid, uint32_t nids)
{
    for (uint32_t id = 0; id < nids; id++) {
        int64_t c = rs_pr_load_plain(&s->count[id]);
        if (c) {
            rs_pr_store_plain(&byid[id]->aux64, rs_pr_load_plain(&byid[id]->aux64) + (uint64_t)c);
            rs_pr_store_plain(&s->count[id], 0);
        }
    }
}

/* The standalone strategy: atomic counting with the sharded layer always on. */
#define rs_sharded_incref rs_atomic_incref
#define rs_sharded_decref rs_atomic_decref
#define rs_sharded_init rs_atomic_init
#define rs_sharded_fini rs_atomic_fini
#define rs_sharded_obj_init rs_atomic_obj_init
#define rs_sharded_safepoint rs_atomic_safepoint
#define rs_sharded_wait rs_atomic_wait
#define rs_sharded_enter rs_atomic_enter
#define rs_sharded_leave rs_atomic_leave
#define rs_sharded_start rs_atomic_start
#define rs_sharded_quiesce rs_atomic_quiesce
#define rs_sharded_flush rs_atomic_flush
#define rs_sharded_count rs_atomic_count

#endif
