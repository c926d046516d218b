"""A Hypothesis state machine that drives one ``refstrat.Arena`` from the calling thread, step by
step, against a dictionary model of counts.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import refstrat


def arena_machine(strategy: str, *, immortal: bool = False, capacity: int = 64) -> type[RuleBasedStateMachine]:
    """A ``RuleBasedStateMachine`` that drives one ``refstrat.Arena(strategy)`` from the calling
    thread, step by step, against a dictionary model of counts.

    Invariants checked after every step: no double free and no use after free in the
    arena's counters; every object the model still references is live; immortal objects
    keep the count they were born with.  After ``flush()`` the same; after ``quiesce()``
    additionally every count is exactly the model's and every object whose model count is
    0 is freed (no leak).  Run it with ``run_state_machine_as_test(machine)`` or its
    ``.TestCase``.
    """
    name = f"ArenaMachine_{strategy}"
    return type(
        name,
        (_ArenaMachine,),
        dict(strategy=strategy, immortal=immortal, capacity=capacity, __qualname__=name, __module__=__name__),
    )


class _ArenaMachine(RuleBasedStateMachine):
    """The rules and invariants of :func:`arena_machine`; a subclass names the arena's strategy,
    immortality and capacity (class attributes, which Hypothesis's preconditions can read)."""

    strategy: str = ""
    immortal: bool = False
    capacity: int = 64

    def __init__(self) -> None:
        super().__init__()
        self.arena = refstrat.Arena(self.strategy, self.capacity, immortal=self.immortal)
        self.count: dict[int, int] = {}  # model true count per live object
        self.held: Counter = Counter()  # references the test holds (releasable)
        self.base: dict[int, int] = {}  # permanent references (shared setup ref)
        self.immortal_count: dict[int, int] = {}
        self.freed: set[int] = set()  # dead in the model (freed now or at a safepoint)
        self.model_frees = 0
        self.allocated = 0

    # Preconditions cannot read Bundles, so all state lives on self.
    @precondition(lambda self: self.allocated < self.capacity)
    @rule()
    def alloc(self) -> None:
        oid = self.arena.alloc()
        self.allocated += 1
        note(f"alloc() -> {oid}")
        assert oid not in self.count, f"alloc returned {oid}, which is still live"
        self.freed.discard(oid)
        self.count[oid] = 1
        self.held[oid] = 1
        self.base[oid] = 0

    @precondition(lambda self: self.allocated < self.capacity)
    @rule(make_immortal=st.booleans())
    def alloc_shared(self, make_immortal: bool) -> None:
        oid = self.arena.alloc_shared(immortal=make_immortal)
        self.allocated += 1
        note(f"alloc_shared(immortal={make_immortal}) -> {oid}")
        assert oid not in self.count
        self.freed.discard(oid)
        self.count[oid] = 1
        self.base[oid] = 1
        if make_immortal and self.arena.immortal:
            self.immortal_count[oid] = self.arena.count(oid)

    @precondition(lambda self: bool(self.count))
    @rule(data=st.data())
    def incref(self, data: st.DataObject) -> None:
        # Held private objects, or any shared object (it borrows the setup reference).
        choices = sorted(o for o in self.count if self.held[o] > 0 or self.base[o] > 0)
        if not choices:
            return
        oid = data.draw(st.sampled_from(choices), label="incref id")
        self.arena.incref(oid)
        self.held[oid] += 1
        if oid not in self.immortal_count:
            self.count[oid] += 1

    @precondition(lambda self: any(c > 0 for c in self.held.values()))
    @rule(data=st.data())
    def decref(self, data: st.DataObject) -> None:
        oid = data.draw(st.sampled_from(sorted(o for o, c in self.held.items() if c > 0)), label="decref id")
        self.arena.decref(oid)
        self.held[oid] -= 1
        if oid not in self.immortal_count:
            self.count[oid] -= 1
            if self.count[oid] == 0:
                # Dead in the model; the scheme may free it now or at its next safepoint.
                del self.count[oid]
                self.freed.add(oid)
                self.model_frees += 1

    @rule()
    def flush(self) -> None:
        self.arena.flush()
        self._assert_sound()

    @rule()
    def quiesce(self) -> None:
        self.arena.quiesce()
        self._assert_exact()

    @invariant()
    def no_corruption(self) -> None:
        self._assert_sound()

    def teardown(self) -> None:
        # Every run ends at rest with exact counts, whatever the last step was.
        self.arena.quiesce()
        self._assert_exact()

    def _assert_sound(self) -> None:
        s = self.arena.stats()
        assert s["double_frees"] == 0, f"double free: {s}"
        assert s["use_after_free"] == 0, f"use after free: {s}"
        for oid in self.count:
            assert self.arena.is_live(oid), f"object {oid} freed while the model holds {self.count[oid]}"
        for oid, c in self.immortal_count.items():
            assert self.arena.count(oid) == c, f"immortal {oid} touched: {self.arena.count(oid)} != {c}"

    def _assert_exact(self) -> None:
        self._assert_sound()
        for oid, c in self.count.items():
            if oid in self.immortal_count:
                continue
            got = self.arena.count(oid)
            assert got == c, f"object {oid}: count {got} after quiesce, model {c}"
        for oid in self.freed:
            assert not self.arena.is_live(oid), f"object {oid} has count 0 but is not freed after quiesce"
        s = self.arena.stats()
        assert s["frees"] == self.model_frees, f"frees {s['frees']} != model {self.model_frees}"
