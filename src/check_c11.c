/* The check build's C11 memory model (rs_check_cfg.c11): what each load may read, the
 * happens-before order, and data races by it. Called by the scheduler (src/check.c) under its
 * baton, one thread at a time; calls no other unit.
 *
 * Invariant: memory always holds the latest store of every location in modification order (mo), so
 * read-modify-writes, the final scan and everything after the scheduled part read memory; this unit
 * keeps, per location (an address and a width, at most 8 bytes), the latest RS_C11_HISTORY stores
 * in mo, each with its value, its writer and step, its release clock and who has seen it.
 *
 * Happens-before is vector clocks (one per thread; a thread's own entry counts its memory events):
 *  - a release store's clock is its writer's; a relaxed store's is the writer's clock at its last
 *    release fence (empty if none); an RMW's is the clock of the store it read joined with its own
 *    (a release RMW) or its fence's: RMWs continue a release sequence, other stores end it (C++20,
 *    RC11: a relaxed store of the same thread no longer continues it);
 *  - an acquire load (or RMW) joins the clock of the store it reads; a relaxed one keeps it for the
 *    thread's next acquire fence;
 *  - rs_pr_fence_seq_cst is the only fence the primitives offer: an acquire fence, a join with one
 *    global SC clock both ways, then a release fence;
 *  - a mutex unlock releases to its lock's next acquire; a thread made by rs_pr_thread_create
 *    starts with its creator's clock, a join acquires the joined thread's. Everything before the
 *    scheduled part (the setup, the strategy's start) happens before every scheduled step.
 * Coherence: a load may read any store of its location's history from the latest back to the
 * newest one that is visible to it: written or read by an event that happens before the load (each
 * store keeps, per thread, the first event of that thread that wrote or read it). Loads read
 * only stores already executed, so no value comes out of thin air, and load buffering (LB's weak
 * outcome, a load reading a store po-later in another thread that itself depends on nothing) is
 * NOT modelled, as loom does not. Which store a load reads is the scheduler's decision
 * (RS_CHK_READ_FROM), option 0 the latest.
 *
 * Simplifications (each one removes behaviours, never adds one, so no false alarm comes of it):
 *  - seq_cst loads read the latest store (and acquire); seq_cst stores and RMWs are release and
 *    acq_rel; only the fence joins the SC clock. RC11's SC order over accesses is thus stronger
 *    here (SB and IRIW with seq_cst accesses are SC), and a seq_cst fence orders more than RC11
 *    says (it synchronises with every earlier seq_cst fence). A failed CAS and every RMW read the
 *    latest store. Plain loads read the latest store (if one races, the race is the report).
 *  - The history is bounded (RS_C11_HISTORY stores per location, as loom bounds it, there 7):
 *    older stores can no longer be read.
 *  - A location is one address and width: an access of another width at its address starts its
 *    history over from the latest store (keeping its clock, which orders more, never less);
 *    partially overlapping accesses at different addresses are not related (the primitives'
 *    users access every field at its one width). Wider accesses (> 8 bytes, plain only: the
 *    trace's handles) have no history and read memory.
 * Out of reach: load buffering; a relaxed or acquire load reading a store that is not yet
 * executed; weaker seq_cst; spurious CAS failures; mixed-size effects; stores evicted from the
 * history.
 *
 * Data races (C11 5.1.2.4): two accesses of different threads to overlapping bytes, at least one a
 * write and at least one plain (rs_pr_*_plain, or the arena's free: rs_pr_event_free, a write to the
 * whole object), neither happening before the other. Shadow memory per 8-byte block keeps the
 * latest write, the latest plain write and each thread's latest read, with the bytes each touched
 * (FastTrack's epochs, Flanagan and Freund, PLDI 2009, without its read-shared compaction); the
 * first race ends the run. A record is replaced by the next access of its kind to the block, so a
 * race with an older, replaced access of another field in the same block may be missed.
 *
 * Sources: C11 5.1.2.4; Lahav et al., "Repairing sequential consistency in C/C++11", PLDI 2017
 * (RC11); loom's src/rt (the bounded store history, reads-from as a scheduler choice, vector
 * clocks); Norris and Demsky, CDSChecker, OOPSLA 2013.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"

#define RS_C11_HISTORY 8 /* stores kept per location (loom: 7) */
#define RS_C11_MAX_MUTEX 256

