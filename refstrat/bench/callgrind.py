"""Instructions per operation under ``valgrind --tool=callgrind``: a deterministic fallback for the
single-thread cost where ``perf_event_open`` is refused (VMs, containers).

This is counting, not timing: callgrind executes the kernel on a simulated CPU and counts the
instructions retired inside the worker threads (``--toggle-collect=rs_worker_run``: the scheme's
enter, the kernel and the scheme's leave; nothing of Python, of the run's setup or of the start
barrier, whose wait lasts as long as the machine's load makes it). The same binary gives the same
figure on any idle or busy machine. Cache misses, lock prefixes and contention cost
nothing extra here, so the figure ranks code paths, not schemes under load.

    python -m refstrat.bench.callgrind ROW WORKLOAD [run options as JSON]

runs one cell in this interpreter (what valgrind executes); :func:`instructions_per_op` drives it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Any

LABEL = "instructions/op (callgrind)"


def status() -> str:
    """ "" when callgrind can run here, else "unsupported: why"."""
    return "" if shutil.which("valgrind") else "unsupported: valgrind is not installed (apt-get install valgrind)"


def _run_cell(row: str, workload: str, options: dict[str, Any]) -> int:
    """Run one T=1 cell in this process; return its operation count."""
    import refstrat

    if row.startswith("limit"):
        r = refstrat.limit(workload, 1, atomic=row == "limit+atomic", **options)
    elif row == "speed_of_light":
        r = refstrat.speed_of_light(workload, 1, **options)
    else:
        strategy, _, immortal = row.partition("+")
        r = refstrat.run(strategy, workload, 1, check=False, immortal=immortal == "immortal", **options)
    return r.ops


def _total_ir(out_dir: str) -> int:
    """Sum of the 'totals:' (or 'summary:') lines over callgrind's per-thread output files."""
    total = 0
    for path in glob.glob(os.path.join(out_dir, "callgrind.out*")):
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith(("totals:", "summary:")):
                    total += int(line.split()[1])
                    break
    return total


def instructions_per_op(row: str, workload: str, options: dict[str, Any], timeout: float = 600) -> float:
    """Instructions retired per refcount operation by ``row`` on ``workload`` at T=1.

    Raises RuntimeError (with the reason) when valgrind is missing or the run fails."""
    why = status()
    if why:
        raise RuntimeError(why)
    with tempfile.TemporaryDirectory(prefix="refstrat-callgrind-") as out_dir:
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--toggle-collect=rs_worker_run",
            "--separate-threads=yes",
            f"--callgrind-out-file={out_dir}/callgrind.out",
            sys.executable,
            "-m",
            "refstrat.bench.callgrind",
            row,
            workload,
            json.dumps(options),
        ]
        # In the temporary folder: `-m` puts the working directory first on sys.path, and the child
        # must import the refstrat this process runs, not a source tree the user stands in.
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=out_dir)
        if proc.returncode != 0:
            raise RuntimeError(f"callgrind run of {row} on {workload} failed: {proc.stderr.strip()[-400:]}")
        ops = int(proc.stdout.strip().splitlines()[-1])
        ir = _total_ir(out_dir)
    if not ops or not ir:
        raise RuntimeError(f"callgrind counted nothing for {row} on {workload}")
    return ir / ops


if __name__ == "__main__":
    print(_run_cell(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}))
