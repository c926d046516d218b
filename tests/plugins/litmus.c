/* A test plugin (tests/test_litmus.py): the memory models' own test. Strategy `litmus` is atomic,
 * except that each worker, as it enters, first runs its thread of a litmus test: a few rs_pr_*
 * loads, stores and fences on the shared variables rs_litmus_var, each with its memory order,
 * which the test sets (rs_litmus_prog, through ctypes) before each run. Loads put what they read
 * in rs_litmus_reg, which the test reads after the run with the variables' final values; the
 * exhaustive exploration of an empty trace program then gives every outcome the scheduler's
 * memory model allows. Only the check flavour runs litmus code (the normal one has no variables).
 *
 * Who touches what: rs_litmus_prog and the variables' initial values are written by the test
 * before the run (the run's setup happens before every worker); rs_litmus_var through rs_pr_*
 * only, during the run; rs_litmus_reg[t] by worker t alone, read by the test after the join.
 */
#include "refstrat/plugin.h"
#include "refstrat/atomic.h"

enum { RS_LIT_NONE, RS_LIT_STORE, RS_LIT_LOAD, RS_LIT_FENCE };

#define RS_LIT_THREADS 4
#define RS_LIT_OPS 4
#define RS_LIT_VARS 3

typedef struct rs_lit_op {
    int32_t kind, var, mo, val; /* enum above; rs_litmus_var index; RS_MO_*; a store's value */
} rs_lit_op;

#ifdef RS_CHECK_BUILD
__attribute__((visibility("default"))) rs_lit_op rs_litmus_prog[RS_LIT_THREADS][RS_LIT_OPS];
__attribute__((visibility("default"))) uint64_t rs_litmus_var[RS_LIT_VARS];
__attribute__((visibility("default"))) int64_t rs_litmus_reg[RS_LIT_THREADS][RS_LIT_OPS];
static uint64_t rs_litmus_end; /* read once after the litmus code: see rs_plugin_litmus_enter */

static uint64_t rs_lit_load(uint64_t *p, int mo)
{
    switch (mo) {
    case RS_MO_ACQUIRE: return rs_pr_load_acquire(p);
    case RS_MO_SEQ_CST: return rs_pr_load_seq_cst(p);
    default: return rs_pr_load_relaxed(p);
    }
}

static void rs_lit_store(uint64_t *p, uint64_t v, int mo)
{
    switch (mo) {
    case RS_MO_RELEASE: rs_pr_store_release(p, v); break;
    case RS_MO_SEQ_CST: rs_pr_store_seq_cst(p, v); break;
    default: rs_pr_store_relaxed(p, v); break;
    }
}

static void rs_plugin_litmus_enter(rs_thread *t)
{
    if (t->index >= RS_LIT_THREADS)
        return;
    for (int k = 0; k < RS_LIT_OPS; k++) {
        const rs_lit_op *op = &rs_litmus_prog[t->index][k];
        uint64_t *p = &rs_litmus_var[op->var % RS_LIT_VARS];
        if (op->kind == RS_LIT_STORE)
            rs_lit_store(p, (uint64_t)op->val, op->mo);
        else if (op->kind == RS_LIT_LOAD)
            rs_litmus_reg[t->index][k] = (int64_t)rs_lit_load(p, op->mo);
        else if (op->kind == RS_LIT_FENCE)
            rs_pr_fence_seq_cst();
    }
    /* One more scheduling point: TSO drains a finishing thread's buffer at once, so without it
     * SB's last loads could never both precede both drains. */
    (void)rs_pr_load_relaxed(&rs_litmus_end);
}
#else
#define rs_plugin_litmus_enter rs_noop_thread
#endif

#define RS_LITMUS(RS_X) RS_X(plugin_litmus, 1, 0, "TEST: litmus threads as each worker enters", "tests")

#define rs_plugin_litmus_init rs_atomic_init
#define rs_plugin_litmus_fini rs_atomic_fini
#define rs_plugin_litmus_obj_init rs_atomic_obj_init
#define rs_plugin_litmus_leave rs_atomic_leave
#define rs_plugin_litmus_start rs_atomic_start
#define rs_plugin_litmus_quiesce rs_atomic_quiesce
#define rs_plugin_litmus_flush rs_atomic_flush
#define rs_plugin_litmus_count rs_atomic_count
#define rs_plugin_litmus_incref rs_atomic_incref
#define rs_plugin_litmus_decref rs_atomic_decref
#define rs_plugin_litmus_safepoint rs_atomic_safepoint
#define rs_plugin_litmus_wait rs_atomic_wait

RS_DEFINE_PLUGIN(RS_LITMUS)
