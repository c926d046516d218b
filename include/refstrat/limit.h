/* refstrat/limit.h: the hardware limit of every workload, written by hand.
 *
 * Not a scheme: what a runtime with no refcounting machinery at all would pay for the same count
 * changes. Each kernel performs exactly the operations of its workload kernel (workloads.h), in
 * the same order and on objects with the same layout (arena slots, so that cache behaviour
 * matches), but through plain pointers resolved once at kernel start: no handles, no generation
 * checks, no strategy hooks, no safepoints, no per-operation tally.
 *
 * Two flavours, as constants folded at compile time: plain (`o->rc++`, what a GIL build does) and
 * atomic (a lock-prefixed add; relaxed increments, acq_rel decrements, as atomic.h).
 * Invariant: none across threads for the plain flavour (it loses updates on shared objects, like
 * nonatomic); the atomic flavour keeps rc exact.
 * When an object may be freed: when a decrement takes rc to zero; freeing is a push on the
 * thread's free stack (fib, private churn); handoff's objects are slots reused in turn.
 * Simplifications: of the runner's final checks only the setup objects' counts apply (the plain
 * flavour's lost updates show there); its kernels never open the slots they take, so the arena's
 * scan is skipped. Objects come from the thread's pool before the kernel starts its work, so
 * allocation is a pop and a free is a push.
 * Sources: a hand-written C fib at the hardware limit (docs/decisions.md); CPython Include/refcount.h
 *
 * Synchronization table:
 *   rc of setup objects     every worker     plain: racy by design; atomic: rs_pr_faa/add_fetch
 *   rc of private objects   the owner only   (handoff: producer, then consumer after the ring's
 *                                            release/acquire)
 *   free stack              the owner only
 */
#ifndef REFSTRAT_LIMIT_H
#define REFSTRAT_LIMIT_H

#include "refstrat/pr.h"
#include "refstrat/registry.h"

RS_INLINE void rs_lim_inc(const int atomic, rs_obj *o)
{
    if (atomic)
        rs_pr_faa_relaxed(&o->rc, 1); /* relaxed: as rs_atomic_incref, an increment publishes nothing */
    else
        o->rc++;
}

/* True when the count reached zero. Acq_rel pairs with the other threads' decrements, as
 * rs_atomic_decref. */
RS_INLINE int rs_lim_dec(const int atomic, rs_obj *o)
{
    return atomic ? rs_pr_add_fetch_acq_rel(&o->rc, -1) == 0 : --o->rc == 0;
}

/* The thread's free objects, a stack of pointers. Owner only. The plain flavour's lost updates
 * on shared objects can drop a count to zero that should not be: such a "free" must not overflow
 * the stack (push is bounded) and an empty stack must not underflow (new falls back to a spare
 * slot), so a racy limit corrupts counts, never memory, as the arena promises for schemes. */
typedef struct rs_lim_heap {
    rs_obj **free;
    uint32_t n, cap;
    rs_obj *spare;
} rs_lim_heap;

/* Take `want` slots of t's pool onto its free stack; -1 (run failed) when there are not enough. */
static inline int rs_lim_heap_init(rs_thread *t, rs_lim_heap *h, uint32_t want)
{
    rs_run *r = t->run;
    h->n = 0;
    h->cap = want;
    h->spare = NULL;
    h->free = (rs_obj **)malloc(sizeof(rs_obj *) * (want ? want : 1));
    if (!h->free) {
        rs_run_fail(r, RS_ERR_NOMEM, "out of memory for a limit kernel's free stack");
        return -1;
    }
    while (h->n < want || !h->spare) {
        rs_obj *o = rs_pool_take(&r->arena, t->pool);
        if (!o) {
            rs_run_fail(r, RS_ERR_ARENA, "limit: the arena has too few slots for this workload");
            return -1;
        }
        if (h->n < want)
            h->free[h->n++] = o;
        else
            h->spare = o;
    }
    return 0;
}

RS_INLINE rs_obj *rs_lim_new(rs_lim_heap *h)
{
    rs_obj *o = RS_LIKELY(h->n) ? h->free[--h->n] : h->spare;
    o->rc = 1;
    return o;
}

RS_INLINE void rs_lim_release(const int atomic, rs_lim_heap *h, rs_obj *o)
{
    if (rs_lim_dec(atomic, o) && RS_LIKELY(h->n < h->cap))
        h->free[h->n++] = o;
}

/* ---- fib: rs_fib_body's operations, by pointer ------------------------------------------------ */

typedef struct rs_lim_fib {
    rs_obj *g[RS_FIB_NSETUP]; /* singletons, then small ints */
    rs_lim_heap heap;
    uint32_t work;
    rs_run *run; /* polled for an abort as rs_fib_body polls it */
} rs_lim_fib;

