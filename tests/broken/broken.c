/* The test suite's deliberately broken strategies, built as one refstrat plugin.
 *
 * Compiled by tests/test_fuzz_broken.py against the package's own headers and loaded with
 * refstrat._core.load_plugin(); never part of the package, never listed by refstrat.strategies().
 * Each header says what is wrong, its bug class and which program catches it; catalog.py holds
 * the same as data (scheme, bug class, smallest program, memory model) for the systematic checks.
 * BROKEN_VARIANTS in tests/test_fuzz_broken.py must match this list; the timing-based hunt there
 * must catch every one except those in NEEDS_SCHEDULER (one specific interleaving, or a deadlock
 * that would hang real threads), which are left to the systematic scheduler, and those in
 * catalog.C11_ONLY (an order too weak for ARM and POWER: x86, SC and TSO run them exactly), which
 * only the scheduler's memory="c11" catches (tests/test_check_c11_broken.py).
 */
#include "refstrat/plugin.h"
#include "atomic_split.h"
#include "immortal_decrefs.h"
#include "biased_nonowner_local.h"
#include "biased_no_queue.h"
#include "coalesced_no_epoch.h"
#include "buffered_dec_first.h"
#include "atomic_dec_then_load.h"
#include "atomic_last_ref_shortcut.h"
#include "immortal_saturating_inc.h"
#include "locked_unlock_early.h"
#include "locked_inc_unlocked.h"
#include "gil_if_not_while.h"
#include "gil_switch_snapshot_late.h"
#include "buffered_ack_first.h"
#include "buffered_offline_first.h"
#include "buffered_commit_ahead.h"
#include "buffered_wait_no_ack.h"
#include "coalesced_offline_first.h"
#include "coalesced_mark_late.h"
#include "biased_merge_store.h"
#include "biased_queued_late.h"
#include "biased_drain_unlocked.h"
#include "arena_push_split.h"
#include "arena_push_before_free.h"
#include "percpu_kill_no_grace.h"
#include "signed_publish_late.h"
#include "deferred_free_at_zero.h"
#include "sharded_plain_shared.h"
/* issue 28: bugs only a weak memory model (memory="c11") shows */
#include "atomic_dec_relaxed.h"
#include "atomic_dec_release.h"
#include "signed_dec_relaxed.h"
#include "signed_dec_release.h"
#include "biased_merge_zero_relaxed.h"
#include "biased_merge_clear_late.h"
#include "biased_shared_dec_release.h"
#include "biased_shared_dec_relaxed.h"
#include "arena_push_relaxed.h"
#include "buffered_collect_relaxed.h"
#include "buffered_submit_relaxed.h"

