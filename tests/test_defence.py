"""Issue 11, defence in depth: one regression test per defect, with the exact call.

Calls that crashed the interpreter before the fix run in a child process with a timeout (a
crash there is a failed assertion, not a dead test run); the rest run here. Every child batches
its calls, so the file stays a few seconds of CI time.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover - core not built yet
    pytest.skip("refstrat core not built", allow_module_level=True)

import lying  # noqa: E402  (tests/lying.py)
from test_bench import CHILD_CWD, TINY, run_bench  # noqa: E402

from refstrat import _core, bench  # noqa: E402
from refstrat.model import Program, ProgramError, expect  # noqa: E402
from refstrat.testing import check  # noqa: E402
from refstrat.trace import MAX_OBJECTS, MAX_OPS, MAX_THREADS  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
STRATEGIES = [s.name for s in refstrat.strategies()]

EVIL = lying.SOURCE  # int/float subclasses whose comparisons and conversions lie
exec(EVIL)


def child(body: str, timeout: float = 60) -> list:
    """Run ``body`` in a fresh interpreter; it appends one JSON-able outcome per call to
    ``out``. A crash, a hang past ``timeout`` or stray output fails the test."""
    prelude = (
        "import json, math, refstrat\nfrom refstrat import _core\n"
        + EVIL
        + textwrap.dedent("""
        out = []
        def outcome(f):
            try:
                return ["ok", repr(f())[:200]]
            except Exception as exc:
                return [type(exc).__name__, str(exc)[:300]]
    """)
    )
    code = prelude + textwrap.dedent(body) + "\nprint(json.dumps(out))\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=CHILD_CWD)
    assert proc.returncode == 0, f"child died (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- 1. false alarm


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_sparse_ids_and_an_idle_thread_are_not_a_leak(strategy: str) -> None:
    r = refstrat.run(strategy, "trace", 2, trace=refstrat.Trace([[], [("new", 1), ("dec", 1)]]))
    assert r.ok and r.leaks == 0 and r.final_counts == (None, None), r


def test_check_accepts_the_sparse_program() -> None:
    report = check("atomic", Program(threads=((), (("new", 1), ("dec", 1)))))
    assert report.ok


@pytest.mark.parametrize(
    "threads",
    [
        ((), (("new", 5), ("inc", 5), ("dec", 5), ("dec", 5))),  # a wide gap
        ((("new", 3), ("dec", 3)), ()),  # thread 1 idle instead
        ((), (), (("new", 2), ("send", 2, 0)), (("new", 7), ("dec", 7))),  # mail to an idle thread
    ],
)
def test_neighbouring_sparse_shapes(threads) -> None:
    if any(op[0] == "send" for ops in threads for op in ops):  # the mail must be taken
        threads = ((("recv", 2), ("dec", 2)),) + tuple(threads[1:])
    report = check("biased", Program(threads=threads), jitter=0)
    assert report.ok


def test_the_generator_draws_sparse_ids_and_idle_threads() -> None:
    """The fuzzer reaches the shape that raised the false alarm (ids below the highest never
    allocated, no shared objects, thread 0 idle) -- so a regression would be found again.
    ``find`` searches until a program of each shape turns up: how soon one does depends on
    Hypothesis's internals (its span labels name the strategy's source file), not on refstrat."""
    from hypothesis import find, settings

    from refstrat.testing import programs

    def sparse(p: Program) -> bool:
        used = {op[1] for ops in p.threads for op in ops}
        return any(i not in used for i in range(p.shared, p.objects))

    shapes = {
        "issue shape": lambda p: sparse(p) and not p.threads[0] and p.shared == 0,
        "sparse": sparse,
        "idle": lambda p: any(not ops for ops in p.threads),
    }
    for name, shape in shapes.items():
        p = find(programs(threads=2), shape, settings=settings(max_examples=3_000, derandomize=True, database=None))
        assert shape(p), name


# --------------------------------------------------------------------------- 2. the core checks


def test_core_rejects_every_crashing_configuration() -> None:
    got = child("""
        base = dict(workload="private", threads=1, ops=1000, fib_n=10, work=0, objects=16,
                    shared_objects=4, depth=4, layout="packed", shared_fraction=0.1, zipf=1.0,
                    arena_size=None, pin=False, immortal=False, seed=1, jitter=0,
                    switch_interval=0.005, tick=64, log_size=64, collect_interval=64)
        bad = [("atomic", dict(objects=0)),
               ("atomic", dict(workload="shared", depth=1000, objects=1)),
               ("buffered", dict(log_size=0, threads=2)),
               ("atomic", dict(workload="shared", depth=0)),
               ("gil", dict(switch_interval=-1.0, threads=2)),
               ("gil", dict(switch_interval=float("nan"), threads=2)),
               ("gil", dict(switch_interval=1e30, threads=2)),
               ("atomic", dict(workload="fib", fib_n=100000)),
               ("atomic", dict(shared_fraction=float("nan"), workload="mixed")),
               ("atomic", dict(zipf=float("inf"), workload="mixed")),
               ("coalesced", dict(tick=0)),
               ("atomic", dict(threads=0)),
               ("atomic", dict(ops=0)),
               ("atomic", dict(pin=7)),
               ("atomic", dict(jitter=3)),
               ("atomic", dict(workload="mixed", shared_objects=0)),
               ("atomic", dict(work=10**9)),
               ("deferred", dict(collect_interval=0))]
        for strategy, change in bad:
            out.append(outcome(lambda: _core.execute(strategy, dict(base, **change))))
    """)
    assert all(kind == "ValueError" for kind, _ in got), got
    assert "depth must be in [1, 64], got 1000" in got[1][1]
    assert "switch_interval" in got[5][1]


def test_step_arena_checks_indices_in_c() -> None:
    got = child("""
        a = _core.StepArena("atomic", 4, False, False)
        for method in (a.count, a.live, a.dec, a.inc):
            out.append(outcome(lambda: method(10**6, 1)))   # past the arena
            out.append(outcome(lambda: method(0, 2)))       # an even generation is never issued
            out.append(outcome(lambda: method(0, 1)))       # slot 0 not allocated yet
    """)
    assert all(kind == "IndexError" for kind, _ in got), got


def test_public_api_converts_before_comparing() -> None:
    got = child("""
        for kw in (dict(depth=EvilInt(1000)), dict(objects=EvilInt(0)),
                   dict(fib_n=EvilInt(100000)), dict(log_size=EvilInt(0)),
                   dict(switch_interval=EvilFloat("nan")), dict(switch_interval=EvilFloat(-1.0))):
            out.append(outcome(lambda: refstrat.run("buffered", "fib", 2, **kw)))
        out.append(outcome(lambda: refstrat.run("gil", "private", EvilInt(0))))
        out.append(outcome(lambda: refstrat.Arena("atomic", EvilInt(0))))
    """)
    assert all(kind == "ValueError" for kind, _ in got), got
    assert "got 1000" in got[0][1] and "got 0" in got[1][1] and "got 100000" in got[2][1]


def test_a_run_failure_has_its_own_exception_classes() -> None:
    assert issubclass(refstrat.ArenaExhaustedError, refstrat.RunError)
    assert issubclass(refstrat.StalledError, refstrat.RunError)
    assert issubclass(refstrat.RunError, RuntimeError)
    with pytest.raises(ValueError, match="arena_size 1 is too small"):
        refstrat.run("atomic", "private", 1, arena_size=1)


# --------------------------------------------------------------------------- 3. names and plugins


@pytest.mark.parametrize(
    "call",
    [
        lambda: refstrat.run("atomic\x00garbage", "private", 1),
        lambda: refstrat.run("atomic", "private\x00", 1),
        lambda: refstrat.run("atomic", "private", 1, layout="packed\x00"),
        lambda: refstrat.speed_of_light("private\x00x", 1),
        lambda: refstrat.Arena("atomic\x00garbage"),
        lambda: refstrat.Arena("atomic", layout="padded\x00"),
        lambda: check("atomic\x00garbage", Program(threads=((("new", 0), ("dec", 0)),))),
        lambda: _core.load_plugin("/tmp/x.so\x00garbage"),
        lambda: _core.find_strategy("atomic\x00"),
    ],
)
def test_names_and_paths_holding_nul_are_refused(call) -> None:
    with pytest.raises(ValueError, match="NUL"):
        call()


def build_test_plugin(source: str, out: Path, *defines: str) -> Path:
    """tests/plugins/<source> compiled into ``out`` (normal flavour only), with ``-D`` defines."""
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    cc = cc if shutil.which(cc) else "cc"
    cmd = [
        cc,
        "-O0",
        "-shared",
        "-fPIC",
        "-pthread",
        f"-I{ROOT / 'include'}",
        *(f"-D{d}" for d in defines),
        str(ROOT / "tests" / "plugins" / source),
        "-o",
        str(out),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


def test_final_scan_finds_leaks_and_double_frees_without_generations(tmp_path: Path) -> None:
    """The timed (unchecked) copies keep no generation on pool objects: the final scan reads the
    free stacks instead, and must find what the checked run finds (tests/plugins/exit_frees.c)."""
    lib = build_test_plugin("exit_frees.c", tmp_path / "exit_frees.so")
    got = child(f"""
        _core.load_plugin({str(lib)!r})
        for name in ("plugin_no_final_review", "plugin_exit_refree", "coalesced", "atomic"):
            for check in (False, True):
                r = refstrat.run(name, "private", 1, ops=20_000, check=check)
                out.append([name, check, r.leaks, r.double_frees, r.ok])
    """)
    by = {(name, check): (leaks, double_frees, ok) for name, check, leaks, double_frees, ok in got}
    for checked in (False, True):
        leaks, double_frees, ok = by["plugin_no_final_review", checked]
        assert leaks > 0 and not ok, got
        leaks, double_frees, ok = by["plugin_exit_refree", checked]
        assert double_frees == 1 and leaks == 0 and not ok, got
        assert by["coalesced", checked] == (0, 0, True) and by["atomic", checked] == (0, 0, True), got


def test_plugin_reload_is_idempotent_and_clashes_are_refused(tmp_path: Path) -> None:
    twin = build_test_plugin("twin.c", tmp_path / "twin.so")
    twin2 = build_test_plugin("twin.c", tmp_path / "twin_copy.so")
    shadow = build_test_plugin("shadow.c", tmp_path / "shadow.so")
    got = child(f"""
        out.append(outcome(lambda: _core.load_plugin({str(twin)!r})))
        for _ in range(100):  # far past the registry's room, were each load registered again
            names = _core.load_plugin({str(twin)!r})
        out.append(["ok", repr(names)])
        out.append(outcome(lambda: _core.load_plugin({str(twin2)!r})))
        out.append(outcome(lambda: _core.load_plugin({str(shadow)!r})))
        out.append(outcome(lambda: refstrat.run("atomic", "private", 1, ops=1000).strategy))
        out.append(outcome(lambda: refstrat.run("plugin_twin", "private", 2, ops=1000).ok))
    """)
    assert got[0] == ["ok", "['plugin_twin']"] and got[1] == got[0], got
    assert got[2][0] == "ValueError" and "plugin_twin" in got[2][1] and "already taken" in got[2][1]
    assert got[3][0] == "ValueError" and "'atomic'" in got[3][1]
    assert got[4] == ["ok", "'atomic'"] and got[5] == ["ok", "True"]


# --------------------------------------------------------------------------- 4. bounded cost


def test_trace_validation_is_linear() -> None:
    """The issue's case took over 120 s (unused ids x operations); a hang check, not a timing."""
    got = child(
        """
        t = refstrat.Trace([[("new", 2**24 - 1)] + [("inc", 2**24 - 1)] * 500 + [("dec", 2**24 - 1)] * 501])
        out.append(outcome(lambda: len(t.compile()[3])))
        # A long hand-off chain between two threads: each op is visited once, not once per round.
        n = 20000
        a = [op for i in range(n) for op in (("new", i), ("send", i, 1))]
        b = [op for i in range(n) for op in (("recv", i), ("dec", i))]
        out.append(outcome(lambda: len(refstrat.Trace([a, b]).compile()[3])))
    """,
        timeout=30,
    )
    assert got == [["ok", "3006"], ["ok", str(3 * 4 * 20000)]], got


