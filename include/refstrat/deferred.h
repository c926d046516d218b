/* deferred: CPython 3.14t's deferred reference counting, as a layer over any scheme.
 *
 * Invariant: an object marked deferred (RS_F_DEFERRED, honoured when the run has the layer on) is
 * counted by the scheme for its heap references only (incref/decref/kill); its stack references
 * (push/pop) change no count and are recorded instead, per thread, in a stack the collector scans.
 * True references = the scheme's count + every thread's stack entries for the object.
 * When it may be freed: never at a decrement (rs_free ignores the scheme's zero for a deferred
 * object); only by a collection that has stopped the world (every online worker parked at a
 * safepoint, or gone), found the scheme's count zero (plus the merged per-thread counts when it is
 * also sharded) and found no thread's stack holding it. Collections run every `collect_interval`
 * safepoints of a worker and at quiesce (refstrat/layers.h).
 *
 * Why a stop: the count and the stacks are read together. A worker may turn a stack reference into
 * a heap one (incref) and pop the stack entry; read apart, a collector could miss both. Parked, no
 * worker changes either.
 *
 * Simplifications: CPython tags a stack reference (_PyStackRef, Py_TAG_DEFERRED) and its free-
 * threaded GC finds the object unreachable by tracing, visiting the frames' stacks as roots
 * (gc_visit_thread_stacks) after adding a large bias to deferred objects' ob_ref_shared; refstrat
 * has no object graph, so the roots are the stack entries and "unreachable" is "count zero and no
 * root". The stacks are growable arrays of object pointers, popped from the top (a pop searches
 * down from the top for its object, as a trace may pop out of order). Only the collector frees a
 * deferred object, so the scheme's zero may be seen many times (an object revived by an incref
 * from a stack reference reaches zero again); rs_free ignoring it is what makes that safe.
 * The layer needs counts that are exact at a stop after every worker's flush (refstrat/layers.h):
 * gil (waiters block outside safepoints) and buffered (a commit thread counts after the fact) are
 * refused.
 * Sources: CPython InternalDocs/stackrefs.md, Include/internal/pycore_stackref.h,
 * InternalDocs/free_threading.md ("Deferred reference counting"), Python/gc_free_threading.c
 * (gc_visit_thread_stacks, the stop-the-world collection), Objects/object.c
 * (_PyObject_SetDeferredRefcount).
 *
 * Synchronization table:
 *   rs_deferred_push/pop(t)   worker t only                  the collector reads t's stack at a stop
 *   rs_deferred_track(t)      worker t only (trace's new)    same
 *   rs_deferred_sweep(self)   the collector, world stopped   nothing runs beside it
 */
#ifndef REFSTRAT_DEFERRED_H
#define REFSTRAT_DEFERRED_H

#include <stdlib.h>
#include "refstrat/atomic.h"

/* A growable array; owner-written, read and compacted by the collector only at a stop. */
typedef struct rs_deferred_stack {
    rs_obj **obj;
    uint32_t n, cap;
} rs_deferred_stack;

/* Private deferred objects a worker created (the trace workload's): the collector's candidates. */
typedef struct rs_deferred_list {
    rs_handle *h;
    uint32_t n, cap;
} rs_deferred_list;

static inline int rs_deferred_grow(void **a, uint32_t *cap, size_t each)
{
    uint32_t want = *cap ? 2 * *cap : 64;
    void *na = realloc(*a, each * want);
    if (!na)
        return -1;
    *a = na;
    *cap = want;
    return 0;
}

static RS_NOINLINE void rs_deferred_push_grow(rs_thread *t, rs_deferred_stack *s, rs_obj *o)
{
    if (rs_deferred_grow((void **)&s->obj, &s->cap, sizeof(rs_obj *)) != 0) {
        rs_run_fail(t->run, RS_ERR_NOMEM, "deferred: out of memory for a stack of references");
        return;
    }
    s->obj[s->n++] = o;
}

/* A stack reference costs what CPython's costs: one store of the pointer (its frame slot there, the
 * scanned stack here), inline on the kernel's path; growing is the cold path. */
