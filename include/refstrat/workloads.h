/* refstrat/workloads.h: the workload kernels, generic over a strategy.
 *
 * Every kernel is a static inline body taking the strategy's operations as a constant rs_ops; the
 * registry (refstrat/registry.h) instantiates one copy per strategy, where the compiler turns the
 * constant function pointers into direct, inlined calls. Kernels draw their operations from a
 * per-thread xorshift generator as they run: no Python, no tables of operations, no locks.
 *
 * Every operation goes through rs_op_inc()/rs_op_dec(), which
 *  - validates the handle (a use after free is counted and the operation skipped), unless the
 *    kernel is an unchecked copy (rs_ops.checked == 0: timed runs and speed_of_light), where the
 *    call folds to the scheme's own operation and the kernels count operations per burst or
 *    arithmetically, never one by one; the unchecked copies keep their references in tables of
 *    bare pointers (a handle there carries its object only), as the limit kernels do;
 *  - in the layered copy (rs_ops.layered), tests the header's flags against the run's layers once
 *    and takes the cold path on a hit (refstrat/layers.h): immortal objects are skipped (PEP 683's
 *    branch), deferred objects' stack references and sharded objects' counts are the layers'.
 * Each counts as one operation either way.
 *
 * Kill (RS_OP_KILL, the vocabulary's kill) is emitted where a creator's initial reference is
 * given up, which for every scheme without a kill hook is a plain decrement: the loop kernels'
 * churn replacement and final release of a private object; fib's release of a frame at return and
 * of a fresh (above 256) result int by the caller that consumes it; handoff's consumer release,
 * because the producer passes its only reference, the initial one, through the ring (the consumer
 * holds the creator's reference from then on, as a percpu_ref's owner hands an object over).
 *
 * `work` stands for the interpreter's other work: fib spins that many iterations per call; the
 * loop and handoff kernels spin that many after every operation (rs_op_work), so that refcount
 * traffic is interleaved with other work as in an interpreter (`--calibrate` fits it to a real
 * interpreter's time per operation). With work == 0 the kernels are unchanged.
 */
#ifndef REFSTRAT_WORKLOADS_H
#define REFSTRAT_WORKLOADS_H

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "refstrat/runtime.h"
#include "refstrat/layers.h"

#define RS_MAX_DEPTH 64      /* references a loop kernel may hold at once */
#define RS_RING 256          /* handoff ring capacity (power of two) */
#define RS_ZIPF_TABLE 1024   /* mixed: resolution of the Zipf draw */
#define RS_WAIT_LIMIT 30.0   /* seconds a worker may wait for another before the run fails */
#define RS_MAX_WORK 100000000u /* spin iterations per call or per operation (see rs_op_work) */
#define RS_FIB_SMALL_MIN (-5)
#define RS_FIB_SMALL_MAX 256
#define RS_FIB_POLL_N 12     /* fib calls with n >= this look for an abort: one per ~500 calls */

/* Setup objects of the fib workload, in this order, then the small ints -5..256. */
enum { RS_FIB_FUNC, RS_FIB_GLOBALS, RS_FIB_BUILTINS, RS_FIB_CODE, RS_FIB_TRUE, RS_FIB_FALSE,
       RS_FIB_NSINGLETONS };
#define RS_FIB_NSETUP (RS_FIB_NSINGLETONS + RS_FIB_SMALL_MAX - RS_FIB_SMALL_MIN + 1)

/* handoff: single-producer single-consumer ring from worker i to worker i + 1. */
typedef struct rs_ring {
    uint32_t tail;  /* atomic: producer stores (release) */
    char pad_[RS_CACHELINE - sizeof(uint32_t)];
    uint32_t head;  /* atomic: consumer stores (release) */
    char pad2_[RS_CACHELINE - sizeof(uint32_t)];
    int done;       /* atomic: the producer has produced everything (release) */
    char pad3_[RS_CACHELINE - sizeof(int)];
    rs_handle slot[RS_RING];
} RS_ALIGNED rs_ring;

/* The count-changing operations of the vocabulary (see rs_ops); which one a kernel emits. */
enum rs_op_kind { RS_OP_INC, RS_OP_DEC, RS_OP_PUSH, RS_OP_POP, RS_OP_KILL };

/* One operation through handle h: 1 when performed, 0 for a use after free (checked copies). */
RS_INLINE int rs_op(const rs_ops S, rs_thread *t, rs_handle h, const int kind)
{
    if (S.checked && RS_UNLIKELY(!rs_handle_ok(&t->run->arena, h))) {
        t->c.use_after_free++;
        rs_pr_event_uaf();
        return 0;
    }
    const int up = kind == RS_OP_INC || kind == RS_OP_PUSH;
    RS_EXPLAIN_OP(t, h.idx, up ? 1 : -1);
    rs_obj *o = h.o;
    if (S.layered) {
        const uint32_t hit = rs_pr_load_plain(&o->flags) & t->layers;
        if (hit &&
            ((hit & RS_F_IMMORTAL) ||
             rs_layer_op(t, o, hit, up, kind == RS_OP_PUSH || kind == RS_OP_POP)))
            return 1;
    }
    switch (kind) {
    case RS_OP_INC: S.incref(t, o); break;
    case RS_OP_DEC: S.decref(t, o); break;
    case RS_OP_PUSH: if (S.push) S.push(t, o); else S.incref(t, o); break;
    case RS_OP_POP: if (S.pop) S.pop(t, o); else S.decref(t, o); break;
    default: if (S.kill) S.kill(t, o); else S.decref(t, o); break;
    }
    return 1;
}

RS_INLINE int rs_op_inc(const rs_ops S, rs_thread *t, rs_handle h)
{
    return rs_op(S, t, h, RS_OP_INC);
}

RS_INLINE int rs_op_dec(const rs_ops S, rs_thread *t, rs_handle h)
{
    return rs_op(S, t, h, RS_OP_DEC);
}

/* Before the release that makes h reachable from another thread; not a count change, so not an
 * operation. A freed object is not published (the send that follows is the caller's bug). */
RS_INLINE void rs_op_publish(const rs_ops S, rs_thread *t, rs_handle h)
{
    if (!S.publish || (S.checked && RS_UNLIKELY(!rs_handle_ok(&t->run->arena, h))))
        return;
    S.publish(t, h.o);
}

/* Non-refcount work after one operation: predicted-not-taken when the run asks for none. */
RS_INLINE void rs_op_work(uint32_t work)
{
    if (RS_UNLIKELY(work != 0))
        rs_spin(work);
}

/* The pool is empty: let the scheme make progress (its frees may be deferred) until a slot comes
 * back, or fail the run after RS_WAIT_LIMIT seconds. Forced safepoints first (the scheme's flush),
 * for the frees this thread owes itself: a biased drain, or coalesced's ticks, three of which
 * confirm a free when the thread is alone. Under the systematic scheduler a wait parks the thread
 * until another one writes, and the waiter's own frees are not such a write. */
