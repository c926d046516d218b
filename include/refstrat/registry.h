/* refstrat/registry.h: the list of strategies, and the machinery that turns each into a table entry.
 *
 * Adding a strategy: write include/refstrat/<name>.h defining rs_<name>_<hook> for every hook listed
 * in refstrat/runtime.h, include it below and add one RS_X line to RS_STRATEGIES. The entry's fields:
 *   name, thread_safe, layers (the RS_LAYERS flags always on: RS_F_IMMORTAL for `immortal`,
 *   all three for `cpython314t`, whose header only names biased's hooks; 0: on request; plus
 *   RS_S_NO_COLLECTED for a scheme that cannot take the deferred and sharded layers),
 *   summary (one line), reference (where the idea comes from), and optionally the operations
 *   beyond incref/decref the scheme defines, as (push, pop, publish, kill) with 0 for each one it
 *   leaves to the default (rs_ops in refstrat/runtime.h says what the defaults do), e.g.
 *   RS_X(mine, 1, 0, "summary", "reference", (rs_mine_push, rs_mine_pop, 0, 0)).
 * Nothing else changes: the kernels, the runner and the Python API pick it up from this table.
 */
#ifndef REFSTRAT_REGISTRY_H
#define REFSTRAT_REGISTRY_H

#include "refstrat/runtime.h"
#include "refstrat/workloads.h"
#include "refstrat/nonatomic.h"
#include "refstrat/locked.h"
#include "refstrat/gil.h"
#include "refstrat/atomic.h"
#include "refstrat/immortal.h"
#include "refstrat/buffered.h"
#include "refstrat/coalesced.h"
#include "refstrat/biased.h"
#include "refstrat/percpu.h"
#include "refstrat/signed.h"
#include "refstrat/deferred.h"
#include "refstrat/sharded.h"
#include "refstrat/cpython314t.h"
#include "refstrat/locks.h"

#define RS_STRATEGIES(RS_X)                                                                        \
    RS_X(nonatomic, 0, 0, "plain increments, as a GIL build does; exact on one thread, loses updates on several", \
         "CPython Include/refcount.h (default build)")                                             \
    RS_X(locked, 1, 0, "one global mutex around every count change",                               \
         "Greg Stein's free-threading patch (1999); Beazley, 'GIL Removal Patch of Lore' (2011)") \
    RS_X(gil, 1, RS_S_NO_COLLECTED, "the GIL: one lock held for a switch interval, plain increments inside",      \
         "CPython Python/ceval_gil.c (Pitrou's new GIL, 3.2)")                                     \
    RS_X(atomic, 1, 0, "a lock-prefixed atomic add/sub on every count change",                     \
         "Hastings, 'The Gilectomy' (PyCon 2016)")                                                 \
    RS_X(immortal, 1, 1, "atomic, but shared singletons are immortal: never counted, never freed", \
         "PEP 683 (Python 3.12)")                                                                  \
    RS_X(buffered, 1, RS_S_NO_COLLECTED, "per-thread incref/decref logs applied by one commit thread, increments first", \
         "Hastings, Gilectomy buffered refcounting (PyCon 2017)")                                  \
    RS_X(coalesced, 1, 0, "per-thread delta tables flushed at epochs; frees confirmed after two epochs", \
         "Clements, Kaashoek, Zeldovich, Refcache (RadixVM, EuroSys 2013)")                         \
    RS_X(biased, 1, 0, "owner thread counts locally without atomics, others atomically; merge queues", \
         "Choi, Shull, Torrellas, PACT 2018; PEP 703 (CPython free-threaded build)")                \
    RS_X(percpu, 1, RS_S_NO_COLLECTED, "per-thread plain counters while live; kill switches to one biased atomic after a grace period", \
         "Linux percpu_ref (include/linux/percpu-refcount.h, lib/percpu-refcount.c)",                \
         (0, 0, 0, rs_percpu_kill))                                                                \
    RS_X(signed, 1, 0, "positive count: thread-local, plain; negative: shared, atomic; publish flips the sign", \
         "Lean 4 lean.h (lean_inc_ref, lean_mark_mt); Ullrich, de Moura, IFL 2019",                  \
         (0, 0, rs_signed_publish, 0))                                                             \
    RS_X(deferred, 1, RS_F_DEFERRED, "atomic for heap references; stack references uncounted, frees by stop-the-world collections", \
         "CPython 3.14t InternalDocs/stackrefs.md, Include/internal/pycore_stackref.h, Python/gc_free_threading.c") \
    RS_X(sharded, 1, RS_F_SHARDED, "atomic, but hot shared objects count in per-thread slots merged at collections", \
         "CPython 3.14t Include/internal/pycore_uniqueid.h, Python/uniqueid.c")                    \
    RS_X(cpython314t, 1, RS_F_IMMORTAL | RS_F_DEFERRED | RS_F_SHARDED,                             \
         "CPython 3.14t: biased + immortal + deferred + sharded, composed from the layers",        \
         "PEP 703, PEP 683, PEP 779; CPython 3.14 InternalDocs/free_threading.md")

