/* refstrat/core.h: the C entry points the Cython driver calls, implemented in src/registry.c,
 * plugins.c, runner.c, step.c, explain.c and the check build's check.c and check_table.c.
 *
 * Every function validates what it is given and reports errors through its return value and an
 * error buffer; none of them aborts the process. rs_run_execute() may be called without the GIL.
 */
#ifndef REFSTRAT_CORE_H
#define REFSTRAT_CORE_H

#include "refstrat/runtime.h"
#include "refstrat/workloads.h" /* RS_MAX_DEPTH */
#include "refstrat/check.h"

typedef struct rs_result {
    uint64_t ops, allocs, frees, double_frees, use_after_free;
    uint64_t leaks, lost_updates, premature_frees;
    double wall_seconds, cpu_seconds, helper_cpu_seconds;
    int pinned;
    uint32_t helper_threads; /* threads the scheme ran beside the workers (buffered: 1) */
} rs_result;

/* The range of every rs_params field rs_params_check() accepts, inclusive; the scheme knobs'
 * ranges are in refstrat/knobs.h. refstrat._api reads them from here (through _core), so Python
 * and C enforce one set of bounds. */
#define RS_MAX_THREADS 1024
#define RS_MAX_OPS 1000000000000ULL       /* per thread */
#define RS_MAX_FIB_N 40                   /* fib(40): 3.3e8 calls per thread, minutes */
/* RS_MAX_WORK: include/refstrat/workloads.h (the kernels' own bound) */
#define RS_MAX_OBJECTS 100000000          /* private objects per thread */
#define RS_MAX_SHARED_OBJECTS 65535       /* the mixed workload's Zipf table holds 16-bit indices */
#define RS_MAX_ZIPF 10.0
#define RS_MAX_TRACE_OBJECTS 16777216     /* ids a trace may use: [0, RS_MAX_TRACE_OBJECTS) */
#define RS_MAX_TRACE_OPS 67108864         /* operations in a trace, all threads together */
#define RS_MAX_TRACE_MAILBOX 134217728ULL /* threads x objects: one 4-byte mailbox count each */

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
/* The reserved rows (speed_of_light, limit, limit+atomic): by name (NULL when name is none of
 * them) and by index in [0, rs_reserved_count()) (NULL past the end). No plugin may take these names. */
const rs_strategy *rs_reserved_row(const char *name);
int rs_reserved_count(void);
const rs_strategy *rs_reserved_at(int i);
const rs_strategy *rs_find_strategy(const char *name); /* built-ins, then loaded plugins */

/* The tables behind refstrat.knobs() and refstrat.workloads(): row i for 0 <= i < count, NULL
 * past the end (RS_KNOBS order, enum rs_workload order). */
int rs_knob_count(void);
const rs_knob *rs_knob_at(int i);
int rs_workload_count(void);
const rs_workload_info *rs_workload_at(int i);

/* Set every knob of p to its default (the other fields are left as they are). */
void rs_knob_defaults(rs_params *p);
/* Set knob k of p: `u` for an RS_KNOB_UINT knob, `r` for an RS_KNOB_REAL one (the other is
 * ignored). Unchecked: rs_params_check() judges the value. */
void rs_knob_set(rs_params *p, const rs_knob *k, uint64_t u, double r);

const rs_strategy *rs_explain_strategy(const char *name); /* a built-in's explain flavour, or NULL */
int rs_explain_is(const rs_strategy *s);
int rs_explain_result_of(const rs_run *r, rs_explain_result *out); /* after execute, before destroy */
/* The scheme events (RS_STAT_FIELDS), by index in [0, rs_explain_event_count()): name and
 * description (NULL past the end), and the value in a result (0 past the end). */
int rs_explain_event_count(void);
const char *rs_explain_event_name(int i);
const char *rs_explain_event_doc(int i);
uint64_t rs_explain_event(const rs_explain_result *x, int i);

