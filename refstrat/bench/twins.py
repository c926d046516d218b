"""Real twins of refstrat's workloads: Python programs that make a real interpreter do what the
C kernels model, so that the model's predicted CPU ratios can be held against measured ones.

=========  ==============================================================================
fib        the Gilectomy talk's recursive ``fib(n)`` on every thread
private    each thread builds its own objects, walks them (reading and passing each one on)
           and replaces one now and then (a free and an allocation)
shared     every thread walks the same few ordinary, non-immortal module-level objects (class
           instances, a list, a dict): under a free-threaded build every thread but their
           creator counts them with atomic operations on the same cache lines
mixed      private objects, and with probability SHARED_FRACTION a shared one chosen with a
           Zipf(1) skew, as the model's ``mixed`` draws them
handoff    each thread allocates objects, uses them and passes them through a queue to the next
           thread, which uses and drops them: every object dies on another thread
=========  ==============================================================================

Operations are counted as the model's kernels count them, so that ns per operation compare:

* loops (private, shared, mixed): visiting an object is ``for o in seq: x = o``, which on
  CPython 3.6-3.13 takes and releases two references to it (the iterator's and the local's):
  4 operations, as the model's burst does one increment and one decrement per object drawn; a
  replaced private object adds the decrement that frees it;
* handoff: 5 per object (the producer's use, the consumer's use and final release), as in
  ``rs_k_handoff``;
* fib: the model's per-call operations (``fib_ops``: 36 per recursive call, 18 per base case).

Everything else the interpreter does (bytecode dispatch, the counts on the loop's own list,
iterator and ints) is "other work", which ``--calibrate`` matches with the model's ``work``.

This file is imported by ``refstrat.bench`` (rows for the running interpreter) and also run as
a script by *other* interpreters (``--python PATH``), which have neither refstrat nor pyperf: it
uses only the standard library and syntax Python 3.6 accepts.

Script protocol: ``PYTHON -I twins.py SPEC`` with SPEC a JSON object (keys: workloads,
threads, values, warmups, min_time, fib_n, ops) prints one JSON object: interpreter facts plus,
per workload and thread count, the loop count, the operations per thread and a list of
``[wall_seconds, cpu_seconds]`` per value (both per single run, i.e. divided by loops).
"""
import collections
import json
import os
import random
import sys
import threading
import time

# Written out: this file runs on interpreters without refstrat. tests/test_knobs.py checks it
# against the core's list (every workload but those refstrat.bench cannot run).
WORKLOADS = ("fib", "private", "shared", "mixed", "handoff")
SEQ_LEN = 256          # objects a loop twin visits per pass: 1024 operations, one churn (as the model)
SHARED_OBJECTS = 16    # the model's default shared_objects
SHARED_FRACTION = 0.1  # the model's default shared_fraction (mixed)
ZIPF_S = 1.0           # the model's default zipf
RING = 256             # handoff queue bound, the model's RS_RING
OPS_PER_VISIT = 4
OPS_PER_HANDOFF = 5


class Obj(object):
    """An ordinary object: counted, never immortal, freed when its last reference goes."""
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


# Created at import by the main thread, which owns them under a free-threaded build.
SHARED = ([Obj(i) for i in range(SHARED_OBJECTS - 2)] + [[1, 2, 3], {"key": "value"}])


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


def fib_ops(n):
    """The model's refcount operations for one fib(n) (see rs_fib_body in workloads.h): 18 per
    base-case call, 36 per recursive call less one where the sum is a fresh int (> 256, allocated,
    not counted), plus 6 for the module-level call and its frame."""
    value = [0, 1]
    ops = [18, 18]
    for m in range(2, n + 1):
        value.append(value[m - 1] + value[m - 2])
        ops.append(36 - (value[m] > 256) + ops[m - 1] + ops[m - 2])
    return ops[n] + 6


def _zipf_weights(n, s):
    return [1.0 / (k + 1) ** s for k in range(n)]


def _loop_seq(workload, rng):
    """(seq, private positions) for one thread; private objects are created by this thread."""
    if workload == "private":
        seq = [Obj(i) for i in range(SEQ_LEN)]
    elif workload == "shared":
        seq = [SHARED[rng.randrange(SHARED_OBJECTS)] for _ in range(SEQ_LEN)]
    else:
        weights = _zipf_weights(SHARED_OBJECTS, ZIPF_S)
        seq = [rng.choices(SHARED, weights)[0] if rng.random() < SHARED_FRACTION else Obj(i)
               for i in range(SEQ_LEN)]
    shared = set(map(id, SHARED))
    private = [i for i, o in enumerate(seq) if id(o) not in shared]
    return seq, private


