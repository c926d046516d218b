/* The check build's race detection, for partial-order reduction (rs_check_cfg.races;
 * refstrat's DPOR explores with it): vector clocks over the order of non-commuting steps, and
 * per 8-byte block of memory each thread's latest read and write. Each logged step gets the latest
 * earlier step of another thread it does not commute with and is not ordered after; when the last
 * worker finishes, each thread still able to run gets the race of an unknown next step. Called by
 * the scheduler (src/check.c) under its baton, one thread at a time; calls no other unit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"

typedef struct chk_block {
    uint64_t key;                      /* address >> 3 */
    int32_t w[RS_CHK_MAX_THREADS];     /* thread -> its latest write to the block (step), -1 */
    int32_t r[RS_CHK_MAX_THREADS];     /* thread -> its latest read */
} chk_block;

typedef struct chk_races {
    uint32_t clk[RS_CHK_MAX_THREADS][RS_CHK_MAX_THREADS]; /* thread -> its vector clock */
    uint32_t *ev;                      /* step -> its thread's clock after it [RS_CHK_MAX_THREADS] */
    uint64_t ev_cap;                   /* steps ev has room for */
    int32_t last[DEP_CLASSES][RS_CHK_MAX_THREADS]; /* dependence class -> thread -> its latest step */
    chk_block *blk;
    uint32_t nblk, blk_cap;
    uint32_t *hash;                    /* open addressing: block index + 1, 0 empty */
    uint32_t hash_cap;
    int failed;                        /* out of memory: no more races reported */
    int enabled;                       /* cfg->races */
    int32_t end_race[RS_CHK_MAX_THREADS]; /* chk_race_end: a thread's race at the end, -1 */
} chk_races;

static chk_races R_;

