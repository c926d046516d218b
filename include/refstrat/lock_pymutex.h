/* lock `pymutex`: one byte per object, a CAS to take it, a parking lot for waiters: CPython
 * 3.13t's PyMutex.
 *
 * Invariant: the byte's LOCKED bit is set exactly while one thread is between acquire and
 * release; only a CAS that finds it clear sets it (acquire order), only the holder clears it
 * (release order). PARKED is set while a waiter may be queued in the parking lot for the byte;
 * a waiter queues itself only after seeing LOCKED|PARKED under its bucket's mutex, and the holder
 * whose release finds PARKED clears the byte under that same mutex and wakes the first queued
 * waiter for it, so no waiter queues after the wake-up it needed (no lost wake-up).
 * A waiter proceeds when it is woken (the byte then lost LOCKED) and its CAS wins; a woken
 * waiter that loses the race parks again.
 * Simplifications: the parking lot is a fixed table of RS_PARK_BUCKETS hashed buckets, each a
 * mutex and a FIFO of waiting threads (CPython's is the same idea: Python/parking_lot.c, with a
 * hash of buckets); no fairness hand-off after 1 ms (CPython's _Py_UNLOCKED handoff) and no
 * spinning before parking. A parked thread waits for its wake-up flag with the count scheme's
 * wait (t->lock_wait) rather than on a semaphore, so that it still makes the count scheme's
 * progress (drops the GIL, submits its log, honours promotions) as a detached thread would.
 * The bytes live beside the arena (one per slot), not in the header (see lock_mutex.h).
 * Sources: CPython 3.13 Include/cpython/lock.h, Python/lock.c (_PyMutex_LockTimed,
 * _PyMutex_TryUnlock), Python/parking_lot.c; WebKit's WTF::ParkingLot (Pizlo, 2016).
 */
#ifndef REFSTRAT_LOCK_PYMUTEX_H
#define REFSTRAT_LOCK_PYMUTEX_H

#include <stdlib.h>
#include <string.h>
#include "refstrat/lock_none.h"
#include "refstrat/runtime.h"

enum { RS_PYMUTEX_LOCKED = 1, RS_PYMUTEX_PARKED = 2 };
#define RS_PARK_BUCKETS 64

typedef struct rs_park_bucket {
    pthread_mutex_t m; /* guards head and every queued parker's key and next */
    uint32_t head;     /* first queued parker (a thread index), RS_NIL: none; under m */
    char pad_[RS_CACHELINE - sizeof(pthread_mutex_t) % RS_CACHELINE - sizeof(uint32_t)];
} RS_ALIGNED rs_park_bucket;

typedef struct rs_parker {
    uint32_t key;      /* the slot it waits for; under its bucket's m while queued */
    uint32_t next;     /* the next parker in its bucket; under its bucket's m */
    uint32_t woken;    /* atomic: the waker stores 1 (release, under m), the parker spins on it (acquire) */
    char pad_[RS_CACHELINE - 3 * sizeof(uint32_t)];
} RS_ALIGNED rs_parker;

/* The parking lot: buckets, and one parker per worker (a thread waits for one lock at a time). */
typedef struct rs_parking_lot {
    rs_park_bucket bucket[RS_PARK_BUCKETS];
    rs_parker *parker; /* [nthreads] */
} rs_parking_lot;

typedef struct rs_lock_pymutex_run {
    rs_parking_lot lot;
    uint8_t *byte;     /* [capacity]: slot i's PyMutex: LOCKED | PARKED bits (atomic) */
} rs_lock_pymutex_run;

static inline int rs_park_init(rs_parking_lot *lot, uint32_t nthreads)
{
    for (int i = 0; i < RS_PARK_BUCKETS; i++) {
        rs_pr_mutex_init(&lot->bucket[i].m);
        lot->bucket[i].head = RS_NIL;
    }
    lot->parker = (rs_parker *)rs_aligned_alloc((size_t)nthreads * sizeof(rs_parker));
    if (!lot->parker)
        return -1;
    memset(lot->parker, 0, (size_t)nthreads * sizeof(rs_parker));
    return 0;
}