static RS_NOINLINE rs_obj *rs_alloc_wait(rs_thread *t, void (*wait)(rs_thread *))
{
    rs_run *r = t->run;
    double start = rs_now();
    for (unsigned i = 1;; i++) {
        rs_obj *o;
        for (int k = 0; k < 3; k++) {
            r->strategy->flush(t);
            if ((o = rs_pool_take(&r->arena, t->pool)) != NULL)
                return o;
        }
        wait(t);
        o = rs_pool_take(&r->arena, t->pool);
        if (o)
            return o;
        if (rs_run_aborted(r))
            return NULL;
        if (i % 1024 == 0) {
            rs_pr_yield();
            if (rs_now() - start > RS_WAIT_LIMIT) {
                rs_run_fail(r, RS_ERR_ARENA, "arena exhausted: a worker's pool stayed empty; "
                                             "pass a larger arena_size");
                return NULL;
            }
        }
    }
}

/* A new object owned by t with count 1, or a handle with o == NULL when the run failed. */
RS_INLINE rs_handle rs_new(const rs_ops S, rs_thread *t)
{
    const rs_arena *a = &t->run->arena;
    rs_obj *o = rs_pool_take(a, t->pool);
    if (RS_UNLIKELY(!o)) {
        o = rs_alloc_wait(t, S.wait);
        if (!o) {
            rs_handle nil = {NULL, RS_NIL, 0};
            return nil;
        }
    }
    rs_handle h = rs_obj_open(a, o, 0, t->index, S.checked);
    RS_EXPLAIN_NEW(t, h.idx);
    S.obj_init(t, o);
    t->c.allocs++;
    return h;
}

/* Wait in a loop that depends on another worker; fails the run after RS_WAIT_LIMIT seconds. */
RS_INLINE int rs_wait_step(const rs_ops S, rs_thread *t, unsigned *spins, double *since)
{
    S.wait(t);
    if (++*spins % 1024 == 0) {
        if (rs_run_aborted(t->run))
            return 0;
        double now = rs_now();
        if (*since == 0)
            *since = now;
        else if (now - *since > RS_WAIT_LIMIT) {
            rs_run_fail(t->run, RS_ERR_STALLED, "a worker waited too long for another");
            return 0;
        }
    }
    return 1;
}

/* private / shared / mixed: bursts on a value stack, as an interpreter pushes operands and pops
 * them. A burst increfs `depth` objects drawn for the workload, then decrefs them in reverse
 * order: increments and decrements balance, the objects are unpredictable, the control flow is
 * not (a random push/pop choice would cost a branch miss per operation and hide the schemes'
 * differences). Every 1024 operations one private object is replaced (its initial reference
 * killed, so it is freed; another allocated), so allocation and frees are part of the mix. */
/* What a loop kernel draws from. The checked copies hold handles (their generations are checked);
 * the unchecked copies hold bare pointers, as a runtime's value stack does: an 8-byte entry, one
 * load with a scaled index. */
typedef struct rs_pick {
    rs_handle *priv;        /* checked copies: this worker's private objects */
    rs_obj **privo;         /* unchecked copies: the same, by pointer */
    uint32_t np;
    const rs_handle *shared; /* checked copies: the setup objects */
    rs_obj **sharedo;       /* unchecked copies: the same, by pointer */
    uint32_t ns;
    const uint16_t *zipf;
    uint32_t thresh;
} rs_pick;

RS_INLINE rs_handle rs_pick_priv(const rs_ops S, const rs_pick *d, uint32_t i)
{
    if (S.checked)
        return d->priv[i];
    rs_handle h = {d->privo[i], RS_NIL, 0};
    return h;
}

RS_INLINE void rs_pick_set(const rs_ops S, rs_pick *d, uint32_t i, rs_handle h)
{
    if (S.checked)
        d->priv[i] = h;
    else
        d->privo[i] = h.o;
}

RS_INLINE rs_handle rs_pick_shared(const rs_ops S, const rs_pick *d, uint32_t i)
{
    if (S.checked)
        return d->shared[i];
    rs_handle h = {d->sharedo[i], RS_NIL, 0};
    return h;
}

RS_INLINE rs_handle rs_draw(const rs_ops S, int kind, uint64_t x, const rs_pick *d)
{
    if (kind == RS_W_PRIVATE)
        return rs_pick_priv(S, d, rs_below(x, d->np));
    if (kind == RS_W_SHARED)
        return rs_pick_shared(S, d, rs_below(x, d->ns));
    if (((uint32_t)x & 0xffff) < d->thresh)
        return rs_pick_shared(S, d, d->zipf[(x >> 16) & (RS_ZIPF_TABLE - 1)]);
    return rs_pick_priv(S, d, rs_below(x, d->np));
}

/* One burst: `depth` increfs of drawn objects, then their decrefs in reverse order; the
 * operations performed. The kernel runs a copy with `work` a constant 0 when the run asks for no
 * other work, so that no operation tests it. The unchecked copies hold the objects by pointer,
 * the checked ones whole handles. */
RS_INLINE uint64_t rs_burst(const rs_ops S, rs_thread *t, int kind, uint64_t *rng, const rs_pick *d,
                            uint32_t depth, const uint32_t work)
{
    rs_obj *held[RS_MAX_DEPTH];
    rs_handle heldh[RS_MAX_DEPTH];
    uint32_t got = 0;
    for (uint32_t k = 0; k < depth; k++) {
        rs_handle h = rs_draw(S, kind, rs_rand(rng), d);
        if (rs_op_inc(S, t, h)) {
            held[got] = h.o;
            if (S.checked)
                heldh[got] = h;
            got++;
        }
        rs_op_work(work);
    }
    uint64_t n = got;
    RS_COMPILER_BARRIER();
    for (uint32_t k = got; k;) {
        rs_handle h = {held[--k], RS_NIL, 0};
        n += rs_op_dec(S, t, S.checked ? heldh[k] : h);
        rs_op_work(work);
    }
    return n;
}

/* The tables this copy reads (handles when checked, pointers otherwise): 0, or -1 when out of
 * memory. */
RS_INLINE int rs_pick_alloc(const rs_ops S, rs_run *r, rs_pick *d)
{
    d->shared = r->shared;
    if (S.checked) {
        d->priv = (rs_handle *)malloc(sizeof(rs_handle) * (d->np ? d->np : 1));
        return d->priv ? 0 : -1;
    }
    d->privo = (rs_obj **)malloc(sizeof(rs_obj *) * (d->np ? d->np : 1));
    d->sharedo = (rs_obj **)malloc(sizeof(rs_obj *) * (d->ns ? d->ns : 1));
    if (!d->privo || !d->sharedo)
        return -1;
    for (uint32_t i = 0; i < d->ns; i++)
        d->sharedo[i] = r->shared[i].o;
    return 0;
}

