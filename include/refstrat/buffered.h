/* buffered: the Gilectomy's buffered reference counting.
 *
 * Invariant: rs_obj.rc is written only by the commit thread (after the allocating thread's initial
 * rc = 1, published by the log hand-off). A worker never touches a count: it appends the object to
 * its incref log or to its separate decref log. A full log pair (a batch) is submitted to the commit
 * thread and the worker takes an empty one; when none is left the worker waits (bounded memory).
 *
 * When an object may be freed: the count must never reach zero while a reference exists anywhere,
 * including in an increment still sitting in some thread's log. The commit thread works in rounds:
 *   1. it bumps req_epoch; every online worker, at its next safepoint, submits its partial batch
 *      and acknowledges; the commit thread waits for every acknowledgement (offline workers have
 *      submitted everything already);
 *   2. it applies the increments of every batch collected in this round;
 *   3. it applies the decrements collected in the *previous* round, freeing at zero, and returns
 *      those batches to their workers.
 * A decrement d collected in round r was logged before round r + 1 began; an increment that
 * happened before d was logged before that too, so it is submitted by the acknowledgements of
 * round r + 1 at the latest and applied in step 2 of that round, before d in step 3. Hence no count
 * reaches zero early, and an object freed here cannot reappear in a later increment.
 * Frees happen on the commit thread; its CPU time is part of the run's cost.
 *
 * Simplifications: Hastings rotated logs to the commit thread without an epoch handshake and
 * relied on "increments before decrements" within a batch; the handshake above is what makes that
 * rule sufficient across threads.
 * Source: Larry Hastings, the Gilectomy's buffered-refcount branch (2016-2017); PyCon 2017 talk.
 *
 * Synchronization table:
 *   incref/decref/safepoint/wait(t)  worker t only        race with the commit thread's round
 *   rs_buffered_round(r)             commit thread only   (the caller in stepping mode)
 */
#ifndef REFSTRAT_BUFFERED_H
#define REFSTRAT_BUFFERED_H

#include <stdlib.h>
#include <string.h>
#include "refstrat/runtime.h"

#define RS_BUF_BATCHES 4 /* batches per worker: one being filled, the rest in flight */
#define RS_BUF_RING 8    /* power of two > RS_BUF_BATCHES */
/* Naps of 50 us an idle commit thread takes before a round anyway. In the check build a nap is a
 * wait that the scheduler ends (a worker's write, or a chosen timeout), so one nap stands for the
 * whole millisecond: twenty would make every round cost twenty scheduling choices, and the
 * exploration would never reach a second round inside a short program. */
#ifdef RS_CHECK_BUILD
#define RS_BUF_IDLE_NAPS 1
#else
#define RS_BUF_IDLE_NAPS 20
#endif

typedef struct rs_buf_batch {
    uint32_t ninc, ndec;        /* owner worker while filling, commit thread after submission
                                   (rs_pr_*_plain: the ring hand-off orders them) */
    uint32_t worker;            /* fixed */
    struct rs_buf_batch *next;  /* commit thread only: round lists */
    rs_obj **inc;               /* [log_size]; entries as ninc, ndec */
    rs_obj **dec;               /* [log_size] */
} rs_buf_batch;

/* Single-producer single-consumer ring of batch pointers. */
typedef struct rs_buf_ring {
    uint32_t tail;  /* atomic: producer stores (release) */
    char pad_[RS_CACHELINE - sizeof(uint32_t)];
    uint32_t head;  /* atomic: consumer stores (release) */
    char pad2_[RS_CACHELINE - sizeof(uint32_t)];
    rs_buf_batch *slot[RS_BUF_RING]; /* plain: written before the release of tail, read after
                                        the acquire of it */
} RS_ALIGNED rs_buf_ring;

typedef struct rs_buf_thread {
    /* owner worker only */
    rs_buf_batch *cur;          /* the batch being filled; NULL while waiting for one */
    uint64_t acked;             /* last epoch acknowledged */
    uint32_t log_size;
    char pad_[RS_CACHELINE - sizeof(void *) - sizeof(uint64_t) - sizeof(uint32_t)];
    /* atomic: the worker stores (release), the commit thread loads (acquire) */
    uint64_t ack_epoch;
    int online;
    char pad2_[RS_CACHELINE - sizeof(uint64_t) - sizeof(int)];
    rs_buf_ring submitted;      /* worker -> commit thread */
    rs_buf_ring returned;       /* commit thread -> worker */
    rs_buf_batch batch[RS_BUF_BATCHES];
} RS_ALIGNED rs_buf_thread;

