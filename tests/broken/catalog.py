"""What each broken variant in this directory breaks, and the smallest program that exposes it.

For the systematic checks (a scheduler at every rs_pr_* primitive): ``CATALOG[name]`` is a
:class:`Shape`, a 4-tuple ``(scheme, bug_class, program, memory)``:

- ``scheme``: the correct scheme the variant is a one- to few-line change of (``"arena"`` for the
  arena's free path, run under ``atomic``);
- ``bug_class``: one of the ``BUG_CLASSES`` below (the classes of issue 7);
- ``program``: the smallest :class:`refstrat.model.Program` known to expose the bug under some
  schedule (the correct scheme passes it under every schedule), or ``None`` when no small one has
  been derived (the arena's shapes need tight pools, ``Program.pool``, so that freed slots are
  reused);
- ``memory``: the memory model with the fewest behaviours that shows it: ``"sc"``, ``"tso"`` or
  ``"c11"`` (``check(..., memory="c11")``, the C11 model: what ARM and POWER allow). A ``"c11"``
  variant is exact under SC and x86-TSO, and every scheduled check there passes it (``C11_ONLY``).

``KNOBS[name]`` holds the run parameters the shape needs besides the program (``tick``,
``log_size``, ``immortal``, or a loop ``workload`` and ``arena_size`` where ``program`` is None),
and ``REQUIRES[name]`` says what the scheduler must be able to do for the bug to show (a timed
wait that times out, deadlock detection).  The programs were derived by hand from each header's
"Exposed by" note; tests/test_fuzz_broken.py checks that every one is a valid program that the
correct scheme passes, not that the scheduler finds the bug in it.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from refstrat.model import Program

SPLIT_CHECK = "a check split from its atomic update"
WEAK_ORDER = "a publication or free decided with a too-weak order"
HANDSHAKE_REORDERED = "handshake steps reordered"
DROPPED = "a delta or a queued reference dropped"
CAS_AS_LOAD_STORE = "a compare-and-swap replaced by a load and a store"
FLAG_AFTER_PUBLISH = "a flag set after the object is published"
FREE_BY_TWO = "a free decided by two threads"
MISSED_WAKEUP = "a wait that misses its wake-up"
LOCK_RELEASED_EARLY = "a lock released too early"
NO_CONCURRENCY = "wrong even on one thread"

BUG_CLASSES = (
    SPLIT_CHECK,
    WEAK_ORDER,
    HANDSHAKE_REORDERED,
    DROPPED,
    CAS_AS_LOAD_STORE,
    FLAG_AFTER_PUBLISH,
    FREE_BY_TWO,
    MISSED_WAKEUP,
    LOCK_RELEASED_EARLY,
    NO_CONCURRENCY,
)


class Shape(NamedTuple):
    scheme: str
    bug_class: str
    program: Program | None
    memory: str


def _p(*threads: tuple, shared: int = 0, immortal: tuple[int, ...] = ()) -> Program:
    return Program(threads=threads, shared=shared, immortal=immortal)


#: Two holders drop the last two references at once (x = 0).
_TWO_DROPS = _p((("new", 0), ("inc", 0), ("send", 0, 1), ("dec", 0)), (("recv", 0), ("dec", 0)))
#: Two threads increment one shared object (final count 3).
_TWO_INCS = _p((("inc", 0),), (("inc", 0),), shared=1)
#: T0 hands x over and keeps one reference, then works (safepoints) before dropping it; T1
#: drops the one it got.  x = 1, shared object 0 gives the safepoints.
_HAND_OVER_THEN_WORK = _p(
    (("new", 1), ("inc", 1), ("send", 1, 1), ("inc", 0), ("dec", 0), ("dec", 1)), (("recv", 1), ("dec", 1)), shared=1
)

#: The owner hands x over, gets it back after the receiver took a reference, and both drop.
_SENT_BACK = _p(
    (("new", 0), ("send", 0, 1), ("recv", 0), ("dec", 0)), (("recv", 0), ("inc", 0), ("send", 0, 0), ("dec", 0))
)

CATALOG: dict[str, Shape] = {
    # --- the six original variants
    "broken_atomic_split": Shape("atomic", CAS_AS_LOAD_STORE, _TWO_INCS, "sc"),
    "broken_immortal_decrefs": Shape(
        "immortal", NO_CONCURRENCY, _p((("inc", 0), ("dec", 0)), shared=1, immortal=(0,)), "sc"
    ),
    "broken_biased_nonowner_local": Shape("biased", CAS_AS_LOAD_STORE, _TWO_INCS, "sc"),
    "broken_biased_no_queue": Shape(
        "biased", DROPPED, _p((("new", 0), ("send", 0, 1)), (("recv", 0), ("dec", 0))), "sc"
    ),
    "broken_coalesced_no_epoch": Shape(
        "coalesced",
        FREE_BY_TWO,
        _p((("new", 0), ("inc", 0), ("send", 0, 1), ("dec", 0)), (("recv", 0), ("dec", 0))),
        "sc",
    ),
    "broken_buffered_dec_first": Shape(
        "buffered",
        NO_CONCURRENCY,
        _p(
            (("new", 0), ("inc", 0), ("dec", 0)),
        ),
        "sc",
    ),
    # --- issue 7's teeth
    "broken_atomic_dec_then_load": Shape("atomic", SPLIT_CHECK, _TWO_DROPS, "sc"),
    "broken_atomic_last_ref_shortcut": Shape("atomic", SPLIT_CHECK, _TWO_DROPS, "sc"),
    "broken_immortal_saturating_inc": Shape("immortal", CAS_AS_LOAD_STORE, _TWO_INCS, "sc"),
    "broken_locked_unlock_early": Shape("locked", LOCK_RELEASED_EARLY, _TWO_DROPS, "sc"),
    "broken_locked_inc_unlocked": Shape("locked", SPLIT_CHECK, _TWO_INCS, "sc"),
    "broken_gil_if_not_while": Shape("gil", MISSED_WAKEUP, _TWO_INCS, "sc"),
    "broken_gil_switch_snapshot_late": Shape(
        "gil", MISSED_WAKEUP, _p((("inc", 0), ("dec", 0)), (("inc", 0), ("dec", 0)), shared=1), "sc"
    ),
    "broken_buffered_ack_first": Shape("buffered", HANDSHAKE_REORDERED, _HAND_OVER_THEN_WORK, "sc"),
    "broken_buffered_offline_first": Shape(
        "buffered",
        HANDSHAKE_REORDERED,
        _p(
            (("new", 1), ("inc", 1), ("send", 1, 1)),
            (("recv", 1), ("dec", 1), ("inc", 0), ("dec", 0), ("inc", 0), ("dec", 0)),
            shared=1,
        ),
        "sc",
    ),
    "broken_buffered_commit_ahead": Shape("buffered", HANDSHAKE_REORDERED, _HAND_OVER_THEN_WORK, "sc"),
    "broken_buffered_wait_no_ack": Shape(
        "buffered",
        MISSED_WAKEUP,
        _p((("new", 1),) + (("inc", 0), ("dec", 0)) * 64 + (("send", 1, 1),), (("recv", 1), ("dec", 1)), shared=1),
        "sc",
    ),
    "broken_coalesced_offline_first": Shape(
        "coalesced",
        HANDSHAKE_REORDERED,
        _p(
            (("new", 1), ("send", 1, 1), ("recv", 1), ("recv", 1), ("dec", 1))
            + (("inc", 0), ("dec", 0)) * 8
            + (("dec", 1),),
            (("recv", 1), ("inc", 1), ("send", 1, 0), ("send", 1, 0)),
            shared=1,
        ),
        "sc",
    ),
    "broken_coalesced_mark_late": Shape(
        "coalesced",
        HANDSHAKE_REORDERED,
        _p(
            (("new", 1), ("inc", 1), ("inc", 1), ("send", 1, 1), ("send", 1, 1), ("dec", 1)),
            (("recv", 1), ("recv", 1), ("dec", 1), ("inc", 1), ("dec", 1), ("dec", 1)) + (("inc", 0), ("dec", 0)) * 2,
            shared=1,
        ),
        "sc",
    ),
    "broken_biased_merge_store": Shape(
        "biased",
        CAS_AS_LOAD_STORE,
        _p(
            (("new", 0), ("send", 0, 1), ("recv", 0), ("dec", 0)), (("recv", 0), ("inc", 0), ("send", 0, 0), ("dec", 0))
        ),
        "sc",
    ),
    "broken_biased_queued_late": Shape(
        "biased",
        FLAG_AFTER_PUBLISH,
        _p(
            (("new", 1), ("inc", 1), ("send", 1, 1), ("recv", 2), ("dec", 2), ("dec", 1)),
            (("recv", 1), ("dec", 1), ("new", 2), ("send", 2, 0)),
        ),
        "sc",
    ),
    "broken_biased_drain_unlocked": Shape(
        "biased",
        DROPPED,
        _p(
            (("new", 1), ("new", 2), ("send", 1, 1), ("send", 2, 1)) + (("inc", 0), ("dec", 0)) * 2,
            (("recv", 1), ("recv", 2), ("dec", 1), ("dec", 2)),
            shared=1,
        ),
        "sc",
    ),
    "broken_arena_push_split": Shape(
        "arena",
        CAS_AS_LOAD_STORE,
        Program(
            (
                (
                    ("new", 0),
                    ("new", 1),
                    ("send", 0, 1),
                    ("send", 1, 1),
                    ("new", 2),
                    ("new", 3),
                    ("send", 2, 1),
                    ("new", 4),
                    ("dec", 3),
                    ("dec", 4),
                ),
                (("recv", 0), ("recv", 1), ("dec", 0), ("dec", 1), ("recv", 2), ("dec", 2)),
            ),
            pool=2,
        ),
        "sc",
    ),
    "broken_arena_push_before_free": Shape(
        "arena",
        FLAG_AFTER_PUBLISH,
        Program(((("new", 0), ("send", 0, 1), ("new", 1), ("dec", 1)), (("recv", 0), ("dec", 0))), pool=1),
        "sc",
    ),
    # --- issue 8
    "broken_percpu_kill_no_grace": Shape(
        "percpu",
        HANDSHAKE_REORDERED,
        _p((("new", 0), ("inc", 0), ("send", 0, 1), ("kill", 0)), (("recv", 0), ("inc", 0), ("dec", 0), ("dec", 0))),
        "sc",
    ),
    "broken_signed_publish_late": Shape("signed", FLAG_AFTER_PUBLISH, _TWO_DROPS, "sc"),
    "broken_deferred_free_at_zero": Shape(
        "deferred",
        NO_CONCURRENCY,
        Program(threads=((("new", 0), ("push", 0), ("dec", 0), ("pop", 0)),), deferred=(0,)),
        "sc",
    ),
    "broken_sharded_plain_shared": Shape(
        "sharded", CAS_AS_LOAD_STORE, Program(threads=((("inc", 0),), (("inc", 0),)), shared=1, sharded=(0,)), "sc"
    ),
    # --- issue 28: orders too weak for ARM and POWER, exact under SC and x86-TSO
    "broken_atomic_dec_relaxed": Shape("atomic", WEAK_ORDER, _TWO_DROPS, "c11"),
    "broken_atomic_dec_release": Shape("atomic", WEAK_ORDER, _TWO_DROPS, "c11"),
    "broken_signed_dec_relaxed": Shape("signed", WEAK_ORDER, _TWO_DROPS, "c11"),
    "broken_signed_dec_release": Shape("signed", WEAK_ORDER, _TWO_DROPS, "c11"),
    "broken_biased_merge_zero_relaxed": Shape("biased", WEAK_ORDER, _SENT_BACK, "c11"),
    "broken_biased_shared_dec_release": Shape("biased", WEAK_ORDER, _SENT_BACK, "c11"),
    "broken_biased_shared_dec_relaxed": Shape("biased", WEAK_ORDER, _SENT_BACK, "c11"),
    "broken_arena_push_relaxed": Shape(
        "arena",
        WEAK_ORDER,
        Program(((("new", 0), ("send", 0, 1), ("new", 1), ("dec", 1)), (("recv", 0), ("dec", 0))), pool=1),
        "c11",
    ),
    "broken_buffered_collect_relaxed": Shape("buffered", WEAK_ORDER, _TWO_INCS, "c11"),
    "broken_buffered_submit_relaxed": Shape("buffered", WEAK_ORDER, _TWO_INCS, "c11"),
    # the order rs_brc_merge had until the C11 model found it (a real bug, fixed)
    "broken_biased_merge_clear_late": Shape(
        "biased",
        HANDSHAKE_REORDERED,
        _p(
            (("new", 1), ("inc", 1), ("send", 1, 1), ("send", 1, 1), ("inc", 0), ("dec", 0)),
            (("recv", 1), ("recv", 1), ("dec", 1), ("dec", 1)),
            shared=1,
        ),
        "c11",
    ),
}

#: The variants only a weak memory model shows (``memory == "c11"``): every scheduled check
#: under ``"sc"`` and ``"tso"`` passes them, and real threads on x86 never fail.
C11_ONLY = frozenset(name for name, shape in CATALOG.items() if shape.memory == "c11")

#: The smallest arena the handoff workload accepts at 2 threads: every pool runs dry and takes
#: back the slots other threads freed (the remote stack).
HANDOFF_MIN_ARENA_2T = 1028

KNOBS: dict[str, dict[str, Any]] = {
    "broken_buffered_wait_no_ack": {"log_size": 16},
    # T1 (4 ops) must not tick before it leaves; T0 ticks at least three times after its dec.
    "broken_coalesced_offline_first": {"tick": 5},
    "broken_coalesced_mark_late": {"tick": 5},
    "broken_arena_push_split": {"workload": "handoff", "threads": 2, "arena_size": HANDOFF_MIN_ARENA_2T},
    "broken_arena_push_before_free": {"workload": "handoff", "threads": 2, "arena_size": HANDOFF_MIN_ARENA_2T},
}

_TIMEOUT = "a timed condition wait that may time out (rs_pr_cond_timedwait)"
_ROUND_SPLIT = (
    "the commit thread's first round between the worker's allocation and its first "
    "safepoint, the worker stopped after its send, a collect between its ack and its submit "
    "(three preemptions on this program: about 43,000 schedules into its bound-3 exploration "
    "under partial-order reduction; the default exploration finds it on the corpus's "
    "'objects handed both ways' at bound 2)"
)
REQUIRES: dict[str, str] = {
    "broken_gil_if_not_while": _TIMEOUT,
    "broken_gil_switch_snapshot_late": _TIMEOUT + "; deadlock detection (the dropper sleeps for "
    "ever, real threads hang); a preemption bound of 3",
    "broken_buffered_ack_first": _ROUND_SPLIT,
    "broken_buffered_commit_ahead": "a commit round between a worker's ack and a second worker's last "
    "drop; the corpus's second pass reaches it (about 4,300 schedules "
    "into one program)",
    "broken_coalesced_offline_first": "the tick knob (KNOBS): at the default tick no worker ticks "
    "during so short a program",
    "broken_buffered_wait_no_ack": "deadlock detection (real threads stall until the kernel's 30 s wait limit)",
    "broken_coalesced_mark_late": "a review queued by one worker's zero while the other holds "
    "increments, the other's last flush stopped between its add and "
    "its zero test while the reviewer ticks: three preemptions, and "
    "the tick knob (KNOBS; found by a PCT search over hand-off shapes, "
    "then the smallest shape caught at bound 3)",
    "broken_arena_push_split": "tight pools (Program.pool) so that remotely freed slots are reused",
    "broken_arena_push_before_free": "tight pools (Program.pool) so that remotely freed slots are reused",
}


# ---- lock schemes (tests/broken/locks.c): run on its host strategy, `lockhost` (atomic counts) ----

_TWO_LOCKERS = Program(
    threads=(
        (("lock", 0), ("write", 0), ("write", 0), ("unlock", 0)),
        (("lock", 0), ("write", 0), ("read", 0), ("unlock", 0)),
    ),
    shared=1,
)
# The owner locks its object twice while the thread it sent a reference to asks for a promotion:
# a promotion racing the owner's own lock and unlock.
_PROMOTION_RACE = Program(
    threads=(
        (
            ("new", 0), ("inc", 0), ("send", 0, 1), ("lock", 0), ("write", 0), ("unlock", 0),
            ("lock", 0), ("write", 0), ("unlock", 0), ("dec", 0),
        ),
        (("recv", 0), ("lock", 0), ("write", 0), ("unlock", 0), ("dec", 0)),
    ),
)  # fmt: skip

#: Broken lock scheme -> (the correct lock scheme it is a change of, bug class, smallest program
#: known to expose it; the program's ``locks`` is set to the broken scheme by the test).
LOCK_CATALOG: dict[str, tuple[str, str, Program]] = {
    "broken_mutex_unlock_early": ("mutex", LOCK_RELEASED_EARLY, _TWO_LOCKERS),
    "broken_pymutex_cas_split": ("pymutex", CAS_AS_LOAD_STORE, _TWO_LOCKERS),
    "broken_pymutex_lost_wakeup": ("pymutex", MISSED_WAKEUP, _TWO_LOCKERS),
    "broken_private_keeps_fast_path": ("private", HANDSHAKE_REORDERED, _PROMOTION_RACE),
    "broken_private_promote_ignores_held": ("private", DROPPED, _PROMOTION_RACE),
    "broken_private_no_handshake": ("private", HANDSHAKE_REORDERED, _PROMOTION_RACE),
}
