/* The built-in rows: the strategy table (RS_DEFINE_STRATEGY_TABLE over refstrat/registry.h, which
 * instantiates every built-in's kernel copies here), the reserved rows that are not strategies
 * (speed_of_light and the two limit rows, with their kernels), and the knob and workload tables.
 * Called by the binding (refstrat/_core.pyx, through refstrat/core.h), by the plugin loader
 * (src/plugins.c: the names a plugin may not take), by the runner (src/runner.c: workload rows,
 * whether a row is a limit, the layers' last collection) and by the stepping API (src/step.c:
 * knob defaults). Calls no other unit of src/. */
#define _GNU_SOURCE
#include <string.h>

#include "refstrat/core.h"
#include "refstrat/limit.h"
#include "refstrat/pr.h"
#include "internal.h"

RS_DEFINE_STRATEGY_TABLE(RS_STRATEGIES, rs_builtins)

/* The speed-of-light copy: nonatomic counts with no use-after-free checks, the hardware limit of
 * the same operations. Not a strategy: never listed, only reached through rs_reserved_row(). */
RS_DEFINE_KERNELS(sol, RS_OPS(nonatomic, RS_VOCAB_DEFAULT, 0, 0))
static const rs_strategy rs_sol = {
    "speed_of_light", "plain increments with no checks: the hardware limit of the same operations",
    "a plain C loop", 0, 0,
    rs_nonatomic_init, rs_nonatomic_fini, rs_nonatomic_obj_init, rs_nonatomic_enter,
    rs_nonatomic_leave, rs_nonatomic_start, rs_nonatomic_quiesce, rs_nonatomic_flush,
    rs_nonatomic_count, rs_nonatomic_incref_fn, rs_nonatomic_decref_fn,
    {{RS_KERNEL_ROW(sol), RS_KERNEL_ROW(sol)}, {RS_KERNEL_ROW(sol), RS_KERNEL_ROW(sol)}},
    rs_lock_table_, sizeof rs_lock_table_ / sizeof rs_lock_table_[0]};

/* The limit rows: hand-written kernels (refstrat/limit.h), plain and atomic. Not strategies either;
 * reached through rs_reserved_row(). The hooks are nonatomic's no-ops. */
RS_DEFINE_LIMIT(plain, 0)
RS_DEFINE_LIMIT(atomic, 1)
#define RS_LIMIT_ENTRY(label, summary, tag)                                                        \
    {label, summary, "a hand-written C kernel per workload", 0, 0,                                 \
     rs_nonatomic_init, rs_nonatomic_fini, rs_nonatomic_obj_init, rs_nonatomic_enter,              \
     rs_nonatomic_leave, rs_nonatomic_start, rs_nonatomic_quiesce, rs_nonatomic_flush,             \
     rs_nonatomic_count, rs_nonatomic_incref_fn, rs_nonatomic_decref_fn,                           \
     {{RS_LIMIT_ROW(tag), RS_LIMIT_ROW(tag)}, {RS_LIMIT_ROW(tag), RS_LIMIT_ROW(tag)}},             \
     rs_lock_table_, sizeof rs_lock_table_ / sizeof rs_lock_table_[0]}
static const rs_strategy rs_limits[2] = {
    RS_LIMIT_ENTRY("limit", "plain increments through plain pointers: the hardware limit", plain),
    RS_LIMIT_ENTRY("limit+atomic", "lock-prefixed increments through plain pointers", atomic)};

static const rs_knob rs_knobs[] = {RS_KNOBS(RS_KNOB_ROW)};

#define RS_WORKLOAD_ROW_(name, NAME, kernel, limit, twin, summary, reference, ...)                \
    {#name, summary, reference, !RS_IS_NONE(limit), RS_IS_NONE(twin) ? NULL : #twin},
static const rs_workload_info rs_workloads[] = {RS_WORKLOADS(RS_WORKLOAD_ROW_)};

int rs_knob_count(void) { return (int)(sizeof rs_knobs / sizeof rs_knobs[0]); }
const rs_knob *rs_knob_at(int i) { return i >= 0 && i < rs_knob_count() ? &rs_knobs[i] : NULL; }
int rs_workload_count(void) { return RS_W_COUNT; }
const rs_workload_info *rs_workload_at(int i) { return i >= 0 && i < RS_W_COUNT ? &rs_workloads[i] : NULL; }

/* Through the offset, so that a binding can set knobs it only knows by name. memcpy: the
 * field's type is the one RS_KNOB_FIELD gave it, uint64_t or double. */
void rs_knob_set(rs_params *p, const rs_knob *k, uint64_t u, double r)
{
    if (k->kind == RS_KNOB_REAL)
        memcpy((char *)p + k->offset, &r, sizeof r);
    else
        memcpy((char *)p + k->offset, &u, sizeof u);
}

void rs_knob_defaults(rs_params *p)
{
    for (int i = 0; i < rs_knob_count(); i++)
        rs_knob_set(p, &rs_knobs[i], rs_knobs[i].def_u, rs_knobs[i].def_r);
}

int rs_builtin_count(void) { return (int)(sizeof rs_builtins / sizeof rs_builtins[0]); }
const rs_strategy *rs_builtin(int i) { return i >= 0 && i < rs_builtin_count() ? &rs_builtins[i] : NULL; }
/* The one list of rows that are not strategies: a plugin may not take their names, and a binding
 * reaches them by name through rs_reserved_row() alone. */
static const rs_strategy *const rs_reserved[] = {&rs_sol, &rs_limits[0], &rs_limits[1]};

int rs_reserved_count(void) { return (int)(sizeof rs_reserved / sizeof rs_reserved[0]); }

const rs_strategy *rs_reserved_row(const char *name)
{
    for (int i = 0; i < rs_reserved_count(); i++)
        if (name && !strcmp(rs_reserved[i]->name, name))
            return rs_reserved[i];
    return NULL;
}

const rs_strategy *rs_reserved_at(int i) { return i >= 0 && i < rs_reserved_count() ? rs_reserved[i] : NULL; }

int rs_limit_row_is(const rs_strategy *s) { return s == &rs_limits[0] || s == &rs_limits[1]; }

/* The layers' last collection, after the workers (refstrat/layers.h), for the runner's
 * rs_run_finish(). Here rather than in the runner on purpose: rs_layers_collect() keeps its two
 * callers in this unit, as it had in the single-file core, so that the compiler leaves it out of
 * line; with one caller it would be inlined into rs_layers_stop_and_collect(), whose changed
 * register use reaches the layered kernels that call it (bench/kernel_diff.py showed
 * rs_khandoff_signed_1 differing). */
void rs_layers_quiesce_run(rs_run *r) { rs_layers_quiesce(r); }
