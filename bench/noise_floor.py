"""How many cells this machine flags unstable with no refstrat at all (a benchmark, not a test).

    python bench/noise_floor.py [--threads 1] [--cells 32] [--processes 4] [--values 3] [--seconds 0.05]

Issue 10 asks for at most 2 of the default matrix's 32 cells flagged unstable on an idle machine.
This is the control: a hand-written C loop (plain increments through pointers, the shape of the
`limit` kernels, no arena, no Python in the timed part), compiled here with cc, each thread
pinned (T=1: CPU 0; T=2: CPUs 0 and 1, every line holding both threads' counts, as the T=2
rows' shared lines), each value the threads' CPU time over about --seconds of work, a cell
measured as the bench measures one (PROCESSES worker processes back to back, each one warm-up
and VALUES values) and judged by the bench's own criteria
(`refstrat.bench.stability.instability`). Whatever it flags is the machine's, not the
instrument's: the floor under the bench's unstable-cell count on this machine. Each cell's line
gives its processes' medians: a cell that is tight within each process but apart between them
shows a state that changes between processes, not noise within a run. At T=2 each value is
preceded by a probe (the line moved between the two CPUs 4000 times, not timed as the value's
CPU): its ns per transfer, per cell as a range and over the run as a correlation with the values,
shows how much of the spread is the cost of a line transfer between the two CPUs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time

from refstrat.bench.stability import instability, snapshot

# argv: iterations per thread and value, values (after one warm-up), threads (1 or 2). Prints, per
# value, the threads' CPU seconds and the ns of one line transfer measured just before (0 at T=1).
_LOOP = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#define RELAX() __builtin_ia32_pause()
#else
#define RELAX() ((void)0)
#endif
static long cells[64] __attribute__((aligned(64)));
static long *volatile slots[8] = {&cells[0], &cells[8], &cells[16], &cells[24],
                                   &cells[32], &cells[40], &cells[48], &cells[56]};
static long iters;
static int values, threads;
static double spent[2][64], transfer[64];
static int ready, go; /* the start of each value, as the bench's: count in, spin until go */
static int ball __attribute__((aligned(64))); /* the probe's line, alone on it */
#define PROBE_TRIPS 2000
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
/* Before a value's work, with two threads: the line moves between the two CPUs 2 x PROBE_TRIPS
 * times (each thread waits for the other's write); thread 0 records the time of one move. */
static void probe(int me, int v)
{
    double t0 = now();
    for (int i = 0; i < PROBE_TRIPS; i++) {
        while (__atomic_load_n(&ball, __ATOMIC_ACQUIRE) != 2 * i + me)
            RELAX();
        __atomic_store_n(&ball, 2 * i + me + 1, __ATOMIC_RELEASE);
    }
    if (me == 0)
        transfer[v] = (now() - t0) / (2.0 * PROBE_TRIPS);
}
static double cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}
/* Thread me, pinned to CPU me, times each value: plain increments through pointers; with two
 * threads each of the eight lines holds both threads' counts (shared lines, as the T=2 rows).
 * Both spin at the start of a value, as the bench's workers do, so they start together. */
static void *worker(void *arg)
{
    int me = (int)(long)arg;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(me, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    for (int v = 0; v <= values; v++) {
        if (threads == 2 && me == 1) {
            __atomic_store_n(&ready, v + 1, __ATOMIC_RELEASE);
            while (__atomic_load_n(&go, __ATOMIC_ACQUIRE) != v + 1)
                RELAX();
        } else if (threads == 2) {
            while (__atomic_load_n(&ready, __ATOMIC_ACQUIRE) != v + 1)
                RELAX();
            __atomic_store_n(&go, v + 1, __ATOMIC_RELEASE);
        }
        if (threads == 2) {
            probe(me, v);
            if (me == 1) /* wrote last: the next value's probe starts from 0 */
                __atomic_store_n(&ball, 0, __ATOMIC_RELEASE);
        }
        double t0 = cpu();
        for (long i = 0; i < iters; i++) {
            long *p = slots[i & 7] + me;
            ++*p;
            __asm__ volatile("" ::: "memory");
            --*p;
        }
        spent[me][v] = cpu() - t0;
    }
    return NULL;
}
int main(int argc, char **argv)
{
    iters = atol(argv[1]);
    values = atoi(argv[2]);
    threads = atoi(argv[3]);
    if (values > 63 || threads < 1 || threads > 2)
        return 2;
    pthread_t t[2];
    for (long i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    for (int v = 1; v <= values; v++) /* value 0: the warm-up */
        printf("%.9f %.2f\n", spent[0][v] + spent[1][v], transfer[v] * 1e9);
    return 0;
}
"""


