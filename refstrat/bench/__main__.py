"""``python -m refstrat.bench``: :func:`refstrat.bench.main`, with Ctrl-C and SIGTERM reported in
one line and the exit status of a process ended by that signal."""

from __future__ import annotations

import signal
import sys
from typing import Any

from refstrat.bench.driver import main


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C raises KeyboardInterrupt so that it leaves the same way:
    killed by default, the bench left its temporary directory (and its --python child) behind."""


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated()


def _main_interruptible() -> None:
    """main(), with Ctrl-C and SIGTERM reported in one line: pyperf kills the worker it waits
    for, run() stops its threads, and --output is only ever written whole (driver._dump_suite)."""
    signal.signal(signal.SIGTERM, _terminate)
    try:
        main()
    except (KeyboardInterrupt, SystemExit) as exc:
        # pyperf turns a KeyboardInterrupt into "Benchmark interrupted: exit" and exit status 1;
        # give it the usual status of a process ended by the signal instead.
        if isinstance(exc, SystemExit) and not isinstance(exc.__context__, KeyboardInterrupt):
            raise
        if isinstance(exc, _Terminated) or isinstance(exc.__context__, _Terminated):
            print("refstrat.bench: terminated; no results written", file=sys.stderr)
            sys.exit(128 + signal.SIGTERM)
        print("refstrat.bench: interrupted; no results written", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":
    _main_interruptible()
