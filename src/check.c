/* The check build's deterministic scheduler: the implementation of every rs_pr_* primitive of the
 * check build (the rs_chk_api table), and the check runner, rs_check_execute(). The schemes and
 * kernels compiled a second time with RS_CHECK_BUILD, whose primitives call in here through
 * rs_chk_api_ptr, are src/check_table.c; a plugin's check object gets the same table from the
 * plugin loader (src/plugins.c, through rs_check_api()). Called by the binding
 * (refstrat/_core.pyx: rs_check_execute, rs_check_free) and by those kernels. Calls the runner
 * (src/runner.c: rs_run_finish), the race detection (src/check_races.c) and the C11 model
 * (src/check_c11.c); none calls back.
 *
 * Threads. The workers (and a scheme's helper threads, made with rs_pr_thread_create) are real OS
 * threads, pinned to one core, and exactly one of them runs at a time: the others wait on their own
 * futex word for the baton. At every primitive the running thread reaches a scheduling point; the
 * scheduler lists the options and takes one:
 *     [the current thread goes on, if it can] + [every other runnable thread, by index]
 *     + [a timeout of every thread in a timed wait] + [TSO: drain the oldest store of a buffer]
 * and, under C11, a load that may read more than one store makes a second decision right after
 * its step, logged as a step of its own (RS_CHK_READ_FROM): option 0 reads the latest store,
 * option k the k-th older one that the model lets it read (src/check_c11.c). So the choice
 * sequence, the exhaustive search (an older store costs a preemption), PCT (a random pick, the
 * latest one half the time) and replay cover reads-from exactly as they cover thread switches.
 * (the other threads in round-robin order from the current one, so that the default after a wait is
 * the next thread). An option list of one is no decision. Otherwise the choice is the next entry
 * of the choice sequence modulo the number of options (0 when the sequence is exhausted: keep
 * running, so a short sequence is a schedule with few preemptions), or PCT's highest priority (a
 * thread at a wait point drops to the lowest). The step is logged
 * (thread, primitive, file:line, option count, choice) and the chosen thread performs its pending
 * primitive.
 *
 * Waits. rs_pr_spin/yield/nap park the thread unless another thread wrote (a store reaching memory,
 * an RMW, an unlock, a signal) since its previous wait point; a write by another thread makes it
 * runnable again. A mutex held by another thread blocks the locker in the scheduler until the
 * unlock. A condition wait sleeps until a signal (the longest waiter) or broadcast on that
 * condition; a timed wait (and a nap) may also time out when the scheduler chooses it. If no thread
 * can run, no wait can time out and no store buffer holds anything, it is a deadlock. A run longer
 * than max_steps is cut (a livelock, or a schedule that starves a thread). Both end the run by
 * unwinding every thread (longjmp to its entry): no hang, no quiesce.
 *
 * Memory. SC: every access goes to memory at once. TSO (x86): plain, relaxed and release stores go
 * to the thread's FIFO buffer; its loads read its own newest buffered store to the same address
 * first (a partial overlap drains the buffer first); seq_cst stores (xchg), RMWs, CAS, fences and
 * mutex/condition operations drain the buffer first; a thread that finishes drains it.
 * Simplifications: a weak CAS never fails spuriously; accesses are assumed aligned and not wider
 * than 8 bytes (wider ones drain first and go to memory).
 * C11 (src/check_c11.c, which states its model and simplifications): every store goes to memory at
 * once (memory holds the latest store in modification order) and to its location's history; a
 * load reads the store its decision picks; clocks order steps by happens-before, and a data race
 * (a plain access or the arena's free against an access of another thread that is not ordered
 * with it) ends the run with verdict DATA_RACE. A load that read an older store than the latest
 * leaves its thread able to run at its next wait (a newer store is there to read), so that a spin
 * on a stale value is no deadlock. Sleep sets and races are SC only: under C11 (as under TSO) the
 * exploration runs without reduction.
 *
 * Once every worker has finished, buffers are drained and the scheduler steps aside: helpers run
 * free (real atomics) and the main thread quiesces and checks as rs_run_execute does.
 *
 * Reduction (SC, the sequential mode; refstrat/_dpor.py explores with it). Each step is classed by
 * its primitive (chk_dep_class) and two steps of different threads commute unless chk_dependent
 * says otherwise. Sleep sets: cfg->sleep_add names, per decision, the options the exploration ran
 * from it before; their threads sleep until a step that does not commute with their pending
 * primitive, and a run that would step a sleeping thread ends (verdict PRUNED). Races: with
 * cfg->races each logged step carries the latest earlier step of another thread it does not
 * commute with and is not ordered after (vector clocks over the non-commuting pairs), and when the
 * last worker finishes each thread still able to run gets the race of an unknown next step
 * (src/check_races.c).
 * Who touches what: all of it only under the baton (the scheduled part is one thread at a time).
 */
#define _GNU_SOURCE
#define RS_CHECK_BUILD 1 /* runtime.h's helpers (rs_run_fail) as the check build's kernels see them */
#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "refstrat/core.h"
#include "check_internal.h"

#define RS_CHK_BUF 64        /* store-buffer entries per thread (a full buffer drains its oldest) */
#define RS_CHK_MAX_MUTEX 256

enum { ST_RUN, ST_PARK, ST_TIMED, ST_COND, ST_BLOCK, ST_DONE };
enum { MODE_IDLE, MODE_SCHED, MODE_FREE, MODE_ABORT };
enum { OPT_RUN, OPT_TIMEOUT, OPT_DRAIN };

typedef struct chk_bufent {
    void *addr;
    uint32_t size;
    uint64_t val;
    const char *file;
    int line;
} chk_bufent;

typedef struct chk_thread {
    uint32_t go;              /* futex: the baton was handed to this thread */
    int state;
    int helper;
    int dirty;                /* another thread wrote since this one's last wait point */
    int timed_out;
    int may_time_out;         /* another thread performed a step since this one began waiting */
    const void *wait_on;      /* ST_COND/ST_TIMED: the condition; ST_BLOCK: the mutex */
    uint64_t wait_seq;        /* order of condition waits (a signal wakes the oldest) */
    /* the primitive this thread performs when it is next chosen */
    int pend_op, pend_mo, pend_line;
    const char *pend_file;
    const void *pend_addr;
    uint32_t pend_size;       /* bytes at pend_addr (0: the primitive touches no memory) */
    int64_t prio, buf_prio;   /* PCT */
    chk_bufent buf[RS_CHK_BUF];
    uint32_t bhead, blen;
    jmp_buf unwind;
    pthread_t th;
    int joined;
    void *(*fn)(void *);
    void *arg;
    rs_thread *worker;
} chk_thread;

