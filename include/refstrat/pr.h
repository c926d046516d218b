/* refstrat/pr.h: the shared-memory primitives. Every access that a scheme, the arena, a workload
 * kernel or the runner makes to memory another thread may touch goes through one of these.
 *
 * Names follow Concurrency Kit's ck_pr.h: the operation, then the memory order it has.
 *
 *   rs_pr_load_{relaxed,acquire,seq_cst}(p)            atomic load of *p
 *   rs_pr_store_{relaxed,release,seq_cst}(p, v)        atomic store
 *   rs_pr_load_plain(p), rs_pr_store_plain(p, v)       non-atomic access to a shared field that is
 *                                                      ordered by something else (a lock, a
 *                                                      hand-off); the field's comment says what
 *   rs_pr_faa_{relaxed,release,acq_rel}(p, v)          fetch-and-add, returns the old value
 *   rs_pr_add_fetch_{relaxed,acq_rel}(p, v)            add-and-fetch, returns the new value
 *   rs_pr_sub_fetch_acq_rel(p, v)                      subtract-and-fetch, returns the new value
 *   rs_pr_sub_relaxed(p, v)                            atomic subtract, no result
 *   rs_pr_xchg_{acquire,acq_rel}(p, v)                 exchange, returns the old value
 *   rs_pr_cas_{relaxed,release,acquire,acq_rel}(p, expected, desired)
 *                                                      weak compare-and-swap (may fail spuriously,
 *                                                      use in a loop); on failure *expected gets
 *                                                      the current value; the order is the
 *                                                      success order, failure is relaxed
 *                                                      (rs_pr_cas_acq_rel_acquire: failure acquire)
 *   rs_pr_cas_strong_{acq_rel,acq_rel_acquire}(p, e, d)  strong compare-and-swap (fails only when
 *                                                      *p != *e)
 *   rs_pr_fence_seq_cst()                              full fence
 *   rs_pr_mutex_init(m), rs_pr_mutex_destroy(m),
 *   rs_pr_mutex_lock(m), rs_pr_mutex_unlock(m)         pthread mutex
 *   rs_pr_cond_init(c) (CLOCK_MONOTONIC), rs_pr_cond_destroy(c),
 *   rs_pr_cond_wait(c, m), rs_pr_cond_timedwait(c, m, abstime), rs_pr_cond_signal(c),
 *   rs_pr_cond_broadcast(c)                            pthread condition variable
 *   rs_pr_spin()                                       one turn of a spin-wait loop (pause)
 *   rs_pr_yield()                                      one turn of a yielding wait loop
 *   rs_pr_nap(ts)                                      an idle pause (nanosleep) of a helper thread
 *   rs_pr_thread_create(th, fn, arg), rs_pr_thread_join(th)
 *                                                      a scheme's helper thread (buffered's commit
 *                                                      thread); 0 on success, as pthread_create;
 *                                                      a scheme starts one through
 *                                                      rs_run_helper_start (runtime.h), which
 *                                                      counts it
 *   rs_pr_event_uaf(), rs_pr_event_double_free()       the arena detected a use after free or a
 *                                                      double free (nothing in the normal build)
 *   rs_pr_event_free(p, size)                          the arena frees the object at p: a write
 *                                                      to all its size bytes, which the check
 *                                                      build's C11 model race-checks (nothing in
 *                                                      the normal build)
 *
 * In the normal build each is the GCC/Clang builtin or libc call it names, so the generated code
 * is what a hand-written __atomic_* would give. Type-generic (macros over __atomic builtins), as
 * ck_pr's per-type functions are, so that one name serves every field width.
 *
 * In the check build (RS_CHECK_BUILD defined before any refstrat header: src/check_table.c, and the
 * second object of every plugin) each primitive is instead a call into the deterministic
 * scheduler (refstrat/check.h), with its address, width, value, memory order and source line:
 * one scheduling point per primitive. Same names, same headers, so the checked code is the code
 * that runs.
 */
