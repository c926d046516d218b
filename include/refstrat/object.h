/* refstrat/object.h: the object header and the arena it lives in.
 *
 * An object is a header in one contiguous, cache-line-aligned arena, addressed by its index. The
 * header holds the fields every scheme needs (each scheme header says which it uses and how) and
 * the arena's own bookkeeping, which lets a run detect a broken scheme as counters, never by
 * crashing: a slot is never returned to the C allocator during a run, so a scheme that frees too
 * early or twice corrupts only counts, and the checks below see it.
 *
 *  - In checked runs a slot's generation is odd while the object is live and even while the slot
 *    is free; both allocation and free bump it. A reference held by a workload's checked copy is
 *    a handle (index, generation); an operation through a handle whose generation no longer
 *    matches (the object was freed, or freed and reused) is a use after free, counted and not
 *    performed. One load and one compare. Freeing moves the generation from odd to even with a
 *    CAS; a free that finds it even already is a double free, counted and ignored.
 *  - The unchecked (timed) copies hold bare pointers and their pool objects carry no generation,
 *    as a runtime's allocator keeps none: allocation and free are a pop and a push (and a tally,
 *    as mimalloc's page counts its used blocks). Setup objects keep their generations in every
 *    run (their frees are never on a hot path), so that a premature free of one is still seen.
 *  - After quiesce, the runner scans the arena: a live object that should be dead is a leak. In
 *    an unchecked run the pool objects' liveness is read off the free stacks (rs_pool_scan): a
 *    slot found on them twice is a double free, one on neither is live.
 *
 * Each worker thread owns a pool, a contiguous slice of the arena. It allocates from its pool with
 * no lock (local free stack, then bump pointer). The local free stack is an array of slot pointers
 * as deep as the pool, as a runtime's thread-local free list is: a free by the owner is one store,
 * an allocation one load, no index arithmetic and no link through the slot. An object freed by
 * another thread is pushed on the owner's remote stack (lock-free push, linked through
 * rs_obj.next); the owner takes the whole stack with one exchange when its local stack runs dry,
 * which makes the push ABA-safe, and moves it onto the local stack.
 *
 * Synchronization table (which calls may race with which):
 *   rs_pool_take(pool p)   only the thread owning p            races with rs_free() of p's objects
 *   rs_free(o)             any thread (the scheme decides)     races with rs_free(o) (double free)
 *   rs_handle_ok(h)        any thread                          races with rs_obj_free()/rs_obj_open()
 */
#ifndef REFSTRAT_OBJECT_H
#define REFSTRAT_OBJECT_H

#include "refstrat/common.h"
#include "refstrat/pr.h"

RS_INLINE int rs_gen_live(uint32_t gen) { return gen & 1u; }

enum {
    RS_F_IMMORTAL = 1u << 0, /* PEP 683: never counted, never freed (when the run honours it) */
    RS_F_SETUP = 1u << 1,    /* created before the run and holding one setup reference */
    RS_F_DEFERRED = 1u << 2, /* refstrat/deferred.h: stack references uncounted, freed by a collection */
    RS_F_SHARDED = 1u << 3,  /* refstrat/sharded.h: counted in per-thread slots, merged at collections */
};

/* The per-object modes a run may honour (rs_run.layers), each on any strategy. */
#define RS_LAYERS (RS_F_IMMORTAL | RS_F_DEFERRED | RS_F_SHARDED)

#define RS_NOPOOL (RS_NIL - 1) /* a pool index no slot carries (rs_thread.own: no inline free) */

