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
 * down from the top for its object, as a trace may pop out of order; past RS_DEFERRED_POP_REACH
 * entries it records the pop, which the collector cancels against an entry). A sweep counts the
 * stacks' entries per object in a hash table, then looks each tracked object up: its cost is
 * its roots plus its objects (a search of every stack per object was their product); how often
 * a collection sweeps is refstrat/layers.h's (RS_SWEEP_FLOOR). Only the collector frees a
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
 *   rs_deferred_settle, _sweep, rs_deferred_roots
 *                             the collector, world stopped   nothing runs beside it
 */
#ifndef REFSTRAT_DEFERRED_H
#define REFSTRAT_DEFERRED_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
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

/* How deep below the top an out-of-order pop looks for its entry before it leaves the entry to
 * the collector: a bound, so that popping in the order of the pushes (every pop at the bottom)
 * costs a constant per pop, not the stack's depth. */
#define RS_DEFERRED_POP_REACH 16

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

/* The record of s's far pops, which the worker keeps beside its stack (refstrat/layers.h): found
 * from the stack, so that the kernels' inline pop passes the stack alone and the timed kernels'
 * object code stays what it was without the record. */
static inline rs_deferred_stack *rs_deferred_popped(rs_deferred_stack *s);

/* Deeper than the reach, the entry stays and the pop is recorded; the collector cancels each
 * recorded pop against one of the thread's entries for the object before it reads the roots
 * (rs_deferred_settle). Which entry goes does not matter to the roots, whose count per object is
 * all a collection reads; only out of memory for the record does the search go on. */
static RS_NOINLINE uint32_t rs_deferred_pop_search(rs_deferred_stack *s, rs_obj *o)
{
    uint32_t floor = s->n > RS_DEFERRED_POP_REACH ? s->n - RS_DEFERRED_POP_REACH : 0;
    uint32_t k = s->n;
    while (k-- > floor)
        if (s->obj[k] == o)
            goto found;
    rs_deferred_stack *popped = rs_deferred_popped(s);
    if (popped->n < popped->cap ||
        rs_deferred_grow((void **)&popped->obj, &popped->cap, sizeof(rs_obj *)) == 0) {
        popped->obj[popped->n++] = o;
        return s->n - floor;
    }
    for (k = floor; k-- > 0;)
        if (s->obj[k] == o)
            goto found;
    return s->n;
found:;
    uint32_t reads = s->n - k;
    for (; k + 1 < s->n; k++)
        s->obj[k] = s->obj[k + 1];
    s->n--;
    return reads;
}

static inline void rs_deferred_track(rs_thread *t, rs_deferred_list *l, rs_handle h)
{
    if (l->n == l->cap && rs_deferred_grow((void **)&l->h, &l->cap, sizeof(rs_handle)) != 0) {
        rs_run_fail(t->run, RS_ERR_NOMEM, "deferred: out of memory for the collector's list");
        return;
    }
    l->h[l->n++] = h;
}

/* The collector's count of stack entries per object, for one collection: open addressing on a
 * power-of-two table, with the slots it filled listed, so that emptying it costs what filling it
 * did rather than the table's size (which stays at the largest collection's). Scratch of whoever
 * holds the collection right (refstrat/layers.h): plain memory. */
typedef struct rs_deferred_root {
    const rs_obj *o; /* NULL: empty */
    uint32_t n;
} rs_deferred_root;

typedef struct rs_deferred_roots {
    rs_deferred_root *slot;
    size_t *filled;
    size_t cap, nfilled; /* cap: 0 or a power of two, at least twice the keys it may hold */
    unsigned shift;      /* 64 - log2(cap) */
} rs_deferred_roots;

/* Room for `keys` distinct objects. 0, or -1 out of memory (the table is then unchanged). */
static inline int rs_deferred_roots_reserve(rs_deferred_roots *R, uint64_t keys)
{
    if (R->cap && keys <= R->cap / 2)
        return 0;
    size_t cap = 64;
    unsigned shift = 64 - 6;
    while (cap / 2 < keys) {
        cap *= 2;
        shift--;
    }
    rs_deferred_root *slot = (rs_deferred_root *)calloc(cap, sizeof *slot);
    size_t *filled = (size_t *)malloc(sizeof *filled * (cap / 2));
    if (!slot || !filled) {
        free(slot);
        free(filled);
        return -1;
    }
    free(R->slot);
    free(R->filled);
    R->slot = slot;
    R->filled = filled;
    R->cap = cap;
    R->shift = shift;
    R->nfilled = 0;
    return 0;
}

/* o's slot: its own, or the empty one where it belongs. */
static inline rs_deferred_root *rs_deferred_roots_at(const rs_deferred_roots *R, const rs_obj *o)
{
    /* Fibonacci hashing (the product's top bits): objects sit a stride apart, so the low bits
     * of the address alone would crowd a few slots. */
    size_t i = (size_t)(((uint64_t)(uintptr_t)o * 0x9E3779B97F4A7C15ULL) >> R->shift);
    while (R->slot[i].o && R->slot[i].o != o)
        i = (i + 1) & (R->cap - 1);
    return &R->slot[i];
}

static inline void rs_deferred_roots_add(rs_deferred_roots *R, const rs_obj *o)
{
    rs_deferred_root *e = rs_deferred_roots_at(R, o);
    if (!e->o) {
        e->o = o;
        R->filled[R->nfilled++] = (size_t)(e - R->slot);
    }
    e->n++;
}

static inline void rs_deferred_roots_clear(rs_deferred_roots *R)
{
    for (size_t i = 0; i < R->nfilled; i++) {
        R->slot[R->filled[i]].o = NULL;
        R->slot[R->filled[i]].n = 0;
    }
    R->nfilled = 0;
}

static inline void rs_deferred_roots_fini(rs_deferred_roots *R)
{
    free(R->slot);
    free(R->filled);
    memset(R, 0, sizeof *R);
}

/* Cancel one thread's recorded pops against its entries, the topmost entries of each object
 * first, as pops take them, keeping the rest in order. R is empty before and after and holds
 * room for the pops. Returns the entries and pops read. */
static inline uint64_t rs_deferred_settle(rs_deferred_roots *R, rs_deferred_stack *s,
                                          rs_deferred_stack *popped)
{
    if (!popped->n)
        return 0;
    for (uint32_t i = 0; i < popped->n; i++)
        rs_deferred_roots_add(R, popped->obj[i]);
    for (uint32_t k = s->n; k-- > 0;) {
        rs_deferred_root *e = rs_deferred_roots_at(R, s->obj[k]);
        if (e->o && e->n) {
            e->n--;
            s->obj[k] = NULL; /* no entry is NULL otherwise */
        }
    }
    uint32_t keep = 0;
    for (uint32_t k = 0; k < s->n; k++)
        if (s->obj[k])
            s->obj[keep++] = s->obj[k];
    uint64_t reads = (uint64_t)popped->n + 2 * (uint64_t)s->n;
    s->n = keep;
    popped->n = 0;
    rs_deferred_roots_clear(R);
    return reads;
}

/* At a stop (or at quiesce): free every tracked object whose count is zero and which no stack
 * holds (R holds the stacks' entries); `count` is the layers' count (the scheme's, plus the
 * sharded layer's merged counts). Frees on `self`. Returns the tracked objects read. */
static inline uint64_t rs_deferred_sweep(rs_thread *self, rs_deferred_list *l,
                                         const rs_deferred_roots *R,
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
            !rs_deferred_roots_at(R, h.o)->o) {
            rs_free_now(self, h.o);
            continue;
        }
        l->h[keep++] = h;
    }
    l->n = keep;
    return reads;
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
