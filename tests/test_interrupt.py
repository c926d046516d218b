"""Ctrl-C: a long refstrat.run() stops within about 100 ms with its threads gone, and an
interrupted bench leaves no worker process and no half-written JSON behind.

Each test runs the interrupted program in a child process (its own session, so that whatever it
starts can be found by process group afterwards) and sends SIGINT the way a terminal would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

refstrat = pytest.importorskip("refstrat")

# Prints "ready" once the run has started, then "stopped <monotonic> <threads alive>" when the
# KeyboardInterrupt arrives. CLOCK_MONOTONIC is system-wide on Linux, so the parent can compare.
LONG_RUN = """
import sys, threading, time, refstrat
strategy, workload = sys.argv[1], sys.argv[2]
threading.Timer(0.3, lambda: print("ready", flush=True)).start()
try:
    if strategy.startswith("limit"):
        refstrat.limit(workload, 2, atomic=strategy == "limit+atomic", fib_n=40, ops=10**12)
    else:
        refstrat.run(strategy, workload, 2, fib_n=40, ops=10**12)
except KeyboardInterrupt:
    print("stopped", time.monotonic(), threading.active_count(), flush=True)
    sys.exit(130)
print("finished", flush=True)
"""


def _as_in_a_terminal() -> None:
    """The child's SIGINT at its default, as in a terminal's foreground job: a test run started in
    the background (`cmd &` in a script) hands its children SIGINT ignored, and Python keeps an
    ignored SIGINT ignored, so Ctrl-C would never reach them."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _group_alive(pgid: int) -> list[int]:
    """Pids still in process group pgid (zombies included: an unreaped child is an orphan too)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after "comm)": state, ppid, pgrp, ...
            out.append(int(entry))
    return out


@pytest.mark.parametrize(
    "strategy, workload",
    [
        ("gil", "fib"),
        ("biased", "private"),
        ("buffered", "handoff"),
        ("coalesced", "shared"),
        ("gil", "mixed"),
        # The hand-written limits poll as the kernels do (they ignored Ctrl-C for 15-20 s).
        *[(row, w) for row in ("limit", "limit+atomic") for w in ("fib", "fib314", "private", "shared", "mixed")],
        ("limit", "handoff"),
    ],
)
def test_ctrl_c_stops_a_long_run(tmp_path: Path, strategy: str, workload: str) -> None:
    # cwd: not the source tree, whose refstrat folder lacks the core unless installed in place
    proc = subprocess.Popen(
        [sys.executable, "-c", LONG_RUN, strategy, workload],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=tmp_path,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        rc = proc.wait(timeout=30)
        words = proc.stdout.read().split()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == 130 and words[0] == "stopped", words
    # About 100 ms on an idle machine; generous here because CI machines are shared.
    assert float(words[1]) - sent < 2.0
    assert int(words[2]) == 1  # only the main thread: the workers and helpers have been joined
    assert _group_alive(proc.pid) == []


def _loaded_core(pid: int) -> bool:
    """Whether process pid has mapped refstrat's compiled core (it got past its imports' start)."""
    try:
        with open(f"/proc/{pid}/maps", encoding="ascii", errors="replace") as f:
            return "_core" in f.read()
    except OSError:
        return False


def interrupt_bench(tmp_path: Path, send: Callable[[int], None], env: dict[str, str] | None = None) -> tuple[int, str]:
    """Start the bench on a long matrix writing tmp_path/r.json, in a session of its own, call
    ``send(pid)`` once a pyperf worker runs, and return its exit status and stderr, after
    asserting that nothing it started lives on (and killing what does)."""
    cmd = [
        sys.executable,
        "-m",
        "refstrat.bench",
        "--strategies",
        "gil,atomic",
        "--workloads",
        "private",
        "--ops",
        "2000000",
        "--threads",
        "1,2",
        "-p",
        "20",
        "-n",
        "3",
        "--output",
        str(tmp_path / "r.json"),
    ]
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=tmp_path,
        env=env,
        preexec_fn=_as_in_a_terminal,
    )
    try:
        deadline = time.monotonic() + 60
        # Wait for a pyperf worker that has loaded the core: one still starting its interpreter
        # would die of the SIGINT inside the import machinery, before any handler exists.
        while not any(_loaded_core(pid) for pid in _group_alive(proc.pid) if pid != proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)
        send(proc.pid)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    deadline = time.monotonic() + 5
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    orphans = _group_alive(proc.pid)
    if orphans:
        os.killpg(proc.pid, signal.SIGKILL)
    assert orphans == [], err
    return proc.returncode, err


@pytest.mark.parametrize("whom", ["parent", "group"])
def test_ctrl_c_stops_the_bench_without_orphans(tmp_path: Path, whom: str) -> None:
    """'group' is a terminal's Ctrl-C (every process of the job); 'parent' is a kill of the main
    process alone, after which the pyperf workers it started must not live on."""
    kill = os.killpg if whom == "group" else os.kill
    rc, err = interrupt_bench(tmp_path, lambda pid: kill(pid, signal.SIGINT))
    assert rc == 130, err
    assert "interrupted" in err and "Traceback" not in err, err
    assert not (tmp_path / "r.json").exists()  # nothing, rather than a half-written suite
    assert not list(tmp_path.glob("*.tmp"))