typedef struct chk_mutex {
    const void *addr;
    int owner;                /* thread index, -1: free */
} chk_mutex;

static struct {
    int mode;
    const rs_check_cfg *cfg;
    rs_run *run;
    chk_thread *t[RS_CHK_MAX_THREADS];
    uint32_t n, workers_left;
    int cur;
    uint64_t pos;             /* next entry of cfg->choices */
    uint64_t steps;
    uint64_t waits;           /* condition waits begun: orders the waiters of one condition */
    rs_check_step *log;
    uint64_t log_cap;
    int64_t first_uaf, first_df;
    int verdict;
    chk_mutex mutex[RS_CHK_MAX_MUTEX];
    uint32_t nmutex;
    uint64_t rng;             /* PCT */
    uint64_t change[64];
    uint32_t nchange;
    int64_t low;              /* PCT: next priority given at a change point */
    uint32_t done;            /* futex: the main thread may go on */
    uint64_t sleep;           /* sleep sets: the sleeping threads (bit = index) */
    uint64_t ndec;            /* decisions so far: the index into cfg->sleep_add */
    const char *race_file;    /* C11: the racing access's source (verdict DATA_RACE) */
    int race_line;
    pthread_mutex_t free_lock;/* guards mutex[] in MODE_FREE */
} G = {.free_lock = PTHREAD_MUTEX_INITIALIZER};

static pthread_mutex_t rs_chk_run_lock = PTHREAD_MUTEX_INITIALIZER; /* one checked run at a time */
static __thread chk_thread *rs_chk_self;

/* ---- futex baton ------------------------------------------------------------------------------ */

static void chk_futex_wait(uint32_t *w)
{
    while (!__atomic_load_n(w, __ATOMIC_ACQUIRE))
        syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    __atomic_store_n(w, 0, __ATOMIC_RELAXED);
}

