"""Stress: seeded, large programs with hot shared and handed-off objects, run on real threads at
growing sizes.  Races on a machine with few cores need the volume that Hypothesis's small programs
lack; no jitter here, since pauses would thin the races.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from refstrat.model import Program
from refstrat.testing.failures import StressResult
from refstrat.testing.programs import immortal_active
from refstrat.testing.timing import run_once

STRESS_SHAPES = ("symmetric", "early_exit")


def stress_program(
    threads: int,
    ops: int,
    *,
    seed: int = 1,
    shared: int = 2,
    immortal: Sequence[int] = (),
    handoff: int = 2,
    shape: str = "symmetric",
) -> Program:
    """A large valid program built for data races, ~``ops`` operations per thread.

    ``symmetric``: every thread creates ``handoff`` objects, increments each and sends one
    reference to every other thread, takes the ones sent to it, then hammers the hot shared
    objects and all handed-over objects in short inc-runs followed by dec-runs (so an owner
    and a non-owner update one object at once), and drops everything (a creator's last release
    of its own object is a kill).

    ``early_exit``: thread 0 creates one object per other thread, increments it and sends it
    over, then hammers for the whole length; the other threads take their object, hammer
    briefly, drop it and leave early.  This is the shape where a scheme that trusts a
    partial count (a count that reads zero while another thread still holds unflushed
    increments) frees too early: the long thread then touches a freed object.

    Recvs only wait on sends that come before any recv, so neither shape can deadlock.
    """
    if shape not in STRESS_SHAPES:
        raise ValueError(f"unknown shape {shape!r}; valid: {', '.join(STRESS_SHAPES)}")
    plan = _Plan(threads, shared)
    if shape == "symmetric":
        plan.symmetric_setup(handoff)
        lengths = [ops] * threads
    else:
        plan.early_exit_setup()
        lengths = [ops] + [max(20, min(ops // 20, 2000))] * (threads - 1)
    plan.hammer_and_drop(random.Random(seed), lengths)
    return Program(threads=tuple(tuple(b) for b in plan.body), shared=shared, immortal=tuple(immortal))


@dataclass
class _Plan:
    """A stress program being built: per thread its operations, the references it holds, the
    objects it hammers and those it created."""

    threads: int
    shared: int
    body: list[list[tuple]] = field(init=False)
    hold: list[Counter] = field(init=False)
    pools: list[list[int]] = field(init=False)
    mine_of: list[set[int]] = field(init=False)
    next_id: int = field(init=False)

    def __post_init__(self) -> None:
        n = self.threads
        self.body = [[] for _ in range(n)]
        self.hold = [Counter() for _ in range(n)]
        self.pools = [list(range(self.shared)) for _ in range(n)]
        self.mine_of = [set() for _ in range(n)]
        self.next_id = self.shared

    def create(self, t: int) -> int:
        """Thread ``t`` creates an object it holds and hammers."""
        oid = self.next_id
        self.next_id += 1
        self.mine_of[t].add(oid)
        self.body[t].append(("new", oid))
        self.hold[t][oid] += 1
        self.pools[t].append(oid)
        return oid

    def give(self, src: int, dst: int, oid: int) -> None:
        self.body[src].append(("inc", oid))
        self.body[src].append(("send", oid, dst))
        self.pools[dst].append(oid)

    def take(self, t: int, oid: int) -> None:
        self.body[t].append(("recv", oid))
        self.hold[t][oid] += 1

    def symmetric_setup(self, handoff: int) -> None:
        """Every thread creates ``handoff`` objects and sends one reference of each to every other
        thread, then takes the ones sent to it (all sends come before any recv)."""
        created: list[list[int]] = [[] for _ in range(self.threads)]
        for t in range(self.threads):
            for _ in range(handoff):
                oid = self.create(t)
                created[t].append(oid)
                for dst in range(self.threads):
                    if dst != t:
                        self.give(t, dst, oid)
        for t in range(self.threads):
            for src in range(self.threads):
                if src != t:
                    for oid in created[src]:
                        self.take(t, oid)

    def early_exit_setup(self) -> None:
        """Thread 0 creates one object per other thread and sends it over."""
        for dst in range(1, self.threads):
            oid = self.create(0)
            self.give(0, dst, oid)
            self.take(dst, oid)

    def hammer_and_drop(self, rng: random.Random, lengths: list[int]) -> None:
        """Short inc-runs then dec-runs on random objects of each thread's pool, ``lengths[t]`` ops
        for thread ``t``; then every thread drops all it holds."""
        for t in range(self.threads):
            n = 0
            while n < lengths[t]:
                oid = rng.choice(self.pools[t])
                k = rng.randint(1, 4)
                self.body[t].extend([("inc", oid)] * k)
                self.body[t].extend([("dec", oid)] * k)
                n += 2 * k
            for oid in sorted(self.hold[t]):
                k = self.hold[t][oid]
                if oid in self.mine_of[t] and k:  # the creator's own reference: percpu_ref_kill
                    self.body[t].append(("kill", oid))
                    k -= 1
                self.body[t].extend([("dec", oid)] * k)


def stress(
    strategy: str,
    threads: int = 2,
    *,
    sizes: Iterable[int] = (2_000, 20_000, 200_000),
    repeats: int = 2,
    seed: int = 1,
    immortal: bool = False,
) -> StressResult:
    """Seeded stress runs at growing sizes (ops per thread), ``repeats`` runs per size with
    different seeds, alternating the :func:`stress_program` shapes, stopping at the first
    failure.  Deterministic programs; the interleaving is whatever the hardware does (no
    jitter: pauses would thin the races).  The result's ``failure`` is ``None`` when every
    run matched the model."""
    out = StressResult()
    t0 = time.perf_counter()
    act = immortal_active(strategy, immortal)
    for size in sizes:
        out.sizes.append(size)
        for r in range(repeats):
            prog = stress_program(
                threads,
                size,
                seed=seed * 1000 + r,
                immortal=(0,) if act else (),
                shape=STRESS_SHAPES[r % len(STRESS_SHAPES)],
            )
            out.ops += prog.refcount_ops()
            f = run_once(strategy, prog, 0, immortal, "stress")
            if f is not None:
                out.failure = f
                out.seconds = time.perf_counter() - t0
                return out
    out.seconds = time.perf_counter() - t0
    return out