def _loop(seq, private, ops):
    """Visit seq until ``ops`` operations are done, replacing one private object per pass."""
    done = 0
    per_pass = OPS_PER_VISIT * len(seq)
    k = 0
    while done < ops:
        for o in seq:
            x = o  # noqa: F841  (the second reference: "passes it on")
        done += per_pass
        if private:
            i = private[k % len(private)]
            seq[i] = Obj(k)  # the old one is freed here
            k += 1
            done += 1
    return done


def _handoff(out, inp, done_flags, index, goal):
    """Produce ``goal`` objects into ``out`` (bounded), consume ``inp`` until its producer is done."""
    n = 0
    produced = 0
    prev = (index - 1) % len(done_flags)
    while produced < goal:
        progressed = len(out) < RING
        if progressed:
            o = Obj(produced)
            x = o
            out.append(o)
            del o, x
            produced += 1
            n += 2
        try:
            o = inp.popleft()
        except IndexError:
            if not progressed:
                time.sleep(0)  # full queue, empty inbox: let the consumer run
            continue
        x = o
        del o, x
        n += 3
    done_flags[index] = True
    while True:
        try:
            o = inp.popleft()
        except IndexError:
            if done_flags[prev] and not inp:
                break
            time.sleep(0)  # the producer is still running: let it
            continue
        x = o
        del o, x
        n += 3
    return n


def _worker_body(workload, fib_n, ops, index, threads, state):
    """Set-up (untimed) and the timed body for one thread, as a closure."""
    if workload == "fib":
        return lambda: fib(fib_n)
    if workload == "handoff":
        rings, flags = state
        return lambda: _handoff(rings[index], rings[(index - 1) % threads], flags, index,
                                max(ops // OPS_PER_HANDOFF, 1))
    seq, private = _loop_seq(workload, random.Random(index + 1))
    return lambda: _loop(seq, private, ops)


def ops_per_thread(workload, fib_n, ops):
    """Operations one thread performs, counted as the model counts them."""
    if workload == "fib":
        return fib_ops(fib_n)
    if workload == "handoff":
        return OPS_PER_HANDOFF * max(ops // OPS_PER_HANDOFF, 1)
    per_pass = OPS_PER_VISIT * SEQ_LEN + (workload != "shared")  # + the churn's free
    return -(-ops // per_pass) * per_pass


def run_threads(workload, threads, loops=1, fib_n=20, ops=200000):
    """``loops`` rounds of T threads each doing the workload once; (wall, cpu) seconds summed.

    Each thread sets up (its objects, its queue) before a first barrier; the clocks start when
    the main thread releases the second one, and stop at the last join. CPU time is the process
    CPU clock, which counts every thread (under a GIL build only one runs at a time).
    """
    wall = 0.0
    cpu = 0.0
    for _ in range(loops):
        ready = threading.Barrier(threads + 1)
        go = threading.Barrier(threads + 1)
        state = ([collections.deque() for _ in range(threads)], [False] * threads)  # type: tuple

        def worker(index):
            body = _worker_body(workload, fib_n, ops, index, threads, state)
            ready.wait()
            go.wait()
            body()

        pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for t in pool:
            t.start()
        ready.wait()
        c0 = time.process_time()
        w0 = time.perf_counter()
        go.wait()
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


def measure(workload, threads, values, warmups, min_time, fib_n, ops):
    """Calibrate loops so one value lasts at least min_time, then take warmups + values."""
    loops = 1
    while True:
        wall, _ = run_threads(workload, threads, loops, fib_n, ops)
        if wall >= min_time or loops >= 1 << 20:
            break
        loops *= 2
    for _ in range(warmups):
        run_threads(workload, threads, loops, fib_n, ops)
    out = []
    for _ in range(values):
        wall, cpu = run_threads(workload, threads, loops, fib_n, ops)
        out.append([wall / loops, max(cpu, 1e-9) / loops])
    return loops, out


def main(argv):
    spec = json.loads(argv[1])
    result = interpreter_info()
    result["pid"] = os.getpid()
    result["workloads"] = {}
    for w in spec["workloads"]:
        if w not in WORKLOADS:
            raise SystemExit("unknown workload %r; valid choices: %s" % (w, ", ".join(WORKLOADS)))
        per_t = {}
        for t in spec["threads"]:
            loops, vals = measure(w, t, spec["values"], spec["warmups"], spec["min_time"],
                                  spec["fib_n"], spec["ops"])
            per_t[str(t)] = {"loops": loops, "values": vals,
                             "ops_per_thread": ops_per_thread(w, spec["fib_n"], spec["ops"])}
        result["workloads"][w] = per_t
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv)
