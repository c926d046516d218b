/* percpu's kill with its grace-period start replaceable, for the broken percpu variants (tests
 * only): rs_percpu_kill() (refstrat/percpu.h) calling `start` where it calls rs_grace_start(). */
#ifndef RS_BROKEN_PERCPU_KILL_WITH_H
#define RS_BROKEN_PERCPU_KILL_WITH_H

#include "refstrat/percpu.h"

typedef uint64_t (*rs_bpcpu_start_fn)(rs_grace *g);

static inline void rs_bpcpu_kill_with(rs_thread *t, rs_obj *o, rs_bpcpu_start_fn start)
{
    rs_run *r = t->run;
    rs_pcpu_run *s = (rs_pcpu_run *)r->s;
    rs_pcpu_thread *c = (rs_pcpu_thread *)t->s;
    rs_pr_store_relaxed(&o->aux, RS_PCPU_ATOMIC);
    uint64_t target = start(&s->grace);
    if (c->npending == c->pending_cap) {
        uint32_t cap = c->pending_cap ? 2 * c->pending_cap : 256;
        rs_pcpu_kill *np = (rs_pcpu_kill *)realloc(c->pending, sizeof(*np) * cap);
        if (!np) {
            rs_run_fail(r, RS_ERR_NOMEM, "percpu: out of memory for the pending kills");
            return;
        }
        c->pending = np;
        c->pending_cap = cap;
    }
    c->pending[c->npending].idx = rs_obj_index(&r->arena, o);
    c->pending[c->npending].target = target;
    c->npending++;
    if (rs_pr_sub_fetch_acq_rel(&o->rc, 1) == 0)
        rs_free(t, o);
}

#endif