static void chk_futex_post(uint32_t *w)
{
    __atomic_store_n(w, 1, __ATOMIC_RELEASE);
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Wait for the baton; unwind when the run was aborted meanwhile. */
static void chk_wait_turn(chk_thread *me)
{
    chk_futex_wait(&me->go);
    if (__atomic_load_n(&G.mode, __ATOMIC_ACQUIRE) == MODE_ABORT)
        longjmp(me->unwind, 1);
}

/* ---- memory ----------------------------------------------------------------------------------- */

static void chk_mem_read(const void *p, uint32_t size, void *out)
{
    switch (size) {
    case 1: *(uint8_t *)out = __atomic_load_n((const uint8_t *)p, __ATOMIC_SEQ_CST); break;
    case 2: *(uint16_t *)out = __atomic_load_n((const uint16_t *)p, __ATOMIC_SEQ_CST); break;
    case 4: *(uint32_t *)out = __atomic_load_n((const uint32_t *)p, __ATOMIC_SEQ_CST); break;
    case 8: *(uint64_t *)out = __atomic_load_n((const uint64_t *)p, __ATOMIC_SEQ_CST); break;
    default: memcpy(out, p, size);
    }
}

static void chk_mem_write(void *p, uint32_t size, const void *v)
{
    switch (size) {
    case 1: __atomic_store_n((uint8_t *)p, *(const uint8_t *)v, __ATOMIC_SEQ_CST); break;
    case 2: __atomic_store_n((uint16_t *)p, *(const uint16_t *)v, __ATOMIC_SEQ_CST); break;
    case 4: __atomic_store_n((uint32_t *)p, *(const uint32_t *)v, __ATOMIC_SEQ_CST); break;
    case 8: __atomic_store_n((uint64_t *)p, *(const uint64_t *)v, __ATOMIC_SEQ_CST); break;
    default: memcpy(p, v, size);
    }
}

static int chk_scheduled(void) { return rs_chk_self && G.mode == MODE_SCHED; }

/* A write became visible: every other thread's wait point sees it; parked ones may run again. */
static void chk_written(int writer)
{
    for (uint32_t i = 0; i < G.n; i++) {
        chk_thread *t = G.t[i];
        if ((int)i == writer)
            continue;
        t->dirty = 1;
        if (t->state == ST_PARK || (t->state == ST_TIMED && t->pend_op == RS_CHK_NAP))
            t->state = ST_RUN;
    }
}

static int chk_index(const chk_thread *me)
{
    for (uint32_t i = 0; i < G.n; i++)
        if (G.t[i] == me)
            return (int)i;
    return -1;
}

static void chk_drain_one(int i)
{
    chk_thread *t = G.t[i];
    chk_bufent *s = &t->buf[t->bhead];
    chk_mem_write(s->addr, s->size, &s->val);
    t->bhead = (t->bhead + 1) % RS_CHK_BUF;
    t->blen--;
    chk_written(i);
}

static void chk_drain_all(int i)
{
    while (G.t[i]->blen)
        chk_drain_one(i);
}

/* ---- the log ---------------------------------------------------------------------------------- */

typedef struct chk_opt {
    int kind, thread;
} chk_opt;

static int32_t chk_obj_of(const void *p)
{
    const rs_arena *a = &G.run->arena;
    if (!p || (const char *)p < a->base || (const char *)p >= a->base + (size_t)a->capacity * a->stride)
        return -1;
    return (int32_t)(((const char *)p - a->base) / a->stride);
}

static void chk_log(int thread, int op, int mo, const char *file, int line, const void *addr,
                    uint32_t size, int cur, const chk_opt *opt, uint32_t nopts, uint32_t choice,
                    int cur_runnable, uint32_t drain_from, uint64_t asleep)
{
    if (G.steps == G.log_cap) {
        uint64_t cap = G.log_cap ? 2 * G.log_cap : 4096;
        rs_check_step *nl = (rs_check_step *)realloc(G.log, cap * sizeof *nl);
        if (!nl)
            return; /* the log is cut; the run goes on */
        G.log = nl;
        G.log_cap = cap;
    }
    rs_check_step *s = &G.log[G.steps];
    s->file = file;
    s->line = (uint32_t)line;
    s->thread = (uint16_t)thread;
    s->op = (uint16_t)op;
    s->mo = (uint16_t)mo;
    s->nopts = (uint16_t)(nopts > 65535 ? 65535 : nopts);
    s->choice = (uint16_t)choice;
    s->cur_runnable = (uint8_t)cur_runnable;
    s->drain_from = (uint8_t)(drain_from > 255 ? 255 : drain_from);
    s->obj = chk_obj_of(addr);
    s->cur = (int16_t)cur;
    s->size = size;
    s->addr = (uint64_t)(uintptr_t)addr;
    s->runnable = 0;
    for (uint32_t k = 0; k < drain_from; k++)
        s->runnable |= 1ULL << opt[k].thread;
    s->asleep = asleep;
    s->rf = -2;
}

/* ---- scheduling ------------------------------------------------------------------------------- */

/* Thread i performs a step: every other timed wait may now time out. A timeout is a choice only
 * after such progress (a real timeout takes time, in which others run), so a waiter cannot
 * time out over and over while the thread it waits for never runs. */
static void chk_progress(int i)
{
    for (uint32_t k = 0; k < G.n; k++)
        if ((int)k != i && G.t[k]->state == ST_TIMED)
            G.t[k]->may_time_out = 1;
}

/* Nothing else can happen: every timed wait may time out. Returns whether there is one. */
static int chk_allow_timeouts(void)
{
    int any = 0;
    for (uint32_t k = 0; k < G.n; k++)
        if (G.t[k]->state == ST_TIMED && !G.t[k]->may_time_out)
            any = G.t[k]->may_time_out = 1;
    return any;
}

static uint32_t chk_options(int cur, chk_opt *opt, uint32_t *drain_from)
{
    uint32_t n = 0;
    if (cur >= 0 && G.t[cur]->state == ST_RUN)
        opt[n++] = (chk_opt){OPT_RUN, cur};
    /* The others round-robin from the current one: when a thread waits, the default hands on to
     * the next thread, so waiters that wake each other cannot starve a third. */
    for (uint32_t k = 1; k <= G.n; k++) {
        uint32_t i = (uint32_t)(cur + (int)k + (int)G.n) % G.n;
        if ((int)i != cur && G.t[i]->state == ST_RUN)
            opt[n++] = (chk_opt){OPT_RUN, (int)i};
    }
    *drain_from = n;
    for (uint32_t i = 0; i < G.n; i++)
        if (G.t[i]->state == ST_TIMED && G.t[i]->may_time_out)
            opt[n++] = (chk_opt){OPT_TIMEOUT, (int)i};
    if (G.cfg->tso)
        for (uint32_t i = 0; i < G.n; i++)
            if (G.t[i]->blen)
                opt[n++] = (chk_opt){OPT_DRAIN, (int)i};
    return n;
}

static int64_t chk_opt_prio(const chk_opt *o)
{
    return o->kind == OPT_DRAIN ? G.t[o->thread]->buf_prio : G.t[o->thread]->prio;
}

static uint32_t chk_choose(const chk_opt *opt, uint32_t n)
{
    if (G.cfg->mode == RS_CHECK_PCT) {
        /* At a change point the running thread drops below every initial priority. */
        for (uint32_t i = 0; i < G.nchange; i++)
            if (G.change[i] == G.steps && opt[0].kind == OPT_RUN)
                G.t[opt[0].thread]->prio = G.low--;
        uint32_t best = 0;
        for (uint32_t i = 1; i < n; i++)
            if (chk_opt_prio(&opt[i]) > chk_opt_prio(&opt[best]))
                best = i;
        return best;
    }
    if (G.pos < G.cfg->nchoices)
        return G.cfg->choices[G.pos++] % n;
    return 0;
}

/* ---- sleep sets (SC only) ---------------------------------------------------------------------- */

/* Whether the pending primitives of a and b may not commute. */
static int chk_dependent(const chk_thread *a, const chk_thread *b)
{
    int ca = chk_dep_class(a->pend_op), cb = chk_dep_class(b->pend_op);
    if (ca == DEP_NONE || cb == DEP_NONE)
        return 0;
    if (ca == DEP_ALL || cb == DEP_ALL)
        return 1;
    if (ca == DEP_WAIT || cb == DEP_WAIT)
        return ca == DEP_WRITE || cb == DEP_WRITE;
    if (ca == DEP_READ && cb == DEP_READ)
        return 0;
    const char *pa = (const char *)a->pend_addr, *pb = (const char *)b->pend_addr;
    return pa < pb + b->pend_size && pb < pa + a->pend_size;
}

/* At a scheduling point: the threads of the options the exploration already ran from this
 * decision fall asleep; returns the options (bit = index) whose thread sleeps, before that. */
static uint64_t chk_sleep_enter(const chk_opt *opt, uint32_t n, uint32_t drain_from)
{
    if (!G.cfg->sleep_add)
        return 0;
    uint64_t asleep = 0, add = 0;
    for (uint32_t k = 0; k < drain_from && k < 64; k++)
        if (G.sleep >> opt[k].thread & 1)
            asleep |= 1ULL << k;
    if (n > 1 && G.ndec < G.cfg->nsleep_add)
        add = G.cfg->sleep_add[G.ndec];
    if (n > 1)
        G.ndec++;
    for (uint32_t k = 0; k < drain_from && k < 64; k++)
        if (add >> k & 1)
            G.sleep |= 1ULL << opt[k].thread;
    return asleep;
}

/* Option o was chosen: the sleepers whose pending primitive it does not commute with wake.
 * Returns 0 if o steps a sleeping thread: the run is equivalent to one already explored. */
static int chk_sleep_step(const chk_opt *o)
{
    if (!G.cfg->sleep_add || !G.sleep)
        return 1;
    if (o->kind != OPT_RUN) { /* a timeout or a drain: conservatively dependent with all */
        G.sleep = 0;
        return 1;
    }
    if (G.sleep >> o->thread & 1)
        return 0;
    const chk_thread *t = G.t[o->thread];
    for (uint32_t q = 0; q < G.n; q++)
        if ((G.sleep >> q & 1) && chk_dependent(G.t[q], t))
            G.sleep &= ~(1ULL << q);
    return 1;
}

/* ---- races (partial-order reduction, cfg->races: src/check_races.c) ---------------------------- */

/* Races of the step just logged (if the log holds it). */
static void chk_race_logged(int q, int op, const void *addr, uint32_t size)
{
    if (G.steps < G.log_cap)
        chk_race_step(&G.log[G.steps], G.steps, q, op, addr, size, G.n);
    else
        chk_races_fail();
}

static void chk_abort(int verdict);

/* The scheduling point of `me` (its pending primitive is recorded, or it is no longer runnable).
 * Returns when `me` is chosen; never returns for a finished thread. */
static void chk_schedule(chk_thread *me)
{
    int cur = chk_index(me);
    for (;;) {
        if (G.steps >= G.cfg->max_steps)
            chk_abort(RS_CHECK_STEP_BOUND);
        chk_opt opt[3 * RS_CHK_MAX_THREADS];
        uint32_t drain_from, n = chk_options(cur, opt, &drain_from);
        if (n == 0 && chk_allow_timeouts())
            n = chk_options(cur, opt, &drain_from);
        if (n == 0)
            chk_abort(RS_CHECK_DEADLOCK);
        uint64_t asleep = chk_sleep_enter(opt, n, drain_from);
        uint32_t c = n > 1 ? chk_choose(opt, n) : 0;
        int cur_runnable = cur >= 0 && G.t[cur]->state == ST_RUN;
        chk_opt o = opt[c];
        chk_thread *t = G.t[o.thread];
        int awake = chk_sleep_step(&o);
        if (o.kind == OPT_DRAIN) {
            chk_bufent *s = &t->buf[t->bhead];
            chk_log(o.thread, RS_CHK_DRAIN, RS_MO_PLAIN, s->file, s->line, s->addr, s->size, cur, opt, n, c,
                    cur_runnable, drain_from, asleep);
            chk_race_logged(o.thread, RS_CHK_DRAIN, s->addr, s->size);
            G.steps++;
            chk_drain_one(o.thread);
            continue;
        }
        if (o.kind == OPT_TIMEOUT) {
            t->state = ST_RUN;
            t->timed_out = 1;
        }
        chk_log(o.thread, o.kind == OPT_TIMEOUT ? RS_CHK_TIMEOUT : t->pend_op, t->pend_mo, t->pend_file,
                t->pend_line, o.kind == OPT_TIMEOUT ? t->wait_on : t->pend_addr,
                o.kind == OPT_TIMEOUT ? 0 : t->pend_size, cur, opt, n, c, cur_runnable, drain_from, asleep);
        chk_race_logged(o.thread, o.kind == OPT_TIMEOUT ? RS_CHK_TIMEOUT : t->pend_op,
                        o.kind == OPT_TIMEOUT ? NULL : t->pend_addr, o.kind == OPT_TIMEOUT ? 0 : t->pend_size);
        G.steps++;
        if (!awake)
            chk_abort(RS_CHECK_PRUNED);
        if (o.kind == OPT_RUN)
            chk_progress(o.thread);
        if (t == me)
            return;
        G.cur = o.thread;
        chk_futex_post(&t->go);
        if (me->state == ST_DONE)
            return; /* a finished thread hands the baton on and leaves */
        chk_wait_turn(me);
        return;
    }
}

/* Record the pending primitive of the running thread and reach its scheduling point. */
static void chk_point(chk_thread *me, int op, int mo, const char *file, int line, const void *addr,
                      uint32_t size)
{
    me->pend_size = size;
    me->pend_op = op;
    me->pend_mo = mo;
    me->pend_file = file;
    me->pend_line = line;
    me->pend_addr = addr;
    chk_schedule(me);
}

static void chk_abort(int verdict)
{
    G.verdict = verdict;
    __atomic_store_n(&G.mode, MODE_ABORT, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < G.n; i++)
        if (G.t[i] != rs_chk_self)
            chk_futex_post(&G.t[i]->go);
    chk_futex_post(&G.done);
    longjmp(rs_chk_self->unwind, 1);
}

/* Every worker has finished: make every buffered store visible and let helpers run free. */
static void chk_finish_workers(void)
{
    uint64_t running = 0;
    for (uint32_t q = 0; q < G.n; q++)
        if (G.t[q]->state == ST_RUN)
            running |= 1ULL << q;
    chk_race_end(G.n, running);
    for (uint32_t i = 0; i < G.n; i++)
        chk_drain_all((int)i);
    __atomic_store_n(&G.mode, MODE_FREE, __ATOMIC_RELEASE);
    for (uint32_t i = 0; i < G.n; i++)
        if (G.t[i] != rs_chk_self && G.t[i]->state != ST_DONE)
            chk_futex_post(&G.t[i]->go);
    chk_futex_post(&G.done);
}

/* ---- the primitives --------------------------------------------------------------------------- */

static void chk_tso_push(chk_thread *me, void *p, uint32_t size, const void *v, const char *file, int line)
{
    int i = chk_index(me);
    if (me->blen == RS_CHK_BUF)
        chk_drain_one(i);
    chk_bufent *s = &me->buf[(me->bhead + me->blen) % RS_CHK_BUF];
    s->addr = p;
    s->size = size;
    s->val = 0;
    memcpy(&s->val, v, size);
    s->file = file;
    s->line = line;
    me->blen++;
}

/* TSO: the newest buffered store to exactly p, or NULL (after draining on a partial overlap). */
static const chk_bufent *chk_tso_lookup(chk_thread *me, const void *p, uint32_t size)
{
    for (uint32_t k = me->blen; k-- > 0;) {
        const chk_bufent *s = &me->buf[(me->bhead + k) % RS_CHK_BUF];
        const char *a = (const char *)s->addr, *b = (const char *)p;
        if (a == b && s->size == size)
            return s;
        if (a < b + size && b < a + s->size) {
            chk_drain_all(chk_index(me));
            return NULL;
        }
    }
    return NULL;
}

/* ---- C11 (cfg->c11: src/check_c11.c) ---------------------------------------------------------- */

/* The step just logged: the access of the thread that holds the baton. */
static int32_t chk_here(void) { return G.steps ? (int32_t)(G.steps - 1) : -1; }

static void chk_set_rf(int32_t step, int32_t rf)
{
    if (step >= 0 && (uint64_t)step < G.log_cap && (uint64_t)step < G.steps)
        G.log[step].rf = rf;
}

/* Race-check thread i's access (its source file:line); a race ends the run. */
static void chk_c11_check(int i, const void *p, uint32_t size, int kind, const char *file, int line)
{
    if (!chk_c11_access(i, p, size, kind, chk_here()))
        return;
    G.race_file = file;
    G.race_line = line;
    chk_abort(RS_CHECK_DATA_RACE);
}

/* The decision of which of k stores the running thread's load reads (0: the latest). */
static uint32_t chk_read_from(int i, uint32_t k, const void *p, uint32_t size)
{
    if (G.steps >= G.cfg->max_steps)
        chk_abort(RS_CHECK_STEP_BOUND);
    chk_opt opt[RS_CHK_MAX_THREADS];
    k = k < RS_CHK_MAX_THREADS ? k : RS_CHK_MAX_THREADS;
    for (uint32_t o = 0; o < k; o++)
        opt[o] = (chk_opt){OPT_RUN, i};
    uint32_t c = 0;
    if (G.cfg->mode == RS_CHECK_PCT) {
        uint64_t x = rs_rand(&G.rng);
        c = x & 1 ? 0 : (uint32_t)((x >> 1) % k);
    } else if (G.pos < G.cfg->nchoices) {
        c = G.cfg->choices[G.pos++] % k;
    }
    const chk_thread *me = G.t[i];
    chk_log(i, RS_CHK_READ_FROM, me->pend_mo, me->pend_file, me->pend_line, p, size, i, opt, k, c, 1, k, 0);
    G.steps++;
    return c;
}

/* A load under C11: the store it reads is a decision when there is more than one. */
static void chk_c11_read(chk_thread *me, const void *p, uint32_t size, void *out, int mo)
{
    int i = chk_index(me);
    int32_t at = chk_here(), rf;
    uint32_t k = chk_c11_load_options(i, p, size, mo);
    uint32_t pick = k > 1 ? chk_read_from(i, k, p, size) : 0;
    if (!chk_c11_load(i, p, size, mo, pick, out, &rf)) {
        chk_mem_read(p, size, out);
        rf = -2; /* no history kept (wider than 8 bytes) */
    }
    if (pick)
        me->dirty = 1; /* a newer store is there to read: its next wait does not park it */
    chk_set_rf(at, rf);
    if (k > 1)
        chk_set_rf(at + 1, rf);
    chk_c11_check(i, p, size, mo == RS_MO_PLAIN ? RS_C11_PLAIN_READ : RS_C11_ATOMIC_READ, me->pend_file,
                  me->pend_line);
}

static void chk_load(const void *p, uint32_t size, void *out, int mo, const char *file, int line)
{
    chk_thread *me = rs_chk_self;
    if (chk_scheduled()) {
        chk_point(me, RS_CHK_LOAD, mo, file, line, p, size);
        if (G.mode == MODE_SCHED && G.cfg->c11) {
            chk_c11_read(me, p, size, out, mo);
            return;
        }
        if (G.mode == MODE_SCHED && G.cfg->tso && size <= 8) {
            const chk_bufent *s = chk_tso_lookup(me, p, size);
            if (s) {
                memcpy(out, &s->val, size);
                return;
            }
        }
    }
    chk_mem_read(p, size, out);
}

static void chk_store(void *p, uint32_t size, const void *v, int mo, const char *file, int line)
{
    chk_thread *me = rs_chk_self;
    if (chk_scheduled()) {
        chk_point(me, RS_CHK_STORE, mo, file, line, p, size);
        if (G.mode == MODE_SCHED) {
            if (G.cfg->tso && mo != RS_MO_SEQ_CST && size <= 8) {
                chk_tso_push(me, p, size, v, file, line);
                return;
            }
            int i = chk_index(me);
            chk_drain_all(i);
            if (G.cfg->c11) {
                uint64_t v64 = 0;
                memcpy(&v64, v, size <= 8 ? size : 0);
                chk_c11_store(i, p, size, v64, mo, chk_here());
            }
            chk_mem_write(p, size, v);
            chk_written(i);
            if (G.cfg->c11)
                chk_c11_check(i, p, size, mo == RS_MO_PLAIN ? RS_C11_PLAIN_WRITE : RS_C11_ATOMIC_WRITE, file, line);
            return;
        }
    }
    chk_mem_write(p, size, v);
}

/* Drain the caller's buffer before a locked instruction; returns the caller's index. */
static int chk_locked_op(chk_thread *me, int op, int mo, const char *file, int line, const void *p,
                         uint32_t size)
{
    chk_point(me, op, mo, file, line, p, size);
    int i = chk_index(me);
    if (G.mode == MODE_SCHED)
        chk_drain_all(i);
    return i;
}

static uint64_t chk_mask(uint32_t size) { return size >= 8 ? ~0ULL : (1ULL << (8 * size)) - 1; }

static uint64_t chk_rmw_free(void *p, uint32_t size, int op, uint64_t v)
{
    switch (size) {
    case 4:
        return op == RS_CHK_FAA ? __atomic_fetch_add((uint32_t *)p, (uint32_t)v, __ATOMIC_SEQ_CST)
                                : __atomic_exchange_n((uint32_t *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
    case 8:
        return op == RS_CHK_FAA ? __atomic_fetch_add((uint64_t *)p, v, __ATOMIC_SEQ_CST)
                                : __atomic_exchange_n((uint64_t *)p, v, __ATOMIC_SEQ_CST);
    default: {
        uint64_t old = 0, nv;
        chk_mem_read(p, size, &old);
        nv = op == RS_CHK_FAA ? old + v : v;
        chk_mem_write(p, size, &nv);
        return old & chk_mask(size);
    }
    }
}

static uint64_t chk_rmw(void *p, uint32_t size, int op, uint64_t v, int mo, const char *file, int line)
{
    chk_thread *me = rs_chk_self;
    if (chk_scheduled()) {
        int i = chk_locked_op(me, op, mo, file, line, p, size);
        if (G.mode == MODE_SCHED) {
            uint64_t old = 0, nv;
            chk_mem_read(p, size, &old);
            nv = (op == RS_CHK_FAA ? old + v : v) & chk_mask(size);
            if (G.cfg->c11) {
                chk_set_rf(chk_here(), chk_c11_rmw(i, p, size, nv, 1, mo, chk_here()));
                chk_c11_check(i, p, size, RS_C11_ATOMIC_WRITE, file, line);
            }
            chk_mem_write(p, size, &nv);
            chk_written(i);
            return old;
        }
    }
    return chk_rmw_free(p, size, op, v);
}

static int chk_cas(void *p, uint32_t size, void *expected, uint64_t desired, int strong, int mo,
                   int mo_fail, const char *file, int line)
{
    chk_thread *me = rs_chk_self;
    if (chk_scheduled()) {
        int i = chk_locked_op(me, strong ? RS_CHK_CAS_STRONG : RS_CHK_CAS, mo, file, line, p, size);
        if (G.mode == MODE_SCHED) {
            uint64_t cur = 0, exp = 0;
            chk_mem_read(p, size, &cur);
            memcpy(&exp, expected, size);
            if (G.cfg->c11) {
                int ok = cur == exp;
                chk_set_rf(chk_here(), chk_c11_rmw(i, p, size, desired, ok, ok ? mo : mo_fail, chk_here()));
                chk_c11_check(i, p, size, ok ? RS_C11_ATOMIC_WRITE : RS_C11_ATOMIC_READ, file, line);
            }
            if (cur != exp) {
                memcpy(expected, &cur, size);
                return 0;
            }
            chk_mem_write(p, size, &desired);
            chk_written(i);
            return 1;
        }
    }
    switch (size) {
    case 4: return __atomic_compare_exchange_n((uint32_t *)p, (uint32_t *)expected, (uint32_t)desired, 0,
                                               __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    case 8: return __atomic_compare_exchange_n((uint64_t *)p, (uint64_t *)expected, desired, 0,
                                               __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    default: return __atomic_compare_exchange((uint16_t *)p, (uint16_t *)expected, (uint16_t *)&desired, 0,
                                              __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
}

static void chk_fence(int mo, const char *file, int line)
{
    if (chk_scheduled()) {
        int i = chk_locked_op(rs_chk_self, RS_CHK_FENCE, mo, file, line, NULL, 0);
        if (G.mode == MODE_SCHED && G.cfg->c11)
            chk_c11_fence(i, mo);
    } else
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static chk_mutex *chk_mutex_of(const void *m)
{
    for (uint32_t i = 0; i < G.nmutex; i++)
        if (G.mutex[i].addr == m)
            return &G.mutex[i];
    if (G.nmutex == RS_CHK_MAX_MUTEX)
        return NULL;
    G.mutex[G.nmutex] = (chk_mutex){m, -1};
    chk_c11_mutex_new(G.nmutex);
    return &G.mutex[G.nmutex++];
}

/* Outside the scheduler (helpers after the workers, or no checked run): a spin lock on the
 * scheduler's own state, never the pthread mutex, whose state the scheduler does not keep. */
static void chk_mutex_free(pthread_mutex_t *m, int op)
{
    pthread_mutex_lock(&G.free_lock);
    chk_mutex *x = chk_mutex_of(m);
    pthread_mutex_unlock(&G.free_lock);
    if (!x) {
        op == RS_CHK_LOCK ? pthread_mutex_lock(m) : pthread_mutex_unlock(m);
        return;
    }
    if (op == RS_CHK_UNLOCK) {
        __atomic_store_n(&x->owner, -1, __ATOMIC_RELEASE);
        return;
    }
    int freev = -1;
    while (!__atomic_compare_exchange_n(&x->owner, &freev, RS_CHK_MAX_THREADS, 0, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
        freev = -1;
        sched_yield();
    }
}

static void chk_unlock(int i, chk_mutex *x)
{
    x->owner = -1;
    if (G.cfg->c11)
        chk_c11_unlock(i, (uint32_t)(x - G.mutex));
    for (uint32_t k = 0; k < G.n; k++)
        if (G.t[k]->state == ST_BLOCK && G.t[k]->wait_on == x->addr)
            G.t[k]->state = ST_RUN;
    chk_written(i);
}

static void chk_mutex_op(pthread_mutex_t *m, int op, const char *file, int line)
{
    chk_thread *me = rs_chk_self;
    if (!chk_scheduled()) {
        chk_mutex_free(m, op);
        return;
    }
    int i = chk_locked_op(me, op, RS_MO_SEQ_CST, file, line, m, 1);
    for (;;) {
        if (G.mode != MODE_SCHED) {
            chk_mutex_free(m, op);
            return;
        }
        chk_mutex *x = chk_mutex_of(m);
        if (!x) {
            fprintf(stderr, "refstrat check: more than %d mutexes\n", RS_CHK_MAX_MUTEX);
            chk_abort(RS_CHECK_STEP_BOUND);
        }
        if (op == RS_CHK_UNLOCK) {
            chk_unlock(i, x);
            return;
        }
        if (x->owner < 0) {
            x->owner = i;
            if (G.cfg->c11)
                chk_c11_lock(i, (uint32_t)(x - G.mutex));
            return;
        }
        me->state = ST_BLOCK;
        me->wait_on = m;
        chk_schedule(me); /* returns once the mutex was released and this thread chosen */
    }
}

static void chk_wake_cond(const void *c, int all)
{
    chk_thread *oldest = NULL;
    for (uint32_t k = 0; k < G.n; k++) {
        chk_thread *t = G.t[k];
        if ((t->state == ST_COND || t->state == ST_TIMED) && t->wait_on == c) {
            if (all)
                t->state = ST_RUN;
            else if (!oldest || t->wait_seq < oldest->wait_seq)
                oldest = t;
        }
    }
    if (oldest)
        oldest->state = ST_RUN;
}

static int chk_cond(pthread_cond_t *c, pthread_mutex_t *m, int op, const char *file, int line)
{
    chk_thread *me = rs_chk_self;
    if (!chk_scheduled()) {
        if (op == RS_CHK_WAIT || op == RS_CHK_TIMEDWAIT) { /* a spurious wake-up: callers loop */
            chk_mutex_op(m, RS_CHK_UNLOCK, file, line);
            sched_yield();
            chk_mutex_op(m, RS_CHK_LOCK, file, line);
        }
        return 0;
    }
    int i = chk_locked_op(me, op, RS_MO_SEQ_CST, file, line, c, 1);
    if (G.mode != MODE_SCHED)
        return chk_cond(c, m, op, file, line);
    if (op == RS_CHK_SIGNAL || op == RS_CHK_BROADCAST) {
        chk_wake_cond(c, op == RS_CHK_BROADCAST);
        chk_written(i);
        return 0;
    }
    chk_mutex *x = chk_mutex_of(m);
    if (x)
        chk_unlock(i, x);
    me->state = op == RS_CHK_TIMEDWAIT ? ST_TIMED : ST_COND;
    me->may_time_out = 0;
    /* PCT: a waiter gives way, as a spinner does (chk_pause). Keeping its priority, two timed
     * waiters outrank the runnable thread they wait for: each one's timeout lets the other time
     * out (chk_progress), so they alternate forever and starve it (issue 31: gil's holder, empty
     * programs of 3-4 threads), a schedule no fair scheduler makes, since a timeout takes time. */
    if (G.cfg->mode == RS_CHECK_PCT)
        me->prio = G.low--;
    me->wait_on = c;
    me->wait_seq = G.waits++;
    me->timed_out = 0;
    chk_schedule(me);
    int timed_out = me->timed_out;
    chk_mutex_op(m, RS_CHK_LOCK, file, line);
    return timed_out ? ETIMEDOUT : 0;
}

static void chk_pause(int op, const char *file, int line)
{
    chk_thread *me = rs_chk_self;
    if (!chk_scheduled()) {
        if (op == RS_CHK_SPIN)
            rs_cpu_relax();
        else
            sched_yield();
        return;
    }
    if (!me->dirty) {
        me->state = op == RS_CHK_NAP ? ST_TIMED : ST_PARK;
        me->may_time_out = 0;
    }
    if (G.cfg->mode == RS_CHECK_PCT) /* a waiting thread gives way (PCT assumes yields do) */
        me->prio = G.low--;
    me->wait_on = NULL;
    me->dirty = 0;
    chk_point(me, op, RS_MO_PLAIN, file, line, NULL, 0);
    me->dirty = 0;
}

static void chk_event(int ev)
{
    chk_thread *me = rs_chk_self;
    if (!chk_scheduled())
        return;
    int64_t *first = ev == RS_CHK_EV_UAF ? &G.first_uaf : &G.first_df;
    if (*first < 0) {
        int i = chk_index(me);
        for (uint64_t k = G.steps; k-- > 0;)
            if (G.log[k].thread == i) {
                *first = (int64_t)k;
                break;
            }
    }
}

/* ---- threads ---------------------------------------------------------------------------------- */

static chk_thread *chk_register(int helper)
{
    if (G.n == RS_CHK_MAX_THREADS)
        return NULL;
    chk_thread *t = (chk_thread *)calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->state = ST_RUN;
    t->helper = helper;
    t->dirty = 1;
    t->pend_op = RS_CHK_START;
    t->pend_mo = RS_MO_PLAIN;
    t->pend_file = "";
    t->prio = G.cfg && G.cfg->mode == RS_CHECK_PCT ? (int64_t)(rs_rand(&G.rng) >> 16) + (1LL << 50) : 0;
    t->buf_prio = G.cfg && G.cfg->mode == RS_CHECK_PCT ? (int64_t)(rs_rand(&G.rng) >> 16) + (1LL << 50) : 0;
    G.t[G.n++] = t;
    chk_c11_threads(G.n);
    return t;
}

/* A scheduled thread ends: its stores become visible; the last worker ends the scheduled part. */
static void chk_exit(chk_thread *me)
{
    if (G.mode != MODE_SCHED)
        return;
    int i = chk_index(me);
    chk_drain_all(i);
    me->state = ST_DONE;
    if (!me->helper && --G.workers_left == 0) {
        chk_finish_workers();
        return;
    }
    if (G.workers_left == 0)
        return;
    chk_schedule(me);
}

static void *chk_thread_main(void *arg)
{
    chk_thread *me = (chk_thread *)arg;
    rs_chk_self = me;
    if (setjmp(me->unwind) == 0) {
        chk_wait_turn(me);
        if (me->worker) {
            rs_thread *t = me->worker;
            rs_run *r = t->run;
            r->strategy->enter(t);
            rs_layers_enter(t);
            r->strategy->kernels[1][r->layers ? 1 : 0][RS_W_TRACE](t); /* the checked copy */
            rs_layers_leave(t);
            r->strategy->leave(t);
        } else {
            me->fn(me->arg);
        }
        chk_exit(me);
    }
    rs_chk_self = NULL;
    return NULL;
}

static int chk_spawn(chk_thread *t)
{
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 8u << 20);
    cpu_set_t allowed, one;
    if (sched_getaffinity(0, sizeof allowed, &allowed) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
            if (CPU_ISSET(cpu, &allowed)) {
                CPU_ZERO(&one);
                CPU_SET(cpu, &one);
                pthread_attr_setaffinity_np(&attr, sizeof one, &one); /* best effort */
                break;
            }
    }
    int rc = pthread_create(&t->th, &attr, chk_thread_main, t);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        rc = pthread_create(&t->th, NULL, chk_thread_main, t);
    }
    return rc;
}

static int chk_thread_create(pthread_t *th, void *(*fn)(void *), void *arg)
{
    if (G.mode != MODE_SCHED && G.mode != MODE_IDLE)
        return pthread_create(th, NULL, fn, arg);
    if (!G.cfg) /* not inside rs_check_execute */
        return pthread_create(th, NULL, fn, arg);
    chk_thread *t = chk_register(1);
    if (!t)
        return EAGAIN;
    t->fn = fn;
    t->arg = arg;
    if (chk_scheduled())
        chk_c11_spawn(chk_index(rs_chk_self), (int)G.n - 1);
    int rc = chk_spawn(t);
    if (rc == 0)
        *th = t->th;
    else
        G.n--;
    return rc;
}

static void chk_thread_join(pthread_t th)
{
    for (uint32_t i = 0; i < G.n; i++)
        if (G.t[i]->helper && pthread_equal(G.t[i]->th, th)) {
            if (!G.t[i]->joined)
                pthread_join(th, NULL);
            G.t[i]->joined = 1;
            if (chk_scheduled())
                chk_c11_join(chk_index(rs_chk_self), (int)i);
            return;
        }
    pthread_join(th, NULL);
}

/* The arena frees the object at p: under C11, a write to all of it (no scheduling point: it is
 * part of the step that decided the free). */
static void chk_free_access(const void *p, uint32_t size, const char *file, int line)
{
    if (chk_scheduled() && G.cfg->c11)
        chk_c11_check(chk_index(rs_chk_self), p, size, RS_C11_FREE, file, line);
}

static const rs_chk_api rs_chk_impl = {
    RS_CHK_API_VERSION, chk_load, chk_store, chk_rmw, chk_cas, chk_fence, chk_mutex_op, chk_cond,
    chk_pause, chk_thread_create, chk_thread_join, chk_event, chk_free_access,
};

const rs_chk_api *rs_chk_api_ptr __attribute__((visibility("hidden"))) = &rs_chk_impl;

const rs_chk_api *rs_check_api(void) { return &rs_chk_impl; }

/* ---- the runner ------------------------------------------------------------------------------- */

static void chk_pct_setup(const rs_check_cfg *cfg)
{
    G.rng = cfg->seed * 0x9E3779B97F4A7C15ULL + 1;
    G.nchange = 0;
    G.low = (int64_t)cfg->pct_depth;
    uint64_t k = cfg->pct_steps ? cfg->pct_steps : 1;
    for (uint32_t i = 1; i < cfg->pct_depth && G.nchange < 64; i++)
        G.change[G.nchange++] = 1 + rs_rand(&G.rng) % k;
}

static void chk_reset(const rs_check_cfg *cfg, rs_run *r)
{
    for (uint32_t i = 0; i < G.n; i++)
        free(G.t[i]);
    G.n = 0;
    G.cfg = cfg;
    G.run = r;
    G.cur = -1;
    G.pos = 0;
    G.steps = 0;
    G.waits = 0;
    G.log = NULL;
    G.log_cap = 0;
    G.first_uaf = G.first_df = -1;
    G.verdict = RS_CHECK_DONE;
    G.nmutex = 0;
    G.done = 0;
    G.sleep = 0;
    G.ndec = 0;
    G.race_file = NULL;
    G.race_line = 0;
    chk_races_reset(cfg->races);
    chk_c11_reset(0);
    G.mode = MODE_IDLE;
    if (cfg->mode == RS_CHECK_PCT)
        chk_pct_setup(cfg);
}

/* The main thread's decision: which thread runs first. */
static void chk_start(void)
{
    chk_opt opt[3 * RS_CHK_MAX_THREADS];
    uint32_t drain_from, n = chk_options(-1, opt, &drain_from);
    uint64_t asleep = chk_sleep_enter(opt, n, drain_from);
    uint32_t c = n > 1 ? chk_choose(opt, n) : 0;
    chk_thread *t = G.t[opt[c].thread];
    chk_sleep_step(&opt[c]); /* every thread is awake at the start */
    chk_log(opt[c].thread, RS_CHK_START, RS_MO_PLAIN, "", 0, NULL, 0, -1, opt, n, c, 0, drain_from, asleep);
    chk_race_logged(opt[c].thread, RS_CHK_START, NULL, 0);
    G.steps++;
    G.cur = opt[c].thread;
    chk_futex_post(&t->go);
}

static void chk_join_all(void)
{
    for (uint32_t i = 0; i < G.n; i++)
        if (!G.t[i]->joined) {
            pthread_join(G.t[i]->th, NULL);
            G.t[i]->joined = 1;
        }
}

static int chk_refuse(rs_run *r, int code, const char *msg)
{
    rs_run_fail(r, code, msg);
    return r->error;
}

int rs_check_execute(rs_run *r, const rs_check_cfg *cfg, rs_check_out *out)
{
    memset(out, 0, sizeof *out);
    out->first_uaf_step = out->first_double_free_step = -1;
    if (r->p.workload != RS_W_TRACE)
        return chk_refuse(r, RS_ERR_CONFIG, "the check build runs the trace workload only");
    if (cfg->max_steps == 0)
        return chk_refuse(r, RS_ERR_CONFIG, "max_steps must be positive");
    if (cfg->mode != RS_CHECK_SEQ && cfg->mode != RS_CHECK_PCT)
        return chk_refuse(r, RS_ERR_CONFIG, "unknown check mode");
    if (cfg->mode == RS_CHECK_PCT && cfg->pct_depth < 1)
        return chk_refuse(r, RS_ERR_CONFIG, "PCT needs a depth of at least 1");
    if ((cfg->sleep_add || cfg->races) && (cfg->mode != RS_CHECK_SEQ || cfg->tso || cfg->c11))
        return chk_refuse(r, RS_ERR_CONFIG, "sleep sets and races need the sequential mode and SC memory");
    if (cfg->tso && cfg->c11)
        return chk_refuse(r, RS_ERR_CONFIG, "one memory model at a time: tso or c11");
    if (r->nthreads > RS_CHK_MAX_THREADS / 2)
        return chk_refuse(r, RS_ERR_CONFIG, "the check build runs at most 32 threads");
    pthread_mutex_lock(&rs_chk_run_lock);
    double t0 = rs_now();
    chk_reset(cfg, r);
    int err = 0;
    for (uint32_t i = 0; i < r->nthreads; i++)
        chk_register(0)->worker = &r->threads[i];
    G.workers_left = r->nthreads;
    if (r->strategy->start(r) != 0)
        err = chk_refuse(r, RS_ERR_NOMEM, "cannot start the strategy's helper thread");
    uint32_t spawned = r->nthreads;
    for (uint32_t i = 0; i < r->nthreads && !err; i++)
        if (chk_spawn(G.t[i]) != 0) {
            spawned = i;
            err = chk_refuse(r, RS_ERR_NOMEM, "cannot start a worker thread");
        }
    for (uint32_t i = spawned; i < r->nthreads; i++)
        G.t[i]->joined = 1; /* never started */
    if (err) {
        G.verdict = RS_CHECK_DONE;
        __atomic_store_n(&G.mode, MODE_ABORT, __ATOMIC_RELEASE);
        for (uint32_t i = 0; i < G.n; i++)
            chk_futex_post(&G.t[i]->go);
    } else {
        G.mode = MODE_SCHED;
        chk_start();
        chk_futex_wait(&G.done);
    }
    if (G.mode == MODE_ABORT) {
        chk_join_all();
    } else {
        for (uint32_t i = 0; i < r->nthreads; i++) {
            pthread_join(G.t[i]->th, NULL);
            G.t[i]->joined = 1;
        }
        rs_run_finish(r);
        chk_join_all();
    }
    out->verdict = G.verdict;
    out->nsteps = G.steps < G.log_cap ? G.steps : G.log_cap;
    out->steps = G.log;
    out->first_uaf_step = G.first_uaf;
    out->first_double_free_step = G.first_df;
    out->nthreads = G.n;
    out->seconds = rs_now() - t0;
    for (uint32_t q = 0; q < RS_CHK_MAX_THREADS; q++)
        out->end_race[q] = G.verdict == RS_CHECK_DONE ? chk_race_end_of(q) : -1;
    out->race_step[0] = out->race_step[1] = -1;
    if (G.verdict == RS_CHECK_DATA_RACE) {
        const chk_c11_race *x = chk_c11_race_found();
        for (int k = 0; k < 2; k++) {
            out->race_step[k] = x->step[k];
            out->race_thread[k] = x->thread[k];
            out->race_kind[k] = x->kind[k];
        }
        out->race_addr = x->addr;
        out->race_file[1] = G.race_file;
        out->race_line[1] = (uint32_t)G.race_line;
        uint64_t s0 = (uint64_t)x->step[0];
        out->race_file[0] = x->step[0] >= 0 && s0 < G.steps && s0 < G.log_cap ? G.log[s0].file : "";
        out->race_line[0] = x->step[0] >= 0 && s0 < G.steps && s0 < G.log_cap ? G.log[s0].line : 0;
    }
    if (cfg->c11 && chk_c11_failed() && !err) /* a store or race missing would hide executions */
        err = chk_refuse(r, RS_ERR_NOMEM, "out of memory for the C11 model");
    if (cfg->races && chk_races_failed() && !err) /* a race missing would hide schedules */
        err = chk_refuse(r, RS_ERR_NOMEM, "out of memory for the race detection");
    G.log = NULL;
    chk_reset(cfg, NULL);
    G.cfg = NULL;
    pthread_mutex_unlock(&rs_chk_run_lock);
    return err ? err : r->error;
}

void rs_check_free(rs_check_out *out)
{
    free(out->steps);
    out->steps = NULL;
}