def test_the_model_bounds_its_inputs() -> None:
    got = child(
        """
        from refstrat.model import Program, expect
        from refstrat import testing
        out.append(outcome(lambda: expect(Program(threads=((("new", 10**12), ("dec", 10**12)),)))))
        out.append(outcome(lambda: expect(Program(threads=((),), shared=10**9))))
        out.append(outcome(lambda: testing.check("atomic", threads=2**31)))
        out.append(outcome(lambda: testing.check("atomic", threads=EvilInt(0))))
        out.append(outcome(lambda: expect(Program(threads=((("new", EvilInt(7)), ("dec", 7)),))).freed))
    """,
        timeout=30,
    )
    assert [k for k, _ in got[:4]] == ["ProgramError", "ProgramError", "ValueError", "ValueError"], got
    assert got[4] == ["ok", "frozenset({7})"], got


def test_model_stays_linear_in_the_ids_it_uses() -> None:
    exp = expect(Program(threads=((("new", MAX_OBJECTS - 1), ("dec", MAX_OBJECTS - 1)),), shared=MAX_OBJECTS - 1))
    assert exp.freed == {MAX_OBJECTS - 1} and exp.final_counts[0] == 1
    with pytest.raises(ProgramError, match="threads"):
        expect(Program(threads=((),) * (MAX_THREADS + 1)))