typedef struct rs_buf_run {
    uint64_t req_epoch;         /* atomic: the commit thread stores (release), workers load */
    char pad_[RS_CACHELINE - sizeof(uint64_t)];
    int stop;                   /* atomic: main thread asks the commit thread to drain and exit */
    int running;                /* main thread only: the commit thread was started */
    pthread_t thread;
    rs_buf_batch *pending;      /* commit thread only: decrements waiting for the next round */
    void (*round)(rs_run *, rs_thread *); /* rs_buffered_round; a field so that a variant of the
                                             scheme (tests/broken) can reuse every other piece */
    double cpu_seconds;         /* commit thread CPU time, read after join */
} RS_ALIGNED rs_buf_run;

RS_INLINE int rs_buf_push(rs_buf_ring *q, rs_buf_batch *b)
{
    uint32_t tail = rs_pr_load_relaxed(&q->tail);
    /* Acquire pairs with the consumer's release of head: the slot is no longer read. */
    if (tail - rs_pr_load_acquire(&q->head) == RS_BUF_RING)
        return 0;
    rs_pr_store_plain(&q->slot[tail & (RS_BUF_RING - 1)], b);
    /* Release pairs with the consumer's acquire of tail: the batch contents are visible. */
    rs_pr_store_release(&q->tail, tail + 1);
    return 1;
}

RS_INLINE rs_buf_batch *rs_buf_pop(rs_buf_ring *q)
{
    uint32_t head = rs_pr_load_relaxed(&q->head);
    /* Acquire pairs with the producer's release of tail. */
    if (head == rs_pr_load_acquire(&q->tail))
        return NULL;
    rs_buf_batch *b = rs_pr_load_plain(&q->slot[head & (RS_BUF_RING - 1)]);
    /* Release pairs with the producer's acquire of head: the slot has been read. */
    rs_pr_store_release(&q->head, head + 1);
    return b;
}

static inline void rs_buffered_round(rs_run *r, rs_thread *self);

static inline int rs_buffered_init(rs_run *r)
{
    rs_buf_run *s = (rs_buf_run *)rs_aligned_alloc(sizeof(rs_buf_run));
    if (!s)
        return -1;
    memset(s, 0, sizeof *s);
    s->round = rs_buffered_round;
    r->s = s;
    uint32_t L = r->p.log_size;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_buf_thread *b = (rs_buf_thread *)rs_aligned_alloc(sizeof(rs_buf_thread));
        if (!b)
            return -1;
        memset(b, 0, sizeof *b);
        b->log_size = L;
        r->threads[i].s = b;
        for (int k = 0; k < RS_BUF_BATCHES; k++) {
            rs_buf_batch *bb = &b->batch[k];
            bb->worker = i;
            bb->inc = (rs_obj **)malloc(sizeof(rs_obj *) * L);
            bb->dec = (rs_obj **)malloc(sizeof(rs_obj *) * L);
            if (!bb->inc || !bb->dec)
                return -1;
            if (k > 0)
                rs_buf_push(&b->returned, bb);
        }
        b->cur = &b->batch[0];
    }
    return 0;
}

static inline void rs_buffered_fini(rs_run *r)
{
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_buf_thread *b = (rs_buf_thread *)r->threads[i].s;
        if (!b)
            continue;
        for (int k = 0; k < RS_BUF_BATCHES; k++) {
            free(b->batch[k].inc);
            free(b->batch[k].dec);
        }
        free(b);
        r->threads[i].s = NULL;
    }
    free(r->s);
    r->s = NULL;
}

RS_INLINE void rs_buffered_obj_init(rs_thread *t, rs_obj *o)
{
    (void)t;
    rs_pr_store_plain(&o->rc, 1);
}

static inline void rs_buf_submit(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    if (b->cur && (rs_pr_load_plain(&b->cur->ninc) || rs_pr_load_plain(&b->cur->ndec))) {
        /* Cannot fail: a worker owns RS_BUF_BATCHES < RS_BUF_RING batches. */
        rs_buf_push(&b->submitted, b->cur);
        b->cur = NULL;
    }
}

static inline void rs_buf_ack(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_run *s = (rs_buf_run *)t->run->s;
    /* Acquire pairs with the commit thread's release of req_epoch. */
    uint64_t e = rs_pr_load_acquire(&s->req_epoch);
    if (e != b->acked) {
        rs_buf_submit(t);
        b->acked = e;
        /* Release pairs with the commit thread's acquire: the submission above is visible. */
        rs_pr_store_release(&b->ack_epoch, e);
    }
}

