/* lock `private`: the seed talk's thread-private lock. An object's lock starts private to the
 * thread that created it and costs that thread two plain stores per acquire/release pair; the
 * first other thread to want it asks the owner to promote it to a `pymutex`, and the owner does
 * so at its next safepoint, as biased counting's owner merges at its safepoint.
 *
 * Invariant: while the slot's mode is PRIVATE only its owner takes the lock (`held`, the owner's
 * plain flag); once PUBLIC, every thread (the owner too) takes the PyMutex byte. Only the owner
 * turns PRIVATE into PUBLIC while it runs, at a safepoint, writing the byte as LOCKED exactly when
 * it holds the private lock, before the release store of the mode: so whoever sees PUBLIC (acquire)
 * sees a byte that says who holds it. After the owner has left (its request queue CLOSED, with
 * nothing held: the lock discipline) the first foreign locker promotes it itself.
 * A waiter proceeds: a foreigner, once it reads PUBLIC, as pymutex's waiters do; it asks once per
 * object (the `asked` flag, CAS 0 -> 1, pushes the slot on the owner's queue) and waits meanwhile
 * with the lock's wait (rs_lock_wait), honouring its own queue so that two owners waiting for each
 * other's promotions both progress.
 * Simplifications: promotion is for good (no re-biasing, no revocation back to private: Java's
 * "bulk rebias" is left out); the request is a per-owner Treiber stack of slot indices linked
 * through the slot, polled with one relaxed load per safepoint rather than through the eval
 * breaker; setup objects are owned by worker 0. The state lives beside the arena, one record per
 * slot (see lock_mutex.h).
 * Sources: Hastings, "The Gilectomy" (PyCon 2016), thread-private locks; Kawachiya, Koseki,
 * Onodera, "Lock reservation", OOPSLA 2002; Russell, Detlefs, "Eliminating synchronization-related
 * atomic operations with biased locking and bulk rebiasing", OOPSLA 2006; JEP 374 (JDK 15
 * deprecates biased locking).
 */
#ifndef REFSTRAT_LOCK_PRIVATE_H
#define REFSTRAT_LOCK_PRIVATE_H

#include "refstrat/lock_pymutex.h"

enum { RS_PRIVATE_MODE = 0, RS_PUBLIC_MODE = 1 };
#define RS_CLOSED (RS_NIL - 1) /* an owner's queue head once it has left */

typedef struct rs_private_slot {
    uint32_t owner;   /* the worker that may take the private path; obj_init (before publication) */
    uint32_t mode;    /* PRIVATE/PUBLIC, atomic: the owner stores PUBLIC (release) at a safepoint,
                       * or a foreigner after the owner left; foreigners load it (acquire), the
                       * owner reads its own stores */
    uint32_t held;    /* the private lock: owner only, plain, meaningful while PRIVATE */
    uint32_t asked;   /* atomic: a foreigner has asked for promotion (CAS 0 -> 1, acq_rel) */
    uint32_t next;    /* the owner's request stack link: the pusher writes it before its release CAS */
    uint8_t byte;     /* the PyMutex once PUBLIC (lock_pymutex.h); written by the promoter first */
} rs_private_slot;

typedef struct rs_private_thread {
    uint32_t head;    /* atomic: slots asking this owner for promotion, RS_NIL none, RS_CLOSED left;
                       * pushers CAS (release), the owner exchanges (acquire) */
    char pad_[RS_CACHELINE - sizeof(uint32_t)];
} RS_ALIGNED rs_private_thread;

typedef struct rs_lock_private_run {
    rs_parking_lot lot;
    rs_private_slot *slot;    /* [capacity] */
    rs_private_thread *thr;   /* [nthreads] */
} rs_lock_private_run;

static inline int rs_lock_private_init(rs_run *r)
{
    rs_lock_private_run *s = (rs_lock_private_run *)calloc(1, sizeof *s);
    if (!s)
        return -1;
    r->lock_s = s;
    /* Zeroed: every slot PRIVATE, free, owned by worker 0 (setup objects keep that). */
    s->slot = (rs_private_slot *)calloc(r->arena.capacity ? r->arena.capacity : 1, sizeof(rs_private_slot));
    s->thr = (rs_private_thread *)rs_aligned_alloc((size_t)r->nthreads * sizeof(rs_private_thread));
    if (!s->slot || !s->thr || rs_park_init(&s->lot, r->nthreads))
        return -1;
    for (uint32_t i = 0; i < r->nthreads; i++)
        s->thr[i].head = RS_NIL;
    return 0;
}

static inline void rs_lock_private_fini(rs_run *r)
{
    rs_lock_private_run *s = (rs_lock_private_run *)r->lock_s;
    if (s) {
        rs_park_fini(&s->lot);
        free(s->slot);
        free(s->thr);
    }
    free(s);
    r->lock_s = NULL;
}

RS_INLINE rs_lock_private_run *rs_private_of(rs_thread *t) { return (rs_lock_private_run *)t->run->lock_s; }

/* o's lock record, and its slot index in *idx. */
RS_INLINE rs_private_slot *rs_private_slot_of(rs_thread *t, rs_obj *o, uint32_t *idx)
{
    *idx = rs_obj_index(&t->run->arena, o);
    return &rs_private_of(t)->slot[*idx];
}

/* A new object: private to its creator. Plain: the object is not yet published. */
static inline void rs_lock_private_obj_init(rs_thread *t, rs_obj *o)
{
    uint32_t idx;
    rs_private_slot *p = rs_private_slot_of(t, o, &idx);
    rs_pr_store_plain(&p->owner, t->index);
    rs_pr_store_plain(&p->mode, (uint32_t)RS_PRIVATE_MODE);
    rs_pr_store_plain(&p->held, 0u);
    rs_pr_store_plain(&p->asked, 0u);
    rs_pr_store_plain(&p->byte, (uint8_t)0);
}