typedef struct rs_obj {
    /* The count word. nonatomic/gil: plain, under the scheme's exclusion; locked: under the mutex;
     * atomic/immortal: atomic; buffered: the commit thread only, once published; coalesced: the
     * global count, atomic; biased: ob_ref_shared (atomic, low two bits are flags); percpu: the
     * biased atomic count (refstrat/percpu.h); signed: the count, negated once shared (atomic). */
    int64_t rc;
    uint32_t local;  /* biased: ob_ref_local, owner thread only */
    uint32_t owner;  /* biased: ob_tid (worker index + 1, 0 = unowned), atomic */
    uint32_t gen;    /* arena: odd while live, bumped by alloc and free; atomic (CAS by rs_obj_free in checked runs) */
    uint32_t spare;  /* sharded: the object's unique id (refstrat/sharded.h); fixed at setup */
    uint32_t flags;  /* RS_F_*; written before the object is published (setup: before the start
                      * barrier; a trace's new: before its send), read-only after */
    uint32_t pool;   /* owning pool (worker index), RS_NIL for setup objects; fixed (pool
                      * slots: by the arena's build; setup objects: by rs_obj_open) */
    uint32_t next;   /* free-list link while free; biased merge-queue link while queued */
    uint32_t aux;    /* coalesced: review state bits; percpu: percpu/atomic mode; atomic */
    uint64_t aux64;  /* sharded: the per-thread counts merged so far (refstrat/sharded.h), plain:
                      * written only by the collector at a stop-the-world point or by a leaving
                      * worker, both holding the collection right (rs_layer_run.busy) */
} rs_obj;

/* A reference as a workload holds it: the slot's address (resolved once, when the object is
 * opened: an operation costs no index arithmetic), its index and the generation it was taken at. */
typedef struct rs_handle {
    struct rs_obj *o;
    uint32_t idx;
    uint32_t gen;
} rs_handle;

/* Counters each executing thread keeps for itself (workers and helpers); summed after the run. */
typedef struct rs_counters {
    uint64_t allocs;
    uint64_t frees;
    uint64_t double_frees;
    uint64_t use_after_free;
} rs_counters;

typedef struct rs_pool {
    /* owner thread only */
    struct rs_obj **free; /* the local free stack: [0, nfree) are free slots */
    uint32_t nfree;
    uint32_t depth;       /* end - begin, the stack's capacity */
    uint32_t begin, end;  /* slice [begin, end) of the arena */
    uint32_t bump;        /* next never-used slot */
    char pad_[RS_CACHELINE - sizeof(struct rs_obj **) - 5 * sizeof(uint32_t)];
    /* atomic: any thread pushes (CAS, release), the owner takes all (exchange, acquire) */
    uint32_t remote_head;
    char pad2_[RS_CACHELINE - sizeof(uint32_t)];
} RS_ALIGNED rs_pool;

typedef struct rs_arena {
    char *base;         /* capacity * stride bytes, cache-line aligned */
    size_t stride;      /* sizeof(rs_obj) packed, or RS_CACHELINE padded */
    uint32_t capacity;  /* number of slots */
    uint32_t nsetup;    /* slots [0, nsetup) are setup objects */
    rs_pool *pools;     /* one per worker */
    uint32_t npools;
} rs_arena;

RS_INLINE rs_obj *rs_obj_at(const rs_arena *a, uint32_t idx)
{
    return (rs_obj *)(a->base + (size_t)idx * a->stride);
}

/* The stride is one of two constants, so each division is a multiply and a shift, not a divide
 * instruction (tens of cycles, on every free and on every coalesced operation). */
RS_INLINE uint32_t rs_obj_index(const rs_arena *a, const rs_obj *o)
{
    size_t off = (size_t)((const char *)o - a->base);
    return (uint32_t)(a->stride == RS_CACHELINE ? off / RS_CACHELINE : off / sizeof(rs_obj));
}

/* True when h still names the live object it was taken from (handles carry odd generations).
 * Relaxed: a correct scheme never frees an object while a handle to it is held, so this is a
 * detector, not a synchronizer. */
RS_INLINE int rs_handle_ok(const rs_arena *a, rs_handle h)
{
    (void)a;
    return h.o && rs_pr_load_relaxed(&h.o->gen) == h.gen; /* NULL: never opened */
}

