/* my_scheme.c: a reference-counting scheme as a refstrat plugin, in one file. Copy it, rename
 * `sole_owner` everywhere, and change the hooks.
 *
 * sole_owner: `atomic` with a shortcut for the last reference. A decrement first loads the count;
 * 1 means the calling thread holds the only reference, and since a thread can only add a
 * reference it already holds, nobody can raise the count any more: the object is freed without
 * the locked instruction. Otherwise it subtracts atomically and frees at zero, as `atomic` does.
 *
 * Invariant: rc is the exact number of references at every instant (as in `atomic`).
 * Freed by the thread that finds rc == 1 before its decrement, or whose decrement takes rc to 0.
 * The load is an acquire: it reads the release of the other holders' decrements, so their
 * accesses to the object happen before the free. Keeping the subtract's zero test is what makes
 * the shortcut correct: the test suite's broken_atomic_last_ref_shortcut drops it, and two
 * holders that both load 2 then both subtract, leaving a count of zero that nobody frees.
 *
 * Build, load, run and check (see the documentation's "Writing a plugin"):
 *     refstrat.testing.build_plugin(["my_scheme.c"], "my_scheme.so")
 *     refstrat.load_plugin("my_scheme.so")
 *     refstrat.run("sole_owner", "handoff", threads=2)
 *     refstrat.testing.check("sole_owner", threads=2)
 */
#include "refstrat/plugin.h"

/* The two fast paths. Every access to shared memory goes through an rs_pr_* primitive
 * (refstrat/pr.h): in the check flavour each one is a scheduling point. */
RS_INLINE void rs_sole_owner_incref(rs_thread *t, rs_obj *o)
{
    (void)t;          /* used only by RS_STAT, which is empty outside the explain flavour */
    RS_STAT(t, slow); /* the explain flavour's "slow path" counter */
    rs_pr_faa_relaxed(&o->rc, 1);
}

RS_INLINE void rs_sole_owner_decref(rs_thread *t, rs_obj *o)
{
    if (rs_pr_load_acquire(&o->rc) == 1) { /* the only reference, and it is ours */
        rs_free(t, o);
        return;
    }
    RS_STAT(t, slow);
    if (rs_pr_sub_fetch_acq_rel(&o->rc, 1) == 0)
        rs_free(t, o);
}

/* The other hooks of refstrat/runtime.h's life cycle: this scheme needs no per-run or per-thread
 * state, no helper thread and no safepoint work, so each is one of runtime.h's trivial helpers. */
#define rs_sole_owner_init rs_noop_init           /* per-run state, before any worker exists */
#define rs_sole_owner_fini rs_noop_run
#define rs_sole_owner_obj_init rs_plain_obj_init  /* a new object: rc = 1 */
#define rs_sole_owner_enter rs_noop_thread        /* a worker starts its kernel */
#define rs_sole_owner_leave rs_noop_thread        /* ... and leaves it */
#define rs_sole_owner_start rs_noop_init          /* helper threads (none) */
#define rs_sole_owner_quiesce rs_noop_run         /* after every worker left: nothing pending */
#define rs_sole_owner_flush rs_noop_thread        /* a forced safepoint (the stepping API) */
#define rs_sole_owner_safepoint rs_noop_thread    /* called once per kernel step: keep it cheap */
#define rs_sole_owner_wait rs_relax_wait          /* called in every spin-wait loop */
#define rs_sole_owner_count rs_plain_count        /* the true count, after quiesce */

/* The plugin's strategy list, as RS_STRATEGIES in refstrat/registry.h: name, thread-safe, the
 * layers always on (0: none, the rest on request), a one-line summary, where the idea comes from.
 * RS_S_NO_COLLECTED refuses the deferred and sharded layers (include/refstrat/layers.h): a
 * deferred object's stack references are not counted, so rc == 1 would not prove that the
 * caller holds the only reference. Immortality is fine: immortal objects never reach decref. */
#define MY_STRATEGIES(RS_X)                                                                        \
    RS_X(sole_owner, 1, RS_S_NO_COLLECTED, "atomic, but a decrement that finds the count at 1 frees without a locked instruction", \
         "docs/examples/my_scheme.c")

RS_DEFINE_PLUGIN(MY_STRATEGIES)