/* Make p public: the byte first, saying whether the owner holds it, then the mode (release:
 * pairs with the foreigners' acquire load of the mode). */
RS_INLINE void rs_private_promote(rs_thread *t, rs_private_slot *p, uint32_t held)
{
    (void)t; /* its events only, in the explain flavour */
    RS_STAT(t, lock_promotions);
    rs_pr_store_relaxed(&p->byte, (uint8_t)(held ? RS_PYMUTEX_LOCKED : 0));
    rs_pr_store_release(&p->mode, (uint32_t)RS_PUBLIC_MODE);
}

/* The owner's safepoint: `promote` every slot asked for. One relaxed load when none is. */
RS_INLINE void rs_private_drain(rs_thread *t, void (*promote)(rs_thread *, rs_private_slot *))
{
    rs_lock_private_run *s = rs_private_of(t);
    rs_private_thread *me = &s->thr[t->index];
    if (RS_LIKELY(rs_pr_load_relaxed(&me->head) == RS_NIL))
        return;
    /* Acquire pairs with the pushers' release CAS: their next links are visible. */
    uint32_t i = rs_pr_xchg_acquire(&me->head, RS_NIL);
    while (i != RS_NIL && i != RS_CLOSED) {
        rs_private_slot *p = &s->slot[i];
        i = rs_pr_load_plain(&p->next);
        promote(t, p);
    }
}

/* The owner leaves: its safepoint, then close the queue, so that later askers promote for
 * themselves (it holds no private lock now: the kernel checks the discipline). */
RS_INLINE void rs_private_close(rs_thread *t, void (*safepoint)(rs_thread *))
{
    rs_private_thread *me = &rs_private_of(t)->thr[t->index];
    for (;;) {
        safepoint(t);
        uint32_t head = RS_NIL;
        /* Acq_rel: the release publishes this thread's last plain stores (held = 0) to a foreigner
         * that reads CLOSED with its failing CAS (acquire on failure). */
        if (rs_pr_cas_acq_rel(&me->head, &head, RS_CLOSED))
            return;
    }
}

/* The promotion the owner owes: the byte says whether it holds the lock now. */
static inline void rs_private_promote_asked(rs_thread *t, rs_private_slot *p)
{
    rs_private_promote(t, p, rs_pr_load_plain(&p->held));
}

static inline void rs_lock_private_safepoint(rs_thread *t) { rs_private_drain(t, rs_private_promote_asked); }
static inline void rs_lock_private_leave(rs_thread *t) { rs_private_close(t, rs_lock_private_safepoint); }

/* A foreigner asks p's owner for promotion (once per object), or promotes it itself when the owner
 * has left. */
static RS_NOINLINE void rs_private_ask(rs_thread *t, rs_lock_private_run *s, rs_private_slot *p, uint32_t idx)
{
    uint32_t no = 0;
    if (!rs_pr_cas_acq_rel(&p->asked, &no, 1u))
        return; /* someone asked already */
    rs_private_thread *owner = &s->thr[rs_pr_load_plain(&p->owner)];
    uint32_t head = rs_pr_load_relaxed(&owner->head);
    do {
        if (head == RS_CLOSED) {
            rs_private_promote(t, p, 0);
            return;
        }
        rs_pr_store_plain(&p->next, head);
        /* Release pairs with the owner's acquire exchange; acquire on failure with its closing CAS. */
    } while (!rs_pr_cas_acq_rel_acquire(&owner->head, &head, idx));
}

static RS_NOINLINE int rs_private_lock_foreign(rs_thread *t, rs_lock_private_run *s, rs_private_slot *p, uint32_t idx)
{
    /* Acquire pairs with rs_private_promote's release: the byte is what the promoter wrote. */
    if (rs_pr_load_acquire(&p->mode) != RS_PUBLIC_MODE) {
        rs_private_ask(t, s, p, idx);
        unsigned turns = 0;
        while (rs_pr_load_acquire(&p->mode) != RS_PUBLIC_MODE)
            if (rs_lock_wait(t, &turns) < 0)
                return -1;
    }
    return rs_pymutex_lock(t, &s->lot, idx, &p->byte);
}

static inline int rs_lock_private_acquire(rs_thread *t, rs_obj *o)
{
    rs_lock_private_run *s = rs_private_of(t);
    uint32_t idx;
    rs_private_slot *p = rs_private_slot_of(t, o, &idx);
    if (rs_pr_load_plain(&p->owner) == t->index && rs_pr_load_plain(&p->mode) == RS_PRIVATE_MODE) {
        RS_STAT(t, lock_acquisitions);
        rs_pr_store_plain(&p->held, 1u);
        return 0;
    }
    if (rs_pr_load_plain(&p->owner) == t->index)
        return rs_pymutex_lock(t, &s->lot, idx, &p->byte);
    return rs_private_lock_foreign(t, s, p, idx);
}

static inline void rs_lock_private_release(rs_thread *t, rs_obj *o)
{
    rs_lock_private_run *s = rs_private_of(t);
    uint32_t idx;
    rs_private_slot *p = rs_private_slot_of(t, o, &idx);
    if (rs_pr_load_plain(&p->owner) == t->index && rs_pr_load_plain(&p->mode) == RS_PRIVATE_MODE) {
        rs_pr_store_plain(&p->held, 0u);
        return;
    }
    rs_pymutex_unlock(t, &s->lot, idx, &p->byte);
}

#endif
