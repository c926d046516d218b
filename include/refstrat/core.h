/* refstrat/core.h: the C entry points the Cython driver calls (implemented in src/core.c).
 *
 * Every function validates what it is given and reports errors through its return value and an
 * error buffer; none of them aborts the process. rs_run_execute() may be called without the GIL.
 */
#ifndef REFSTRAT_CORE_H
#define REFSTRAT_CORE_H

#include "refstrat/runtime.h"

typedef struct rs_result {
    uint64_t ops, allocs, frees, double_frees, use_after_free;
    uint64_t leaks, lost_updates, premature_frees;
    double wall_seconds, cpu_seconds, helper_cpu_seconds;
    int pinned;
} rs_result;

#define RS_HOT 8 /* objects in the hot-objects report */

/* An explain run's findings (src/explain.c; refstrat/explain.h says what each means). */
typedef struct rs_explain_result {
    RS_STAT_FIELDS(RS_STAT_MEMBER)  /* summed over threads */
    uint64_t ops;                   /* performed operations (the explain clock) */
    uint64_t frees_measured, delay_dropped, early_frees;
    double delay_ops[3], delay_ns[3]; /* median, p99, max */
    int64_t dead_peak;
    uint32_t header_bytes;
    uint64_t side_bytes, side_bytes_peak;
    uint64_t cross_ops;
    uint32_t nhot;
    uint32_t hot_idx[RS_HOT];
    uint64_t hot_cross[RS_HOT];
} rs_explain_result;

int rs_builtin_count(void);
const rs_strategy *rs_builtin(int i);
const rs_strategy *rs_speed_of_light(void);
const rs_strategy *rs_limit(int atomic);           /* refstrat/limit.h: 0 plain, 1 atomic */
const rs_strategy *rs_find_strategy(const char *name); /* built-ins, then loaded plugins */
const rs_strategy *rs_explain_strategy(const char *name); /* a built-in's explain flavour, or NULL */
int rs_explain_is(const rs_strategy *s);
int rs_explain_result_of(const rs_run *r, rs_explain_result *out); /* after execute, before destroy */
int rs_plugin_load(const char *path, const rs_strategy **first, char *err, size_t errlen);

/* Minimum arena size (objects) for p, or 0 when p is invalid (err says why). */
uint64_t rs_arena_minimum(const rs_params *p, char *err, size_t errlen);

rs_run *rs_run_create(const rs_strategy *s, const rs_params *p, char *err, size_t errlen);
int rs_run_execute(rs_run *r); /* 0, or the run's error code with r->errmsg set */
void rs_run_result(const rs_run *r, rs_result *out);
void rs_run_destroy(rs_run *r);

/* Stepping: one worker context (the caller), no worker threads. */
rs_run *rs_step_create(const rs_strategy *s, uint32_t capacity, int immortal, int padded,
                       char *err, size_t errlen);
int rs_step_new(rs_run *r, int setup, int immortal, rs_handle *out); /* -1: arena full */
int rs_step_inc(rs_run *r, rs_handle h);                             /* 0: use after free */
int rs_step_dec(rs_run *r, rs_handle h);
void rs_step_flush(rs_run *r);
void rs_step_quiesce(rs_run *r);
int rs_step_live(rs_run *r, rs_handle h);
int64_t rs_step_count(rs_run *r, rs_handle h);
void rs_step_counters(rs_run *r, rs_counters *out);
void rs_step_destroy(rs_run *r);

#endif
