"""refstrat: reference-counting strategies for multithreaded runtimes, raced on real cores.

>>> import refstrat
>>> [s.name for s in refstrat.strategies()][:4]
['nonatomic', 'locked', 'gil', 'atomic']
>>> r = refstrat.run("biased", "fib", threads=2, fib_n=18)
>>> r.ok
True
"""

from refstrat._api import (
    Arena,
    ArenaFullError,
    get_include,
    knobs,
    limit,
    load_plugin,
    locks,
    run,
    speed_of_light,
    strategies,
    workloads,
)
from refstrat._core import ArenaExhaustedError, RunError, StalledError
from refstrat.results import Explain, HotObject, KnobInfo, LockInfo, RunResult, StrategyInfo, WorkloadInfo
from refstrat.trace import Trace, TraceError

__all__ = [
    "Arena",
    "ArenaExhaustedError",
    "ArenaFullError",
    "Explain",
    "HotObject",
    "KnobInfo",
    "LockInfo",
    "RunError",
    "RunResult",
    "StalledError",
    "StrategyInfo",
    "Trace",
    "TraceError",
    "WorkloadInfo",
    "get_include",
    "knobs",
    "limit",
    "load_plugin",
    "locks",
    "run",
    "speed_of_light",
    "strategies",
    "workloads",
]
__version__ = "0.1.0"