def build(tmp: str) -> str:
    src, exe = os.path.join(tmp, "loop.c"), os.path.join(tmp, "loop")
    with open(src, "w", encoding="ascii") as f:
        f.write(_LOOP)
    subprocess.run([os.environ.get("CC", "cc"), "-O2", "-pthread", "-o", exe, src], check=True)
    return exe


def values(exe: str, iters: int, n: int, threads: int) -> list[tuple[float, float]]:
    """One worker process: (CPU seconds, ns per line transfer measured just before; 0 at T=1)
    for each of its values."""
    out = subprocess.run([exe, str(iters), str(n), str(threads)], check=True, capture_output=True, text=True)
    return [(float(v), float(ns)) for v, ns in (line.split() for line in out.stdout.splitlines())]


def cell_line(c: int, runs: list[list[tuple[float, float]]], why: str, threads: int) -> str:
    vals = [v for run in runs for v, _ in run]
    line = (
        f"cell {c + 1:2d}: median {statistics.median(vals) * 1e3:7.2f} ms  min {min(vals) * 1e3:7.2f}  "
        f"max {max(vals) * 1e3:7.2f}  sd {statistics.stdev(vals) / statistics.mean(vals):5.1%}  "
        f"per process {' '.join(f'{statistics.median(v for v, _ in r) * 1e3:.1f}' for r in runs)}"
    )
    if threads == 2:
        ns = [t for run in runs for _, t in run]
        line += f"  transfer {min(ns):.0f}-{max(ns):.0f} ns"
    return line + (f"  UNSTABLE: {why}" if why else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cells", type=int, default=32)
    ap.add_argument("--processes", type=int, default=4)
    ap.add_argument("--values", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=0.05, help="CPU seconds per value")
    ap.add_argument(
        "--threads",
        type=int,
        choices=(1, 2),
        default=1,
        help="2: two threads pinned to CPUs 0 and 1, their counts on shared lines",
    )
    a = ap.parse_args()
    if a.cells < 1 or a.processes < 1 or not 1 <= a.values <= 63 or a.processes * a.values < 2 or a.seconds <= 0:
        ap.error("--cells, --processes >= 1, --values 1..63, at least two values per cell, --seconds > 0")
    with tempfile.TemporaryDirectory() as tmp:
        exe = build(tmp)
        probe = statistics.median(v for v, _ in values(exe, 10_000_000, 5, a.threads))
        iters = int(10_000_000 * a.seconds * 1.2 / probe)
        before = snapshot()
        print(
            f"noise floor: {a.cells} cells of {a.processes} processes x {a.values} values "
            f"(+1 warm-up), {iters} iterations per value (~{a.seconds * 1.2 * 1e3:.0f} ms of CPU), "
            f"{a.threads} thread(s) pinned to CPU 0" + (" and 1, sharing lines" if a.threads == 2 else "")
        )
        flagged, every = [], []
        for c in range(a.cells):
            runs = [values(exe, iters, a.values, a.threads) for _ in range(a.processes)]
            why = instability([v for run in runs for v, _ in run])
            print(cell_line(c, runs, why, a.threads))
            flagged += [c + 1] if why else []
            every += [x for run in runs for x in run]
        after = snapshot()
    if before and after:
        span = after.when - before.when
        print(
            f"machine over the run: load {before.load1:.2f} -> {after.load1:.2f}, others' CPU "
            f"{max(0.0, (after.busy - before.busy) - (after.own - before.own)) / span:.2f} CPUs, "
            f"steal {(after.steal - before.steal) / span:.3f} CPUs"
        )
    if a.threads == 2:
        try:
            r = f"{statistics.correlation([v for v, _ in every], [t for _, t in every]):.2f}"
        except statistics.StatisticsError as exc:  # fewer than two values, or a constant column
            r = f"none ({exc})"
        print(
            f"correlation of a value's CPU time with the line transfer measured just before it, over all "
            f"{len(every)} values: {r}"
        )
    print(
        f"{len(flagged)} of {a.cells} cells unstable by the bench's criteria "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})"
    )


if __name__ == "__main__":
    main()