typedef uint32_t chk_clock[RS_CHK_MAX_THREADS];

typedef struct chk_store {
    uint64_t val;
    int32_t thread;                    /* -1: the value before the first access */
    int32_t step;                      /* the log step that stored it; -1 before the run */
    uint32_t seen[RS_CHK_MAX_THREADS]; /* thread -> its first event that wrote or read it, 0 none */
    chk_clock rel;                     /* what an acquire reading it joins */
} chk_store;

typedef struct chk_loc {
    uint64_t addr;
    uint32_t size;
    uint64_t n;                        /* stores so far: the latest is h[(n - 1) % RS_C11_HISTORY] */
    chk_store h[RS_C11_HISTORY];
} chk_loc;

typedef struct chk_acc {
    uint32_t epoch;                    /* the accessing thread's event, 0: none */
    int32_t step;
    int32_t thread;
    uint8_t mask;                      /* bytes of the block */
    uint8_t kind;                      /* RS_C11_* */
} chk_acc;

typedef struct chk_shadow {
    uint64_t key;                      /* address >> 3 */
    chk_acc w, pw;                     /* the latest write, the latest plain write */
    chk_acc r[RS_CHK_MAX_THREADS];     /* thread -> its latest read */
} chk_shadow;

/* Open addressing from a key to an index into an array of the caller's (index + 1, 0 empty). */
typedef struct chk_map {
    uint64_t *key;
    uint32_t *val;
    uint32_t cap, n;
} chk_map;

static struct {
    uint32_t n;                        /* threads */
    chk_clock clk[RS_CHK_MAX_THREADS]; /* thread -> its clock */
    chk_clock fence_rel[RS_CHK_MAX_THREADS]; /* its clock at its last release fence */
    chk_clock fence_acq[RS_CHK_MAX_THREADS]; /* what its relaxed loads read: its next acquire fence joins it */
    chk_clock sc;                      /* the seq_cst fences' clock */
    chk_clock mutex[RS_C11_MAX_MUTEX]; /* mutex (the scheduler's index) -> its last unlock's clock */
    chk_loc *loc;
    uint32_t loc_cap;
    chk_map locs, shadows;
    chk_shadow *sh;
    uint32_t sh_cap;
    int failed;
    chk_c11_race race;
} M;

/* ---- maps ------------------------------------------------------------------------------------- */

static uint32_t chk_map_slot(uint64_t key, uint32_t cap)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

/* The index of key, or -1. */
static int64_t chk_map_get(const chk_map *m, uint64_t key)
{
    if (!m->cap)
        return -1;
    for (uint32_t i = chk_map_slot(key, m->cap); m->val[i]; i = (i + 1) & (m->cap - 1))
        if (m->key[i] == key)
            return m->val[i] - 1;
    return -1;
}

/* Add key -> m->n (the next index); 0 when memory runs out. */
static int chk_map_add(chk_map *m, uint64_t key)
{
    if (2 * (m->n + 1) > m->cap) {
        uint32_t cap = m->cap ? 2 * m->cap : 256;
        uint64_t *k = (uint64_t *)calloc(cap, sizeof *k);
        uint32_t *v = (uint32_t *)calloc(cap, sizeof *v);
        if (!k || !v) {
            free(k);
            free(v);
            return 0;
        }
        for (uint32_t j = 0; j < m->cap; j++)
            if (m->val[j]) {
                uint32_t i = chk_map_slot(m->key[j], cap);
                while (v[i])
                    i = (i + 1) & (cap - 1);
                k[i] = m->key[j];
                v[i] = m->val[j];
            }
        free(m->key);
        free(m->val);
        m->key = k;
        m->val = v;
        m->cap = cap;
    }
    uint32_t i = chk_map_slot(key, m->cap);
    while (m->val[i])
        i = (i + 1) & (m->cap - 1);
    m->key[i] = key;
    m->val[i] = ++m->n;
    return 1;
}