typedef struct rs_lim_ret {
    int64_t value;
    rs_obj *o;
} rs_lim_ret;

typedef rs_lim_ret (*rs_lim_fib_fn)(rs_lim_fib *, uint32_t, rs_obj *, rs_obj *);

/* An interrupted run's calls return at once, as a leaf does, with a reference to their argument:
 * the callers unwind with exact counts and no test of their own after each call. fib's caller
 * keeps the reference it passed (`owned`: the result is a new one); fib314's hands it over. */
RS_INLINE rs_lim_ret rs_lim_abandon(const int A, rs_obj *arg, const int owned)
{
    if (owned)
        rs_lim_inc(A, arg);
    rs_lim_ret ret = {0, arg};
    return ret;
}

RS_INLINE rs_obj *rs_lim_small(const rs_lim_fib *c, int64_t v)
{
    return c->g[RS_FIB_NSINGLETONS + (v - RS_FIB_SMALL_MIN)];
}

RS_INLINE rs_lim_ret rs_lim_fib_body(const int A, rs_lim_fib *c, uint32_t n, rs_obj *arg,
                                     rs_obj *parent, rs_lim_fib_fn self)
{
    if (RS_UNLIKELY(n >= RS_FIB_POLL_N) && rs_run_aborted(c->run))
        return rs_lim_abandon(A, arg, 1); /* the caller interrupted the run, as rs_fib_body */
    rs_obj *const *g = c->g;
    rs_obj *frame = rs_lim_new(&c->heap);
    rs_lim_inc(A, g[RS_FIB_CODE]);
    rs_lim_inc(A, g[RS_FIB_GLOBALS]);
    rs_lim_inc(A, g[RS_FIB_BUILTINS]);
    rs_lim_inc(A, parent);
    rs_lim_inc(A, arg);
    rs_obj *two = rs_lim_small(c, 2), *cmp = g[n < 2 ? RS_FIB_TRUE : RS_FIB_FALSE];
    rs_lim_inc(A, arg);
    rs_lim_inc(A, two);
    rs_lim_release(A, &c->heap, arg);
    rs_lim_release(A, &c->heap, two);
    rs_lim_inc(A, cmp);
    rs_lim_release(A, &c->heap, cmp);
    rs_lim_ret ret;
    if (n < 2) {
        rs_lim_inc(A, arg);
        ret.value = n;
        ret.o = arg;
    } else {
        rs_lim_ret part[2];
        for (uint32_t k = 1; k <= 2; k++) {
            rs_obj *kh = rs_lim_small(c, k), *sub = rs_lim_small(c, (int64_t)n - k);
            rs_lim_inc(A, g[RS_FIB_FUNC]);
            rs_lim_inc(A, arg);
            rs_lim_inc(A, kh);
            rs_lim_release(A, &c->heap, arg);
            rs_lim_release(A, &c->heap, kh);
            rs_lim_inc(A, sub);
            part[k - 1] = self(c, n - k, sub, frame);
            rs_lim_release(A, &c->heap, sub);
            rs_lim_release(A, &c->heap, g[RS_FIB_FUNC]);
        }
        ret.value = part[0].value + part[1].value;
        if (ret.value <= RS_FIB_SMALL_MAX) {
            ret.o = rs_lim_small(c, ret.value);
            rs_lim_inc(A, ret.o);
        } else {
            ret.o = rs_lim_new(&c->heap);
        }
        rs_lim_release(A, &c->heap, part[0].o);
        rs_lim_release(A, &c->heap, part[1].o);
    }
    rs_spin(c->work);
    rs_lim_release(A, &c->heap, arg);
    rs_lim_release(A, &c->heap, g[RS_FIB_CODE]);
    rs_lim_release(A, &c->heap, g[RS_FIB_GLOBALS]);
    rs_lim_release(A, &c->heap, g[RS_FIB_BUILTINS]);
    rs_lim_release(A, &c->heap, parent);
    rs_lim_release(A, &c->heap, frame);
    return ret;
}

/* Both fib limit kernels' start: pointers to the setup objects, and a free stack deep enough for
 * the recursion's frames and fresh ints. -1: the run has failed (no memory, too few slots). */
static inline int rs_lim_fib_start(rs_thread *t, rs_lim_fib *c)
{
    rs_run *r = t->run;
    for (uint32_t i = 0; i < RS_FIB_NSETUP; i++)
        c->g[i] = rs_obj_at(&r->arena, r->shared[i].idx);
    c->work = r->p.work;
    c->run = r;
    if (rs_lim_heap_init(t, &c->heap, 2 * r->p.fib_n + 8) != 0) {
        free(c->heap.free);
        return -1;
    }
    return 0;
}

