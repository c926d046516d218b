"""Building a strategy plugin with both flavours, so that :func:`refstrat.testing.check` can run it
on real threads and under the deterministic scheduler alike.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import refstrat


def build_plugin(
    sources: Sequence[str | Path],
    output: str | Path,
    *,
    include_dirs: Sequence[str | Path] = (),
    cc: str | None = None,
    extra_args: Sequence[str] = ("-O2",),
) -> Path:
    """Compile a strategy plugin twice -- normal and ``-DRS_CHECK_BUILD`` -- and link both
    objects into ``output``, so that :func:`check` can run it under the scheduler.  The
    compilations run side by side, one per CPU.  Raises ``RuntimeError`` with the compiler's
    output when a step fails; returns the library path.  ``extra_args`` may narrow the normal
    flavour to the workloads a caller runs, e.g. ``-DRS_KEEP_WORKLOAD(w)=((w)==RS_W_TRACE)``
    (include/refstrat/registry.h): each kernel copy left out saves compile time, and a run of a
    workload left out is refused."""
    cc = cc or (sysconfig.get_config_var("CC") or "cc").split()[0]
    if not shutil.which(cc):
        cc = "cc"
    inc = [f"-I{refstrat.get_include()}"] + [f"-I{d}" for d in include_dirs]
    out = Path(output)
    with tempfile.TemporaryDirectory() as tmp:
        jobs = [
            (flavour, defs, k, src)
            for flavour, defs in (("normal", []), ("check", ["-DRS_CHECK_BUILD=1"]))
            for k, src in enumerate(sources)
        ]

        def compile_one(job: tuple) -> str:
            flavour, defs, k, src = job
            obj = Path(tmp) / f"{flavour}{k}.o"
            cmd = [cc, "-std=gnu11", "-fPIC", "-pthread", "-c", *extra_args, *defs, *inc, str(src), "-o", str(obj)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"building {src} ({flavour}) failed:\n{' '.join(cmd)}\n{proc.stderr}")
            return str(obj)

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            objs = list(pool.map(compile_one, jobs))
        cmd = [cc, "-shared", "-pthread", *objs, "-o", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"linking {out} failed:\n{' '.join(cmd)}\n{proc.stderr}")
    return out
