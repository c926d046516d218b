/* refstrat/knobs.h: the scheme knobs, one line each; every other place that knows a knob is
 * generated from RS_KNOBS.
 *
 * Adding a knob: add one K(...) line to RS_KNOBS below, then read it in the scheme's header as
 * r->p.<name>. Nothing else changes: rs_params gains the field, rs_params_check() its bounds,
 * refstrat.knobs() its row, refstrat.run() the keyword (default and range), python -m
 * refstrat.bench the option --<name> and the C stress driver its value. A new knob changes
 * rs_params, so bump RS_ABI_VERSION (refstrat/runtime.h) with it.
 *
 * A line's fields:
 *   name      the rs_params field and the keyword of refstrat.run()
 *   strategy  the scheme that reads it (a name in refstrat/registry.h)
 *   kind      UINT (an unsigned integer, a uint64_t field) or REAL (a double; NaN is refused)
 *   default   what a run uses when none is given
 *   low, high the inclusive range rs_params_check() accepts; low is the end at which the scheme
 *             takes its slow path most often (the stress driver leans towards it)
 *   doc       one line: what the knob sets, with its unit
 */
#ifndef REFSTRAT_KNOBS_H
#define REFSTRAT_KNOBS_H

#include <stddef.h>
#include <stdint.h>

#define RS_KNOBS(K)                                                                                \
    K(switch_interval, "gil", REAL, 0.005, 1e-6, 10.0,                                             \
      "seconds a GIL holder keeps the lock while another thread waits")                            \
    K(tick, "coalesced", UINT, 16384, 1, 2147483648,                                                \
      "safepoints between epoch ticks (percpu also checks its grace periods every min(tick, 64))") \
    K(log_size, "buffered", UINT, 4096, 16, 16777216, "entries per incref/decref log")             \
    K(collect_interval, "deferred", UINT, 16384, 1, 2147483648,                                     \
      "safepoints between stop-the-world collections (the deferred and sharded layers)")

enum rs_knob_kind { RS_KNOB_UINT = 0, RS_KNOB_REAL = 1 };

#define RS_KNOB_CTYPE_UINT uint64_t
#define RS_KNOB_CTYPE_REAL double

/* rs_params's member for one knob (refstrat/runtime.h expands RS_KNOBS(RS_KNOB_FIELD) there). */
#define RS_KNOB_FIELD(name, strategy, kind, def, low, high, doc) RS_KNOB_CTYPE_##kind name;

/* One knob as data, for bindings and drivers that iterate (rs_knob_at() in refstrat/core.h).
 * Both value forms are filled; `kind` says which one is the knob's. */
typedef struct rs_knob {
    const char *name;
    const char *strategy;
    const char *doc;
    int kind;                  /* enum rs_knob_kind */
    size_t offset;             /* of the field in rs_params */
    uint64_t def_u, low_u, high_u;
    double def_r, low_r, high_r;
} rs_knob;

/* One rs_knob initialiser per knob; expand it where rs_params is complete (src/registry.c). */
#define RS_KNOB_ROW(name, strategy, kind, def, low, high, doc)                                     \
    {#name, strategy, doc, RS_KNOB_##kind, offsetof(rs_params, name),                              \
     (uint64_t)(def), (uint64_t)(low), (uint64_t)(high), (double)(def), (double)(low), (double)(high)},

#endif