static inline void rs_park_fini(rs_parking_lot *lot)
{
    for (int i = 0; i < RS_PARK_BUCKETS; i++)
        rs_pr_mutex_destroy(&lot->bucket[i].m);
    free(lot->parker);
    lot->parker = NULL;
}

RS_INLINE rs_park_bucket *rs_park_bucket_of(rs_parking_lot *lot, uint32_t key)
{
    return &lot->bucket[(key * 0x9E3779B1u) >> 26]; /* 64 buckets: the top six bits */
}

/* One turn of a lock's wait: honour the lock scheme's requests, then the count scheme's wait.
 * 0, or -1 when the run has aborted (checked every 256 turns: one acquire load). */
RS_INLINE int rs_lock_wait(rs_thread *t, unsigned *turns)
{
    t->run->lock->safepoint(t);
    if (t->lock_wait)
        t->lock_wait(t);
    else
        rs_pr_yield();
    return (++*turns & 255) == 0 && rs_run_aborted(t->run) ? -1 : 0;
}

/* Queue t for `key` if *byte still reads `expect`, then wait for the wake-up: 1 woken, 0 the byte
 * had changed (retry), -1 the run aborted. */
static RS_NOINLINE int rs_park(rs_thread *t, rs_parking_lot *lot, uint32_t key, uint8_t *byte, uint8_t expect)
{
    rs_park_bucket *b = rs_park_bucket_of(lot, key);
    rs_parker *me = &lot->parker[t->index];
    rs_pr_mutex_lock(&b->m);
    /* Relaxed: the bucket's mutex orders this read against the waker's store (also under it). */
    if (rs_pr_load_relaxed(byte) != expect) {
        rs_pr_mutex_unlock(&b->m);
        return 0;
    }
    rs_pr_store_plain(&me->key, key);
    rs_pr_store_plain(&me->next, RS_NIL);
    rs_pr_store_relaxed(&me->woken, 0);
    uint32_t *link = &b->head;
    while (rs_pr_load_plain(link) != RS_NIL)
        link = &lot->parker[rs_pr_load_plain(link)].next;
    rs_pr_store_plain(link, t->index);
    rs_pr_mutex_unlock(&b->m);
    RS_STAT(t, lock_parks);
    unsigned turns = 0;
    /* Acquire pairs with the waker's release store. */
    while (!rs_pr_load_acquire(&me->woken))
        if (rs_lock_wait(t, &turns) < 0)
            return -1;
    return 1;
}

/* Wake the first parker waiting for `key` and store what the byte becomes (PARKED when others
 * still wait for it, else 0), both under the bucket's mutex (see rs_park). */
static RS_NOINLINE void rs_unpark_one(rs_thread *t, rs_parking_lot *lot, uint32_t key, uint8_t *byte)
{
    (void)t; /* its events only, in the explain flavour */
    rs_park_bucket *b = rs_park_bucket_of(lot, key);
    rs_pr_mutex_lock(&b->m);
    uint32_t *link = &b->head, woken = RS_NIL, more = 0;
    while (rs_pr_load_plain(link) != RS_NIL) {
        uint32_t i = rs_pr_load_plain(link);
        if (rs_pr_load_plain(&lot->parker[i].key) != key) {
            link = &lot->parker[i].next;
        } else if (woken == RS_NIL) {
            woken = i;
            rs_pr_store_plain(link, rs_pr_load_plain(&lot->parker[i].next)); /* dequeue */
        } else {
            more = 1;
            break;
        }
    }
    /* Release pairs with the next taker's acquire CAS: the critical section happens before it. */
    rs_pr_store_release(byte, (uint8_t)(more ? RS_PYMUTEX_PARKED : 0));
    if (woken != RS_NIL) {
        RS_STAT(t, lock_wakeups);
        rs_pr_store_release(&lot->parker[woken].woken, 1); /* pairs with rs_park's acquire */
    }
    rs_pr_mutex_unlock(&b->m);
}

