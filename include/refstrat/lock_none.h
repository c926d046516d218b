/* lock `none`: no per-object lock at all, as a GIL build has none: the GIL is the lock.
 *
 * Invariant: none; acquire and release do nothing. Guarded accesses of two threads may overlap,
 * and a trace's exclusion check says so: `none` is correct only where one thread runs at a time.
 * A waiter never waits.
 * Simplifications: none (there is nothing to simplify).
 * Source: CPython before 3.13t: list and dict mutations are atomic because the GIL is held
 * (Objects/listobject.c, Objects/dictobject.c of 3.12).
 */
#ifndef REFSTRAT_LOCK_NONE_H
#define REFSTRAT_LOCK_NONE_H

#include "refstrat/runtime.h"

static inline int rs_lock_none_init(rs_run *r) { r->lock_s = NULL; return 0; }
static inline void rs_lock_none_fini(rs_run *r) { (void)r; }
static inline void rs_lock_none_obj_init(rs_thread *t, rs_obj *o) { (void)t; (void)o; }
static inline int rs_lock_none_acquire(rs_thread *t, rs_obj *o) { (void)t; (void)o; return 0; }
static inline void rs_lock_none_release(rs_thread *t, rs_obj *o) { (void)t; (void)o; }
static inline void rs_lock_none_safepoint(rs_thread *t) { (void)t; }
static inline void rs_lock_none_leave(rs_thread *t) { (void)t; }

#endif
