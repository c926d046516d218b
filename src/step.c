/* The stepping API: a run with one worker context, the caller's, and no worker threads, driven one
 * operation at a time (refstrat's Arena and the stateful tests). Called by the binding
 * (refstrat/_core.pyx, through refstrat/core.h). Calls src/runner.c (rs_run_alloc,
 * rs_run_destroy) and src/registry.c (rs_knob_defaults); neither calls back. */
#include <stdio.h>
#include <string.h>

#include "refstrat/core.h"
#include "refstrat/pr.h"
#include "internal.h"

int rs_step_create(const rs_strategy *s, uint32_t capacity, int immortal, int padded, rs_run **out,
                   char *err, size_t errlen)
{
    rs_params p;
    memset(&p, 0, sizeof p);
    p.workload = RS_W_PRIVATE;
    p.threads = 1;
    p.padded = padded != 0;
    p.immortal = immortal != 0;
    p.seed = 1;
    rs_knob_defaults(&p);
    /* Short epochs and logs: a stepping arena is small, and its tests expect deferred frees to
     * land within a few flushes. */
    p.tick = 64;
    p.log_size = 64;
    p.collect_interval = 64;
    *out = NULL;
    p.checked = 1;
    if (capacity < 1 || capacity >= RS_NIL) {
        snprintf(err, errlen, "capacity must be in [1, %u], got %u", RS_NIL - 1, capacity);
        return RS_ERR_CONFIG;
    }
    int code;
    rs_run *r = rs_run_alloc(s, &p, capacity, 0, &code, err, errlen);
    if (!r)
        return code;
    r->stepping = 1;
    s->enter(&r->threads[0]);
    *out = r;
    return RS_OK;
}

int rs_step_new(rs_run *r, int setup, int immortal, rs_handle *out)
{
    rs_thread *t = &r->threads[0];
    rs_obj *o = rs_pool_take(&r->arena, t->pool);
    /* Deferred schemes free on flush (coalesced needs a few epoch ticks). */
    for (int tries = 0; !o && tries < 8; tries++) {
        r->strategy->flush(t);
        o = rs_pool_take(&r->arena, t->pool);
    }
    if (!o)
        return RS_ERR_ARENA;
    uint32_t flags = setup ? RS_F_SETUP | (immortal ? RS_F_IMMORTAL : 0) : 0;
    *out = rs_obj_open(&r->arena, o, flags, setup ? RS_NIL : 0, 1);
    r->strategy->obj_init(t, o);
    t->c.allocs++;
    return RS_OK;
}

/* A handle from the caller names a slot of the arena and a generation that slot has reached
 * with an allocation (odd, not above the slot's): one rs_step_new() issued it. Whether it is
 * still live is a separate question (rs_handle_ok). Generations wrap after 2^31 reuses of one
 * slot; before that a handle is never issued twice. */
static int rs_step_handle_check(const rs_run *r, rs_handle h)
{
    if (h.idx >= r->arena.capacity || !rs_gen_live(h.gen))
        return RS_ERR_HANDLE;
    /* Relaxed: the stepping run has one thread, the caller; the field is atomic during runs. */
    uint32_t now = rs_pr_load_relaxed(&rs_obj_at(&r->arena, h.idx)->gen);
    return h.gen <= now ? RS_OK : RS_ERR_HANDLE;
}

static int rs_step_op(rs_run *r, rs_handle h, int inc, int *performed)
{
    rs_thread *t = &r->threads[0];
    int rc = rs_step_handle_check(r, h);
    *performed = 0;
    if (rc != RS_OK)
        return rc;
    h.o = rs_obj_at(&r->arena, h.idx); /* Python's handles carry (idx, gen) only */
    if (!rs_handle_ok(&r->arena, h)) {
        t->c.use_after_free++;
        return RS_OK;
    }
    rs_obj *o = h.o;
    if (!(o->flags & r->layers & RS_F_IMMORTAL)) {
        if (inc)
            r->strategy->incref(t, o);
        else
            r->strategy->decref(t, o);
    }
    t->ops++;
    *performed = 1;
    return RS_OK;
}

int rs_step_inc(rs_run *r, rs_handle h, int *performed) { return rs_step_op(r, h, 1, performed); }
int rs_step_dec(rs_run *r, rs_handle h, int *performed) { return rs_step_op(r, h, 0, performed); }
void rs_step_flush(rs_run *r) { r->strategy->flush(&r->threads[0]); }

void rs_step_quiesce(rs_run *r)
{
    rs_thread *t = &r->threads[0];
    r->strategy->leave(t);
    r->strategy->quiesce(r);
    r->strategy->enter(t);
}

int rs_step_live(rs_run *r, rs_handle h, int *live)
{
    int rc = rs_step_handle_check(r, h);
    if (rc == RS_OK)
        h.o = rs_obj_at(&r->arena, h.idx); /* Python's handles carry (idx, gen) only */
    *live = rc == RS_OK && rs_handle_ok(&r->arena, h);
    return rc;
}

int rs_step_count(rs_run *r, rs_handle h, int64_t *count)
{
    int live, rc = rs_step_live(r, h, &live);
    if (rc != RS_OK || !live)
        return RS_ERR_HANDLE;
    *count = r->strategy->count(r, rs_obj_at(&r->arena, h.idx));
    return RS_OK;
}

void rs_step_counters(rs_run *r, rs_counters *out)
{
    memset(out, 0, sizeof *out);
    for (uint32_t i = 0; i <= r->nthreads; i++) {
        out->allocs += r->threads[i].c.allocs;
        out->frees += r->threads[i].c.frees;
        out->double_frees += r->threads[i].c.double_frees;
        out->use_after_free += r->threads[i].c.use_after_free;
    }
}

void rs_step_destroy(rs_run *r)
{
    if (!r)
        return;
    r->strategy->leave(&r->threads[0]);
    r->strategy->quiesce(r);
    rs_run_destroy(r);
}
