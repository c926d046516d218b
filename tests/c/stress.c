/* A C-only driver of the core, for sanitizers that cannot run under an uninstrumented CPython
 * (ThreadSanitizer): every thread-safe strategy on every workload at 1, 2 and 4 threads, in each
 * kernel flavour (checked, unchecked as timed runs execute it, explain), checking the arena's
 * counters; then every thread-safe strategy interrupted mid-run from another thread, as Ctrl-C
 * does through rs_run_start/rs_run_wait/rs_run_interrupt. Built and run by .ci/run; exit status 0
 * when every run is clean. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "refstrat/core.h"
#include "refstrat/workloads.h" /* RS_ERR_INTERRUPTED */

static rs_params defaults(uint32_t workload, uint32_t threads)
{
    rs_params p;
    memset(&p, 0, sizeof p);
    p.workload = workload;
    p.threads = threads;
    p.ops = 20000;
    p.fib_n = 12;
    p.objects = 256;
    p.shared_objects = 8;
    p.depth = 16;
    p.shared_fraction = 0.2;
    p.zipf = 1.0;
    p.pin = 0;
    p.seed = 7;
    /* Every knob halfway, on a log scale, from its default to its low end, where the scheme's
     * slow path (epoch ticks, log commits, GIL hand-overs) runs most often: short runs still
     * exercise it. */
    for (int i = 0; i < rs_knob_count(); i++) {
        const rs_knob *k = rs_knob_at(i);
        if (k->kind == RS_KNOB_REAL)
            rs_knob_set(&p, k, 0, sqrt(k->low_r * k->def_r));
        else
            rs_knob_set(&p, k, (uint64_t)sqrt((double)k->low_u * (double)k->def_u), 0.0);
    }
    return p;
}

/* A run far too long to finish, interrupted after a few milliseconds: it must end with
 * RS_ERR_INTERRUPTED, every thread joined, and be destroyable. */
static int interrupted_runs(void)
{
    int failures = 0;
    static const uint32_t workloads[] = {RS_W_FIB, RS_W_SHARED, RS_W_HANDOFF};
    for (int si = 0; si < rs_builtin_count(); si++) {
        const rs_strategy *s = rs_builtin(si);
        if (!s->thread_safe)
            continue;
        for (int k = 0; k < 3; k++) {
            rs_params p = defaults(workloads[k], 2);
            p.fib_n = 40;
            p.ops = 1000000000000ull;
            char err[256];
            rs_run *r = NULL;
            rs_run_create(s, &p, &r, err, sizeof err);
            int rc = -1, waits = 0;
            rs_bg *b = r ? rs_run_start(r) : NULL;
            if (b) {
                while (!rs_run_wait(b, 0.005, &rc))
                    if (++waits == 1)
                        rs_run_interrupt(r);
            }
            int bad = rc != RS_ERR_INTERRUPTED;
            printf("%s %-10s interrupted workload %u: rc=%d after %d wait(s)\n", bad ? "FAIL" : "ok  ", s->name,
                   workloads[k], rc, waits);
            failures += bad;
            if (r)
                rs_run_destroy(r);
        }
    }
    return failures;
}

/* A flavour table leaves kernel copies out (refstrat/registry.h): the check flavour keeps the checked
 * trace kernel only, the explain flavour checked copies only. Asked for a missing copy, the core
 * must refuse the configuration, not call a NULL kernel. */
static int missing_copies(void)
{
    int failures = 0;
    for (int si = 0; si < rs_builtin_count(); si++) {
        const char *name = rs_builtin(si)->name;
        const rs_strategy *flavours[] = {rs_find_check_strategy(name), rs_explain_strategy(name)};
        for (int f = 0; f < 2; f++) {
            rs_params p = defaults(RS_W_FIB, 1);
            p.checked = f == 0; /* the check flavour has no fib kernel, the explain one no unchecked */
            char err[256] = "";
            rs_run *r = NULL;
            int rc = rs_run_create(flavours[f], &p, &r, err, sizeof err);
            int bad = rc != RS_ERR_CONFIG || r != NULL;
            printf("%s %-10s %s flavour, missing copy refused: %s\n", bad ? "FAIL" : "ok  ", name,
                   f ? "explain" : "check", err);
            failures += bad;
            if (r)
                rs_run_destroy(r);
        }
    }
    return failures;
}

int main(void)
{
    int failures = 0;
    static const uint32_t counts[] = {1, 2, 4};
    for (int si = 0; si < rs_builtin_count(); si++) {
        const rs_strategy *s = rs_builtin(si);
        if (!s->thread_safe)
            continue;
        for (uint32_t w = 0; w < RS_W_TRACE; w++)
            for (int k = 0; k < 3; k++) {
                for (int run = 0; run < 6; run++) {
                    int imm = run / 3, flavour = run % 3; /* 0 checked, 1 unchecked, 2 explain */
                    rs_params p = defaults(w, counts[k]);
                    p.immortal = imm;
                    p.checked = flavour != 1;
                    p.explain = flavour == 2;
                    char err[256];
                    rs_run *r = NULL;
                    if (rs_run_create(flavour == 2 ? rs_explain_strategy(s->name) : s, &p, &r, err,
                                      sizeof err) != RS_OK) {
                        printf("FAIL %s %s T=%u: %s\n", s->name, rs_workload_at((int)w)->name, counts[k], err);
                        failures++;
                        continue;
                    }
                    int rc = rs_run_execute(r);
                    rs_result res;
                    rs_run_result(r, &res);
                    int bad = rc || res.double_frees || res.use_after_free || res.leaks ||
                              res.lost_updates || res.premature_frees;
                    printf("%s %-10s %-8s T=%u imm=%d %-9s ops=%llu frees=%llu df=%llu uaf=%llu leaks=%llu lost=%llu %s%s\n",
                           bad ? "FAIL" : "ok  ", s->name, rs_workload_at((int)w)->name, counts[k], imm,
                           (const char *[]){"checked", "unchecked", "explain"}[flavour],
                           (unsigned long long)res.ops, (unsigned long long)res.frees,
                           (unsigned long long)res.double_frees, (unsigned long long)res.use_after_free,
                           (unsigned long long)res.leaks, (unsigned long long)res.lost_updates,
                           rc ? "error: " : "", rc ? r->errmsg : "");
                    failures += bad;
                    rs_run_destroy(r);
                }
            }
    }
    failures += interrupted_runs();
    failures += missing_copies();
    printf("%d failed\n", failures);
    return failures != 0;
}