#define RS_BROKEN(RS_X)                                                                            \
    RS_X(broken_atomic_split, 1, 0, "BROKEN: atomic as separate load, add and store", "tests")   \
    RS_X(broken_immortal_decrefs, 1, 0, "BROKEN: immortal that still decrements", "tests")        \
    RS_X(broken_biased_nonowner_local, 1, 0, "BROKEN: biased, non-owners write the local count", "tests") \
    RS_X(broken_biased_no_queue, 1, 0, "BROKEN: biased without the merge queue", "tests")         \
    RS_X(broken_coalesced_no_epoch, 1, 0, "BROKEN: coalesced freeing when the global count reads zero", "tests") \
    RS_X(broken_buffered_dec_first, 1, 0, "BROKEN: buffered applying decrements before increments", "tests") \
    RS_X(broken_atomic_dec_then_load, 1, 0, "BROKEN: atomic whose zero test reloads the count after the decrement", "tests") \
    RS_X(broken_atomic_last_ref_shortcut, 1, 0, "BROKEN: atomic that frees without decrementing when it loads 1", "tests") \
    RS_X(broken_immortal_saturating_inc, 1, 1, "BROKEN: immortal with the GIL build's saturating load/store increment", "tests") \
    RS_X(broken_locked_unlock_early, 1, 0, "BROKEN: locked whose zero test runs after the unlock", "tests") \
    RS_X(broken_locked_inc_unlocked, 1, 0, "BROKEN: locked that increments without the mutex", "tests") \
    RS_X(broken_gil_if_not_while, 1, 0, "BROKEN: gil whose take waits with if instead of while", "tests") \
    RS_X(broken_gil_switch_snapshot_late, 1, 0, "BROKEN: gil whose forced switch reads switch_number after a window", "tests") \
    RS_X(broken_buffered_ack_first, 1, 0, "BROKEN: buffered worker that acknowledges before it submits", "tests") \
    RS_X(broken_buffered_offline_first, 1, 0, "BROKEN: buffered worker that goes offline before its last submit", "tests") \
    RS_X(broken_buffered_commit_ahead, 1, 0, "BROKEN: buffered round that applies decrements before its handshake", "tests") \
    RS_X(broken_buffered_wait_no_ack, 1, 0, "BROKEN: buffered worker that waits without acknowledging", "tests") \
    RS_X(broken_coalesced_offline_first, 1, 0, "BROKEN: coalesced worker that goes offline before its last flush", "tests") \
    RS_X(broken_coalesced_mark_late, 1, 0, "BROKEN: coalesced marking a pending review dirty after the add", "tests") \
    RS_X(broken_biased_merge_store, 1, 0, "BROKEN: biased owner merging with a load and a store, not a CAS", "tests") \
    RS_X(broken_biased_queued_late, 1, 0, "BROKEN: biased non-owner setting QUEUED after the push", "tests") \
    RS_X(broken_biased_drain_unlocked, 1, 0, "BROKEN: biased owner taking its merge queue without the lock", "tests") \
    RS_X(broken_arena_push_split, 1, 0, "BROKEN: arena remote free pushed with a load and a store", "tests") \
    RS_X(broken_arena_push_before_free, 1, 0, "BROKEN: arena remote free published before the generation CAS", "tests") \
    RS_X(broken_percpu_kill_no_grace, 1, 0, "BROKEN: percpu whose kill folds the counters without a grace period", "tests", \
         (0, 0, 0, rs_broken_percpu_kill_no_grace_kill))                                           \
    RS_X(broken_signed_publish_late, 1, 0, "BROKEN: signed marking an object shared after the send's release", "tests", \
         (0, 0, rs_broken_signed_publish_late_publish, 0))                                          \
    RS_X(broken_deferred_free_at_zero, 1, RS_F_DEFERRED, "BROKEN: deferred freeing at the heap count's zero, stack roots ignored", "tests") \
    RS_X(broken_sharded_plain_shared, 1, RS_S_NO_COLLECTED, "BROKEN: sharded counting plainly on the shared count, not the thread's slot", "tests") \
    RS_X(broken_atomic_dec_relaxed, 1, 0, "BROKEN: atomic whose decrement is relaxed (C11 only)", "tests") \
    RS_X(broken_atomic_dec_release, 1, 0, "BROKEN: atomic whose decrement releases but does not acquire (C11 only)", "tests") \
    RS_X(broken_signed_dec_relaxed, 1, 0, "BROKEN: signed whose shared decrement is relaxed (C11 only)", "tests", (0, 0, rs_broken_signed_dec_relaxed_publish, 0)) \
    RS_X(broken_biased_merge_zero_relaxed, 1, 0, "BROKEN: biased owner reading the shared count relaxed at its local zero (C11 only)", "tests") \
    RS_X(broken_biased_shared_dec_release, 1, 0, "BROKEN: biased non-owner decrement CAS that only releases (C11 only)", "tests") \
    RS_X(broken_biased_shared_dec_relaxed, 1, 0, "BROKEN: biased non-owner decrement CAS that is relaxed (C11 only)", "tests") \
    RS_X(broken_arena_push_relaxed, 1, 0, "BROKEN: arena remote free pushed with a relaxed CAS (C11 only)", "tests") \
    RS_X(broken_signed_dec_release, 1, 0, "BROKEN: signed whose shared decrement releases but does not acquire (C11 only)", "tests", (0, 0, rs_broken_signed_dec_release_publish, 0)) \
    RS_X(broken_buffered_submit_relaxed, 1, 0, "BROKEN: buffered workers publishing a batch with a relaxed tail store (C11 only)", "tests") \
    RS_X(broken_buffered_collect_relaxed, 1, 0, "BROKEN: buffered round reading the rings' tails relaxed (C11 only)", "tests") \
    RS_X(broken_biased_merge_clear_late, 1, 0, "BROKEN: biased merge clearing the owner's fields after its publishing CAS (C11 only)", "tests")

RS_DEFINE_PLUGIN(RS_BROKEN)