static void chk_map_clear(chk_map *m)
{
    if (m->cap)
        memset(m->val, 0, m->cap * sizeof *m->val);
    m->n = 0;
}

/* Room for element n of an array of `size`-byte elements; 0 when memory runs out. */
static int chk_grow(void **arr, uint32_t *cap, uint32_t n, size_t size)
{
    if (n < *cap)
        return 1;
    uint32_t c = *cap ? 2 * *cap : 64;
    void *a = realloc(*arr, c * size);
    if (!a)
        return 0;
    *arr = a;
    *cap = c;
    return 1;
}

/* ---- clocks ----------------------------------------------------------------------------------- */

static void chk_join(uint32_t *to, const uint32_t *from)
{
    for (uint32_t k = 0; k < M.n; k++)
        if (from[k] > to[k])
            to[k] = from[k];
}

/* Thread t's next event: its epoch. */
static uint32_t chk_tick(int t) { return ++M.clk[t][t]; }

/* Whether some event recorded in `seen` happens before thread t's current point. */
static int chk_visible(const uint32_t *seen, int t)
{
    for (uint32_t k = 0; k < M.n; k++)
        if (seen[k] && seen[k] <= M.clk[t][k])
            return 1;
    return 0;
}

static int chk_acquires(int mo) { return mo == RS_MO_ACQUIRE || mo == RS_MO_ACQ_REL || mo == RS_MO_SEQ_CST; }
static int chk_releases(int mo) { return mo == RS_MO_RELEASE || mo == RS_MO_ACQ_REL || mo == RS_MO_SEQ_CST; }

/* Thread t read store s (at its event e): who has seen s, and what t acquires from it. */
static void chk_read(int t, chk_store *s, int mo, uint32_t e)
{
    if (!s->seen[t])
        s->seen[t] = e;
    chk_join(chk_acquires(mo) ? M.clk[t] : M.fence_acq[t], s->rel);
}

/* ---- locations -------------------------------------------------------------------------------- */

static chk_store *chk_nth(chk_loc *l, uint64_t m) { return &l->h[m % RS_C11_HISTORY]; }

static chk_store *chk_latest(chk_loc *l) { return chk_nth(l, l->n - 1); }

/* Start l's history over at p with the value memory holds: visible to all (the value before the
 * first access), or, when l was another width, with the latest store's clock and readers. */
static void chk_loc_restart(chk_loc *l, const void *p, uint32_t size, int fresh)
{
    chk_store *s = &l->h[0];
    if (fresh) {
        memset(s, 0, sizeof *s);
        s->thread = s->step = -1;
    } else if (l->n % RS_C11_HISTORY != 1) {
        *s = *chk_latest(l);
    }
    s->val = 0;
    memcpy(&s->val, p, size); /* the baton's holder is the only thread running */
    l->size = size;
    l->n = 1;
}

/* The location at p of `size` bytes, made if new; NULL for a wide access or out of memory. */
static chk_loc *chk_loc_of(const void *p, uint32_t size)
{
    if (size > 8 || M.failed)
        return NULL;
    int64_t i = chk_map_get(&M.locs, (uintptr_t)p);
    if (i >= 0) {
        chk_loc *l = &M.loc[i];
        if (l->size != size)
            chk_loc_restart(l, p, size, 0);
        return l;
    }
    if (!chk_grow((void **)&M.loc, &M.loc_cap, M.locs.n, sizeof *M.loc) || !chk_map_add(&M.locs, (uintptr_t)p)) {
        M.failed = 1;
        return NULL;
    }
    chk_loc *l = &M.loc[M.locs.n - 1];
    l->addr = (uintptr_t)p;
    chk_loc_restart(l, p, size, 1);
    return l;
}