/* Move the remote stack taken at idx onto the local stack. Bounded by the stack's depth: a
 * correct scheme never puts more slots there than the pool has, but the unchecked copies tell two
 * racing frees of one object apart no more than a runtime's allocator does, and such a slot may
 * then be listed twice, even in a cycle; it is dropped here rather than overflow the stack. */
static RS_NOINLINE void rs_pool_collect(const rs_arena *a, rs_pool *p, uint32_t idx)
{
    while (idx != RS_NIL && p->nfree < p->depth) {
        rs_obj *o = rs_obj_at(a, idx);
        p->free[p->nfree++] = o;
        idx = rs_pr_load_plain(&o->next);
    }
}

/* Push a free slot on pool p's local stack (its owner only). The bound: see rs_pool_collect (a
 * racy double free in an unchecked run). */
RS_INLINE void rs_pool_push_local(rs_pool *p, rs_obj *o)
{
    if (RS_LIKELY(p->nfree < p->depth))
        p->free[p->nfree++] = o;
}

/* Take a slot from pool p, or NULL when the pool is exhausted (the caller waits for frees). */
RS_INLINE rs_obj *rs_pool_take(const rs_arena *a, rs_pool *p)
{
    if (RS_UNLIKELY(p->nfree == 0)) {
        if (p->bump < p->end)
            return rs_obj_at(a, p->bump++);
        /* Acquire pairs with the release CAS in rs_pool_give_remote(): the pushed slots' next
         * links and their free state are visible. */
        uint32_t idx = rs_pr_xchg_acquire(&p->remote_head, RS_NIL);
        if (idx == RS_NIL)
            return NULL;
        rs_pool_collect(a, p, idx);
        if (p->nfree == 0) /* a stack with no room took nothing: never pop an empty one */
            return NULL;
    }
    rs_obj *o = p->free[--p->nfree];
    if (!o) /* never: the stack holds slots; lets the caller's test for NULL fold away here */
        __builtin_unreachable();
    return o;
}

/* Make slot o LIVE, with a new generation when `checked`; the scheme then sets its count fields.
 * Unchecked, o is a pool object of a timed run: its handle holds the slot alone, and its pool and
 * (zero) flags are still those the arena's build gave it, as nothing in such a run changes them. */
RS_INLINE rs_handle rs_obj_open(const rs_arena *a, rs_obj *o, uint32_t flags, uint32_t pool, int checked)
{
    rs_pr_store_plain(&o->aux, 0);
    if (!checked) {
        rs_handle bare = {o, RS_NIL, 0};
        return bare;
    }
    rs_pr_store_plain(&o->pool, pool);
    rs_pr_store_plain(&o->flags, flags);
    rs_pr_store_plain(&o->next, RS_NIL);
    /* Relaxed: the object reaches other threads only through a release (a ring, a mailbox, a log
     * hand-off), which orders these stores before any access there. */
    uint32_t gen = rs_pr_load_relaxed(&o->gen) + 1;
    rs_pr_store_relaxed(&o->gen, gen);
    rs_handle h = {o, rs_obj_index(a, o), gen}; /* the unchecked copies never read idx */
    return h;
}

RS_INLINE void rs_pool_give_remote(const rs_arena *a, rs_pool *p, uint32_t idx)
{
    rs_obj *o = rs_obj_at(a, idx);
    uint32_t head = rs_pr_load_relaxed(&p->remote_head);
    do {
        rs_pr_store_plain(&o->next, head);
        /* Release pairs with the owner's acquire exchange in rs_pool_take(). */
    } while (!rs_pr_cas_release(&p->remote_head, &head, idx));
}

/* Mark o free: a CAS when `checked`, so that two racing frees are told apart; a plain bump for a
 * setup object in an unchecked run (the only generation such a run keeps), which catches a free
 * of an already free slot. */
