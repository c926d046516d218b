/* src/check_internal.h: what the check build's units share and no one else: the scheduler
 * (src/check.c), its race detection (src/check_races.c), its C11 model (src/check_c11.c) and its
 * table (src/check_table.c). check.c calls check_races.c and check_c11.c, never the reverse; check_table.c's kernels reach check.c through
 * rs_chk_api_ptr alone. */
#ifndef REFSTRAT_SRC_CHECK_INTERNAL_H
#define REFSTRAT_SRC_CHECK_INTERNAL_H

#include "refstrat/core.h"

#define RS_CHK_MAX_THREADS 64

/* How steps depend on each other (chk_dep_class): the sleep sets and the race detection. */
enum { DEP_NONE, DEP_READ, DEP_WRITE, DEP_WAIT, DEP_ALL, DEP_CLASSES };

/* How a pending primitive can interact with another thread's. A step is the primitive plus the
 * thread's own code up to its next primitive, which touches only memory that no other thread
 * touches without a primitive in between (the primitives carry every shared access). */
static inline int chk_dep_class(int op)
{
    switch (op) {
    case RS_CHK_LOAD:
        return DEP_READ;
    case RS_CHK_STORE: case RS_CHK_FAA: case RS_CHK_XCHG: case RS_CHK_CAS: case RS_CHK_CAS_STRONG:
    case RS_CHK_LOCK: case RS_CHK_UNLOCK: /* a mutex: a write of its address */
        return DEP_WRITE;
    case RS_CHK_FENCE: /* SC: no store buffer to drain */
    case RS_CHK_START:
        return DEP_NONE;
    case RS_CHK_SPIN: case RS_CHK_YIELD: /* parks unless another thread wrote: reads every write */
        return DEP_WAIT;
    default: /* condition waits and wake-ups, naps and timeouts (any step lets a wait time out) */
        return DEP_ALL;
    }
}

/* ---- src/check_races.c: race detection for partial-order reduction (cfg->races) ---------------
 * Vector clocks over the order of non-commuting steps. The state is the race detector's own; the
 * scheduler hands it each logged step with the thread count at that step. */

/* A new run: clear the clocks and the per-block history; `enabled` is cfg->races. */
void chk_races_reset(int enabled);
/* Step j (logged at s) of thread q performs op on addr..addr+size, n threads scheduled: set
 * s->race, and the clocks. */
void chk_race_step(rs_check_step *s, uint64_t j, int q, int op, const void *addr, uint32_t size,
                   uint32_t n);
/* A step was not logged (the log is cut): no more races are reported. */
void chk_races_fail(void);
/* Whether the race detection ran out of memory (or missed a step) this run. */
int chk_races_failed(void);
/* The last worker finished: each of the n threads in `running` (bit = index) gets the race of its
 * next step, which is unknown, so taken as commuting with nothing. */
void chk_race_end(uint32_t n, uint64_t running);
/* Thread q's race at the end (chk_race_end), -1 for none. */
int32_t chk_race_end_of(uint32_t q);

/* ---- src/check_c11.c: the C11 memory model (cfg->c11) -------------------------------------------
 * Threads are the scheduler's indices; `step` is the log step of the access (-1: none). */

/* An access as the data-race detection classes it (rs_check_out.race_kind). */
enum { RS_C11_PLAIN_READ, RS_C11_PLAIN_WRITE, RS_C11_ATOMIC_READ, RS_C11_ATOMIC_WRITE, RS_C11_FREE };

typedef struct chk_c11_race {
    int32_t step[2], thread[2], kind[2]; /* the earlier access, the racing one */
    uint64_t addr;
} chk_c11_race;

/* A new run of nthreads threads, every clock empty: the setup happens before everything. */
void chk_c11_reset(uint32_t nthreads);
/* The thread count grew to n (a helper made in the run: chk_c11_spawn gives it its clock). */
void chk_c11_threads(uint32_t n);
void chk_c11_spawn(int parent, int child);
void chk_c11_join(int joiner, int child);
/* Whether the model ran out of memory this run (its reads and races may be missing). */
int chk_c11_failed(void);
/* The scheduler's mutex m is new this run; thread t locks (acquires) or unlocks (releases) it. */
void chk_c11_mutex_new(uint32_t m);
void chk_c11_lock(int t, uint32_t m);
void chk_c11_unlock(int t, uint32_t m);
/* A load by t of order mo: how many stores it may read (>= 1; option 0 the latest). */
uint32_t chk_c11_load_options(int t, const void *p, uint32_t size, int mo);
/* Perform it, reading the pick-th newest of those into out and its store's step into *rf (-1:
 * before the run); 0 when the location keeps no history (wider than 8 bytes): read memory. */
int chk_c11_load(int t, const void *p, uint32_t size, int mo, uint32_t pick, void *out, int32_t *rf);
/* A store of v (its low size bytes), before memory is written. */
void chk_c11_store(int t, const void *p, uint32_t size, uint64_t v, int mo, int32_t step);
/* An RMW or CAS reads the latest store (memory) and, if `write`, stores v after it. Returns the
 * step of the store it read (-1: before the run). */
int32_t chk_c11_rmw(int t, const void *p, uint32_t size, uint64_t v, int write, int mo, int32_t step);
void chk_c11_fence(int t, int mo);
/* Race-check thread t's access of `kind` (RS_C11_*) at its current event: 1 when it races with
 * an earlier one (chk_c11_race_found says which), else 0 and it is recorded. */
int chk_c11_access(int t, const void *p, uint32_t size, int kind, int32_t step);
const chk_c11_race *chk_c11_race_found(void);

#endif