/* Get an empty batch, waiting for the commit thread to return one (bounded memory). */
static RS_NOINLINE void rs_buf_refill(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    unsigned spins = 0;
    while (!b->cur) {
        rs_buf_batch *nb = rs_buf_pop(&b->returned);
        if (nb) {
            rs_pr_store_plain(&nb->ninc, 0);
            rs_pr_store_plain(&nb->ndec, 0);
            b->cur = nb;
            break;
        }
        if (!spins) RS_STAT(t, log_waits); /* once per wait, not per turn */
        rs_buf_ack(t);
        if (t->run->stepping)
            ((rs_buf_run *)t->run->s)->round(t->run, t);
        else if (++spins % 64 == 0)
            rs_pr_yield();
        else
            rs_pr_spin();
    }
}

static RS_NOINLINE void rs_buf_rotate(rs_thread *t)
{
    RS_STAT(t, log_full);
    rs_buf_submit(t);
    rs_buf_refill(t);
}

RS_INLINE void rs_buffered_incref(rs_thread *t, rs_obj *o)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_batch *cur = b->cur;
    uint32_t n = rs_pr_load_plain(&cur->ninc);
    rs_obj **log = cur->inc;
    rs_pr_store_plain(&cur->ninc, n + 1);
    rs_pr_store_plain(&log[n], o);
    if (RS_UNLIKELY(rs_pr_load_plain(&cur->ninc) == b->log_size))
        rs_buf_rotate(t);
}

RS_INLINE void rs_buffered_decref(rs_thread *t, rs_obj *o)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_batch *cur = b->cur;
    uint32_t n = rs_pr_load_plain(&cur->ndec);
    rs_obj **log = cur->dec;
    rs_pr_store_plain(&cur->ndec, n + 1);
    rs_pr_store_plain(&log[n], o);
    if (RS_UNLIKELY(rs_pr_load_plain(&cur->ndec) == b->log_size))
        rs_buf_rotate(t);
}

static RS_NOINLINE void rs_buf_safepoint_slow(rs_thread *t)
{
    rs_buf_ack(t);
    rs_buf_refill(t);
}

RS_INLINE void rs_buffered_safepoint(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_run *s = (rs_buf_run *)t->run->s;
    if (RS_UNLIKELY(rs_pr_load_relaxed(&s->req_epoch) != b->acked))
        rs_buf_safepoint_slow(t);
}

static inline void rs_buffered_wait(rs_thread *t)
{
    rs_buf_safepoint_slow(t);
    rs_pr_spin();
}

/* Stepping API: hand the partial batch over and let two rounds apply all of it. */
static inline void rs_buffered_flush(rs_thread *t)
{
    rs_buf_submit(t);
    if (t->run->stepping) {
        rs_buf_run *s = (rs_buf_run *)t->run->s;
        s->round(t->run, t);
        s->round(t->run, t);
    }
    rs_buf_refill(t);
}

static inline void rs_buffered_enter(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_pr_store_release(&b->online, 1);
    rs_buf_refill(t);
}

static inline void rs_buffered_leave(rs_thread *t)
{
    rs_buf_thread *b = (rs_buf_thread *)t->s;
    rs_buf_submit(t);
    /* Release pairs with the commit thread's acquire of online: the last batch is visible. */
    rs_pr_store_release(&b->online, 0);
}

/* Round step 1: ask every online worker to submit what it has logged, and wait until each has. */
static inline void rs_buf_handshake(rs_run *r, rs_thread *self)
{
    rs_buf_run *s = (rs_buf_run *)r->s;
    uint64_t e = s->req_epoch + 1;
    rs_pr_store_release(&s->req_epoch, e);
    if (self)
        rs_buf_ack(self);
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_buf_thread *b = (rs_buf_thread *)r->threads[i].s;
        unsigned spins = 0;
        while (rs_pr_load_acquire(&b->online) && rs_pr_load_acquire(&b->ack_epoch) < e) {
            if (++spins % 64 == 0)
                rs_pr_yield();
            else
                rs_pr_spin();
        }
    }
}