RS_INLINE int rs_k_loop(const rs_ops S, rs_thread *t, int kind)
{
    rs_run *r = t->run;
    const rs_params *p = &r->p;
    rs_pick d = {NULL, NULL, kind == RS_W_SHARED ? 0 : p->objects, NULL, NULL, r->nshared,
                 r->zipf_table, (uint32_t)(p->shared_fraction * 65536.0)};
    const uint32_t depth = p->depth, work = p->work;
    uint64_t n = 0, tried = 0, next_churn = 1024, rng = t->rng; /* n: performed; tried: attempted */
    int rc = 0;
    if (rs_pick_alloc(S, r, &d) != 0) {
        rs_run_fail(r, RS_ERR_NOMEM, "out of memory for a worker's private objects");
        d.np = 0;
        rc = -1;
    }
    for (uint32_t i = 0; i < d.np; i++) {
        rs_handle h = rs_new(S, t);
        if (!h.o) {
            d.np = i;
            rc = -1;
            break;
        }
        rs_pick_set(S, &d, i, h);
    }
    while (rc == 0 && tried < p->ops) {
        if (work)
            n += rs_burst(S, t, kind, &rng, &d, depth, work);
        else
            n += rs_burst(S, t, kind, &rng, &d, depth, 0);
        tried += 2 * (uint64_t)depth; /* a broken scheme's use after free must not stall the loop */
        S.safepoint(t);
        if (RS_UNLIKELY(tried >= next_churn)) {
            next_churn += 1024;
            if (rs_run_aborted(r))
                break;
            if (d.np) {
                uint32_t i = rs_below(rs_rand(&rng), d.np);
                n += rs_op(S, t, rs_pick_priv(S, &d, i), RS_OP_KILL);
                tried++;
                rs_handle h = rs_new(S, t);
                if (!h.o) {
                    h = rs_pick_priv(S, &d, --d.np); /* that slot's reference is gone */
                    rc = -1;
                }
                rs_pick_set(S, &d, i, h);
            }
        }
    }
    for (uint32_t i = 0; i < d.np; i++)
        n += rs_op(S, t, rs_pick_priv(S, &d, i), RS_OP_KILL);
    free(d.priv);
    free(d.privo);
    free(d.sharedo);
    t->rng = rng;
    t->ops = n;
    return rc;
}

/* The registry's names for the loop workloads' kernel (refstrat/runtime.h's `kernel` column). */
#define RS_KERNEL_LOOP(OPS, t, tag, kind) rs_k_loop(OPS, t, kind)
#define RS_KERNEL_LOOP_PRELUDE(tag, OPS)

/* private: no setup objects, each worker holds its own objects (+2: churn's new before its kill). */
static inline uint32_t rs_w_private_setup_objects(const rs_params *p) { (void)p; return 0; }
static inline uint64_t rs_w_private_pool_need(const rs_params *p, uint32_t worker, int floor)
{
    (void)worker, (void)floor;
    return (uint64_t)p->objects + 2;
}
static inline uint32_t rs_w_private_marks(const rs_run *r, uint32_t idx) { (void)r, (void)idx; return 0; }
static inline int rs_w_private_prepare(rs_run *r) { (void)r; return 0; }

/* shared: every operation on the shared objects, which the sharded layer shards; no private ones. */
static inline uint32_t rs_w_shared_setup_objects(const rs_params *p) { return p->shared_objects; }
static inline uint64_t rs_w_shared_pool_need(const rs_params *p, uint32_t worker, int floor)
{
    (void)p, (void)worker, (void)floor;
    return 1;
}
static inline uint32_t rs_w_shared_marks(const rs_run *r, uint32_t idx) { (void)r, (void)idx; return RS_F_SHARDED; }
static inline int rs_w_shared_prepare(rs_run *r) { (void)r; return 0; }

/* mixed: shared's objects and private's, and the table that draws a shared one with a Zipf skew. */
static inline uint32_t rs_w_mixed_setup_objects(const rs_params *p) { return p->shared_objects; }
static inline uint64_t rs_w_mixed_pool_need(const rs_params *p, uint32_t worker, int floor)
{
    return rs_w_private_pool_need(p, worker, floor);
}
static inline uint32_t rs_w_mixed_marks(const rs_run *r, uint32_t idx) { return rs_w_shared_marks(r, idx); }
static inline int rs_w_mixed_prepare(rs_run *r)
{
    uint32_t n = r->nshared;
    double *cdf = (double *)malloc(sizeof(double) * n);
    r->zipf_table = (uint16_t *)malloc(sizeof(uint16_t) * RS_ZIPF_TABLE);
    if (!cdf || !r->zipf_table) {
        free(cdf);
        return -1;
    }
    double sum = 0;
    for (uint32_t k = 0; k < n; k++)
        cdf[k] = (sum += 1.0 / pow((double)(k + 1), r->p.zipf));
    uint32_t k = 0;
    for (uint32_t i = 0; i < RS_ZIPF_TABLE; i++) {
        double u = (i + 0.5) / RS_ZIPF_TABLE * sum;
        while (k + 1 < n && cdf[k] < u)
            k++;
        r->zipf_table[i] = (uint16_t)k;
    }
    free(cdf);
    return 0;
}

RS_INLINE int rs_ring_push(rs_ring *q, rs_handle h)
{
    uint32_t tail = rs_pr_load_relaxed(&q->tail);
    /* Acquire pairs with the consumer's release of head: the slot is no longer read. */
    if (tail - rs_pr_load_acquire(&q->head) == RS_RING)
        return 0;
    rs_pr_store_plain(&q->slot[tail & (RS_RING - 1)], h);
    /* Release pairs with the consumer's acquire: the object's initialisation and the producer's
     * operations on it happen before the consumer's. */
    rs_pr_store_release(&q->tail, tail + 1);
    return 1;
}

RS_INLINE int rs_ring_pop(rs_ring *q, rs_handle *h)
{
    uint32_t head = rs_pr_load_relaxed(&q->head);
    /* Acquire pairs with the producer's release of tail. */
    if (head == rs_pr_load_acquire(&q->tail))
        return 0;
    *h = rs_pr_load_plain(&q->slot[head & (RS_RING - 1)]);
    /* Release pairs with the producer's acquire of head: the slot has been read. */
    rs_pr_store_release(&q->head, head + 1);
    return 1;
}

/* Take one object from the inbox, use it (incref, decref) and release it: a cross-thread free.
 * The reference taken from the ring is the producer's initial one, so the release is a kill. */
RS_INLINE int rs_consume(const rs_ops S, rs_thread *t, rs_ring *in, uint64_t *n)
{
    rs_handle h;
    if (!rs_ring_pop(in, &h))
        return 0;
    if (rs_op_inc(S, t, h)) {
        (*n)++;
        *n += rs_op_dec(S, t, h);
    }
    *n += rs_op(S, t, h, RS_OP_KILL);
    rs_op_work(3 * t->run->p.work); /* after its three operations */
    return 1;
}

/* handoff: worker i allocates objects, uses them (incref, decref) and passes its only reference
 * to worker i + 1 through a ring; the consumer uses and releases them, so every object is freed by
 * a thread other than its owner (with one thread, by itself). Five operations per object. */
