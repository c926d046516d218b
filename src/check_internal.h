/* src/check_internal.h: what the check build's units share and no one else: the scheduler
 * (src/check.c), its race detection (src/check_races.c) and its table (src/check_table.c).
 * check.c calls check_races.c, never the reverse; check_table.c's kernels reach check.c through
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

#endif
