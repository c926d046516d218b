/* refstrat/grace.h: one grace-period primitive (epochs and quiescent states), shared by the
 * schemes that defer a decision until every thread has moved on: coalesced (a zero global count
 * is confirmed two epochs later) and percpu (kill switches to atomic mode after a grace period).
 *
 * Invariant: the global epoch advances from e to e + 1 only once every thread that is online has
 * announced a quiescent state in epoch e (its `seen` equals e). A thread announces at points where
 * it holds no scheme-private view of shared state in flight (a safepoint, a wait); what it did
 * before an announcement happens before whatever the advancer does after the advance, and what it
 * does after announcing epoch e happens after whatever preceded the start of e.
 *
 * Grace periods: a caller that needs "every online thread has passed a quiescent state since now"
 * takes target = rs_grace_start() (current epoch + 2) and waits until rs_grace_done(target). Two
 * epochs, because threads announcing the current epoch e may have done so before the caller's
 * point; every thread that announces e + 1 has read e + 1, written after that point. The advance
 * is driven by whoever needs it (rs_grace_try_advance at their own safepoints); nobody blocks.
 * Offline threads (left, or not entered) do not hold an epoch back: they run no operations.
 *
 * Memory orders, with what each pairs with:
 *   rs_grace_read        acquire load of epoch: pairs with the advancer's acq_rel CAS, so the
 *                        quiescent states that let the epoch reach the value read are visible.
 *   rs_grace_start       acq_rel RMW (add 0) on epoch: the release heads a release sequence that
 *                        the later advance CASes continue, so a thread reading a later epoch
 *                        (rs_grace_read's acquire) sees everything the caller did before starting;
 *                        a plain acquire load would not publish the caller's stores. Then a
 *                        seq_cst fence, which pairs with rs_grace_online's.
 *   rs_grace_announce    release store of seen: pairs with the advancer's acquire load of seen,
 *                        so the thread's operations before the quiescent state happen before the
 *                        advance (and, through the CAS's release, before rs_grace_done's acquire).
 *   rs_grace_online      release store of online, a seq_cst fence, then the epoch read and the
 *                        announcement: pairs with rs_grace_start's fence (a store-load handshake,
 *                        see rs_grace_online).
 *   rs_grace_offline     release store of online = 0: pairs with the advancer's acquire load, so a
 *                        leaving thread's last operations happen before an advance that skips it.
 *   rs_grace_try_advance acquire loads of online and seen; acq_rel CAS of epoch (release: pairs
 *                        with rs_grace_read/rs_grace_done's acquire; acquire: it continues the
 *                        release sequence of rs_grace_start's RMW).
 *
 * Synchronization table (who may race with whom), in the manner of liburcu's:
 *   rs_grace_init/fini          main thread, before any worker exists / after all have left
 *   rs_grace_online(i)          thread i only (enter)           races with try_advance
 *   rs_grace_offline(i)         thread i only (leave)           races with try_advance
 *   rs_grace_announce(i)        thread i only, while online     races with try_advance
 *   rs_grace_quiescent(i)       thread i only, while online     races with try_advance
 *   rs_grace_read/start/done    any thread                      races with try_advance
 *   rs_grace_try_advance        any thread, online or not       races with itself (one CAS wins)
 *
 * Simplifications: liburcu's QSBR flavour keeps a 2-phase counter so that a writer can block in
 * synchronize_rcu(); here nobody blocks: epochs advance as a side effect of the threads that wait
 * for one, and an epoch is a 64-bit counter that never wraps.
 * Sources: liburcu urcu-qsbr (Desnoyers et al., IEEE TPDS 2012); Clements et al., Refcache
 * (EuroSys 2013); Linux kernel RCU (call_rcu as used by lib/percpu-refcount.c).
 */
#ifndef REFSTRAT_GRACE_H
#define REFSTRAT_GRACE_H

#include <stdlib.h>
#include <string.h>
#include "refstrat/common.h"
#include "refstrat/pr.h"