/* Load a plugin and register its strategies; returns how many it defines (>= 0) and sets *first,
 * or -RS_ERR_PLUGIN / -RS_ERR_CONFIG with err set. Loading a library that is already loaded
 * registers nothing and returns its strategies again; a strategy named like a built-in, like a
 * reserved row or like a strategy already registered is refused (nothing is registered). */
int rs_plugin_load(const char *path, const rs_strategy **first, char *err, size_t errlen);

/* RS_OK when every field of p (and its trace) is in range, else RS_ERR_CONFIG with err set. */
int rs_params_check(const rs_params *p, char *err, size_t errlen);

/* Minimum arena size (objects) for p, or 0 when p is invalid (err says why). */
uint64_t rs_arena_minimum(const rs_params *p, char *err, size_t errlen);

/* RS_OK and *out, or an rs_err with err set and *out NULL. Checks p with rs_params_check(). */
int rs_run_create(const rs_strategy *s, const rs_params *p, rs_run **out, char *err, size_t errlen);
int rs_run_execute(rs_run *r); /* RS_OK, or the run's rs_err with r->errmsg set */
void rs_run_finish(rs_run *r); /* after the workers: quiesce, then the final checks */

/* ---- the check build (src/check.c, check_table.c): one thread at a time, at every rs_pr_* primitive ---- */

enum rs_check_mode { RS_CHECK_SEQ = 0, RS_CHECK_PCT = 1 };
/* DATA_RACE (C11 only): two accesses of different threads to the same bytes, one a write, one of
 * them plain (or the arena's free), not ordered by happens-before (rs_check_out.race_*).
 * PRUNED: a sleep-set run reached a step of a sleeping thread (cfg->sleep_add), so every
 * continuation is equivalent to a schedule the exploration has already run. */
enum rs_check_verdict { RS_CHECK_DONE = 0, RS_CHECK_DEADLOCK = 1, RS_CHECK_STEP_BOUND = 2,
                        RS_CHECK_PRUNED = 3, RS_CHECK_DATA_RACE = 4 };

typedef struct rs_check_cfg {
    int mode;                 /* RS_CHECK_SEQ: follow choices; RS_CHECK_PCT: priorities */
    int tso;                  /* per-thread FIFO store buffers (x86-TSO) instead of SC */
    int c11;                  /* the C11 model of src/check_c11.c instead of SC (not with tso) */
    const uint32_t *choices;  /* SEQ: option index (mod the option count) per decision */
    uint64_t nchoices;        /* then choice 0: keep running the current thread */
    uint64_t seed;            /* PCT */
    uint32_t pct_depth;       /* PCT: d (d - 1 priority change points) */
    uint64_t pct_steps;       /* PCT: k, the change points are drawn in [1, k] */
    uint64_t max_steps;       /* scheduling points before the run is cut (verdict STEP_BOUND) */
    /* Sleep sets (Godefroid), SEQ and SC only: sleep_add[i] names, as a mask over option
     * indices, the options the exploration already ran from decision i; their threads fall
     * asleep there and wake when a step dependent with their pending primitive runs. A run
     * that would step a sleeping thread stops (verdict PRUNED). NULL: no sleep sets. */
    const uint64_t *sleep_add;
    uint64_t nsleep_add;
    /* Report races (rs_check_step.race, rs_check_out.end_race) for partial-order reduction:
     * dependence as for the sleep sets, ordering by vector clocks. */
    int races;
} rs_check_cfg;

/* One scheduling point: `thread` performed op (enum rs_chk_op) with memory order mo at
 * file:line; obj is the arena slot touched (-1: none). A decision (nopts > 1) chose `choice`. */