RS_INLINE int rs_k_handoff(const rs_ops S, rs_thread *t)
{
    rs_run *r = t->run;
    const uint32_t T = r->nthreads;
    rs_ring *out = &r->rings[t->index];
    rs_ring *in = &r->rings[(t->index + T - 1) % T];
    uint64_t goal = r->p.ops / 5 ? r->p.ops / 5 : 1, produced = 0, n = 0;
    unsigned spins = 0;
    double since = 0;
    int rc = 0;
    while (produced < goal) {
        uint32_t tail = rs_pr_load_relaxed(&out->tail);
        if (tail - rs_pr_load_acquire(&out->head) < RS_RING) {
            rs_handle h = rs_new(S, t);
            if (!h.o) {
                rc = -1;
                break;
            }
            if (rs_op_inc(S, t, h)) {
                n++;
                n += rs_op_dec(S, t, h);
            }
            rs_op_work(2 * r->p.work);
            rs_op_publish(S, t, h);
            rs_ring_push(out, h);
            produced++;
            spins = 0;
            since = 0;
        } else if (!rs_consume(S, t, in, &n)) {
            if (!rs_wait_step(S, t, &spins, &since)) {
                rc = -1;
                break;
            }
            continue;
        }
        rs_consume(S, t, in, &n);
        S.safepoint(t);
        if (RS_UNLIKELY((produced & 1023) == 0) && rs_run_aborted(r)) {
            rc = -1;
            break;
        }
    }
    rs_pr_store_release(&out->done, 1);
    spins = 0;
    since = 0;
    for (;;) {
        if (rs_consume(S, t, in, &n)) {
            S.safepoint(t);
            continue;
        }
        /* Acquire pairs with the producer's release of done: its last push is visible. */
        if (rs_pr_load_acquire(&in->done) &&
            rs_pr_load_relaxed(&in->head) == rs_pr_load_acquire(&in->tail))
            break;
        if (!rs_wait_step(S, t, &spins, &since)) {
            rc = -1;
            break;
        }
    }
    t->ops = n;
    return rc;
}

#define RS_KERNEL_HANDOFF(OPS, t, tag, kind) rs_k_handoff(OPS, t)
#define RS_KERNEL_HANDOFF_PRELUDE(tag, OPS)

/* handoff: a full ring of objects in flight out of each worker, and as many coming in. */
static inline uint32_t rs_w_handoff_setup_objects(const rs_params *p) { (void)p; return 0; }
static inline uint64_t rs_w_handoff_pool_need(const rs_params *p, uint32_t worker, int floor)
{
    (void)p, (void)worker, (void)floor;
    return 2 * RS_RING + 2;
}
static inline uint32_t rs_w_handoff_marks(const rs_run *r, uint32_t idx) { (void)r, (void)idx; return 0; }
static inline int rs_w_handoff_prepare(rs_run *r)
{
    r->rings = (rs_ring *)rs_aligned_alloc(sizeof(rs_ring) * r->p.threads);
    if (!r->rings)
        return -1;
    memset(r->rings, 0, sizeof(rs_ring) * r->p.threads);
    return 0;
}

/* fib: the Gilectomy's benchmark, fib(n) computed recursively, performing per call the reference
 * count operations CPython 3.6's ceval.c (the Gilectomy's base) performs for
 *
 *     def fib(n):
 *         if n < 2:
 *             return n
 *         return fib(n - 1) + fib(n - 2)
 *
 * Per call (callee side; the caller's side of each call is listed under "recursive case"):
 *   frame: PyFrame_New takes a frame (a private object, freed at return: the zombie frame's
 *          dealloc/realloc) and increfs code, globals, builtins and the caller's frame (f_back);
 *          the argument is increfed into fastlocals                                      5 inc
 *   n < 2: LOAD_FAST n, LOAD_CONST 2 (+2); COMPARE_OP (-2, +True/False);
 *          POP_JUMP_IF_FALSE (-1)                                                        6 ops
 *   base case: LOAD_FAST n (+1), RETURN_VALUE hands it to the caller                    1 op
 *   recursive case, twice: LOAD_GLOBAL fib (+func), LOAD_FAST n, LOAD_CONST k (+2),
 *          BINARY_SUBTRACT (-2, +small int n-k), CALL_FUNCTION, then pops the argument and
 *          the function (-2)                                                             8 ops
 *          BINARY_ADD: +result (a small int, or a freshly allocated private int above 256),
 *          -left, -right                                                                 3 ops
 *   return: fastlocals and frame released: -arg, -code, -globals, -builtins, -f_back, -frame
 *                                                                                        6 dec
 * 36 operations per recursive call, 18 per base-case call; fib(n) makes 2 fib(n + 1) - 1 calls.
 * Setup (shared) objects: the function, globals, builtins, code, True, False and the small ints
 * -5..256 (immortal when the run honours immortality, as in CPython 3.12+ / 3.13t). Frames and ints
 * above 256 are private. `work` spin iterations per call stand for the interpreter's other work.
 * The counts are a model read off ceval.c/frameobject.c, not a trace of a real interpreter. */
typedef struct rs_fibctx {
    const rs_handle *setup;   /* singletons, then small ints */
    rs_obj *obj[RS_FIB_NSETUP]; /* unchecked copies: the same objects by pointer (no generation) */
    uint64_t n;               /* operations performed */
    uint32_t work;
    rs_handle fresh;          /* checked copies: the fresh int the last call returned */
} rs_fibctx;

/* What a call returns, in two registers as the limit's calls do: the value and the result object,
 * NULL when the run failed (the arena ran dry, or another worker or the caller stopped the run).
 * The result is a small int or a fresh one; rs_fib_result() gives its handle. */
typedef struct rs_fibret {
    int64_t value;
    rs_obj *o;
} rs_fibret;

typedef rs_fibret (*rs_fib_fn)(rs_thread *, rs_fibctx *, uint32_t, rs_handle, rs_handle);

/* Setup object i's handle: the checked copies validate generations, the unchecked ones need the
 * object only, from a table of pointers as the limit's (one load, no 16-byte stride). */
RS_INLINE rs_handle rs_fib_g(const rs_ops S, const rs_fibctx *c, uint32_t i)
{
    if (S.checked)
        return c->setup[i];
    rs_handle h = {c->obj[i], RS_NIL, 0};
    return h;
}

RS_INLINE rs_handle rs_fib_small(const rs_ops S, const rs_fibctx *c, int64_t v)
{
    return rs_fib_g(S, c, (uint32_t)(RS_FIB_NSINGLETONS + (v - RS_FIB_SMALL_MIN)));
}

/* A call's result, returned by the callee (res: a small int's handle, or the fresh int it made). */
RS_INLINE rs_fibret rs_fib_return(const rs_ops S, rs_fibctx *c, int64_t value, rs_handle res)
{
    if (S.checked && value > RS_FIB_SMALL_MAX)
        c->fresh = res;
    rs_fibret r = {value, res.o};
    return r;
}

/* The handle of a call's result, taken by the caller right after the call. The unchecked copies
 * use the object only; the checked ones validate the whole handle. */
