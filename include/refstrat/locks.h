/* refstrat/locks.h: the list of lock schemes, the second axis beside the count schemes.
 *
 * Adding a lock scheme: write include/refstrat/lock_<name>.h defining rs_lock_<name>_<hook> for
 * every hook of rs_lock_scheme (refstrat/runtime.h says what each does; trivial ones alias
 * lock_none.h's), include it below and add one L line to RS_LOCKS. A line's fields:
 *   name, excludes (1: it gives mutual exclusion), summary (one line), reference.
 * Nothing else changes: every strategy table (refstrat/registry.h) carries the list in its own
 * flavour (normal, check, explain, a plugin's), the runner checks a run's choice against it and
 * refstrat.locks() and refstrat.run(..., locks=...) read it. A plugin may add lock schemes of its
 * own (tests/broken/locks.c) by defining RS_EXTRA_LOCKS(L) before including refstrat/plugin.h:
 * they are then choices for that plugin's strategies only.
 * The order is the index rs_params.lock holds; `none` is first, the default.
 */
#ifndef REFSTRAT_LOCKS_H
#define REFSTRAT_LOCKS_H

#include "refstrat/lock_none.h"
#include "refstrat/lock_global.h"
#include "refstrat/lock_mutex.h"
#include "refstrat/lock_pymutex.h"
#include "refstrat/lock_private.h"

#define RS_LOCKS(L)                                                                                \
    L(none, 0, "no per-object lock: the GIL is the lock (guarded accesses may overlap)",         \
      "CPython <= 3.12 Objects/listobject.c, dictobject.c")                                       \
    L(global, 1, "one mutex for every object of the run",                                          \
      "Greg Stein's free-threading patch (1999)")                                                 \
    L(mutex, 1, "a pthread mutex per object",                                                      \
      "Hastings, 'The Gilectomy' (PyCon 2016): Py_LOCK/Py_UNLOCK")                                \
    L(pymutex, 1, "one byte per object: a CAS to take it, a hashed parking lot for waiters",       \
      "CPython 3.13t Include/cpython/lock.h, Python/lock.c, Python/parking_lot.c")               \
    L(private, 1, "free while only the creating thread takes it; promoted to pymutex by the owner " \
      "at a safepoint when another thread asks",                                                  \
      "Hastings (PyCon 2016) thread-private locks; Kawachiya et al., OOPSLA 2002 (lock reservation)")

#ifndef RS_EXTRA_LOCKS
#define RS_EXTRA_LOCKS(L)
#endif

#define RS_LOCK_ROW(name, excludes, summary, reference)                                            \
    {#name, summary, reference, excludes, rs_lock_##name##_init, rs_lock_##name##_fini,            \
     rs_lock_##name##_obj_init, rs_lock_##name##_acquire, rs_lock_##name##_release,                \
     rs_lock_##name##_safepoint, rs_lock_##name##_leave},

#define RS_LOCK_COUNT_(name, ...) +1
/* The built-in lock schemes (a plugin's extra ones come after them). */
#define RS_BUILTIN_LOCKS (0 RS_LOCKS(RS_LOCK_COUNT_))

/* This translation unit's lock table, in its flavour: the built-ins, then RS_EXTRA_LOCKS. */
#define RS_DEFINE_LOCK_TABLE(table)                                                                \
    static const rs_lock_scheme table[] = {RS_LOCKS(RS_LOCK_ROW) RS_EXTRA_LOCKS(RS_LOCK_ROW)};

#endif
