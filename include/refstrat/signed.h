/* signed: the sign of the count says who may touch it, as Lean 4's lean_object m_rc.
 *
 * Invariant: rc > 0 means the object is thread-local: rc is its count and only the creating
 * thread reads or writes it, with plain operations. rc < 0 means shared: -rc is its count and
 * every thread changes it atomically. An object goes from local to shared once (publish: rc = -rc)
 * and never back. Only the creating thread ever sees a positive count, by construction:
 *  - a new object is reachable only from its creator (rs_new hands the only handle to it);
 *  - an object becomes reachable from another thread only through a release that the runner's
 *    workloads precede with publish (handoff's ring push, the trace's send): the publishing store
 *    happens before that release, so every thread that acquires the object sees rc < 0;
 *  - setup objects are shared from the start (obj_init sees RS_F_SETUP): every worker reaches
 *    them, and the start barrier orders their initialisation before any worker's operations;
 *  - nothing makes rc positive again: a shared object's count only moves towards zero from below
 *    or away from it, atomically.
 * So the creator's plain updates never race: while rc > 0 nobody else has the object. The mode
 * test itself is a relaxed load, because once the object is shared other threads write rc.
 *
 * When an object may be freed: local, by its creator, when its decrement finds rc == 1; shared, by
 * the thread whose atomic increment of rc (a decrement of the count) reaches 0.
 *
 * Simplifications: Lean marks everything reachable from a published object (lean_mark_mt walks
 * the graph); refstrat objects hold no references, so publish marks one object. Lean's rc == 0
 * (persistent objects, never counted) is the `immortal` flag's job here.
 * Sources: Lean 4 src/include/lean/lean.h (lean_inc_ref, lean_dec_ref, lean_mark_mt) and
 * src/runtime/object.cpp; Ullrich and de Moura, "Counting Immutable Beans" (IFL 2019); Reinking,
 * Xie, de Moura, Leijen, "Perceus" (PLDI 2021).
 *
 * Synchronization table:
 *   incref/decref(t, o), rc > 0   the creator only            races with nothing (invariant)
 *   incref/decref(t, o), rc < 0   any holder                  races with other holders (atomic)
 *   publish(t, o)                 a holder, before the send    rc > 0: the creator, alone
 */
#ifndef REFSTRAT_SIGNED_H
#define REFSTRAT_SIGNED_H

#include "refstrat/runtime.h"

/* Local from birth; setup objects shared from birth. Plain: before any publication. */
static inline void rs_signed_obj_init(rs_thread *t, rs_obj *o)
{
    (void)t;
    rs_pr_store_plain(&o->rc, (rs_pr_load_plain(&o->flags) & RS_F_SETUP) ? -1 : 1);
}

RS_INLINE void rs_signed_incref(rs_thread *t, rs_obj *o)
{
    (void)t;
    /* Relaxed: a shared object's rc is written by other threads; the sign itself is ordered by
     * the publishing release (see the invariant). */
    int64_t v = rs_pr_load_relaxed(&o->rc);
    if (RS_LIKELY(v > 0)) {
        rs_pr_store_plain(&o->rc, v + 1);
        return;
    }
    RS_STAT(t, slow);
    /* Relaxed: an increment publishes nothing (the thread already holds a reference). */
    rs_pr_faa_relaxed(&o->rc, -1);
}

RS_INLINE void rs_signed_decref(rs_thread *t, rs_obj *o)
{
    int64_t v = rs_pr_load_relaxed(&o->rc);
    if (RS_LIKELY(v > 1)) {
        rs_pr_store_plain(&o->rc, v - 1);
        return;
    }
    if (v == 1) {
        /* Local and last: nobody else can have it. The zero is written all the same: a deferred
         * object's free waits for a collection that reads it (refstrat/layers.h). */
        rs_pr_store_plain(&o->rc, 0);
        rs_free(t, o);
        return;
    }
    RS_STAT(t, slow);
    /* Acq_rel: the release orders this thread's accesses before its drop; the acquire of the
     * one that reaches zero makes every earlier one visible to the freer. */
    if (rs_pr_add_fetch_acq_rel(&o->rc, 1) == 0)
        rs_free(t, o);
}

/* lean_mark_mt for one object. Relaxed: the release that follows (ring push, mailbox) publishes
 * it; a shared object stays as it is (publishing it again is the common case in a relay). */
static inline void rs_signed_publish(rs_thread *t, rs_obj *o)
{
    (void)t;
    int64_t v = rs_pr_load_relaxed(&o->rc);
    if (v > 0)
        rs_pr_store_relaxed(&o->rc, -v);
}

#define rs_signed_init rs_noop_init
#define rs_signed_fini rs_noop_run
#define rs_signed_safepoint rs_noop_thread
#define rs_signed_wait rs_relax_wait
#define rs_signed_enter rs_noop_thread
#define rs_signed_leave rs_noop_thread
#define rs_signed_start rs_noop_init
#define rs_signed_quiesce rs_noop_run
#define rs_signed_flush rs_noop_thread

static inline int64_t rs_signed_count(rs_run *r, rs_obj *o)
{
    (void)r;
    int64_t v = rs_pr_load_relaxed(&o->rc);
    return v < 0 ? -v : v;
}

#endif