#ifndef REFSTRAT_PR_H
#define REFSTRAT_PR_H

#include <pthread.h>
#include <sched.h>
#include <time.h>
#include "refstrat/common.h"

#ifndef RS_CHECK_BUILD

#define rs_pr_load_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define rs_pr_load_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define rs_pr_load_seq_cst(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define rs_pr_store_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define rs_pr_store_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define rs_pr_store_seq_cst(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define rs_pr_load_plain(p) (*(p))
#define rs_pr_store_plain(p, v) ((void)(*(p) = (v)))

#define rs_pr_faa_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define rs_pr_faa_release(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELEASE)
#define rs_pr_faa_acq_rel(p, v) __atomic_fetch_add((p), (v), __ATOMIC_ACQ_REL)
#define rs_pr_add_fetch_relaxed(p, v) __atomic_add_fetch((p), (v), __ATOMIC_RELAXED)
#define rs_pr_add_fetch_acq_rel(p, v) __atomic_add_fetch((p), (v), __ATOMIC_ACQ_REL)
#define rs_pr_sub_fetch_acq_rel(p, v) __atomic_sub_fetch((p), (v), __ATOMIC_ACQ_REL)
#define rs_pr_sub_relaxed(p, v) ((void)__atomic_fetch_sub((p), (v), __ATOMIC_RELAXED))
#define rs_pr_xchg_acquire(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQUIRE)
#define rs_pr_xchg_acq_rel(p, v) __atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)

#define rs_pr_cas_relaxed(p, e, d)                                                                 \
    __atomic_compare_exchange_n((p), (e), (d), 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)
#define rs_pr_cas_release(p, e, d)                                                                 \
    __atomic_compare_exchange_n((p), (e), (d), 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED)