def test_python_bounds_match_the_core() -> None:
    assert (MAX_OBJECTS, MAX_OPS, MAX_THREADS) == (
        _core.MAX_TRACE_OBJECTS,
        _core.MAX_TRACE_OPS,
        _core.INT_RANGES["threads"][1],
    )


def test_arena_memory_stays_flat_over_many_cycles() -> None:
    got = child(
        """
        import os
        def rss_kib():  # resident now (not the peak, which an import may have set higher)
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
        a = refstrat.Arena("atomic", 1)
        for i in range(20000):
            o = a.alloc(); a.decref(o)
        before = rss_kib()
        for i in range(300000):
            o = a.alloc(); a.decref(o)
        out.append(["ok", rss_kib() - before])
        first = refstrat.Arena("coalesced", 2)
        x = first.alloc(); first.decref(x); first.quiesce()
        y = first.alloc()
        out.append(["ok", [x, y, first.is_live(x), first.is_live(y), first.incref(x)]])
    """,
        timeout=120,
    )
    grew_kib = got[0][1]
    assert grew_kib < 4096, f"RSS grew {grew_kib} KiB over 300000 alloc/free cycles"
    x, y, x_live, y_live, inc_x = got[1][1]
    assert (x, x_live, y_live, inc_x) == (0, False, True, False) and y != x