/* The contended take: CAS while the byte is free, else mark it PARKED and park. */
static RS_NOINLINE int rs_pymutex_lock_slow(rs_thread *t, rs_parking_lot *lot, uint32_t key, uint8_t *byte)
{
    RS_STAT(t, lock_contended);
    for (;;) {
        uint8_t v = rs_pr_load_relaxed(byte);
        if (!(v & RS_PYMUTEX_LOCKED)) {
            /* Acquire pairs with the release that cleared LOCKED (rs_pymutex_unlock). */
            if (rs_pr_cas_acquire(byte, &v, (uint8_t)(v | RS_PYMUTEX_LOCKED)))
                return 0;
            continue;
        }
        /* Relaxed: PARKED only asks the holder to look in the lot; the lot's mutex orders the rest. */
        if (!(v & RS_PYMUTEX_PARKED) && !rs_pr_cas_relaxed(byte, &v, (uint8_t)(v | RS_PYMUTEX_PARKED)))
            continue;
        if (rs_park(t, lot, key, byte, RS_PYMUTEX_LOCKED | RS_PYMUTEX_PARKED) < 0)
            return -1;
    }
}

/* Take the PyMutex at *byte: one CAS when free. */
RS_INLINE int rs_pymutex_lock(rs_thread *t, rs_parking_lot *lot, uint32_t key, uint8_t *byte)
{
    uint8_t v = 0;
    RS_STAT(t, lock_acquisitions);
    /* Acquire pairs with the release that cleared LOCKED. A weak CAS that fails spuriously only
     * takes the slow path, which retries. */
    if (RS_LIKELY(rs_pr_cas_acquire(byte, &v, (uint8_t)RS_PYMUTEX_LOCKED)))
        return 0;
    return rs_pymutex_lock_slow(t, lot, key, byte);
}

/* Drop it: one CAS while nobody is parked, else the lot wakes one waiter. */
RS_INLINE void rs_pymutex_unlock(rs_thread *t, rs_parking_lot *lot, uint32_t key, uint8_t *byte)
{
    uint8_t v = RS_PYMUTEX_LOCKED;
    /* Release pairs with the next taker's acquire CAS. */
    while (v == RS_PYMUTEX_LOCKED)
        if (rs_pr_cas_release(byte, &v, (uint8_t)0))
            return;
    rs_unpark_one(t, lot, key, byte);
}

static inline int rs_lock_pymutex_init(rs_run *r)
{
    rs_lock_pymutex_run *s = (rs_lock_pymutex_run *)calloc(1, sizeof *s);
    if (!s)
        return -1;
    r->lock_s = s;
    s->byte = (uint8_t *)calloc(r->arena.capacity ? r->arena.capacity : 1, 1);
    return !s->byte || rs_park_init(&s->lot, r->nthreads) ? -1 : 0;
}

static inline void rs_lock_pymutex_fini(rs_run *r)
{
    rs_lock_pymutex_run *s = (rs_lock_pymutex_run *)r->lock_s;
    if (s) {
        rs_park_fini(&s->lot);
        free(s->byte);
    }
    free(s);
    r->lock_s = NULL;
}

static inline int rs_lock_pymutex_acquire(rs_thread *t, rs_obj *o)
{
    rs_lock_pymutex_run *s = (rs_lock_pymutex_run *)t->run->lock_s;
    uint32_t i = rs_obj_index(&t->run->arena, o);
    return rs_pymutex_lock(t, &s->lot, i, &s->byte[i]);
}

static inline void rs_lock_pymutex_release(rs_thread *t, rs_obj *o)
{
    rs_lock_pymutex_run *s = (rs_lock_pymutex_run *)t->run->lock_s;
    uint32_t i = rs_obj_index(&t->run->arena, o);
    rs_pymutex_unlock(t, &s->lot, i, &s->byte[i]);
}

#define rs_lock_pymutex_obj_init rs_lock_none_obj_init
#define rs_lock_pymutex_safepoint rs_lock_none_safepoint
#define rs_lock_pymutex_leave rs_lock_none_leave

#endif