/* One thread's announcement, one cache line: the advancer reads every thread's. */
typedef struct rs_grace_thread {
    uint64_t seen;  /* atomic: thread i stores (release), advancers load (acquire) */
    int online;     /* atomic: thread i stores (release), advancers load (acquire) */
    /* owner only: the last value stored to seen, so rs_grace_quiescent writes the shared line
     * only when the epoch moved (a store per safepoint would bounce it to every advancer) */
    uint64_t seen_local;
    char pad_[RS_CACHELINE - 3 * sizeof(uint64_t)];
} RS_ALIGNED rs_grace_thread;

typedef struct rs_grace {
    uint64_t epoch;          /* atomic: advanced by CAS (try_advance); read by everyone */
    char pad_[RS_CACHELINE - sizeof(uint64_t)];
    /* written by init, read-only after */
    rs_grace_thread *th;     /* [n], cache-line aligned */
    uint32_t n;
} RS_ALIGNED rs_grace;

/* Epochs start at 1, so a zeroed thread slot (seen 0) never matches. 0 on success. */
static inline int rs_grace_init(rs_grace *g, uint32_t n)
{
    g->epoch = 1;
    g->n = n;
    g->th = (rs_grace_thread *)rs_aligned_alloc(sizeof(rs_grace_thread) * (n ? n : 1));
    if (!g->th)
        return -1;
    memset(g->th, 0, sizeof(rs_grace_thread) * (n ? n : 1));
    return 0;
}

static inline void rs_grace_fini(rs_grace *g)
{
    free(g->th);
    g->th = NULL;
}

RS_INLINE uint64_t rs_grace_read(rs_grace *g) { return rs_pr_load_acquire(&g->epoch); }

RS_INLINE void rs_grace_announce(rs_grace *g, uint32_t i, uint64_t e)
{
    g->th[i].seen_local = e;
    rs_pr_store_release(&g->th[i].seen, e);
}

/* A quiescent state of thread i: announce the epoch it has seen, if it moved since last time. */
RS_INLINE void rs_grace_quiescent(rs_grace *g, uint32_t i)
{
    uint64_t e = rs_grace_read(g);
    if (RS_UNLIKELY(e != g->th[i].seen_local))
        rs_grace_announce(g, i, e);
}

/* Online first, then read the epoch, with a full fence between (urcu's rcu_thread_online): a
 * store-then-load handshake with rs_grace_start, whose own fence sits between its epoch RMW and
 * the advancer's later load of online. Either the advancer sees this thread online (and waits for
 * its announcement; a stale seen from before is at most the epoch it left in, which the grace
 * period's second epoch does not accept), or this thread's epoch read sees the start (and so what
 * the starter did before it). Release and acquire alone would let both miss each other (a store
 * buffer on x86), and a thread coming online could use a stale percpu mode after a fold. */
static inline void rs_grace_online(rs_grace *g, uint32_t i)
{
    rs_pr_store_release(&g->th[i].online, 1);
    rs_pr_fence_seq_cst();
    rs_grace_announce(g, i, rs_grace_read(g));
}

static inline void rs_grace_offline(rs_grace *g, uint32_t i)
{
    rs_pr_store_release(&g->th[i].online, 0);
}

/* Advance the epoch if every online thread has announced the current one. */
static inline void rs_grace_try_advance(rs_grace *g)
{
    uint64_t e = rs_grace_read(g);
    for (uint32_t i = 0; i < g->n; i++)
        if (rs_pr_load_acquire(&g->th[i].online) && rs_pr_load_acquire(&g->th[i].seen) != e)
            return;
    rs_pr_cas_strong_acq_rel(&g->epoch, &e, e + 1);
}

/* Start a grace period after everything the caller did so far; see the header. The fence pairs
 * with rs_grace_online's: see there. */
RS_INLINE uint64_t rs_grace_start(rs_grace *g)
{
    uint64_t e = rs_pr_faa_acq_rel(&g->epoch, 0);
    rs_pr_fence_seq_cst();
    return e + 2;
}

RS_INLINE int rs_grace_done(rs_grace *g, uint64_t target) { return rs_grace_read(g) >= target; }

#endif
