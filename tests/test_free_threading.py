"""refstrat on a free-threaded CPython: the "Free Threading" classifier, backed by tests.

CI runs the whole suite on a free-threaded 3.13t with the GIL off (.ci/run); these tests are the
ones that say something specific to that build, and skip elsewhere where they cannot.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

refstrat = pytest.importorskip("refstrat")

FREE_THREADED = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


def test_the_classifier_is_claimed() -> None:
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"Programming Language :: Python :: Free Threading :: 2 - Beta"' in text


@pytest.mark.skipif(not FREE_THREADED, reason="needs a free-threaded (--disable-gil) CPython")
def test_importing_refstrat_leaves_the_gil_off() -> None:
    # A fresh interpreter without PYTHON_GIL: an extension that does not declare free-threading
    # support makes CPython re-enable the GIL (with a RuntimeWarning) when it is imported.
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    code = "import sys, refstrat; refstrat.run('biased', 'private', 2, ops=2000); print(sys._is_gil_enabled())"
    proc = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_runs_from_many_python_threads_at_once() -> None:
    """Each run() owns its arena and threads: concurrent calls (truly parallel with the GIL
    off) neither interfere nor crash."""
    results: list = []
    errors: list = []

    def one(i: int) -> None:
        try:
            for strategy in ("biased", "atomic", "buffered", "coalesced"):
                results.append(
                    refstrat.run(strategy, ("private", "shared", "handoff")[i % 3], 2, ops=20_000, seed=i + 1)
                )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    pool = [threading.Thread(target=one, args=(i,)) for i in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(120)
    assert not errors, errors
    assert len(results) == 16 and all(r.ok and r.frees == r.allocs for r in results)