RS_INLINE void rs_deferred_push(rs_thread *t, rs_deferred_stack *s, rs_obj *o)
{
    if (RS_LIKELY(s->n < s->cap))
        s->obj[s->n++] = o;
    else
        rs_deferred_push_grow(t, s, o);
}

static RS_NOINLINE uint32_t rs_deferred_pop_search(rs_deferred_stack *s, rs_obj *o);

/* Drop the topmost entry for o: the top itself in every kernel, inline; a trace may pop out of
 * order, which searches. Returns the entries the search read (explain's pop_reads). */
RS_INLINE uint32_t rs_deferred_pop(rs_deferred_stack *s, rs_obj *o)
{
    if (RS_LIKELY(s->n && s->obj[s->n - 1] == o)) {
        s->n--;
        return 0;
    }
    return rs_deferred_pop_search(s, o);
}

static RS_NOINLINE uint32_t rs_deferred_pop_search(rs_deferred_stack *s, rs_obj *o)
{
    for (uint32_t k = s->n; k-- > 0;)
        if (s->obj[k] == o) {
            uint32_t reads = s->n - k;
            for (; k + 1 < s->n; k++)
                s->obj[k] = s->obj[k + 1];
            s->n--;
            return reads;
        }
    return s->n;
}

static inline void rs_deferred_track(rs_thread *t, rs_deferred_list *l, rs_handle h)
{
    if (l->n == l->cap && rs_deferred_grow((void **)&l->h, &l->cap, sizeof(rs_handle)) != 0) {
        rs_run_fail(t->run, RS_ERR_NOMEM, "deferred: out of memory for the collector's list");
        return;
    }
    l->h[l->n++] = h;
}

/* Whether any of the n stacks holds o; *reads counts the entries it compared (explain). */
static inline int rs_deferred_rooted(rs_deferred_stack *const *stacks, uint32_t n, const rs_obj *o,
                                     uint64_t *reads)
{
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < stacks[i]->n; k++) {
            ++*reads;
            if (stacks[i]->obj[k] == o)
                return 1;
        }
    return 0;
}

/* At a stop (or at quiesce): free every tracked object whose count is zero and which no stack
 * holds; `count` is the layers' count (the scheme's, plus the sharded layer's merged counts).
 * Frees on `self`. */
static inline void rs_deferred_sweep(rs_thread *self, rs_deferred_list *l,
                                         rs_deferred_stack *const *stacks, uint32_t nstacks,
                                         int64_t (*count)(rs_run *, rs_obj *))
{
    rs_run *r = self->run;
    uint32_t keep = 0;
    uint64_t reads = l->n;
    for (uint32_t i = 0; i < l->n; i++) {
        rs_handle h = l->h[i];
        if (!rs_handle_ok(&r->arena, h))
            continue; /* freed already (by a broken scheme: a correct one leaves them to us) */
        /* aux != 0: the scheme still has a say (coalesced's pending review reads the object
         * later); the next collection, or quiesce after the scheme's own, frees it. */
        if (count(r, h.o) == 0 && rs_pr_load_relaxed(&h.o->aux) == 0 &&
            !rs_deferred_rooted(stacks, nstacks, h.o, &reads)) {
            rs_free_now(self, h.o);
            continue;
        }
        l->h[keep++] = h;
    }
    l->n = keep;
    RS_STAT_ADD(self, sweep_reads, reads);
}

/* The standalone strategy: atomic counting with the deferred layer always on (its registry entry
 * forces RS_F_DEFERRED); the layer itself is refstrat/layers.h's, on any scheme. */
#define rs_deferred_incref rs_atomic_incref
#define rs_deferred_decref rs_atomic_decref
#define rs_deferred_init rs_atomic_init
#define rs_deferred_fini rs_atomic_fini
#define rs_deferred_obj_init rs_atomic_obj_init
#define rs_deferred_safepoint rs_atomic_safepoint
#define rs_deferred_wait rs_atomic_wait
#define rs_deferred_enter rs_atomic_enter
#define rs_deferred_leave rs_atomic_leave
#define rs_deferred_start rs_atomic_start
#define rs_deferred_quiesce rs_atomic_quiesce
#define rs_deferred_flush rs_atomic_flush
#define rs_deferred_count rs_atomic_count

#endif
