/* refstrat/check.h: the interface between the check build of the primitives (pr.h compiled with
 * RS_CHECK_BUILD) and the deterministic scheduler that implements them (src/check.c).
 *
 * In the check build every rs_pr_* primitive calls through rs_chk_api_ptr, a table the core fills
 * (for its own check copy) or the plugin loader fills (for a plugin's check object): a plugin is
 * dlopen'ed RTLD_LOCAL and cannot see the core's symbols, so the table is handed to it.
 * Every call is one scheduling point; see src/check.c for the semantics (SC, x86-TSO store
 * buffers or the C11 model of src/check_c11.c, parking of waits, mutexes and condition variables
 * held by the scheduler). free_access is no scheduling point: the arena's free of an object, a
 * write to all of it, checked for data races under C11 (nothing else).
 */
#ifndef REFSTRAT_CHECK_H
#define REFSTRAT_CHECK_H

#include <pthread.h>
#include <stdint.h>

enum rs_chk_mo { RS_MO_PLAIN, RS_MO_RELAXED, RS_MO_ACQUIRE, RS_MO_RELEASE, RS_MO_ACQ_REL, RS_MO_SEQ_CST };

/* The operation of one logged step (with rs_chk_mo, it names the primitive). */
enum rs_chk_op {
    RS_CHK_LOAD, RS_CHK_STORE, RS_CHK_FAA, RS_CHK_XCHG, RS_CHK_CAS, RS_CHK_CAS_STRONG, RS_CHK_FENCE,
    RS_CHK_LOCK, RS_CHK_UNLOCK, RS_CHK_WAIT, RS_CHK_TIMEDWAIT, RS_CHK_SIGNAL, RS_CHK_BROADCAST,
    RS_CHK_SPIN, RS_CHK_YIELD, RS_CHK_NAP, RS_CHK_START, RS_CHK_TIMEOUT, RS_CHK_DRAIN,
    RS_CHK_READ_FROM, /* C11: the decision of which store the load before it reads */
    RS_CHK_OP_COUNT
};

enum rs_chk_event { RS_CHK_EV_UAF, RS_CHK_EV_DOUBLE_FREE };

typedef struct rs_chk_api {
    uint32_t version;
    void (*load)(const void *p, uint32_t size, void *out, int mo, const char *file, int line);
    void (*store)(void *p, uint32_t size, const void *v, int mo, const char *file, int line);
    /* RS_CHK_FAA (adds v modulo the width) or RS_CHK_XCHG; returns the old value */
    uint64_t (*rmw)(void *p, uint32_t size, int op, uint64_t v, int mo, const char *file, int line);
    int (*cas)(void *p, uint32_t size, void *expected, uint64_t desired, int strong, int mo,
               int mo_fail, const char *file, int line);
    void (*fence)(int mo, const char *file, int line);
    void (*mutex)(pthread_mutex_t *m, int op, const char *file, int line); /* LOCK/UNLOCK */
    /* WAIT, TIMEDWAIT (returns ETIMEDOUT when the scheduler times it out), SIGNAL, BROADCAST */
    int (*cond)(pthread_cond_t *c, pthread_mutex_t *m, int op, const char *file, int line);
    void (*pause)(int op, const char *file, int line); /* SPIN, YIELD, NAP */
    int (*thread_create)(pthread_t *th, void *(*fn)(void *), void *arg);
    void (*thread_join)(pthread_t th);
    void (*event)(int ev);
    void (*free_access)(const void *p, uint32_t size, const char *file, int line);
} rs_chk_api;

#define RS_CHK_API_VERSION 2

extern const rs_chk_api *rs_chk_api_ptr __attribute__((visibility("hidden")));

#endif