RS_INLINE int rs_obj_mark_free(rs_obj *o, int checked)
{
    uint32_t gen = rs_pr_load_relaxed(&o->gen);
    if (RS_LIKELY(!checked)) { /* the timed copies' path first */
        if (RS_UNLIKELY(!rs_gen_live(gen)))
            return 0;
        /* Relaxed: only rs_handle_ok() (checked runs) reads it concurrently; the slot's reuse is
         * ordered by the remote push's release below, or happens on this thread. */
        rs_pr_store_relaxed(&o->gen, gen + 1);
        return 1;
    }
    /* Acq_rel: the release orders this thread's last accesses to o before a reuse by the pool
     * owner; the acquire makes a concurrent (double) free see the first one. */
    do {
        if (RS_UNLIKELY(!rs_gen_live(gen)))
            return 0;
    } while (!rs_pr_cas_acq_rel(&o->gen, &gen, gen + 1));
    return 1;
}

/* The scheme decided o is dead, and o is not the caller's own object in an unchecked run (that
 * free is inline: rs_free in refstrat/runtime.h). `self` is the pool of the calling thread and `me`
 * its index (helpers: NULL, and an index no pool has). The generation's bump (checked runs, and
 * setup objects in every run) detects a double free; then the push, on the caller's own stack, or
 * on the owner's remote stack. */
static RS_NOINLINE void rs_obj_free(const rs_arena *a, rs_pool *self, uint32_t me, rs_counters *c, rs_obj *o,
                                    int checked)
{
    uint32_t pool = rs_pr_load_plain(&o->pool);
    if (checked || pool == RS_NIL) {
        if (RS_UNLIKELY(!rs_obj_mark_free(o, checked))) {
            c->double_frees++;
            rs_pr_event_double_free();
            return;
        }
    }
    rs_pr_event_free(o, sizeof *o); /* the check build's C11 model: a write to the whole header */
    c->frees++;
    if (pool == me) {
        rs_pool_push_local(self, o);
    } else if (pool != RS_NIL) {
        rs_pool_give_remote(a, &a->pools[pool], rs_obj_index(a, o));
    } /* RS_NIL: a setup object, never reused; the final scan reports it */
}

/* Count o, found on pool p's free stacks, as free: it was live (odd) until now, or it is there twice. */
static inline void rs_pool_scan_free(const rs_arena *a, const rs_pool *p, rs_obj *o, uint32_t *live,
                                     uint64_t *double_frees)
{
    uint32_t idx = rs_obj_index(a, o);
    if (idx < p->begin || idx >= p->bump) /* never: only opened slots of p are freed to p */
        return;
    if (rs_gen_live(rs_pr_load_relaxed(&o->gen))) {
        rs_pr_store_relaxed(&o->gen, 2u);
        (*live)--;
    } else {
        (*double_frees)++;
    }
}

/* After an unchecked run, every worker joined and the scheme quiesced (one thread): how many of
 * pool p's opened slots [begin, bump) are live, that is on neither of its free stacks; a slot found
 * there twice adds a double free. The generations mark what the walk has found (1: not yet, 2:
 * once), which is how a second finding is told apart.
 * The remote stack is walked for at most `depth` links: a racy double free can make it a cycle. */
static inline uint32_t rs_pool_scan(const rs_arena *a, const rs_pool *p, uint64_t *double_frees)
{
    uint32_t live = p->bump - p->begin;
    for (uint32_t idx = p->begin; idx < p->bump; idx++)
        rs_pr_store_relaxed(&rs_obj_at(a, idx)->gen, 1u);
    for (uint32_t k = 0; k < p->nfree; k++)
        rs_pool_scan_free(a, p, p->free[k], &live, double_frees);
    uint32_t idx = rs_pr_load_relaxed(&p->remote_head);
    for (uint32_t k = 0; idx < a->capacity && k < p->depth; k++) { /* RS_NIL ends it */
        rs_obj *o = rs_obj_at(a, idx);
        idx = rs_pr_load_plain(&o->next);
        rs_pool_scan_free(a, p, o, &live, double_frees);
    }
    return live;
}

#endif