RS_INLINE int rs_lim_k_fib(const int A, rs_thread *t, rs_lim_fib_fn rec)
{
    rs_lim_fib c;
    const uint32_t n = t->run->p.fib_n;
    if (rs_lim_fib_start(t, &c) != 0)
        return -1;
    rs_obj *module_frame = rs_lim_new(&c.heap), *arg = rs_lim_small(&c, n);
    rs_lim_inc(A, c.g[RS_FIB_FUNC]);
    rs_lim_inc(A, arg);
    rs_lim_ret res = rec(&c, n, arg, module_frame);
    rs_lim_release(A, &c.heap, arg);
    rs_lim_release(A, &c.heap, c.g[RS_FIB_FUNC]);
    rs_lim_release(A, &c.heap, res.o);
    rs_lim_release(A, &c.heap, module_frame);
    free(c.heap.free);
    t->ops = rs_fib_ops(n);
    return 0;
}

/* ---- fib314: rs_fib314_body's operations, by pointer ---------------------------------------------
 * A stack reference is a count change here, as in every scheme without the deferred layer (the
 * default vocabulary: push = incref, pop = decref); borrowed references change nothing. */

RS_INLINE rs_lim_ret rs_lim_fib314_body(const int A, rs_lim_fib *c, uint32_t n, rs_obj *arg,
                                        rs_obj *parent, rs_lim_fib_fn self)
{
    if (RS_UNLIKELY(n >= RS_FIB_POLL_N) && rs_run_aborted(c->run))
        return rs_lim_abandon(A, arg, 0); /* the caller interrupted the run, as rs_fib_body */
    rs_obj *const *g = c->g;
    (void)parent; /* borrowed */
    rs_obj *frame = rs_lim_new(&c->heap);
    rs_lim_inc(A, g[RS_FIB_CODE]);
    rs_obj *two = rs_lim_small(c, 2), *cmp = g[n < 2 ? RS_FIB_TRUE : RS_FIB_FALSE];
    rs_lim_inc(A, two);
    rs_lim_release(A, &c->heap, two);
    rs_lim_inc(A, cmp);
    rs_lim_release(A, &c->heap, cmp);
    rs_lim_ret ret;
    if (n < 2) {
        rs_lim_inc(A, arg);
        ret.value = n;
        ret.o = arg;
    } else {
        rs_lim_ret part[2];
        for (uint32_t k = 1; k <= 2; k++) {
            rs_obj *kh = rs_lim_small(c, k), *sub = rs_lim_small(c, (int64_t)n - k);
            rs_lim_inc(A, g[RS_FIB_FUNC]);
            rs_lim_inc(A, kh);
            rs_lim_release(A, &c->heap, kh);
            rs_lim_inc(A, sub);
            part[k - 1] = self(c, n - k, sub, frame);
            rs_lim_release(A, &c->heap, g[RS_FIB_FUNC]);
        }
        ret.value = part[0].value + part[1].value;
        if (ret.value <= RS_FIB_SMALL_MAX) {
            ret.o = rs_lim_small(c, ret.value);
            rs_lim_inc(A, ret.o);
        } else {
            ret.o = rs_lim_new(&c->heap);
        }
        rs_lim_release(A, &c->heap, part[0].o);
        rs_lim_release(A, &c->heap, part[1].o);
    }
    rs_spin(c->work);
    rs_lim_release(A, &c->heap, arg);
    rs_lim_release(A, &c->heap, g[RS_FIB_CODE]);
    rs_lim_release(A, &c->heap, frame);
    return ret;
}

RS_INLINE int rs_lim_k_fib314(const int A, rs_thread *t, rs_lim_fib_fn rec)
{
    rs_lim_fib c;
    const uint32_t n = t->run->p.fib_n;
    if (rs_lim_fib_start(t, &c) != 0)
        return -1;
    rs_obj *module_frame = rs_lim_new(&c.heap), *arg = rs_lim_small(&c, n);
    rs_lim_inc(A, c.g[RS_FIB_FUNC]);
    rs_lim_inc(A, arg); /* released by the callee's return */
    rs_lim_ret res = rec(&c, n, arg, module_frame);
    rs_lim_release(A, &c.heap, c.g[RS_FIB_FUNC]);
    rs_lim_release(A, &c.heap, res.o);
    rs_lim_release(A, &c.heap, module_frame);
    free(c.heap.free);
    t->ops = rs_fib314_ops(n);
    return 0;
}