#define rs_pr_cas_acquire(p, e, d)                                                                 \
    __atomic_compare_exchange_n((p), (e), (d), 1, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
#define rs_pr_cas_acq_rel(p, e, d)                                                                 \
    __atomic_compare_exchange_n((p), (e), (d), 1, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)
#define rs_pr_cas_acq_rel_acquire(p, e, d)                                                         \
    __atomic_compare_exchange_n((p), (e), (d), 1, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define rs_pr_cas_strong_acq_rel(p, e, d)                                                          \
    __atomic_compare_exchange_n((p), (e), (d), 0, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)
#define rs_pr_cas_strong_acq_rel_acquire(p, e, d)                                                  \
    __atomic_compare_exchange_n((p), (e), (d), 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)

#define rs_pr_fence_seq_cst() __atomic_thread_fence(__ATOMIC_SEQ_CST)

#define rs_pr_mutex_init(m) ((void)pthread_mutex_init((m), NULL))
#define rs_pr_mutex_destroy(m) ((void)pthread_mutex_destroy(m))
#define rs_pr_mutex_lock(m) pthread_mutex_lock(m)
#define rs_pr_mutex_unlock(m) pthread_mutex_unlock(m)
#define rs_pr_cond_init(c) rs_pr_cond_init_monotonic_(c)
#define rs_pr_cond_destroy(c) ((void)pthread_cond_destroy(c))
#define rs_pr_cond_wait(c, m) pthread_cond_wait((c), (m))
#define rs_pr_cond_timedwait(c, m, t) pthread_cond_timedwait((c), (m), (t))
#define rs_pr_cond_signal(c) pthread_cond_signal(c)
#define rs_pr_cond_broadcast(c) pthread_cond_broadcast(c)

#define rs_pr_spin() rs_cpu_relax()
#define rs_pr_yield() ((void)sched_yield())
#define rs_pr_nap(ts) ((void)nanosleep((ts), NULL))

#define rs_pr_thread_create(th, fn, arg) pthread_create((th), NULL, (fn), (arg))
#define rs_pr_thread_join(th) ((void)pthread_join((th), NULL))

#define rs_pr_event_uaf() ((void)0)
#define rs_pr_event_double_free() ((void)0)
#define rs_pr_event_free(p, size) ((void)(p), (void)(size))

#else /* RS_CHECK_BUILD */

#include <errno.h>
#include "refstrat/check.h"

#define RS_CHK_ rs_chk_api_ptr
#define rs_pr_load_(p, mo)                                                                         \
    ({                                                                                             \
        __typeof__(*(p)) rs_v_;                                                                    \
        RS_CHK_->load((p), sizeof *(p), (void *)&rs_v_, (mo), __FILE__, __LINE__);                 \
        rs_v_;                                                                                     \
    })
#define rs_pr_store_(p, v, mo)                                                                     \
    ({                                                                                             \
        __typeof__(*(p)) rs_v_ = (v);                                                              \
        RS_CHK_->store((void *)(p), sizeof *(p), &rs_v_, (mo), __FILE__, __LINE__);                \
    })
#define rs_pr_rmw_(p, op, v, mo)                                                                   \
    ({                                                                                             \
        (__typeof__(*(p)))RS_CHK_->rmw((void *)(p), sizeof *(p), (op), (uint64_t)(v), (mo),        \
                                       __FILE__, __LINE__);                                        \
    })
#define rs_pr_cas_(p, e, d, strong, mo, mof)                                                       \
    RS_CHK_->cas((void *)(p), sizeof *(p), (void *)(e), (uint64_t)(d), (strong), (mo), (mof),      \
                 __FILE__, __LINE__)

#define rs_pr_load_relaxed(p) rs_pr_load_((p), RS_MO_RELAXED)
#define rs_pr_load_acquire(p) rs_pr_load_((p), RS_MO_ACQUIRE)
#define rs_pr_load_seq_cst(p) rs_pr_load_((p), RS_MO_SEQ_CST)
#define rs_pr_store_relaxed(p, v) rs_pr_store_((p), (v), RS_MO_RELAXED)
#define rs_pr_store_release(p, v) rs_pr_store_((p), (v), RS_MO_RELEASE)
#define rs_pr_store_seq_cst(p, v) rs_pr_store_((p), (v), RS_MO_SEQ_CST)
#define rs_pr_load_plain(p) rs_pr_load_((p), RS_MO_PLAIN)
#define rs_pr_store_plain(p, v) rs_pr_store_((p), (v), RS_MO_PLAIN)

#define rs_pr_faa_relaxed(p, v) rs_pr_rmw_((p), RS_CHK_FAA, (v), RS_MO_RELAXED)
#define rs_pr_faa_release(p, v) rs_pr_rmw_((p), RS_CHK_FAA, (v), RS_MO_RELEASE)
#define rs_pr_faa_acq_rel(p, v) rs_pr_rmw_((p), RS_CHK_FAA, (v), RS_MO_ACQ_REL)
#define rs_pr_add_fetch_relaxed(p, v) (rs_pr_faa_relaxed((p), (v)) + (v))
#define rs_pr_add_fetch_acq_rel(p, v) (rs_pr_faa_acq_rel((p), (v)) + (v))
#define rs_pr_sub_fetch_acq_rel(p, v) (rs_pr_rmw_((p), RS_CHK_FAA, -(v), RS_MO_ACQ_REL) - (v))
#define rs_pr_sub_relaxed(p, v) ((void)rs_pr_rmw_((p), RS_CHK_FAA, -(v), RS_MO_RELAXED))
#define rs_pr_xchg_acquire(p, v) rs_pr_rmw_((p), RS_CHK_XCHG, (v), RS_MO_ACQUIRE)
#define rs_pr_xchg_acq_rel(p, v) rs_pr_rmw_((p), RS_CHK_XCHG, (v), RS_MO_ACQ_REL)

#define rs_pr_cas_relaxed(p, e, d) rs_pr_cas_((p), (e), (d), 0, RS_MO_RELAXED, RS_MO_RELAXED)
#define rs_pr_cas_release(p, e, d) rs_pr_cas_((p), (e), (d), 0, RS_MO_RELEASE, RS_MO_RELAXED)
#define rs_pr_cas_acquire(p, e, d) rs_pr_cas_((p), (e), (d), 0, RS_MO_ACQUIRE, RS_MO_RELAXED)
#define rs_pr_cas_acq_rel(p, e, d) rs_pr_cas_((p), (e), (d), 0, RS_MO_ACQ_REL, RS_MO_RELAXED)
#define rs_pr_cas_acq_rel_acquire(p, e, d) rs_pr_cas_((p), (e), (d), 0, RS_MO_ACQ_REL, RS_MO_ACQUIRE)
#define rs_pr_cas_strong_acq_rel(p, e, d) rs_pr_cas_((p), (e), (d), 1, RS_MO_ACQ_REL, RS_MO_RELAXED)
#define rs_pr_cas_strong_acq_rel_acquire(p, e, d)                                                  \
    rs_pr_cas_((p), (e), (d), 1, RS_MO_ACQ_REL, RS_MO_ACQUIRE)

#define rs_pr_fence_seq_cst() RS_CHK_->fence(RS_MO_SEQ_CST, __FILE__, __LINE__)

/* The scheduler owns the mutex and condition state (by address): nothing to set up. */
#define rs_pr_mutex_init(m) ((void)(m))
#define rs_pr_mutex_destroy(m) ((void)(m))
#define rs_pr_mutex_lock(m) RS_CHK_->mutex((m), RS_CHK_LOCK, __FILE__, __LINE__)
#define rs_pr_mutex_unlock(m) RS_CHK_->mutex((m), RS_CHK_UNLOCK, __FILE__, __LINE__)
#define rs_pr_cond_init(c) ((void)(c))
#define rs_pr_cond_destroy(c) ((void)(c))
#define rs_pr_cond_wait(c, m) RS_CHK_->cond((c), (m), RS_CHK_WAIT, __FILE__, __LINE__)
#define rs_pr_cond_timedwait(c, m, t) ((void)(t), RS_CHK_->cond((c), (m), RS_CHK_TIMEDWAIT, __FILE__, __LINE__))
#define rs_pr_cond_signal(c) ((void)RS_CHK_->cond((c), NULL, RS_CHK_SIGNAL, __FILE__, __LINE__))
#define rs_pr_cond_broadcast(c) ((void)RS_CHK_->cond((c), NULL, RS_CHK_BROADCAST, __FILE__, __LINE__))

#define rs_pr_spin() RS_CHK_->pause(RS_CHK_SPIN, __FILE__, __LINE__)
#define rs_pr_yield() RS_CHK_->pause(RS_CHK_YIELD, __FILE__, __LINE__)
#define rs_pr_nap(ts) ((void)(ts), RS_CHK_->pause(RS_CHK_NAP, __FILE__, __LINE__))

#define rs_pr_thread_create(th, fn, arg) RS_CHK_->thread_create((th), (fn), (arg))
#define rs_pr_thread_join(th) RS_CHK_->thread_join(th)

#define rs_pr_event_uaf() RS_CHK_->event(RS_CHK_EV_UAF)
#define rs_pr_event_double_free() RS_CHK_->event(RS_CHK_EV_DOUBLE_FREE)
#define rs_pr_event_free(p, size) RS_CHK_->free_access((p), (size), __FILE__, __LINE__)

#endif /* RS_CHECK_BUILD */

/* Condition variables time out against CLOCK_MONOTONIC (deadlines come from rs_now()'s clock). */
static inline void rs_pr_cond_init_monotonic_(pthread_cond_t *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(c, &ca);
    pthread_condattr_destroy(&ca);
}

#endif