RS_INLINE rs_handle rs_fib_result(const rs_ops S, const rs_fibctx *c, rs_fibret r)
{
    rs_handle h = {r.o, RS_NIL, 0};
    if (S.checked)
        h = r.value > RS_FIB_SMALL_MAX ? c->fresh : rs_fib_small(S, c, r.value);
    return h;
}

/* One operation of either fib kernel. The checked copy counts what it performs (a use after free
 * is skipped); the unchecked copy performs every operation and leaves the count to rs_fib_ops(),
 * as a real interpreter keeps no tally. */
RS_INLINE void rs_fib_op(const rs_ops S, rs_thread *t, rs_fibctx *c, rs_handle h, const int kind)
{
    int done = rs_op(S, t, h, kind);
    if (S.checked)
        c->n += done;
}

RS_INLINE void rs_fib_inc(const rs_ops S, rs_thread *t, rs_fibctx *c, rs_handle h)
{
    rs_fib_op(S, t, c, h, RS_OP_INC);
}

RS_INLINE void rs_fib_dec(const rs_ops S, rs_thread *t, rs_fibctx *c, rs_handle h)
{
    rs_fib_op(S, t, c, h, RS_OP_DEC);
}

/* The release of a reference this thread created (a frame, a fresh int): the vocabulary's kill. */
RS_INLINE void rs_fib_kill(const rs_ops S, rs_thread *t, rs_fibctx *c, rs_handle h)
{
    rs_fib_op(S, t, c, h, RS_OP_KILL);
}

/* The caller's release of a call's result: a fresh int's is its creator's reference, a kill. A
 * scheme with no kill hook decrements either way, and its copies test nothing here. */
RS_INLINE void rs_fib_drop(const rs_ops S, rs_thread *t, rs_fibctx *c, rs_handle h, int64_t value)
{
    if (S.kill && value > RS_FIB_SMALL_MAX)
        rs_fib_kill(S, t, c, h);
    else
        rs_fib_dec(S, t, c, h);
}

/* Operations of one fib(n) from the module frame, counted arithmetically: 18 per base-case call,
 * 36 per recursive call less one where the result is a fresh object (allocated, not increfed),
 * plus the module level's 6. Equals the checked copy's tally (tests/test_core.py checks it). */
static inline uint64_t rs_fib_ops(uint32_t n)
{
    uint64_t ops[2] = {18, 18}; /* ops[k & 1]: calls of fib(k), fib(k - 1), rolling */
    int64_t fib[2] = {0, 1};
    for (uint32_t k = 2; k <= n; k++) {
        int64_t value = fib[0] + fib[1];
        uint64_t own = 36 - (value > RS_FIB_SMALL_MAX);
        ops[k & 1] = own + ops[0] + ops[1];
        fib[k & 1] = value;
    }
    return ops[n & 1] + 6;
}

RS_INLINE rs_fibret rs_fib_body(const rs_ops S, rs_thread *t, rs_fibctx *c, uint32_t n, rs_handle arg,
                                rs_handle parent, rs_fib_fn self)
{
    const rs_fibret failed = {0, NULL};
    S.safepoint(t);
    if (RS_UNLIKELY(n >= RS_FIB_POLL_N) && rs_run_aborted(t->run))
        return failed; /* another worker failed, or the caller interrupted the run */
    rs_handle frame = rs_new(S, t);
    if (RS_UNLIKELY(!frame.o))
        return failed;
    rs_fib_inc(S, t, c, rs_fib_g(S, c, RS_FIB_CODE));
    rs_fib_inc(S, t, c, rs_fib_g(S, c, RS_FIB_GLOBALS));
    rs_fib_inc(S, t, c, rs_fib_g(S, c, RS_FIB_BUILTINS));
    rs_fib_inc(S, t, c, parent);
    rs_fib_inc(S, t, c, arg);
    /* n < 2 */
    rs_handle two = rs_fib_small(S, c, 2);
    rs_handle cmp = rs_fib_g(S, c, n < 2 ? RS_FIB_TRUE : RS_FIB_FALSE);
    rs_fib_inc(S, t, c, arg);
    rs_fib_inc(S, t, c, two);
    rs_fib_dec(S, t, c, arg);
    rs_fib_dec(S, t, c, two);
    rs_fib_inc(S, t, c, cmp);
    rs_fib_dec(S, t, c, cmp);
    int64_t value = n;
    rs_handle res = arg;
    if (n < 2) {
        rs_fib_inc(S, t, c, arg);
    } else {
        int64_t part[2];
        rs_handle parth[2];
        for (uint32_t k = 1; k <= 2; k++) {
            rs_handle kh = rs_fib_small(S, c, k), sub = rs_fib_small(S, c, (int64_t)n - k);
            rs_fib_inc(S, t, c, rs_fib_g(S, c, RS_FIB_FUNC));
            rs_fib_inc(S, t, c, arg);
            rs_fib_inc(S, t, c, kh);
            rs_fib_dec(S, t, c, arg);
            rs_fib_dec(S, t, c, kh);
            rs_fib_inc(S, t, c, sub);
            rs_fibret got = self(t, c, n - k, sub, frame);
            parth[k - 1] = rs_fib_result(S, c, got);
            part[k - 1] = got.value;
            rs_fib_dec(S, t, c, sub);
            rs_fib_dec(S, t, c, rs_fib_g(S, c, RS_FIB_FUNC));
            if (RS_UNLIKELY(!got.o))
                return failed;
        }
        value = part[0] + part[1];
        if (value <= RS_FIB_SMALL_MAX) {
            res = rs_fib_small(S, c, value);
            rs_fib_inc(S, t, c, res);
        } else {
            res = rs_new(S, t);
            if (RS_UNLIKELY(!res.o))
                return failed;
        }
        rs_fib_drop(S, t, c, parth[0], part[0]);
        rs_fib_drop(S, t, c, parth[1], part[1]);
    }
    rs_spin(c->work);
    rs_fib_dec(S, t, c, arg);
    rs_fib_dec(S, t, c, rs_fib_g(S, c, RS_FIB_CODE));
    rs_fib_dec(S, t, c, rs_fib_g(S, c, RS_FIB_GLOBALS));
    rs_fib_dec(S, t, c, rs_fib_g(S, c, RS_FIB_BUILTINS));
    rs_fib_dec(S, t, c, parent);
    rs_fib_kill(S, t, c, frame);
    return rs_fib_return(S, c, value, res);
}

/* Both fib kernels' start: the context over the run's setup objects, and the module-level frame
 * the first call is made from (a NULL object: the arena is exhausted, the run has failed). */
RS_INLINE rs_handle rs_fib_start(const rs_ops S, rs_thread *t, rs_fibctx *c)
{
    rs_run *r = t->run;
    c->setup = r->shared;
    for (uint32_t i = 0; !S.checked && i < RS_FIB_NSETUP; i++)
        c->obj[i] = r->shared[i].o;
    c->n = 0;
    c->work = r->p.work;
    return rs_new(S, t);
}

