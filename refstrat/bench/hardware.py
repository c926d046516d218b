"""Machine facts and hardware performance counters for ``refstrat.bench``.

Counters use the Linux ``perf_event_open`` system call through ctypes (no ``perf`` binary and no
extra dependency).  Many VMs and containers refuse it (no PMU passthrough, seccomp, or
``perf_event_paranoid``); every failure becomes an "unsupported: why" string, never an exception,
because a benchmark report must still be produced without counters.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import platform
import shutil
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

# perf_event_attr constants (include/uapi/linux/perf_event.h).
_PERF_TYPE_HARDWARE = 0
_HW_CPU_CYCLES = 0
_HW_INSTRUCTIONS = 1
_HW_CACHE_MISSES = 3
_ATTR_SIZE = 128  # PERF_ATTR_SIZE_VER7; the kernel accepts any known size it can zero-extend
_FLAG_DISABLED = 1 << 0
_FLAG_INHERIT = 1 << 1  # count threads created after the counter opens (the run's workers)
_FLAG_EXCLUDE_KERNEL = 1 << 5
_FLAG_EXCLUDE_HV = 1 << 6
_IOC_ENABLE = 0x2400
_IOC_DISABLE = 0x2401
_IOC_RESET = 0x2403
_SYSCALL_NR = {"x86_64": 298, "aarch64": 241, "i386": 336, "i686": 336}

COUNTERS = (("cycles", _HW_CPU_CYCLES), ("instructions", _HW_INSTRUCTIONS), ("cache_misses", _HW_CACHE_MISSES))


@dataclass(frozen=True)
class MachineInfo:
    """What a reader needs to interpret the numbers: which CPU, how many cores, which Python."""

    cpu_model: str
    logical_cpus: int
    usable_cpus: int
    platform: str
    python: str
    gil: str

    def lines(self) -> list[str]:
        return [
            f"CPU: {self.cpu_model}; {self.logical_cpus} logical CPUs, {self.usable_cpus} usable by this process",
            f"OS: {self.platform}",
            f"Python: {self.python} ({self.gil})",
        ]


def machine_info() -> MachineInfo:
    """Collect CPU model, core counts and the running interpreter's build."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    logical = os.cpu_count() or 1
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = logical
    return MachineInfo(
        cpu_model=model,
        logical_cpus=logical,
        usable_cpus=usable,
        platform=platform.platform(),
        python=platform.python_version(),
        gil=gil_description(),
    )


def gil_description() -> str:
    """Describe the running build the way the report needs it (sys._is_gil_enabled where it exists)."""
    import sys
    import sysconfig

    ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    probe = getattr(sys, "_is_gil_enabled", None)
    if probe is None:
        return "GIL build (sys._is_gil_enabled does not exist: Python < 3.13)"
    state = "enabled" if probe() else "disabled"
    return f"{'free-threaded' if ft else 'GIL'} build, sys._is_gil_enabled() -> {probe()} (GIL {state})"


@dataclass
class CounterSet:
    """Open perf counters for this process and its future threads; read totals after a run."""

    fds: dict[str, int] = field(default_factory=dict)

    def close(self) -> None:
        for fd in self.fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds.clear()


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _open_counter(libc: ctypes.CDLL, nr: int, config: int) -> int:
    attr = bytearray(_ATTR_SIZE)
    flags = _FLAG_DISABLED | _FLAG_INHERIT | _FLAG_EXCLUDE_KERNEL | _FLAG_EXCLUDE_HV
    # type, size, config, sample_period, sample_type, read_format, flag bits
    struct.pack_into("=IIQQQQQ", attr, 0, _PERF_TYPE_HARDWARE, _ATTR_SIZE, config, 0, 0, 0, flags)
    buf = (ctypes.c_char * _ATTR_SIZE).from_buffer(attr)
    libc.syscall.restype = ctypes.c_long
    fd = libc.syscall(ctypes.c_long(nr), buf, ctypes.c_int(0), ctypes.c_int(-1), ctypes.c_int(-1), ctypes.c_ulong(0))
    if fd < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(fd)


def open_counters() -> tuple[CounterSet | None, str]:
    """Try to open cycles/instructions/cache-miss counters; return (counters or None, status text)."""
    if platform.system() != "Linux":
        return None, f"unsupported (perf_event_open is Linux-only; this is {platform.system()})"
    nr = _SYSCALL_NR.get(platform.machine())
    if nr is None:
        return None, f"unsupported (unknown perf_event_open syscall number on {platform.machine()})"
    cs = CounterSet()
    try:
        libc = _libc()
        for name, config in COUNTERS:
            cs.fds[name] = _open_counter(libc, nr, config)
    except (OSError, AttributeError) as exc:
        cs.close()
        return None, "unsupported (" + _why(exc) + ")"
    return cs, "readable via perf_event_open (user-space cycles, instructions, cache misses)"


def _why(exc: BaseException) -> str:
    parts = [f"perf_event_open failed: {exc}"]
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
        try:
            with open("/proc/sys/kernel/perf_event_paranoid", encoding="ascii") as f:
                parts.append(f"kernel.perf_event_paranoid={f.read().strip()}")
        except OSError:
            pass
    if isinstance(exc, OSError) and exc.errno == errno.ENOENT:
        parts.append("no hardware PMU exposed, typical of a VM")
    parts.append("`perf` tool " + ("found" if shutil.which("perf") else "not installed"))
    return "; ".join(parts)


def count(cs: CounterSet, func: Callable[[], object]) -> dict[str, int]:
    """Run func with the counters enabled; return the totals (threads joined inside func included)."""
    import fcntl

    for fd in cs.fds.values():
        fcntl.ioctl(fd, _IOC_RESET, 0)
        fcntl.ioctl(fd, _IOC_ENABLE, 0)
    try:
        func()
    finally:
        for fd in cs.fds.values():
            fcntl.ioctl(fd, _IOC_DISABLE, 0)
    return {name: struct.unpack("=Q", os.read(fd, 8))[0] for name, fd in cs.fds.items()}


def probe_status() -> str:
    """One line for the report: can hardware counters be read here, and if not, why not."""
    cs, status = open_counters()
    if cs is not None:
        cs.close()
    return status