static uint32_t chk_slot(uint64_t key, uint32_t cap)
{
    return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

static chk_block *chk_block_find(uint64_t key)
{
    chk_races *R = &R_;
    if (!R->hash_cap)
        return NULL;
    for (uint32_t i = chk_slot(key, R->hash_cap); R->hash[i]; i = (i + 1) & (R->hash_cap - 1))
        if (R->blk[R->hash[i] - 1].key == key)
            return &R->blk[R->hash[i] - 1];
    return NULL;
}

/* The block's entry, made if new; NULL when memory runs out. */
static chk_block *chk_block_of(uint64_t key)
{
    chk_races *R = &R_;
    chk_block *b = chk_block_find(key);
    if (b)
        return b;
    if (2 * (R->nblk + 1) > R->hash_cap) {
        uint32_t cap = R->hash_cap ? 2 * R->hash_cap : 256;
        uint32_t *h = (uint32_t *)calloc(cap, sizeof *h);
        if (!h)
            return NULL;
        for (uint32_t k = 0; k < R->nblk; k++) {
            uint32_t i = chk_slot(R->blk[k].key, cap);
            while (h[i])
                i = (i + 1) & (cap - 1);
            h[i] = k + 1;
        }
        free(R->hash);
        R->hash = h;
        R->hash_cap = cap;
    }
    if (R->nblk == R->blk_cap) {
        uint32_t cap = R->blk_cap ? 2 * R->blk_cap : 64;
        chk_block *nb = (chk_block *)realloc(R->blk, cap * sizeof *nb);
        if (!nb)
            return NULL;
        R->blk = nb;
        R->blk_cap = cap;
    }
    b = &R->blk[R->nblk++];
    b->key = key;
    memset(b->w, 0xff, sizeof b->w);
    memset(b->r, 0xff, sizeof b->r);
    uint32_t i = chk_slot(key, R->hash_cap);
    while (R->hash[i])
        i = (i + 1) & (R->hash_cap - 1);
    R->hash[i] = R->nblk;
    return b;
}

static int32_t chk_max32(int32_t a, int32_t b) { return a > b ? a : b; }

/* The latest step of thread p that does not commute with a step of class cls on the blocks
 * k0..k1, or -1. Earlier steps of p are ordered before it, so the latest one is enough. */
static int32_t chk_latest_dependent(uint32_t p, int cls, uint64_t k0, uint64_t k1)
{
    const chk_races *R = &R_;
    int32_t c = R->last[DEP_ALL][p];
    if (cls == DEP_ALL)
        return chk_max32(c, chk_max32(R->last[DEP_READ][p], chk_max32(R->last[DEP_WRITE][p],
                                                                        R->last[DEP_WAIT][p])));
    if (cls == DEP_WAIT)
        return chk_max32(c, R->last[DEP_WRITE][p]);
    if (cls == DEP_WRITE)
        c = chk_max32(c, R->last[DEP_WAIT][p]);
    for (uint64_t k = k0; k <= k1; k++) {
        const chk_block *b = chk_block_find(k);
        if (b)
            c = chk_max32(c, cls == DEP_WRITE ? chk_max32(b->w[p], b->r[p]) : b->w[p]);
    }
    return c;
}

/* The race of a step of thread q with class cls on k0..k1, the clock of q joined with every
 * step it does not commute with (no join when `probe`: a step that is not taken). */
static int32_t chk_race_of(int q, int cls, uint64_t k0, uint64_t k1, int probe, uint32_t n)
{
    chk_races *R = &R_;
    uint32_t *cq = R->clk[q], tmp[RS_CHK_MAX_THREADS];
    if (probe) {
        memcpy(tmp, cq, sizeof tmp);
        cq = tmp;
    }
    int32_t race = -1;
    for (uint32_t p = 0; p < n; p++) {
        if ((int)p == q)
            continue;
        int32_t c = chk_latest_dependent(p, cls, k0, k1);
        if (c < 0)
            continue;
        const uint32_t *ce = &R->ev[(uint64_t)c * RS_CHK_MAX_THREADS];
        if (ce[p] <= cq[p])
            continue; /* ordered before q's step */
        race = chk_max32(race, c);
        for (uint32_t t = 0; t < n; t++)
            if (ce[t] > cq[t])
                cq[t] = ce[t];
    }
    return race;
}

/* Step j (logged at s) of thread q performs op on addr: its race, and the clocks. */
void chk_race_step(rs_check_step *s, uint64_t j, int q, int op, const void *addr, uint32_t size,
                   uint32_t n)
{
    chk_races *R = &R_;
    s->race = -1;
    if (!R->enabled || R->failed)
        return;
    if (j >= R->ev_cap || j > INT32_MAX) {
        uint64_t cap = R->ev_cap ? 2 * R->ev_cap : 1024;
        uint32_t *ev = j > INT32_MAX ? NULL
                                     : (uint32_t *)realloc(R->ev, cap * RS_CHK_MAX_THREADS * sizeof *ev);
        if (!ev) {
            R->failed = 1;
            return;
        }
        R->ev = ev;
        R->ev_cap = cap;
    }
    R->clk[q][q]++;
    int cls = chk_dep_class(op);
    if (cls != DEP_NONE) {
        uint64_t k0 = (uintptr_t)addr >> 3, k1 = ((uintptr_t)addr + (size ? size : 1) - 1) >> 3;
        s->race = chk_race_of(q, cls, k0, k1, 0, n);
        R->last[cls][q] = (int32_t)j;
        for (uint64_t k = k0; (cls == DEP_READ || cls == DEP_WRITE) && k <= k1; k++) {
            chk_block *b = chk_block_of(k);
            if (!b) {
                R->failed = 1;
                break;
            }
            (cls == DEP_WRITE ? b->w : b->r)[q] = (int32_t)j;
        }
    }
    memcpy(&R->ev[j * RS_CHK_MAX_THREADS], R->clk[q], sizeof R->clk[q]);
}

/* The last worker finished: each thread that could still run gets the race of its next step,
 * which is unknown (a helper's loop goes on), so taken as commuting with nothing. */
void chk_race_end(uint32_t n, uint64_t running)
{
    for (uint32_t q = 0; q < RS_CHK_MAX_THREADS; q++)
        R_.end_race[q] = -1;
    if (!R_.enabled || R_.failed)
        return;
    for (uint32_t q = 0; q < n; q++)
        if (running >> q & 1)
            R_.end_race[q] = chk_race_of((int)q, DEP_ALL, 0, 0, 1, n);
}

int32_t chk_race_end_of(uint32_t q) { return R_.end_race[q]; }

void chk_races_reset(int enabled)
{
    chk_races *R = &R_;
    memset(R->clk, 0, sizeof R->clk);
    memset(R->last, 0xff, sizeof R->last);
    if (R->hash)
        memset(R->hash, 0, R->hash_cap * sizeof *R->hash);
    R->nblk = 0;
    R->failed = 0;
    R->enabled = enabled;
    for (uint32_t q = 0; q < RS_CHK_MAX_THREADS; q++)
        R->end_race[q] = -1;
}

void chk_races_fail(void) { R_.failed = 1; }

int chk_races_failed(void) { return R_.failed; }