/* One fib(n) per worker, called from a module-level frame as `fib(n)` would be. */
RS_INLINE int rs_k_fib(const rs_ops S, rs_thread *t, rs_fib_fn rec)
{
    rs_fibctx c;
    const uint32_t n = t->run->p.fib_n;
    rs_handle module_frame = rs_fib_start(S, t, &c);
    if (!module_frame.o)
        return -1;
    rs_handle arg = rs_fib_small(S, &c, n);
    rs_fib_inc(S, t, &c, rs_fib_g(S, &c, RS_FIB_FUNC));
    rs_fib_inc(S, t, &c, arg);
    rs_fibret res = rec(t, &c, n, arg, module_frame);
    rs_handle h = rs_fib_result(S, &c, res);
    rs_fib_dec(S, t, &c, arg);
    rs_fib_dec(S, t, &c, rs_fib_g(S, &c, RS_FIB_FUNC));
    if (res.o)
        rs_fib_drop(S, t, &c, h, res.value);
    rs_fib_kill(S, t, &c, module_frame);
    t->ops = S.checked ? c.n : !res.o ? 0 : rs_fib_ops(n);
    return res.o ? 0 : -1;
}

#define RS_KERNEL_FIB(OPS, t, tag, kind) rs_k_fib(OPS, t, rs_fibrec_##tag)
#define RS_KERNEL_FIB_PRELUDE(tag, OPS)                                                            \
    static rs_fibret rs_fibrec_##tag(rs_thread *t, rs_fibctx *c, uint32_t n, rs_handle arg,        \
                                     rs_handle parent)                                             \
    {                                                                                              \
        return rs_fib_body(OPS, t, c, n, arg, parent, rs_fibrec_##tag);                            \
    }

/* fib: the module's singletons and small ints exist before the run; each worker's recursion holds
 * a frame per level and a fresh int per return. */
static inline uint32_t rs_w_fib_setup_objects(const rs_params *p) { (void)p; return RS_FIB_NSETUP; }
static inline uint64_t rs_w_fib_pool_need(const rs_params *p, uint32_t worker, int floor)
{
    (void)worker, (void)floor;
    return 2 * (uint64_t)p->fib_n + 8;
}
/* 3.14t moved functions, code and module dicts from immortal to deferred (and gave code and the
 * dicts unique ids, refstrat/sharded.h); literals and singletons stay immortal. */
static inline uint32_t rs_w_fib_marks(const rs_run *r, uint32_t idx)
{
    if (idx == RS_FIB_FUNC)
        return r->layers & RS_F_DEFERRED ? RS_F_DEFERRED : RS_F_IMMORTAL;
    if (idx == RS_FIB_CODE || idx == RS_FIB_GLOBALS || idx == RS_FIB_BUILTINS)
        return RS_F_SHARDED | (r->layers & RS_F_DEFERRED ? RS_F_DEFERRED : RS_F_IMMORTAL);
    return RS_F_IMMORTAL;
}
static inline int rs_w_fib_prepare(rs_run *r) { (void)r; return 0; }

/* fib314: the same fib(n) with the operations CPython 3.14's ceval (free-threaded build) performs
 * per call, where the evaluation stack holds _PyStackRefs: a stack reference to a deferred object
 * (the function, its code) or an immortal one changes no count, a borrowed one (LOAD_FAST_BORROW)
 * is not even taken, and frames borrow globals, builtins and f_back. Kinds: push/pop are stack
 * references (refstrat/deferred.h records them for deferred objects; other schemes count them as
 * incref/decref), inc/dec heap references, new an allocation.
 *
 * Per call (callee side; the caller's side of each call is listed under "recursive case"):
 *   frame: _PyFrame_Initialize: the frame (a private object here; 3.14's frames live in the
 *          thread's data stack, the object stands for that slot) takes f_executable, a stack
 *          reference to the code (push code); f_funcobj is the caller's stack reference to the
 *          function, moved in; f_globals, f_builtins and previous are borrowed; the argument is
 *          moved from the caller's stack into localsplus                          new, 1 push
 *   n < 2: LOAD_FAST_BORROW n (nothing), LOAD_SMALL_INT 2 (push 2), COMPARE_OP: closes the
 *          borrowed n (nothing) and 2 (pop), pushes True/False (push); POP_JUMP_IF_FALSE (pop)
 *                                                                                  4 ops
 *   base case: LOAD_FAST_BORROW n; RETURN_VALUE makes it heap safe, a strong reference
 *          handed to the caller (inc arg)                                          1 op
 *   recursive case, twice: LOAD_GLOBAL fib (push func: a new stack reference, deferred),
 *          LOAD_FAST_BORROW n (nothing), LOAD_SMALL_INT k (push k), BINARY_OP - (pop k, push
 *          the small int n - k, the argument), CALL (moves func and the argument into the
 *          callee's frame), and at the callee's return the func reference is closed (pop func)
 *                                                                                  5 ops
 *          BINARY_OP +: the result (inc of a small int, or a freshly allocated private int
 *          above 256), dec left, dec right (kill where an operand is a fresh int: its creator's
 *          reference, as in fib)                                                   3 ops
 *   return: RETURN_VALUE clears the frame: localsplus n (pop arg: the caller's push), the
 *          code (pop code), the frame released (kill frame: the creator's reference) 3 ops
 * 21 operations per recursive call (20 where the result is fresh), 9 per base-case call, plus the
 * module level's 5 (push func, push n, pop func, dec or kill result, kill module frame). Kill is
 * a decrement for every scheme but percpu, whose objects are freed only after one (fib's rule).
 * Against 3.6's 36 and 18, most of them now skipped by immortality or recorded by the deferred layer.
 * Setup objects as fib's. A model read off 3.14's Python/bytecodes.c, Python/ceval.c and
 * Include/internal/pycore_stackref.h, not a trace of a real interpreter. */

/* Operations of one fib314(n) from the module frame, counted arithmetically as rs_fib_ops() does:
 * equals the checked copy's tally (tests/test_core.py checks it). */
static inline uint64_t rs_fib314_ops(uint32_t n)
{
    uint64_t ops[2] = {9, 9};
    int64_t fib[2] = {0, 1};
    for (uint32_t k = 2; k <= n; k++) {
        int64_t value = fib[0] + fib[1];
        uint64_t own = 21 - (value > RS_FIB_SMALL_MAX);
        ops[k & 1] = own + ops[0] + ops[1];
        fib[k & 1] = value;
    }
    return ops[n & 1] + 5;
}

RS_INLINE rs_fibret rs_fib314_body(const rs_ops S, rs_thread *t, rs_fibctx *c, uint32_t n,
                                   rs_handle arg, rs_handle parent, rs_fib_fn self)
{
    const rs_fibret failed = {0, NULL};
    (void)parent; /* borrowed (frame->previous): no count */
    S.safepoint(t);
    if (RS_UNLIKELY(n >= RS_FIB_POLL_N) && rs_run_aborted(t->run))
        return failed;
    rs_handle frame = rs_new(S, t);
    if (RS_UNLIKELY(!frame.o))
        return failed;
    rs_fib_op(S, t, c, rs_fib_g(S, c, RS_FIB_CODE), RS_OP_PUSH);
    rs_handle two = rs_fib_small(S, c, 2);
    rs_handle cmp = rs_fib_g(S, c, n < 2 ? RS_FIB_TRUE : RS_FIB_FALSE);
    rs_fib_op(S, t, c, two, RS_OP_PUSH);
    rs_fib_op(S, t, c, two, RS_OP_POP);
    rs_fib_op(S, t, c, cmp, RS_OP_PUSH);
    rs_fib_op(S, t, c, cmp, RS_OP_POP);
    int64_t value = n;
    rs_handle res = arg;
    if (n < 2) {
        rs_fib_op(S, t, c, arg, RS_OP_INC);
    } else {
        int64_t part[2];
        rs_handle parth[2];
        for (uint32_t k = 1; k <= 2; k++) {
            rs_handle kh = rs_fib_small(S, c, k), sub = rs_fib_small(S, c, (int64_t)n - k);
            rs_fib_op(S, t, c, rs_fib_g(S, c, RS_FIB_FUNC), RS_OP_PUSH);
            rs_fib_op(S, t, c, kh, RS_OP_PUSH);
            rs_fib_op(S, t, c, kh, RS_OP_POP);
            rs_fib_op(S, t, c, sub, RS_OP_PUSH);
            rs_fibret got = self(t, c, n - k, sub, frame);
            parth[k - 1] = rs_fib_result(S, c, got);
            part[k - 1] = got.value;
            rs_fib_op(S, t, c, rs_fib_g(S, c, RS_FIB_FUNC), RS_OP_POP);
            if (RS_UNLIKELY(!got.o))
                return failed;
        }
        value = part[0] + part[1];
        if (value <= RS_FIB_SMALL_MAX) {
            res = rs_fib_small(S, c, value);
            rs_fib_op(S, t, c, res, RS_OP_INC);
        } else {
            res = rs_new(S, t);
            if (RS_UNLIKELY(!res.o))
                return failed;
        }
        rs_fib_drop(S, t, c, parth[0], part[0]);
        rs_fib_drop(S, t, c, parth[1], part[1]);
    }
    rs_spin(c->work);
    rs_fib_op(S, t, c, arg, RS_OP_POP);
    rs_fib_op(S, t, c, rs_fib_g(S, c, RS_FIB_CODE), RS_OP_POP);
    rs_fib_op(S, t, c, frame, RS_OP_KILL);
    return rs_fib_return(S, c, value, res);
}

/* One fib314(n) per worker, called from a module-level frame. */
RS_INLINE int rs_k_fib314(const rs_ops S, rs_thread *t, rs_fib_fn rec)
{
    rs_fibctx c;
    const uint32_t n = t->run->p.fib_n;
    rs_handle module_frame = rs_fib_start(S, t, &c);
    if (!module_frame.o)
        return -1;
    rs_handle arg = rs_fib_small(S, &c, n);
    rs_fib_op(S, t, &c, rs_fib_g(S, &c, RS_FIB_FUNC), RS_OP_PUSH);
    rs_fib_op(S, t, &c, arg, RS_OP_PUSH); /* popped by the callee's return */
    rs_fibret res = rec(t, &c, n, arg, module_frame);
    rs_handle h = rs_fib_result(S, &c, res);
    rs_fib_op(S, t, &c, rs_fib_g(S, &c, RS_FIB_FUNC), RS_OP_POP);
    if (res.o)
        rs_fib_drop(S, t, &c, h, res.value);
    rs_fib_op(S, t, &c, module_frame, RS_OP_KILL);
    t->ops = S.checked ? c.n : !res.o ? 0 : rs_fib314_ops(n);
    return res.o ? 0 : -1;
}

#define RS_KERNEL_FIB314(OPS, t, tag, kind) rs_k_fib314(OPS, t, rs_fib314rec_##tag)
#define RS_KERNEL_FIB314_PRELUDE(tag, OPS)                                                         \
    static rs_fibret rs_fib314rec_##tag(rs_thread *t, rs_fibctx *c, uint32_t n, rs_handle arg,     \
                                        rs_handle parent)                                          \
    {                                                                                              \
        return rs_fib314_body(OPS, t, c, n, arg, parent, rs_fib314rec_##tag);                      \
    }

/* fib314: fib's objects and marks. */
static inline uint32_t rs_w_fib314_setup_objects(const rs_params *p) { return rs_w_fib_setup_objects(p); }
static inline uint64_t rs_w_fib314_pool_need(const rs_params *p, uint32_t worker, int floor)
{
    return rs_w_fib_pool_need(p, worker, floor);
}
static inline uint32_t rs_w_fib314_marks(const rs_run *r, uint32_t idx) { return rs_w_fib_marks(r, idx); }
static inline int rs_w_fib314_prepare(rs_run *r) { return rs_w_fib_prepare(r); }

/* A trace thread's lock: the object it holds locked (at most one), and the payload value it last
 * saw or wrote inside (a later READ that finds another value saw someone else inside). */
typedef struct rs_trace_lock {
    uint32_t held;     /* trace id, RS_NIL: none */
    int seen;          /* `value` is meaningful */
    int64_t value;
} rs_trace_lock;

/* A broken program (Python refuses it first): the run fails with a clear message, no corruption. */
static RS_NOINLINE int rs_trace_misuse(rs_thread *t, const char *what)
{
    char msg[160];
    snprintf(msg, sizeof msg, "trace thread %u: %s (the lock discipline: refstrat.model)", t->index, what);
    rs_run_fail(t->run, RS_ERR_CONFIG, msg);
    return -1;
}

/* LOCK, UNLOCK, READ, WRITE of trace object `obj` through handle h: 0, or -1 to stop the thread. */
static RS_NOINLINE int rs_trace_lock_op(rs_thread *t, rs_trace *tr, rs_trace_lock *L, uint32_t kind,
                                        uint32_t obj, rs_handle h)
{
    const rs_lock_scheme *lk = t->run->lock;
    switch (kind) {
    case RS_T_LOCK:
        if (L->held != RS_NIL)
            return rs_trace_misuse(t, "lock while holding another lock");
        if (lk->acquire(t, h.o) < 0)
            return -1;
        L->held = obj;
        L->seen = 0;
        /* Relaxed: a counter of threads inside, read by nothing else; a second one is the finding. */
        if (rs_pr_faa_relaxed(&tr->inside[obj], 1u) != 0)
            rs_pr_faa_relaxed(&tr->exclusion_violations, 1u);
        return 0;
    case RS_T_UNLOCK:
        if (L->held != obj)
            return rs_trace_misuse(t, "unlock of an object this thread has not locked");
        rs_pr_sub_relaxed(&tr->inside[obj], 1u);
        L->held = RS_NIL;
        lk->release(t, h.o);
        return 0;
    default: { /* RS_T_READ, RS_T_WRITE: plain, under the lock (two accesses: a window to race in) */
        if (L->held != obj)
            return rs_trace_misuse(t, "guarded access without holding the object's lock");
        int64_t v = rs_pr_load_plain(&tr->payload[obj]);
        if (L->seen && v != L->value)
            rs_pr_faa_relaxed(&tr->exclusion_violations, 1u);
        if (kind == RS_T_WRITE)
            rs_pr_store_plain(&tr->payload[obj], ++v);
        L->seen = 1;
        L->value = v;
        return 0;
    }
    }
}

/* trace: replay this worker's operation list; see rs_trace. `jitter` inserts deterministic spins
 * and yields between operations so that one program is run under many interleavings. */
RS_INLINE int rs_k_trace(const rs_ops S, rs_thread *t)
{
    rs_run *r = t->run;
    rs_trace *tr = r->p.trace;
    const uint32_t me = t->index, N = tr->nobjects;
    const rs_lock_scheme *lk = r->lock;
    rs_trace_lock L = {RS_NIL, 0, 0};
    uint64_t n = 0, jit = r->p.jitter ? r->p.jitter * 0x9E3779B97F4A7C15ULL + me + 1 : 0;
    t->lock_wait = S.wait;
    for (uint64_t k = tr->begin[me]; k < tr->begin[me + 1]; k++) {
        const rs_trace_op op = tr->ops[k];
        if (jit) {
            uint64_t x = rs_rand(&jit);
            switch (x & 7) {
            case 5: rs_spin((uint32_t)(x >> 8) & 255); break;
            case 6: rs_pr_yield(); break;
            case 7: rs_spin((uint32_t)(x >> 8) & 4095); break;
            default: break;
            }
        }
        int ok = 1;
        switch (op.kind) {
        case RS_T_NEW: {
            /* Plain: the handle reaches another thread only through a send (release). */
            rs_pr_store_plain(&tr->handles[op.obj], rs_new(S, t));
            rs_obj *fresh = rs_pr_load_plain(&tr->handles[op.obj]).o;
            if (!fresh) {
                t->ops = n;
                return -1;
            }
            if (S.layered && tr->layers)
                rs_layers_new(t, rs_pr_load_plain(&tr->handles[op.obj]), tr->layers[op.obj]);
            /* The slot already loaded: no scheduling point more than before locks (the hand-found
             * schedules of tests/test_check_broken.py count them). */
            lk->obj_init(t, fresh);
            break;
        }
        case RS_T_LOCK:
        case RS_T_UNLOCK:
        case RS_T_READ:
        case RS_T_WRITE: {
            rs_handle h = rs_pr_load_plain(&tr->handles[op.obj]);
            if (S.checked && RS_UNLIKELY(!rs_handle_ok(&r->arena, h))) {
                t->c.use_after_free++;
                rs_pr_event_uaf();
                ok = 0;
            } else if (rs_trace_lock_op(t, tr, &L, op.kind, op.obj, h) < 0) {
                t->ops = n;
                return -1;
            }
            break;
        }
        case RS_T_INC:
            ok = rs_op_inc(S, t, rs_pr_load_plain(&tr->handles[op.obj]));
            n += ok;
            break;
        case RS_T_DEC:
        case RS_T_PUSH:
        case RS_T_POP:
        case RS_T_KILL: {
            static const int kinds[RS_T_KINDS] = {
                [RS_T_DEC] = RS_OP_DEC, [RS_T_PUSH] = RS_OP_PUSH, [RS_T_POP] = RS_OP_POP,
                [RS_T_KILL] = RS_OP_KILL};
            ok = rs_op(S, t, rs_pr_load_plain(&tr->handles[op.obj]), kinds[op.kind]);
            n += ok;
            break;
        }
        case RS_T_SEND:
            rs_op_publish(S, t, rs_pr_load_plain(&tr->handles[op.obj]));
            /* Release pairs with the receiver's acquire: everything this thread did to the object
             * (and its handle) happens before the receiver uses it. */
            rs_pr_faa_release(&tr->mailbox[(size_t)op.arg * N + op.obj], 1);
            break;
        case RS_T_RECV: {
            uint32_t *box = &tr->mailbox[(size_t)me * N + op.obj];
            unsigned spins = 0;
            double since = 0;
            while (rs_pr_load_acquire(box) == 0)
                if (lk->safepoint(t), !rs_wait_step(S, t, &spins, &since)) {
                    t->ops = n;
                    return -1;
                }
            rs_pr_sub_relaxed(box, 1);
            break;
        }
        default:
            break;
        }
        if (!ok && t->first_uaf == UINT64_MAX)
            t->first_uaf = k - tr->begin[me];
        S.safepoint(t);
        lk->safepoint(t);
    }
    t->ops = n;
    if (L.held != RS_NIL)
        return rs_trace_misuse(t, "the thread ends holding a lock");
    lk->leave(t);
    return 0;
}

#define RS_KERNEL_TRACE(OPS, t, tag, kind) rs_k_trace(OPS, t)
#define RS_KERNEL_TRACE_PRELUDE(tag, OPS)

/* trace: its shared objects, and room for every object the worker creates unless the caller
 * sizes the arena (floor): then it reuses the slots other threads free, and waits for them when
 * it holds its whole pool (a systematic check's tight pools, refstrat.model.Program.pool). */
static inline uint32_t rs_w_trace_setup_objects(const rs_params *p) { return p->trace ? p->trace->nshared : 0; }
static inline uint64_t rs_w_trace_pool_need(const rs_params *p, uint32_t worker, int floor)
{
    if (floor)
        return 1;
    uint64_t news = 0;
    for (uint64_t k = p->trace->begin[worker]; k < p->trace->begin[worker + 1]; k++)
        news += p->trace->ops[k].kind == RS_T_NEW;
    return news ? news : 1;
}
static inline uint32_t rs_w_trace_marks(const rs_run *r, uint32_t idx)
{
    const rs_trace *tr = r->p.trace;
    return (tr->immortal[idx] ? RS_F_IMMORTAL : 0) | (tr->layers ? tr->layers[idx] & RS_COLLECTED : 0);
}
/* Freed by rs_run_destroy, which leaves the caller's trace as it was given. */
static inline int rs_w_trace_prepare(rs_run *r)
{
    rs_trace *tr = r->p.trace;
    tr->handles = (rs_handle *)calloc(tr->nobjects ? tr->nobjects : 1, sizeof(rs_handle));
    tr->mailbox = (uint32_t *)calloc((size_t)r->p.threads * (tr->nobjects ? tr->nobjects : 1), sizeof(uint32_t));
    tr->payload = (int64_t *)calloc(tr->nobjects ? tr->nobjects : 1, sizeof(int64_t));
    tr->inside = (uint32_t *)calloc(tr->nobjects ? tr->nobjects : 1, sizeof(uint32_t));
    tr->exclusion_violations = 0;
    if (!tr->handles || !tr->mailbox || !tr->payload || !tr->inside)
        return -1;
    for (uint32_t i = 0; i < tr->nshared; i++)
        tr->handles[i] = r->shared[i];
    return 0;
}

#endif