/* Every submitted batch, as a list through rs_buf_batch.next. */
static inline rs_buf_batch *rs_buf_collect(rs_run *r)
{
    rs_buf_batch *list = NULL;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_buf_thread *b = (rs_buf_thread *)r->threads[i].s;
        rs_buf_batch *bb;
        while ((bb = rs_buf_pop(&b->submitted)) != NULL) {
            bb->next = list;
            list = bb;
        }
    }
    return list;
}

static inline void rs_buf_apply_increments(rs_buf_batch *list)
{
    for (rs_buf_batch *bb = list; bb; bb = bb->next)
        for (uint32_t k = 0; k < rs_pr_load_plain(&bb->ninc); k++) {
            rs_obj *o = rs_pr_load_plain(&bb->inc[k]);
            rs_pr_store_plain(&o->rc, rs_pr_load_plain(&o->rc) + 1);
        }
}

static inline void rs_buf_apply_decrements(rs_run *r, rs_buf_batch *list)
{
    rs_thread *helper = &r->threads[r->nthreads];
    for (rs_buf_batch *bb = list; bb; bb = bb->next)
        for (uint32_t k = 0; k < rs_pr_load_plain(&bb->ndec); k++) {
            rs_obj *o = rs_pr_load_plain(&bb->dec[k]);
            int64_t rc = rs_pr_load_plain(&o->rc) - 1;
            rs_pr_store_plain(&o->rc, rc);
            if (rc == 0)
                rs_free(helper, o);
        }
}

/* Hand applied batches back to their workers, empty. */
static inline void rs_buf_give_back(rs_run *r, rs_buf_batch *list)
{
    for (rs_buf_batch *bb = list, *nx; bb; bb = nx) {
        nx = bb->next;
        rs_pr_store_plain(&bb->ninc, 0);
        rs_pr_store_plain(&bb->ndec, 0);
        rs_buf_push(&((rs_buf_thread *)r->threads[bb->worker].s)->returned, bb);
    }
}

/* One commit round (see the top of this file). `self`: the calling worker in stepping mode. */
static inline void rs_buffered_round(rs_run *r, rs_thread *self)
{
    rs_buf_run *s = (rs_buf_run *)r->s;
    RS_STAT(&r->threads[r->nthreads], commit_rounds);
    rs_buf_handshake(r, self);
    rs_buf_batch *round = rs_buf_collect(r);
    rs_buf_apply_increments(round);
    rs_buf_apply_decrements(r, s->pending);
    rs_buf_give_back(r, s->pending);
    s->pending = round;
}

static inline int rs_buf_idle(rs_run *r)
{
    rs_buf_run *s = (rs_buf_run *)r->s;
    if (s->pending)
        return 0;
    for (uint32_t i = 0; i < r->nthreads; i++) {
        rs_buf_thread *b = (rs_buf_thread *)r->threads[i].s;
        if (rs_pr_load_relaxed(&b->submitted.head) != rs_pr_load_acquire(&b->submitted.tail))
            return 0;
    }
    return 1;
}

static void *rs_buf_commit_main(void *arg)
{
    rs_run *r = (rs_run *)arg;
    rs_buf_run *s = (rs_buf_run *)r->s;
    double cpu0 = rs_thread_cpu();
    struct timespec nap = {0, 50000};
    while (!rs_pr_load_acquire(&s->stop)) {
        /* A round every millisecond at least (partial logs reach the counts, frees reach the
         * pools), sooner when a full batch arrives. */
        for (int i = 0; i < RS_BUF_IDLE_NAPS && rs_buf_idle(r) && !rs_pr_load_acquire(&s->stop); i++)
            rs_pr_nap(&nap);
        s->round(r, NULL);
    }
    while (!rs_buf_idle(r))
        s->round(r, NULL);
    s->cpu_seconds = rs_thread_cpu() - cpu0;
    return NULL;
}

static inline int rs_buffered_start(rs_run *r)
{
    rs_buf_run *s = (rs_buf_run *)r->s;
    if (rs_run_helper_start(r, &s->thread, rs_buf_commit_main, r) != 0)
        return -1;
    s->running = 1;
    return 0;
}

static inline void rs_buffered_quiesce(rs_run *r)
{
    rs_buf_run *s = (rs_buf_run *)r->s;
    if (s->running) {
        rs_pr_store_release(&s->stop, 1);
        rs_pr_thread_join(s->thread);
        s->running = 0;
        s->stop = 0;
        r->helper_cpu_seconds += s->cpu_seconds;
    }
    while (!rs_buf_idle(r))
        s->round(r, NULL);
}

#define rs_buffered_count rs_plain_count

#endif