/* ---- private / shared / mixed: rs_k_loop's bursts, by pointer --------------------------------- */

RS_INLINE int rs_lim_k_loop(const int A, rs_thread *t, int kind)
{
    rs_run *r = t->run;
    const rs_params *p = &r->p;
    const uint32_t np = kind == RS_W_SHARED ? 0 : p->objects, ns = r->nshared, depth = p->depth;
    const uint16_t *zipf = r->zipf_table;
    const uint32_t thresh = (uint32_t)(p->shared_fraction * 65536.0);
    rs_obj **shared = (rs_obj **)malloc(sizeof(rs_obj *) * (ns ? ns : 1));
    rs_obj **priv = (rs_obj **)malloc(sizeof(rs_obj *) * (np ? np : 1));
    rs_lim_heap heap = {NULL, 0, 0, NULL};
    int rc = -1;
    if (!shared || !priv) {
        rs_run_fail(r, RS_ERR_NOMEM, "out of memory for a limit kernel's objects");
        goto out;
    }
    if (rs_lim_heap_init(t, &heap, np + 1) != 0)
        goto out;
    for (uint32_t i = 0; i < ns; i++)
        shared[i] = rs_obj_at(&r->arena, r->shared[i].idx);
    for (uint32_t i = 0; i < np; i++)
        priv[i] = rs_lim_new(&heap);
    rs_obj *held[RS_MAX_DEPTH];
    uint64_t done = 0, next_churn = 1024, rng = t->rng;
    while (done < p->ops) {
        for (uint32_t k = 0; k < depth; k++) {
            uint64_t x = rs_rand(&rng);
            rs_obj *o;
            if (kind == RS_W_PRIVATE)
                o = priv[rs_below(x, np)];
            else if (kind == RS_W_SHARED || ((uint32_t)x & 0xffff) < thresh)
                o = shared[kind == RS_W_SHARED ? rs_below(x, ns) : zipf[(x >> 16) & (RS_ZIPF_TABLE - 1)]];
            else
                o = priv[rs_below(x, np)];
            rs_lim_inc(A, o);
            held[k] = o;
        }
        for (uint32_t k = depth; k;)
            rs_lim_release(A, &heap, held[--k]);
        done += 2 * (uint64_t)depth;
        if (RS_UNLIKELY(done >= next_churn)) {
            next_churn += 1024;
            if (rs_run_aborted(r)) /* as rs_k_loop: the caller interrupted the run */
                break;
            if (np) {
                uint32_t i = rs_below(rs_rand(&rng), np);
                rs_lim_release(A, &heap, priv[i]);
                done++;
                priv[i] = rs_lim_new(&heap);
            }
        }
    }
    for (uint32_t i = 0; i < np; i++)
        rs_lim_release(A, &heap, priv[i]);
    t->rng = rng;
    t->ops = done + np;
    rc = 0;
out:
    free(heap.free);
    free(priv);
    free(shared);
    return rc;
}

/* ---- handoff: rs_k_handoff's five operations per object, by pointer --------------------------- */

#define RS_LIM_SLOTS (RS_RING + 2) /* in flight: a full ring plus the one the consumer is using */

RS_INLINE void rs_lim_consume(const int A, rs_obj *o)
{
    rs_lim_inc(A, o);
    rs_lim_dec(A, o);
    rs_lim_dec(A, o); /* the last reference: the slot is free again, nothing else to do */
}

/* The producer reuses its RS_LIM_SLOTS objects in turn: when it fills the ring's slot for object
 * p, the consumer has popped object p - RS_RING and so finished with every object before it. */
