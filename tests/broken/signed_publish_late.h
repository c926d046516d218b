/* broken_signed_publish_late: Lean-style signed counts, marking the object shared only after the
 * send's release.
 *
 * BROKEN ON PURPOSE (tests only). publish only remembers the object; the thread negates its count
 * at its next safepoint, which comes after the release that made the object reachable (the ring
 * push, the mailbox add). In that window the receiver reads a positive count and treats the object
 * as its own: plain load-and-store updates race with the creator's, and with the late negation,
 * which may store a stale magnitude. Caught as lost updates, leaks or premature frees, e.g.
 *   T0: new(x) inc(x) send(x->1) dec(x)    T1: recv(x) dec(x)
 * with T1's dec running between T0's send and T0's safepoint.
 */
#ifndef RS_BROKEN_SIGNED_PUBLISH_LATE_H
#define RS_BROKEN_SIGNED_PUBLISH_LATE_H

#include <stdlib.h>
#include "refstrat/signed.h"

typedef struct rs_bsigned_thread {
    rs_obj *late; /* owner only: published, not yet marked shared */
} RS_ALIGNED rs_bsigned_thread;

static inline int rs_broken_signed_publish_late_init(rs_run *r)
{
    for (uint32_t i = 0; i < r->nthreads; i++) {
        r->threads[i].s = rs_aligned_alloc(sizeof(rs_bsigned_thread));
        if (!r->threads[i].s)
            return -1;
        ((rs_bsigned_thread *)r->threads[i].s)->late = NULL;
    }
    return 0;
}

static inline void rs_broken_signed_publish_late_fini(rs_run *r)
{
    for (uint32_t i = 0; i < r->nthreads; i++) {
        free(r->threads[i].s);
        r->threads[i].s = NULL;
    }
}

static inline void rs_bsigned_mark(rs_thread *t)
{
    rs_bsigned_thread *b = (rs_bsigned_thread *)t->s;
    if (b->late) {
        rs_signed_publish(t, b->late);
        b->late = NULL;
    }
}

/* the bug: the marking is deferred past the release that publishes the object */
static inline void rs_broken_signed_publish_late_publish(rs_thread *t, rs_obj *o)
{
    rs_bsigned_mark(t);
    ((rs_bsigned_thread *)t->s)->late = o;
}

static inline void rs_broken_signed_publish_late_safepoint(rs_thread *t) { rs_bsigned_mark(t); }

static inline void rs_broken_signed_publish_late_wait(rs_thread *t)
{
    rs_bsigned_mark(t);
    rs_pr_spin();
}

#define rs_broken_signed_publish_late_obj_init rs_signed_obj_init
#define rs_broken_signed_publish_late_incref rs_signed_incref
#define rs_broken_signed_publish_late_decref rs_signed_decref
#define rs_broken_signed_publish_late_flush rs_broken_signed_publish_late_safepoint
#define rs_broken_signed_publish_late_enter rs_signed_enter
#define rs_broken_signed_publish_late_leave rs_broken_signed_publish_late_safepoint
#define rs_broken_signed_publish_late_start rs_signed_start
#define rs_broken_signed_publish_late_quiesce rs_signed_quiesce
#define rs_broken_signed_publish_late_count rs_signed_count

#endif
