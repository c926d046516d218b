/* broken_biased_drain_link_late: biased counting whose queue drain reads the link after the free.
 *
 * BROKEN ON PURPOSE (tests only). Bug class: a queued reference dropped. The merge queue is an
 * intrusive list through rs_obj.next, which is also the arena's free-list link. The drain merges
 * an object and, when the merge frees it, the free reuses next; reading the link only afterwards
 * follows the free list instead of the queue. The rest of the queue is skipped (those objects are
 * never merged and never freed: leaks) or a free slot is merged (a double free). Single-threaded
 * no object is ever queued and it is exact.
 * Exposed by: two objects queued on one owner before it drains, the first one drained being freed
 * by its merge, e.g.
 *   T0: new(x) new(y) send(x->T1) send(y->T1) inc(0) dec(0) inc(0) dec(0)
 *   T1: recv(x) recv(y) dec(x) dec(y)                                      (shared=1)
 */
#ifndef RS_BROKEN_BIASED_DRAIN_LINK_LATE_H
#define RS_BROKEN_BIASED_DRAIN_LINK_LATE_H

#include "refstrat/biased.h"
#include "refstrat/pr.h"

static inline void rs_bbrc_merge_list_link_late(rs_thread *t, uint32_t idx)
{
    const rs_arena *a = &t->run->arena;
    while (idx != RS_NIL) {
        rs_obj *o = rs_obj_at(a, idx);
        if (rs_brc_merge(o, -1) == 0)
            rs_free(t, o);
        idx = rs_pr_load_plain(&o->next); /* the bug: after a free that reused the link */
    }
}

static inline int rs_broken_biased_drain_link_late_init(rs_run *r)
{
    if (rs_biased_init(r) != 0)
        return -1;
    for (uint32_t i = 0; i < r->nthreads; i++)
        ((rs_brc_thread *)r->threads[i].s)->merge_list = rs_bbrc_merge_list_link_late;
    return 0;
}

#define rs_broken_biased_drain_link_late_incref rs_biased_incref
#define rs_broken_biased_drain_link_late_decref rs_biased_decref
#define rs_broken_biased_drain_link_late_safepoint rs_biased_safepoint
#define rs_broken_biased_drain_link_late_wait rs_biased_wait
#define rs_broken_biased_drain_link_late_flush rs_biased_flush
#define rs_broken_biased_drain_link_late_fini rs_biased_fini
#define rs_broken_biased_drain_link_late_obj_init rs_biased_obj_init
#define rs_broken_biased_drain_link_late_enter rs_biased_enter
#define rs_broken_biased_drain_link_late_leave rs_biased_leave
#define rs_broken_biased_drain_link_late_start rs_biased_start
#define rs_broken_biased_drain_link_late_quiesce rs_biased_quiesce
#define rs_broken_biased_drain_link_late_count rs_biased_count

#endif