/* The oldest store of l that a load by thread t may read (the newest one visible to t). */
static uint64_t chk_oldest_readable(chk_loc *l, int t)
{
    uint64_t lo = l->n > RS_C11_HISTORY ? l->n - RS_C11_HISTORY : 0;
    for (uint64_t m = l->n - 1; m > lo; m--)
        if (chk_visible(chk_nth(l, m)->seen, t))
            return m;
    return lo;
}

/* ---- the model's entry points ----------------------------------------------------------------- */

void chk_c11_reset(uint32_t nthreads)
{
    M.n = nthreads;
    memset(M.clk, 0, sizeof M.clk);
    memset(M.fence_rel, 0, sizeof M.fence_rel);
    memset(M.fence_acq, 0, sizeof M.fence_acq);
    memset(M.sc, 0, sizeof M.sc);
    chk_map_clear(&M.locs);
    chk_map_clear(&M.shadows);
    M.failed = 0;
    memset(&M.race, 0, sizeof M.race);
}

void chk_c11_threads(uint32_t n) { M.n = n; }

int chk_c11_failed(void) { return M.failed; }

void chk_c11_spawn(int parent, int child) { chk_join(M.clk[child], M.clk[parent]); }

void chk_c11_join(int joiner, int child) { chk_join(M.clk[joiner], M.clk[child]); }

void chk_c11_mutex_new(uint32_t m)
{
    if (m < RS_C11_MAX_MUTEX)
        memset(M.mutex[m], 0, sizeof M.mutex[m]);
}

void chk_c11_lock(int t, uint32_t m)
{
    chk_tick(t);
    if (m < RS_C11_MAX_MUTEX)
        chk_join(M.clk[t], M.mutex[m]);
}

void chk_c11_unlock(int t, uint32_t m)
{
    chk_tick(t);
    if (m < RS_C11_MAX_MUTEX)
        memcpy(M.mutex[m], M.clk[t], sizeof M.mutex[m]);
}

uint32_t chk_c11_load_options(int t, const void *p, uint32_t size, int mo)
{
    if (mo == RS_MO_PLAIN || mo == RS_MO_SEQ_CST)
        return 1;
    chk_loc *l = chk_loc_of(p, size);
    return l ? (uint32_t)(l->n - chk_oldest_readable(l, t)) : 1;
}

int chk_c11_load(int t, const void *p, uint32_t size, int mo, uint32_t pick, void *out, int32_t *rf)
{
    uint32_t e = chk_tick(t);
    chk_loc *l = chk_loc_of(p, size);
    *rf = -1;
    if (!l)
        return 0;
    uint64_t oldest = mo == RS_MO_PLAIN || mo == RS_MO_SEQ_CST ? l->n - 1 : chk_oldest_readable(l, t);
    if (pick > l->n - 1 - oldest)
        pick = 0;
    chk_store *s = chk_nth(l, l->n - 1 - pick);
    chk_read(t, s, mo == RS_MO_PLAIN ? RS_MO_RELAXED : mo, e);
    *rf = s->step;
    memcpy(out, &s->val, size);
    return 1;
}

/* Append thread t's store of v (event e) to l, with release clock `rel`. */
static void chk_append(chk_loc *l, int t, uint64_t v, int32_t step, uint32_t e, const uint32_t *rel)
{
    chk_store *s = chk_nth(l, l->n++);
    s->val = v;
    s->thread = t;
    s->step = step;
    memset(s->seen, 0, sizeof s->seen);
    s->seen[t] = e;
    memcpy(s->rel, rel, sizeof s->rel);
}

void chk_c11_store(int t, const void *p, uint32_t size, uint64_t v, int mo, int32_t step)
{
    uint32_t e = chk_tick(t);
    chk_loc *l = chk_loc_of(p, size);
    if (!l)
        return;
    static const chk_clock none;
    chk_append(l, t, v, step, e, chk_releases(mo) ? M.clk[t] : mo == RS_MO_PLAIN ? none : M.fence_rel[t]);
}