/* An entry's optional sixth field: the default, or the parenthesised hooks it names. GNU's
 * `, ##__VA_ARGS__` drops the comma when the field is absent (GCC and Clang, -std=gnu11). */
#define RS_VOCAB_DEFAULT (0, 0, 0, 0)
#define RS_VOCAB_OF(...) RS_SECOND_(~, ##__VA_ARGS__, RS_VOCAB_DEFAULT)
#define RS_UNPAREN_(...) __VA_ARGS__

/* The operations a kernel copy is specialised for (see rs_ops); vocab is (push, pop, publish,
 * kill) as RS_VOCAB_OF gives it. */
#define RS_OPS(name, vocab, layered, chk)                                                          \
    ((const rs_ops){rs_##name##_incref, rs_##name##_decref, rs_##name##_safepoint,                 \
                    rs_##name##_wait, rs_##name##_obj_init, RS_UNPAREN_ vocab, (layered), (chk)})

/* The layered copy's: its safepoint and wait also serve the collection (refstrat/layers.h). */
#define RS_OPS_LAYERED(name, vocab, chk)                                                           \
    ((const rs_ops){rs_##name##_incref, rs_##name##_decref, rs_##name##_layered_safepoint,         \
                    rs_##name##_layered_wait, rs_##name##_obj_init, RS_UNPAREN_ vocab, 1, (chk)})

/* Which copies a translation unit instantiates; the rest are NULL rows, which the runner refuses.
 * Each kernel copy costs compile time, not speed. src/registry.c and a plugin's normal flavour keep
 * every copy. A flavour that only ever runs checked copies (the explain flavour) defines
 * RS_CHECKED_COPIES_ONLY first, and one that runs fewer workloads (a test build of plugins)
 * defines RS_KEEP_WORKLOAD(w) first, true for each enum rs_workload it keeps. A check build
 * (RS_CHECK_BUILD: src/check_table.c and a plugin's check flavour) does both by itself, for
 * rs_check_execute runs the checked trace kernel only. */
#ifdef RS_CHECK_BUILD
#ifndef RS_CHECKED_COPIES_ONLY
#define RS_CHECKED_COPIES_ONLY 1
#endif
#undef RS_KEEP_WORKLOAD /* whatever the command line asked for the normal flavour */
#define RS_KEEP_WORKLOAD(w) ((w) == RS_W_TRACE)
#endif
#ifndef RS_KEEP_WORKLOAD
#define RS_KEEP_WORKLOAD(w) 1
#endif
#ifdef RS_CHECKED_COPIES_ONLY
#define RS_UNCHECKED_(...)
#define RS_UNCHECKED_ROW_(tag) {0}
#else
#define RS_UNCHECKED_(...) __VA_ARGS__
#define RS_UNCHECKED_ROW_(tag) RS_KERNEL_ROW(tag)
#endif

/* A dropped workload's body is a constant-false branch, folded away before any inlining. The
 * `kernel` column of RS_WORKLOADS (refstrat/runtime.h) names the body and its prelude. */
#define RS_KERNEL_PRELUDE_(name, NAME, kernel, limit, twin, summary, reference, tag, OPS)          \
    kernel##_PRELUDE(tag, OPS)
#define RS_KERNEL_DEF_(name, NAME, kernel, limit, twin, summary, reference, tag, OPS)              \
    static int rs_k##name##_##tag(rs_thread *t)                                                    \
    {                                                                                              \
        return RS_KEEP_WORKLOAD(RS_W_##NAME) ? kernel(OPS, t, tag, RS_W_##NAME) : RS_ERR_CONFIG;   \
    }
#define RS_KERNEL_PTR_(name, NAME, kernel, limit, twin, summary, reference, tag)                   \
    (RS_KEEP_WORKLOAD(RS_W_##NAME) ? rs_k##name##_##tag : (rs_kernel_fn)0),

/* One copy of every workload kernel for one rs_ops constant. */
#define RS_DEFINE_KERNELS(tag, OPS)                                                                \
    RS_WORKLOADS(RS_KERNEL_PRELUDE_, tag, OPS)                                                     \
    RS_WORKLOADS(RS_KERNEL_DEF_, tag, OPS)

/* In enum rs_workload order. */
#define RS_KERNEL_ROW(tag) {RS_WORKLOADS(RS_KERNEL_PTR_, tag)}

/* Four copies per strategy: checked (timing never uses it: it validates every handle and counts
 * every operation, for the correctness counters) and unchecked (what a timed run executes: the
 * scheme's operations and nothing else), each unlayered (no flag test) and layered (the run has a
 * layer on: refstrat/layers.h). */
#define RS_INSTANTIATE(name, thread_safe, layers, summary, reference, ...)                         \
    static void rs_##name##_layered_safepoint(rs_thread *t)                                        \
    {                                                                                              \
        rs_##name##_safepoint(t);                                                                  \
        rs_layers_safepoint(t);                                                                    \
    }                                                                                              \
    static void rs_##name##_layered_wait(rs_thread *t)                                             \
    {                                                                                              \
        rs_##name##_wait(t);                                                                       \
        rs_layers_wait(t);                                                                         \
    }                                                                                              \
    RS_DEFINE_KERNELS(name##_0, RS_OPS(name, RS_VOCAB_OF(__VA_ARGS__), 0, 1))                      \
    RS_DEFINE_KERNELS(name##_1, RS_OPS_LAYERED(name, RS_VOCAB_OF(__VA_ARGS__), 1))                 \
    RS_UNCHECKED_(RS_DEFINE_KERNELS(name##_u0, RS_OPS(name, RS_VOCAB_OF(__VA_ARGS__), 0, 0)))      \
    RS_UNCHECKED_(RS_DEFINE_KERNELS(name##_u1, RS_OPS_LAYERED(name, RS_VOCAB_OF(__VA_ARGS__), 0))) \
    static void rs_##name##_incref_fn(rs_thread *t, rs_obj *o) { rs_##name##_incref(t, o); }      \
    static void rs_##name##_decref_fn(rs_thread *t, rs_obj *o) { rs_##name##_decref(t, o); }

#define RS_TABLE_ENTRY(name, thread_safe, layers, summary, reference, ...)                         \
    {#name, summary, reference, thread_safe, (layers),                                             \
     rs_##name##_init, rs_##name##_fini, rs_##name##_obj_init, rs_##name##_enter,                  \
     rs_##name##_leave, rs_##name##_start, rs_##name##_quiesce, rs_##name##_flush,                 \
     rs_##name##_count, rs_##name##_incref_fn, rs_##name##_decref_fn,                              \
     {{RS_UNCHECKED_ROW_(name##_u0), RS_UNCHECKED_ROW_(name##_u1)},                                 \
      {RS_KERNEL_ROW(name##_0), RS_KERNEL_ROW(name##_1)}},                                         \
     rs_lock_table_, sizeof rs_lock_table_ / sizeof rs_lock_table_[0]},

/* Instantiate LIST's strategies and define `static const rs_strategy table[]` over them, each
 * carrying this unit's lock table, rs_lock_table_ (refstrat/locks.h), in the same flavour. */
#define RS_DEFINE_STRATEGY_TABLE(LIST, table)                                                      \
    RS_DEFINE_LOCK_TABLE(rs_lock_table_)                                                           \
    LIST(RS_INSTANTIATE)                                                                           \
    static const rs_strategy table[] = {LIST(RS_TABLE_ENTRY)};

#endif
