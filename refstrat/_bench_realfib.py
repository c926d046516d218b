"""The real workload: the Gilectomy talk's recursive Python ``fib`` on T threads.

This file is imported by ``refstrat.bench`` (rows for the running interpreter, measured through
pyperf) and also executed as a standalone script by *other* interpreters (``--python PATH``),
which have neither refstrat nor pyperf installed.  So it must only use the standard library and
syntax that Python 3.6 accepts (no annotations from the future, no walrus, no match).

Script protocol: ``PYTHON -I _bench_realfib.py FIB_N THREADS[,THREADS...] VALUES WARMUPS MIN_TIME``
prints one JSON object on stdout: interpreter facts plus, per thread count, the loop count and
a list of ``[wall_seconds, cpu_seconds]`` per value (both per single run, i.e. divided by loops).
"""
import json
import os
import sys
import threading
import time


def fib(n):
    # Deliberately the talk's "terrible Fibonacci function": a global lookup, a call and small-int
    # arithmetic per step, which is where the interpreter's refcount traffic comes from.
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def fib_calls(n):
    """Number of Python calls fib(n) makes (calls(n) = 1 + calls(n-1) + calls(n-2))."""
    a, b = 1, 1  # calls(0), calls(1)
    for _ in range(n - 1):
        a, b = b, 1 + a + b
    return b if n >= 1 else a


def run_threads(n, threads, loops=1):
    """Run ``loops`` rounds of T threads each computing fib(n); return (wall, cpu) seconds summed.

    Wall time runs from the barrier release to the last join; CPU time is the process CPU clock,
    which counts every thread (under a GIL build only one runs at a time, so CPU ~= wall).
    """
    wall = 0.0
    cpu = 0.0
    for _ in range(loops):
        barrier = threading.Barrier(threads + 1)

        def worker():
            barrier.wait()
            fib(n)

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        c0 = time.process_time()
        w0 = time.perf_counter()
        barrier.wait()
        for t in pool:
            t.join()
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
    return wall, cpu


def interpreter_info():
    """Facts that identify the build: version, implementation and whether the GIL is enabled."""
    gil = getattr(sys, "_is_gil_enabled", None)
    free_threaded_build = False
    try:
        import sysconfig
        free_threaded_build = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    except Exception:
        pass
    return {
        "executable": sys.executable,
        "version": sys.version.split()[0],
        "implementation": sys.implementation.name,
        "gil_enabled": None if gil is None else bool(gil()),
        "free_threaded_build": free_threaded_build,
    }


def measure(n, threads, values, warmups, min_time):
    """Calibrate loops so one value lasts at least min_time, then take warmups + values."""
    loops = 1
    while True:
        wall, _ = run_threads(n, threads, loops)
        if wall >= min_time or loops >= 1 << 20:
            break
        loops *= 2
    for _ in range(warmups):
        run_threads(n, threads, loops)
    out = []
    for _ in range(values):
        wall, cpu = run_threads(n, threads, loops)
        out.append([wall / loops, max(cpu, 1e-9) / loops])
    return loops, out


def main(argv):
    n = int(argv[1])
    thread_counts = [int(x) for x in argv[2].split(",")]
    values = int(argv[3])
    warmups = int(argv[4])
    min_time = float(argv[5])
    result = interpreter_info()
    result["fib_n"] = n
    result["calls"] = fib_calls(n)
    result["pid"] = os.getpid()
    result["threads"] = {}
    for t in thread_counts:
        loops, vals = measure(n, t, values, warmups, min_time)
        result["threads"][str(t)] = {"loops": loops, "values": vals}
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv)