int32_t chk_c11_rmw(int t, const void *p, uint32_t size, uint64_t v, int write, int mo, int32_t step)
{
    uint32_t e = chk_tick(t);
    chk_loc *l = chk_loc_of(p, size);
    if (!l)
        return -1;
    chk_store *prev = chk_latest(l);
    int32_t rf = prev->step;
    chk_read(t, prev, mo == RS_MO_RELEASE ? RS_MO_RELAXED : mo, e);
    if (write) {
        chk_clock rel;
        memcpy(rel, prev->rel, sizeof rel);
        chk_join(rel, chk_releases(mo) ? M.clk[t] : M.fence_rel[t]);
        chk_append(l, t, v, step, e, rel);
    }
    return rf;
}

void chk_c11_fence(int t, int mo)
{
    chk_tick(t);
    if (chk_acquires(mo))
        chk_join(M.clk[t], M.fence_acq[t]);
    if (mo == RS_MO_SEQ_CST) {
        chk_join(M.clk[t], M.sc);
        memcpy(M.sc, M.clk[t], sizeof M.sc);
    }
    if (chk_releases(mo))
        memcpy(M.fence_rel[t], M.clk[t], sizeof M.fence_rel[t]);
}

/* ---- data races ------------------------------------------------------------------------------- */

static int chk_plain(int kind) { return kind == RS_C11_PLAIN_READ || kind == RS_C11_PLAIN_WRITE || kind == RS_C11_FREE; }
static int chk_writes(int kind) { return kind != RS_C11_PLAIN_READ && kind != RS_C11_ATOMIC_READ; }

static chk_shadow *chk_shadow_of(uint64_t key)
{
    int64_t i = chk_map_get(&M.shadows, key);
    if (i >= 0)
        return &M.sh[i];
    if (!chk_grow((void **)&M.sh, &M.sh_cap, M.shadows.n, sizeof *M.sh) || !chk_map_add(&M.shadows, key)) {
        M.failed = 1;
        return NULL;
    }
    chk_shadow *b = &M.sh[M.shadows.n - 1];
    memset(b, 0, sizeof *b);
    b->key = key;
    return b;
}

/* Whether the earlier access a races with thread t's access of `kind` to the bytes `mask`. */
static int chk_races_with(const chk_acc *a, int t, int kind, uint8_t mask)
{
    return a->epoch && a->thread != t && (a->mask & mask) && (chk_plain(kind) || chk_plain(a->kind)) &&
           a->epoch > M.clk[t][a->thread];
}

static int chk_report(const chk_acc *a, int t, int kind, int32_t step, uint64_t addr)
{
    M.race = (chk_c11_race){{a->step, step}, {a->thread, t}, {a->kind, kind}, addr};
    return 1;
}

int chk_c11_access(int t, const void *p, uint32_t size, int kind, int32_t step)
{
    uint32_t e = M.clk[t][t];
    uint64_t a = (uintptr_t)p, end = a + (size ? size : 1);
    for (uint64_t k = a >> 3; k <= (end - 1) >> 3; k++) {
        chk_shadow *b = chk_shadow_of(k);
        if (!b)
            return 0;
        uint64_t lo = k << 3 > a ? k << 3 : a, hi = (k + 1) << 3 < end ? (k + 1) << 3 : end;
        uint8_t mask = (uint8_t)(((1u << (hi - lo)) - 1) << (lo & 7));
        const chk_acc *w = chk_races_with(&b->w, t, kind, mask) ? &b->w : &b->pw;
        if (chk_races_with(w, t, kind, mask))
            return chk_report(w, t, kind, step, lo);
        if (chk_writes(kind))
            for (uint32_t u = 0; u < M.n; u++)
                if (chk_races_with(&b->r[u], t, kind, mask))
                    return chk_report(&b->r[u], t, kind, step, lo);
        chk_acc now = {e, step, t, mask, (uint8_t)kind};
        if (!chk_writes(kind)) {
            b->r[t] = now;
            continue;
        }
        b->w = now;
        if (chk_plain(kind))
            b->pw = now;
    }
    return 0;
}

const chk_c11_race *chk_c11_race_found(void) { return &M.race; }
