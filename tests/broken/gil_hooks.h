/* The GIL's hooks over a replacement take or drop, for the broken GIL variants (tests only).
 *
 * rs_gil_safepoint, rs_gil_wait and the enter/leave aliases call rs_gil_take and rs_gil_drop by
 * name; a variant that breaks one of the two defines its own and gets the hooks that call it
 * here, so that the variant's header holds only the broken function.
 */
#ifndef RS_BROKEN_GIL_HOOKS_H
#define RS_BROKEN_GIL_HOOKS_H

#include "refstrat/gil.h"
#include "refstrat/pr.h"

/* rs_<name>_{enter,leave,safepoint,wait} over take(t) and drop(t, force); the rest are gil's. */
#define RS_BROKEN_GIL_HOOKS(name, take, drop)                                                      \
    static RS_NOINLINE void rs_##name##_yield(rs_thread *t)                                        \
    {                                                                                              \
        drop(t, 1);                                                                                \
        take(t);                                                                                   \
    }                                                                                              \
    RS_INLINE void rs_##name##_safepoint(rs_thread *t)                                             \
    {                                                                                              \
        if (RS_UNLIKELY(rs_pr_load_relaxed(&t->eval_breaker)))                                     \
            rs_##name##_yield(t);                                                                  \
    }                                                                                              \
    static inline void rs_##name##_wait(rs_thread *t)                                              \
    {                                                                                              \
        drop(t, 0);                                                                                \
        rs_pr_yield();                                                                             \
        take(t);                                                                                   \
    }                                                                                              \
    static inline void rs_##name##_enter(rs_thread *t) { take(t); }                                \
    static inline void rs_##name##_leave(rs_thread *t) { drop(t, 0); }

#endif
