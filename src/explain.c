/* The explain flavour: every built-in strategy instantiated once more with RS_EXPLAIN defined, so
 * that RS_STAT() and the shadow-count hooks of refstrat/explain.h are compiled in here and only
 * here. The runner (src/runner.c) drives these entries like any other; timed runs never see them.
 * This file also turns a finished explain run into an rs_explain_result. */
#define RS_EXPLAIN 1
#define RS_CHECKED_COPIES_ONLY 1 /* an explain run is a checked run (rs_run_build refuses others) */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "refstrat/core.h"
#include "refstrat/registry.h"

RS_DEFINE_STRATEGY_TABLE(RS_STRATEGIES, rs_explained)

#define RS_NEXPLAINED ((int)(sizeof rs_explained / sizeof rs_explained[0]))

const rs_strategy *rs_explain_strategy(const char *name)
{
    for (int i = 0; i < RS_NEXPLAINED; i++)
        if (!strcmp(rs_explained[i].name, name))
            return &rs_explained[i];
    return NULL;
}

int rs_explain_is(const rs_strategy *s)
{
    return s >= rs_explained && s < rs_explained + RS_NEXPLAINED;
}

/* Header bytes a scheme uses in every object (rs_obj fields named in its header), and the bytes
 * of its side structures: as configured (allocated by init) and at peak (what grew during the
 * run: coalesced's review queues). Read before fini. */
static void rs_explain_memory(const rs_run *r, rs_explain_result *out)
{
    const char *n = r->strategy->name;
    uint64_t T = r->nthreads, side = 0, grown = 0;
    uint32_t header = sizeof(int64_t); /* rc */
    if (!strcmp(n, "locked")) {
        side = sizeof(rs_locked_run);
    } else if (!strcmp(n, "gil")) {
        side = sizeof(rs_gil_run);
    } else if (!strcmp(n, "biased")) {
        header += sizeof(uint32_t) * 2; /* local, owner */
        side = T * sizeof(rs_brc_thread);
    } else if (!strcmp(n, "coalesced")) {
        header += sizeof(uint32_t); /* aux: review state */
        side = sizeof(rs_coal_run) + T * (sizeof(rs_coal_thread) + sizeof(rs_grace_thread));
        for (uint32_t i = 0; i < r->nthreads; i++)
            grown += (uint64_t)((rs_coal_thread *)r->threads[i].s)->review_cap * sizeof(rs_coal_review);
    } else if (!strcmp(n, "percpu")) {
        header += sizeof(uint32_t); /* aux: percpu or atomic mode */
        side = sizeof(rs_pcpu_run) + T * (sizeof(rs_pcpu_thread) + sizeof(rs_grace_thread) +
                                          (uint64_t)r->arena.capacity * sizeof(int32_t));
        for (uint32_t i = 0; i < r->nthreads; i++)
            grown += (uint64_t)((rs_pcpu_thread *)r->threads[i].s)->pending_cap * sizeof(rs_pcpu_kill);
    } else if (!strcmp(n, "buffered")) {
        side = sizeof(rs_buf_run) +
               T * (sizeof(rs_buf_thread) + RS_BUF_BATCHES * 2 * (uint64_t)r->p.log_size * sizeof(rs_obj *));
    }
    out->header_bytes = header;
    out->side_bytes = side;
    out->side_bytes_peak = side + grown;
}

static int rs_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median, p99 and maximum of column `col` of every thread's (operations, ns) delay pairs. */
static int rs_explain_quantiles(const rs_run *r, uint64_t n, int col, double q[3])
{
    q[0] = q[1] = q[2] = 0;
    if (!n)
        return 0;
    uint64_t *v = (uint64_t *)malloc(sizeof(uint64_t) * n), k = 0;
    if (!v)
        return -1;
    for (uint32_t i = 0; i <= r->nthreads; i++) {
        const rs_stats *st = r->threads[i].stats;
        for (uint64_t j = 0; j < st->ndelay; j++)
            v[k++] = st->delay[2 * j + col];
    }
    qsort(v, n, sizeof(uint64_t), rs_cmp_u64);
    q[0] = n % 2 ? (double)v[n / 2] : 0.5 * ((double)v[n / 2 - 1] + (double)v[n / 2]);
    q[1] = (double)v[(uint64_t)(0.99 * (double)(n - 1) + 0.5)];
    q[2] = (double)v[n - 1];
    free(v);
    return 0;
}

/* The slots with the most cross-thread operations, most first. */
static void rs_explain_hot(const rs_run *r, rs_explain_result *out)
{
    const rs_explain_run *x = r->explain;
    out->nhot = 0;
    out->cross_ops = 0;
    for (uint32_t idx = 0; idx < r->arena.capacity; idx++) {
        uint64_t c = x->cross[idx];
        out->cross_ops += c;
        if (!c || (out->nhot == RS_HOT && c <= out->hot_cross[RS_HOT - 1]))
            continue;
        uint32_t k = out->nhot < RS_HOT ? out->nhot++ : RS_HOT - 1;
        for (; k > 0 && out->hot_cross[k - 1] < c; k--) {
            out->hot_cross[k] = out->hot_cross[k - 1];
            out->hot_idx[k] = out->hot_idx[k - 1];
        }
        out->hot_cross[k] = c;
        out->hot_idx[k] = idx;
    }
}

#define RS_EVENT_ROW_(name, doc) {#name, doc, offsetof(rs_explain_result, name)},
static const struct {
    const char *name, *doc;
    size_t offset; /* of its uint64_t in rs_explain_result */
} rs_events[] = {RS_STAT_FIELDS(RS_EVENT_ROW_)};
#define RS_NEVENTS ((int)(sizeof rs_events / sizeof rs_events[0]))

int rs_explain_event_count(void) { return RS_NEVENTS; }
const char *rs_explain_event_name(int i) { return i >= 0 && i < RS_NEVENTS ? rs_events[i].name : NULL; }
const char *rs_explain_event_doc(int i) { return i >= 0 && i < RS_NEVENTS ? rs_events[i].doc : NULL; }

uint64_t rs_explain_event(const rs_explain_result *x, int i)
{
    if (i < 0 || i >= RS_NEVENTS)
        return 0;
    uint64_t v;
    memcpy(&v, (const char *)x + rs_events[i].offset, sizeof v);
    return v;
}

int rs_explain_result_of(const rs_run *r, rs_explain_result *out)
{
    memset(out, 0, sizeof *out);
    if (!r->explain)
        return -1;
    uint64_t n = 0;
    for (uint32_t i = 0; i <= r->nthreads; i++) {
        const rs_stats *st = r->threads[i].stats;
#define RS_STAT_SUM(name, doc) out->name += st->name;
        RS_STAT_FIELDS(RS_STAT_SUM)
#undef RS_STAT_SUM
        n += st->ndelay;
        out->delay_dropped += st->delay_dropped;
    }
    out->ops = r->explain->clock;
    out->frees_measured = n;
    out->early_frees = r->explain->early_frees;
    out->dead_peak = r->explain->dead_peak;
    rs_explain_memory(r, out);
    rs_explain_hot(r, out);
    if (rs_explain_quantiles(r, n, 0, out->delay_ops) != 0 || rs_explain_quantiles(r, n, 1, out->delay_ns) != 0)
        return -1;
    return 0;
}