# --------------------------------------------------------------------------- 5. the CLI


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--output", "/proc/self/x.json"], "cannot be written"),
        (["--plot", "/proc/self/x.png"], "cannot be written"),
        (["--plot", "x.txt"], "must end in one of .png, .pdf, .svg"),
        (["--plot", "DIR"], "is a directory"),
        (["--output", "DIR"], "is a directory"),
        (["--output", ""], "empty file name"),
        (["--plot", ""], "empty file name"),
        (["--affinity", "99999"], "not usable here"),
        (["--affinity", "x"], "CPU list"),
        (["--min-time", "-1"], "--min-time must be a positive"),
        (["--python-timeout", "0"], "--python-timeout"),
    ],
)
def test_cli_checks_paths_and_values_before_running(tmp_path: Path, args: list[str], needle: str) -> None:
    (tmp_path / "DIR").mkdir()
    # TINY: were a check to regress, the matrix it lets run is one short cell, not minutes.
    proc = run_bench("--strategies", "atomic", "--threads", "1", *TINY, *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "x.txt").exists()


def test_other_python_is_bounded_in_time_and_output(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="did not finish within 1 s"):
        bench.run_bounded([sys.executable, "-c", "import time; time.sleep(60)"], timeout=1)
    with pytest.raises(RuntimeError, match="printed more than 65536 bytes"):
        bench.run_bounded([sys.executable, "-c", "while True: print('x' * 1000)"], timeout=30, cap=65536)
    rc, out, err = bench.run_bounded([sys.executable, "-c", "print('fine')"], timeout=30)
    assert (rc, out, err) == (0, "fine\n", "")