typedef struct rs_check_step {
    const char *file;
    uint32_t line;
    uint16_t thread, op, mo, nopts, choice;
    uint8_t cur_runnable;     /* the thread that reached the point could have gone on */
    uint8_t drain_from;       /* options >= drain_from time a wait out or drain a store buffer */
    int32_t obj;
    int16_t cur;              /* the thread that reached the point (-1: the start) */
    uint32_t size;            /* bytes the primitive touches at addr (0: none) */
    uint64_t addr;            /* what the primitive touches: memory, a mutex or a condition */
    uint64_t runnable;        /* the threads (bit = index) among the options */
    uint64_t asleep;          /* with sleep sets: the options (bit = index < 64) of sleeping threads */
    int32_t race;             /* with races: the latest earlier step of another thread that does not
                               * commute with this one and is not ordered before it; -1 none */
    int32_t rf;               /* C11, a load or RMW: the step of the store it read; -1 the value
                               * before the run (or a store out of the log); -2 not a C11 read */
} rs_check_step;

typedef struct rs_check_out {
    int verdict;              /* enum rs_check_verdict */
    uint64_t nsteps;
    rs_check_step *steps;     /* [nsteps], malloc'ed: rs_check_free() */
    int64_t first_uaf_step, first_double_free_step; /* -1: none */
    uint32_t nthreads;        /* scheduled threads: the workers, then helpers */
    double seconds;
    /* with races, verdict DONE: for each thread that could still run when the last worker
     * finished (a helper), the race of its next step, taken as commuting with nothing; -1 none */
    int32_t end_race[64];
    /* verdict DATA_RACE: the earlier access's step and the racing one's (its file:line, which for
     * a free is the free's own), each access's kind, and the address of the first byte raced on */
    int64_t race_step[2];
    int32_t race_thread[2];
    int32_t race_kind[2];     /* 0 plain read, 1 plain write, 2 atomic read, 3 atomic write, 4 free */
    const char *race_file[2];
    uint32_t race_line[2];
    uint64_t race_addr;
} rs_check_out;

const rs_strategy *rs_find_check_strategy(const char *name); /* the check flavour, or NULL */
const rs_strategy *rs_check_builtin(const char *name);
const struct rs_chk_api *rs_check_api(void);
/* Run the trace workload of r (created from a check flavour) under the scheduler, then
 * rs_run_finish() unless the verdict is not DONE. 0, or an error code with r->errmsg set. */
int rs_check_execute(rs_run *r, const rs_check_cfg *cfg, rs_check_out *out);
void rs_check_free(rs_check_out *out);
void rs_run_result(const rs_run *r, rs_result *out);

/* Running in the background, so that a caller can poll for signals (Ctrl-C) while it waits.
 * rs_run_start() runs rs_run_execute() on a new thread (NULL: the thread cannot be started);
 * rs_run_wait() waits up to `seconds`: 1 when the run has ended (its result in *rc, b freed),
 * 0 on timeout. rs_run_interrupt() makes a running run stop soon (RS_ERR_INTERRUPTED); any thread. */
typedef struct rs_bg rs_bg;
rs_bg *rs_run_start(rs_run *r);
int rs_run_wait(rs_bg *b, double seconds, int *rc);
void rs_run_interrupt(rs_run *r);
void rs_run_destroy(rs_run *r);

/* Stepping: one worker context (the caller), no worker threads. Every call taking a handle
 * checks it first: a slot past the arena, an even generation, or one the slot has not reached
 * (never issued) is RS_ERR_HANDLE and nothing is done. */
int rs_step_create(const rs_strategy *s, uint32_t capacity, int immortal, int padded, rs_run **out,
                   char *err, size_t errlen);
int rs_step_new(rs_run *r, int setup, int immortal, rs_handle *out); /* RS_ERR_ARENA: full */
int rs_step_inc(rs_run *r, rs_handle h, int *performed);             /* 0: use after free */
int rs_step_dec(rs_run *r, rs_handle h, int *performed);
void rs_step_flush(rs_run *r);
void rs_step_quiesce(rs_run *r);
int rs_step_live(rs_run *r, rs_handle h, int *live);
int rs_step_count(rs_run *r, rs_handle h, int64_t *count);           /* RS_ERR_HANDLE: freed */
void rs_step_counters(rs_run *r, rs_counters *out);
void rs_step_destroy(rs_run *r);

#endif
