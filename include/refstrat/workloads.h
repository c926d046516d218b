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
 *    arithmetically, never one by one;
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

#include <stdlib.h>
#include "refstrat/runtime.h"
#include "refstrat/layers.h"

#define RS_MAX_DEPTH 64      /* references a loop kernel may hold at once */
#define RS_RING 256          /* handoff ring capacity (power of two) */
#define RS_ZIPF_TABLE 1024   /* mixed: resolution of the Zipf draw */
#define RS_WAIT_LIMIT 30.0   /* seconds a worker may wait for another before the run fails */
#define RS_MAX_WORK 100000000u /* spin iterations per call or per operation (see rs_op_work) */
#define RS_FIB_SMALL_MIN (-5)
#define RS_FIB_SMALL_MAX 256

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
RS_INLINE int rs_op(const rs_ops S, rs_thread *t, const rs_arena *a, rs_handle h, const int kind)
{
    if (S.checked && RS_UNLIKELY(!rs_handle_ok(a, h))) {
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

RS_INLINE int rs_op_inc(const rs_ops S, rs_thread *t, const rs_arena *a, rs_handle h)
{
    return rs_op(S, t, a, h, RS_OP_INC);
}

RS_INLINE int rs_op_dec(const rs_ops S, rs_thread *t, const rs_arena *a, rs_handle h)
{
    return rs_op(S, t, a, h, RS_OP_DEC);
}

/* Before the release that makes h reachable from another thread; not a count change, so not an
 * operation. A freed object is not published (the send that follows is the caller's bug). */
RS_INLINE void rs_op_publish(const rs_ops S, rs_thread *t, const rs_arena *a, rs_handle h)
{
    if (!S.publish || (S.checked && RS_UNLIKELY(!rs_handle_ok(a, h))))
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
static RS_NOINLINE uint32_t rs_alloc_wait(rs_thread *t, void (*wait)(rs_thread *))
{
    rs_run *r = t->run;
    double start = rs_now();
    for (unsigned i = 1;; i++) {
        uint32_t idx;
        for (int k = 0; k < 3; k++) {
            r->strategy->flush(t);
            if ((idx = rs_pool_take(&r->arena, t->pool)) != RS_NIL)
                return idx;
        }
        wait(t);
        idx = rs_pool_take(&r->arena, t->pool);
        if (idx != RS_NIL)
            return idx;
        if (rs_run_aborted(r))
            return RS_NIL;
        if (i % 1024 == 0) {
            rs_pr_yield();
            if (rs_now() - start > RS_WAIT_LIMIT) {
                rs_run_fail(r, RS_ERR_ARENA, "arena exhausted: a worker's pool stayed empty; "
                                             "pass a larger arena_size");
                return RS_NIL;
            }
        }
    }
}

/* A new object owned by t with count 1, or a handle with idx RS_NIL when the run failed. */
RS_INLINE rs_handle rs_new(const rs_ops S, rs_thread *t, const rs_arena *a)
{
    uint32_t idx = rs_pool_take(a, t->pool);
    if (RS_UNLIKELY(idx == RS_NIL)) {
        idx = rs_alloc_wait(t, S.wait);
        if (idx == RS_NIL) {
            rs_handle nil = {NULL, RS_NIL, 0};
            return nil;
        }
    }
    rs_handle h = rs_obj_open(a, idx, 0, t->index);
    RS_EXPLAIN_NEW(t, idx);
    S.obj_init(t, rs_obj_at(a, idx));
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
RS_INLINE rs_handle rs_draw(int kind, uint64_t x, const rs_handle *priv, uint32_t np,
                            const rs_handle *shared, uint32_t ns, const uint16_t *zipf, uint32_t thresh)
{
    if (kind == RS_W_PRIVATE)
        return priv[rs_below(x, np)];
    if (kind == RS_W_SHARED)
        return shared[rs_below(x, ns)];
    if (((uint32_t)x & 0xffff) < thresh)
        return shared[zipf[(x >> 16) & (RS_ZIPF_TABLE - 1)]];
    return priv[rs_below(x, np)];
}

RS_INLINE int rs_k_loop(const rs_ops S, rs_thread *t, int kind)
{
    rs_run *r = t->run;
    const rs_arena a = r->arena;
    const rs_params *p = &r->p;
    uint32_t np = kind == RS_W_SHARED ? 0 : p->objects;
    const uint32_t ns = r->nshared;
    const rs_handle *shared = r->shared;
    const uint16_t *zipf = r->zipf_table;
    const uint32_t thresh = (uint32_t)(p->shared_fraction * 65536.0);
    const uint32_t depth = p->depth, work = p->work;
    rs_handle held[RS_MAX_DEPTH];
    uint64_t n = 0, tried = 0, next_churn = 1024, rng = t->rng; /* n: performed; tried: attempted */
    int rc = 0;
    rs_handle *priv = np ? (rs_handle *)malloc(sizeof(rs_handle) * np) : NULL;
    if (np && !priv) {
        rs_run_fail(r, RS_ERR_NOMEM, "out of memory for a worker's private objects");
        return -1;
    }
    for (uint32_t i = 0; i < np; i++) {
        priv[i] = rs_new(S, t, &a);
        if (priv[i].idx == RS_NIL) {
            np = i;
            rc = -1;
            break;
        }
    }
    while (rc == 0 && tried < p->ops) {
        uint32_t got = 0;
        for (uint32_t k = 0; k < depth; k++) {
            rs_handle h = rs_draw(kind, rs_rand(&rng), priv, np, shared, ns, zipf, thresh);
            if (rs_op_inc(S, t, &a, h))
                held[got++] = h;
            rs_op_work(work);
        }
        n += got;
        while (got) {
            n += rs_op_dec(S, t, &a, held[--got]);
            rs_op_work(work);
        }
        tried += 2 * (uint64_t)depth; /* a broken scheme's use after free must not stall the loop */
        S.safepoint(t);
        if (RS_UNLIKELY(tried >= next_churn)) {
            next_churn += 1024;
            if (rs_run_aborted(r))
                break;
            if (np) {
                uint32_t i = rs_below(rs_rand(&rng), np);
                n += rs_op(S, t, &a, priv[i], RS_OP_KILL);
                tried++;
                priv[i] = rs_new(S, t, &a);
                if (priv[i].idx == RS_NIL) {
                    priv[i] = priv[--np]; /* that slot's reference is gone */
                    rc = -1;
                }
            }
        }
    }
    for (uint32_t i = 0; i < np; i++)
        n += rs_op(S, t, &a, priv[i], RS_OP_KILL);
    free(priv);
    t->rng = rng;
    t->ops = n;
    return rc;
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
RS_INLINE int rs_consume(const rs_ops S, rs_thread *t, const rs_arena *a, rs_ring *in, uint64_t *n)
{
    rs_handle h;
    if (!rs_ring_pop(in, &h))
        return 0;
    if (rs_op_inc(S, t, a, h)) {
        (*n)++;
        *n += rs_op_dec(S, t, a, h);
    }
    *n += rs_op(S, t, a, h, RS_OP_KILL);
    rs_op_work(3 * t->run->p.work); /* after its three operations */
    return 1;
}

/* handoff: worker i allocates objects, uses them (incref, decref) and passes its only reference
 * to worker i + 1 through a ring; the consumer uses and releases them, so every object is freed by
 * a thread other than its owner (with one thread, by itself). Five operations per object. */
RS_INLINE int rs_k_handoff(const rs_ops S, rs_thread *t)
{
    rs_run *r = t->run;
    const rs_arena a = r->arena;
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
            rs_handle h = rs_new(S, t, &a);
            if (h.idx == RS_NIL) {
                rc = -1;
                break;
            }
            if (rs_op_inc(S, t, &a, h)) {
                n++;
                n += rs_op_dec(S, t, &a, h);
            }
            rs_op_work(2 * r->p.work);
            rs_op_publish(S, t, &a, h);
            rs_ring_push(out, h);
            produced++;
            spins = 0;
            since = 0;
        } else if (!rs_consume(S, t, &a, in, &n)) {
            if (!rs_wait_step(S, t, &spins, &since)) {
                rc = -1;
                break;
            }
            continue;
        }
        rs_consume(S, t, &a, in, &n);
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
        if (rs_consume(S, t, &a, in, &n)) {
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
    rs_arena a;
    const rs_handle *setup;   /* singletons, then small ints */
    uint64_t n;               /* operations performed */
    uint32_t work;
    uint32_t calls;           /* calls so far, to look for an abort every 1024 */
    int failed;
} rs_fibctx;

typedef struct rs_fibret {
    int64_t value;
    rs_handle h;
} rs_fibret;

typedef rs_fibret (*rs_fib_fn)(rs_thread *, rs_fibctx *, uint32_t, rs_handle, rs_handle);

RS_INLINE rs_handle rs_fib_small(const rs_handle *setup, int64_t v)
{
    return setup[RS_FIB_NSINGLETONS + (v - RS_FIB_SMALL_MIN)];
}

/* The checked copy counts what it performs (a use after free is skipped); the unchecked copy
 * performs every operation and leaves the count to rs_fib_ops(), as a real interpreter keeps no
 * tally. */
RS_INLINE void rs_fib_inc(const rs_ops S, rs_thread *t, rs_fibctx *c, const rs_arena *a, rs_handle h)
{
    int done = rs_op_inc(S, t, a, h);
    if (S.checked)
        c->n += done;
}

RS_INLINE void rs_fib_dec(const rs_ops S, rs_thread *t, rs_fibctx *c, const rs_arena *a, rs_handle h)
{
    int done = rs_op_dec(S, t, a, h);
    if (S.checked)
        c->n += done;
}

/* The release of a reference this thread created (a frame, a fresh int): the vocabulary's kill. */
RS_INLINE void rs_fib_kill(const rs_ops S, rs_thread *t, rs_fibctx *c, const rs_arena *a, rs_handle h)
{
    int done = rs_op(S, t, a, h, RS_OP_KILL);
    if (S.checked)
        c->n += done;
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
    /* Locals, not c's fields: the count stores cannot alias them, so the arena's base and stride
     * stay in registers instead of being reloaded at every operation. */
    const rs_handle *const g = c->setup;
    const rs_arena a = c->a;
    rs_fibret ret = {0, {NULL, RS_NIL, 0}};
    S.safepoint(t);
    if (RS_UNLIKELY((++c->calls & 1023) == 0) && rs_run_aborted(t->run)) {
        c->failed = 1; /* another worker failed, or the caller interrupted the run */
        return ret;
    }
    rs_handle frame = rs_new(S, t, &a);
    if (RS_UNLIKELY(frame.idx == RS_NIL)) {
        c->failed = 1;
        return ret;
    }
    rs_fib_inc(S, t, c, &a, g[RS_FIB_CODE]);
    rs_fib_inc(S, t, c, &a, g[RS_FIB_GLOBALS]);
    rs_fib_inc(S, t, c, &a, g[RS_FIB_BUILTINS]);
    rs_fib_inc(S, t, c, &a, parent);
    rs_fib_inc(S, t, c, &a, arg);
    /* n < 2 */
    rs_handle two = rs_fib_small(g, 2);
    rs_handle cmp = g[n < 2 ? RS_FIB_TRUE : RS_FIB_FALSE];
    rs_fib_inc(S, t, c, &a, arg);
    rs_fib_inc(S, t, c, &a, two);
    rs_fib_dec(S, t, c, &a, arg);
    rs_fib_dec(S, t, c, &a, two);
    rs_fib_inc(S, t, c, &a, cmp);
    rs_fib_dec(S, t, c, &a, cmp);
    if (n < 2) {
        rs_fib_inc(S, t, c, &a, arg);
        ret.value = n;
        ret.h = arg;
    } else {
        rs_fibret part[2];
        for (uint32_t k = 1; k <= 2; k++) {
            rs_handle kh = rs_fib_small(g, k), sub = rs_fib_small(g, (int64_t)n - k);
            rs_fib_inc(S, t, c, &a, g[RS_FIB_FUNC]);
            rs_fib_inc(S, t, c, &a, arg);
            rs_fib_inc(S, t, c, &a, kh);
            rs_fib_dec(S, t, c, &a, arg);
            rs_fib_dec(S, t, c, &a, kh);
            rs_fib_inc(S, t, c, &a, sub);
            part[k - 1] = self(t, c, n - k, sub, frame);
            rs_fib_dec(S, t, c, &a, sub);
            rs_fib_dec(S, t, c, &a, g[RS_FIB_FUNC]);
            if (RS_UNLIKELY(c->failed))
                return ret;
        }
        ret.value = part[0].value + part[1].value;
        if (ret.value <= RS_FIB_SMALL_MAX) {
            ret.h = rs_fib_small(g, ret.value);
            rs_fib_inc(S, t, c, &a, ret.h);
        } else {
            ret.h = rs_new(S, t, &a);
            if (RS_UNLIKELY(ret.h.idx == RS_NIL)) {
                c->failed = 1;
                return ret;
            }
        }
        for (int k = 0; k < 2; k++) {
            if (part[k].value > RS_FIB_SMALL_MAX) /* a fresh int: its creator's reference */
                rs_fib_kill(S, t, c, &a, part[k].h);
            else
                rs_fib_dec(S, t, c, &a, part[k].h);
        }
    }
    rs_spin(c->work);
    rs_fib_dec(S, t, c, &a, arg);
    rs_fib_dec(S, t, c, &a, g[RS_FIB_CODE]);
    rs_fib_dec(S, t, c, &a, g[RS_FIB_GLOBALS]);
    rs_fib_dec(S, t, c, &a, g[RS_FIB_BUILTINS]);
    rs_fib_dec(S, t, c, &a, parent);
    rs_fib_kill(S, t, c, &a, frame);
    return ret;
}

/* Both fib kernels' start: the context over the run's setup objects, and the module-level frame
 * the first call is made from (RS_NIL: the arena is exhausted, the run has failed). */
RS_INLINE rs_handle rs_fib_start(const rs_ops S, rs_thread *t, rs_fibctx *c)
{
    rs_run *r = t->run;
    c->a = r->arena;
    c->setup = r->shared;
    c->n = 0;
    c->work = r->p.work;
    c->calls = 0;
    c->failed = 0;
    return rs_new(S, t, &c->a);
}

/* One fib(n) per worker, called from a module-level frame as `fib(n)` would be. */
RS_INLINE int rs_k_fib(const rs_ops S, rs_thread *t, rs_fib_fn rec)
{
    rs_fibctx c;
    const uint32_t n = t->run->p.fib_n;
    rs_handle module_frame = rs_fib_start(S, t, &c);
    if (module_frame.idx == RS_NIL)
        return -1;
    rs_handle arg = rs_fib_small(c.setup, n);
    rs_fib_inc(S, t, &c, &c.a, c.setup[RS_FIB_FUNC]);
    rs_fib_inc(S, t, &c, &c.a, arg);
    rs_fibret res = rec(t, &c, n, arg, module_frame);
    rs_fib_dec(S, t, &c, &c.a, arg);
    rs_fib_dec(S, t, &c, &c.a, c.setup[RS_FIB_FUNC]);
    if (!c.failed && res.value > RS_FIB_SMALL_MAX)
        rs_fib_kill(S, t, &c, &c.a, res.h);
    else if (!c.failed)
        rs_fib_dec(S, t, &c, &c.a, res.h);
    rs_fib_kill(S, t, &c, &c.a, module_frame);
    t->ops = S.checked ? c.n : c.failed ? 0 : rs_fib_ops(n);
    return c.failed ? -1 : 0;
}

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
RS_INLINE void rs_fib314_op(const rs_ops S, rs_thread *t, rs_fibctx *c, const rs_arena *a, rs_handle h,
                            const int kind)
{
    int done = rs_op(S, t, a, h, kind);
    if (S.checked)
        c->n += done;
}

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
    const rs_handle *const g = c->setup;
    const rs_arena a = c->a;
    rs_fibret ret = {0, {NULL, RS_NIL, 0}};
    (void)parent; /* borrowed (frame->previous): no count */
    S.safepoint(t);
    if (RS_UNLIKELY((++c->calls & 1023) == 0) && rs_run_aborted(t->run)) {
        c->failed = 1;
        return ret;
    }
    rs_handle frame = rs_new(S, t, &a);
    if (RS_UNLIKELY(frame.idx == RS_NIL)) {
        c->failed = 1;
        return ret;
    }
    rs_fib314_op(S, t, c, &a, g[RS_FIB_CODE], RS_OP_PUSH);
    rs_handle two = rs_fib_small(g, 2);
    rs_handle cmp = g[n < 2 ? RS_FIB_TRUE : RS_FIB_FALSE];
    rs_fib314_op(S, t, c, &a, two, RS_OP_PUSH);
    rs_fib314_op(S, t, c, &a, two, RS_OP_POP);
    rs_fib314_op(S, t, c, &a, cmp, RS_OP_PUSH);
    rs_fib314_op(S, t, c, &a, cmp, RS_OP_POP);
    if (n < 2) {
        rs_fib314_op(S, t, c, &a, arg, RS_OP_INC);
        ret.value = n;
        ret.h = arg;
    } else {
        rs_fibret part[2];
        for (uint32_t k = 1; k <= 2; k++) {
            rs_handle kh = rs_fib_small(g, k), sub = rs_fib_small(g, (int64_t)n - k);
            rs_fib314_op(S, t, c, &a, g[RS_FIB_FUNC], RS_OP_PUSH);
            rs_fib314_op(S, t, c, &a, kh, RS_OP_PUSH);
            rs_fib314_op(S, t, c, &a, kh, RS_OP_POP);
            rs_fib314_op(S, t, c, &a, sub, RS_OP_PUSH);
            part[k - 1] = self(t, c, n - k, sub, frame);
            rs_fib314_op(S, t, c, &a, g[RS_FIB_FUNC], RS_OP_POP);
            if (RS_UNLIKELY(c->failed))
                return ret;
        }
        ret.value = part[0].value + part[1].value;
        if (ret.value <= RS_FIB_SMALL_MAX) {
            ret.h = rs_fib_small(g, ret.value);
            rs_fib314_op(S, t, c, &a, ret.h, RS_OP_INC);
        } else {
            ret.h = rs_new(S, t, &a);
            if (RS_UNLIKELY(ret.h.idx == RS_NIL)) {
                c->failed = 1;
                return ret;
            }
        }
        for (int k = 0; k < 2; k++) /* a fresh int: its creator's reference */
            rs_fib314_op(S, t, c, &a, part[k].h,
                         part[k].value > RS_FIB_SMALL_MAX ? RS_OP_KILL : RS_OP_DEC);
    }
    rs_spin(c->work);
    rs_fib314_op(S, t, c, &a, arg, RS_OP_POP);
    rs_fib314_op(S, t, c, &a, g[RS_FIB_CODE], RS_OP_POP);
    rs_fib314_op(S, t, c, &a, frame, RS_OP_KILL);
    return ret;
}

/* One fib314(n) per worker, called from a module-level frame. */
RS_INLINE int rs_k_fib314(const rs_ops S, rs_thread *t, rs_fib_fn rec)
{
    rs_fibctx c;
    const uint32_t n = t->run->p.fib_n;
    rs_handle module_frame = rs_fib_start(S, t, &c);
    if (module_frame.idx == RS_NIL)
        return -1;
    rs_handle arg = rs_fib_small(c.setup, n);
    rs_fib314_op(S, t, &c, &c.a, c.setup[RS_FIB_FUNC], RS_OP_PUSH);
    rs_fib314_op(S, t, &c, &c.a, arg, RS_OP_PUSH); /* popped by the callee's return */
    rs_fibret res = rec(t, &c, n, arg, module_frame);
    rs_fib314_op(S, t, &c, &c.a, c.setup[RS_FIB_FUNC], RS_OP_POP);
    if (!c.failed)
        rs_fib314_op(S, t, &c, &c.a, res.h,
                     res.value > RS_FIB_SMALL_MAX ? RS_OP_KILL : RS_OP_DEC);
    rs_fib314_op(S, t, &c, &c.a, module_frame, RS_OP_KILL);
    t->ops = S.checked ? c.n : c.failed ? 0 : rs_fib314_ops(n);
    return c.failed ? -1 : 0;
}

/* trace: replay this worker's operation list; see rs_trace. `jitter` inserts deterministic spins
 * and yields between operations so that one program is run under many interleavings. */
RS_INLINE int rs_k_trace(const rs_ops S, rs_thread *t)
{
    rs_run *r = t->run;
    const rs_arena a = r->arena;
    rs_trace *tr = r->p.trace;
    const uint32_t me = t->index, N = tr->nobjects;
    uint64_t n = 0, jit = r->p.jitter ? r->p.jitter * 0x9E3779B97F4A7C15ULL + me + 1 : 0;
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
        case RS_T_NEW:
            /* Plain: the handle reaches another thread only through a send (release). */
            rs_pr_store_plain(&tr->handles[op.obj], rs_new(S, t, &a));
            if (rs_pr_load_plain(&tr->handles[op.obj]).idx == RS_NIL) {
                t->ops = n;
                return -1;
            }
            if (S.layered && tr->layers)
                rs_layers_new(t, rs_pr_load_plain(&tr->handles[op.obj]), tr->layers[op.obj]);
            break;
        case RS_T_INC:
            ok = rs_op_inc(S, t, &a, rs_pr_load_plain(&tr->handles[op.obj]));
            n += ok;
            break;
        case RS_T_DEC:
        case RS_T_PUSH:
        case RS_T_POP:
        case RS_T_KILL: {
            static const int kinds[RS_T_KINDS] = {
                [RS_T_DEC] = RS_OP_DEC, [RS_T_PUSH] = RS_OP_PUSH, [RS_T_POP] = RS_OP_POP,
                [RS_T_KILL] = RS_OP_KILL};
            ok = rs_op(S, t, &a, rs_pr_load_plain(&tr->handles[op.obj]), kinds[op.kind]);
            n += ok;
            break;
        }
        case RS_T_SEND:
            rs_op_publish(S, t, &a, rs_pr_load_plain(&tr->handles[op.obj]));
            /* Release pairs with the receiver's acquire: everything this thread did to the object
             * (and its handle) happens before the receiver uses it. */
            rs_pr_faa_release(&tr->mailbox[(size_t)op.arg * N + op.obj], 1);
            break;
        case RS_T_RECV: {
            uint32_t *box = &tr->mailbox[(size_t)me * N + op.obj];
            unsigned spins = 0;
            double since = 0;
            while (rs_pr_load_acquire(box) == 0)
                if (!rs_wait_step(S, t, &spins, &since)) {
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
    }
    t->ops = n;
    return 0;
}

#endif