RS_INLINE int rs_lim_k_handoff(const int A, rs_thread *t)
{
    rs_run *r = t->run;
    const rs_arena *a = &r->arena;
    const uint32_t T = r->nthreads;
    rs_ring *out = &r->rings[t->index], *in = &r->rings[(t->index + T - 1) % T];
    uint64_t goal = r->p.ops / 5 ? r->p.ops / 5 : 1, produced = 0;
    rs_obj *slot[RS_LIM_SLOTS];
    for (uint32_t i = 0; i < RS_LIM_SLOTS; i++) {
        slot[i] = rs_pool_take(a, t->pool);
        if (!slot[i]) {
            rs_run_fail(r, RS_ERR_ARENA, "limit: the arena has too few slots for this workload");
            return -1;
        }
    }
    rs_handle h;
    unsigned spins = 0;
    double since = 0;
    const rs_ops wait = RS_OPS(nonatomic, RS_VOCAB_DEFAULT, 0, 0);
    while (produced < goal) {
        uint32_t tail = rs_pr_load_relaxed(&out->tail);
        /* Acquire pairs with the consumer's release of head (rs_ring_pop). */
        if (tail - rs_pr_load_acquire(&out->head) < RS_RING) {
            rs_obj *o = h.o = slot[produced % RS_LIM_SLOTS];
            h.idx = RS_NIL; /* the consumer reads o only */
            h.gen = 0;
            o->rc = 1;
            rs_lim_inc(A, o);
            rs_lim_dec(A, o);
            rs_ring_push(out, h);
            produced++;
            spins = 0;
            since = 0;
        } else if (!rs_ring_pop(in, &h)) {
            if (!rs_wait_step(wait, t, &spins, &since))
                return -1;
            continue;
        } else {
            rs_lim_consume(A, h.o);
        }
        if (rs_ring_pop(in, &h))
            rs_lim_consume(A, h.o);
    }
    rs_pr_store_release(&out->done, 1); /* pairs with the consumer's acquire below */
    spins = 0;
    since = 0;
    for (;;) {
        if (rs_ring_pop(in, &h)) {
            rs_lim_consume(A, h.o);
            continue;
        }
        if (rs_pr_load_acquire(&in->done) &&
            rs_pr_load_relaxed(&in->head) == rs_pr_load_acquire(&in->tail))
            break;
        if (!rs_wait_step(wait, t, &spins, &since))
            return -1;
    }
    t->ops = 5 * produced;
    return 0;
}

/* The registry's names for each limit kernel (RS_WORKLOADS's `limit` column, refstrat/runtime.h):
 * the body of one flavour's kernel, and what it needs defined first. */
#define RS_LIMIT_FIB(A, t, tag, kind) rs_lim_k_fib(A, t, rs_lim_fibrec_##tag)
#define RS_LIMIT_FIB_PRELUDE(tag, A)                                                               \
    static rs_lim_ret rs_lim_fibrec_##tag(rs_lim_fib *c, uint32_t n, rs_obj *arg, rs_obj *parent)   \
    {                                                                                              \
        return rs_lim_fib_body(A, c, n, arg, parent, rs_lim_fibrec_##tag);                         \
    }
#define RS_LIMIT_LOOP(A, t, tag, kind) rs_lim_k_loop(A, t, kind)
#define RS_LIMIT_LOOP_PRELUDE(tag, A)
#define RS_LIMIT_HANDOFF(A, t, tag, kind) rs_lim_k_handoff(A, t)
#define RS_LIMIT_HANDOFF_PRELUDE(tag, A)
#define RS_LIMIT_FIB314(A, t, tag, kind) rs_lim_k_fib314(A, t, rs_lim_fib314rec_##tag)
#define RS_LIMIT_FIB314_PRELUDE(tag, A)                                                            \
    static rs_lim_ret rs_lim_fib314rec_##tag(rs_lim_fib *c, uint32_t n, rs_obj *arg,               \
                                             rs_obj *parent)                                       \
    {                                                                                              \
        return rs_lim_fib314_body(A, c, n, arg, parent, rs_lim_fib314rec_##tag);                   \
    }

/* A workload whose limit column is RS_NONE has no limit kernel: a NULL in the row, which
 * rs_run_create refuses (refstrat.limit() refuses it first, from rs_workload_info.has_limit). */
#define RS_LIMIT_DEF_IF_0(name, NAME, limit, tag, A)                                               \
    limit##_PRELUDE(tag, A)                                                                        \
    static int rs_lim_##name##_##tag(rs_thread *t) { return limit(A, t, tag, RS_W_##NAME); }
#define RS_LIMIT_DEF_IF_1(name, NAME, limit, tag, A)
#define RS_LIMIT_DEF_(name, NAME, kernel, limit, twin, summary, reference, tag, A)                 \
    RS_CAT(RS_LIMIT_DEF_IF_, RS_IS_NONE(limit))(name, NAME, limit, tag, A)
#define RS_LIMIT_PTR_IF_0(name, tag) rs_lim_##name##_##tag,
#define RS_LIMIT_PTR_IF_1(name, tag) (rs_kernel_fn)0,
#define RS_LIMIT_PTR_(name, NAME, kernel, limit, twin, summary, reference, tag)                    \
    RS_CAT(RS_LIMIT_PTR_IF_, RS_IS_NONE(limit))(name, tag)

/* The kernels of one flavour, and their rs_strategy kernel row (in enum rs_workload order). */
#define RS_DEFINE_LIMIT(tag, A) RS_WORKLOADS(RS_LIMIT_DEF_, tag, A)
#define RS_LIMIT_ROW(tag) {RS_WORKLOADS(RS_LIMIT_PTR_, tag)}

#endif
