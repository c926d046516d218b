"""The broken lock schemes of tests/broken/locks.c: each is caught by the systematic check
(exhaustive, the default configuration) on its catalogued program, which every correct lock
scheme passes under every schedule."""

from __future__ import annotations

import importlib.util
import re
from dataclasses import replace
from pathlib import Path

import pytest

import refstrat
from refstrat import _core
from refstrat.testing import build_plugin, check

BROKEN = Path(__file__).resolve().parent / "broken"
_spec = importlib.util.spec_from_file_location("refstrat_broken_lock_catalog", BROKEN / "catalog.py")
assert _spec is not None and _spec.loader is not None
_catalog = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_catalog)
LOCK_CATALOG = _catalog.LOCK_CATALOG


@pytest.fixture(scope="module")
def lock_plugin(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    out = build_plugin(
        [BROKEN / "locks.c"],
        tmp_path_factory.mktemp("locks") / "refstrat_broken_locks.so",
        include_dirs=[BROKEN],
        extra_args=("-O2", "-DRS_KEEP_WORKLOAD(w)=((w)==RS_W_TRACE)"),
    )
    return list(_core.load_plugin(str(out)))


def _variants() -> list[str]:
    return re.findall(r"^\s*L\((broken_\w+),", (BROKEN / "locks.c").read_text(), re.M)


def test_catalog_lists_every_variant() -> None:
    assert sorted(_variants()) == sorted(LOCK_CATALOG)
    assert len(LOCK_CATALOG) >= 6


def test_plugin_locks_are_the_hosts_choices_only(lock_plugin: list[str]) -> None:
    assert lock_plugin == ["lockhost"]
    names = [lk.name for lk in refstrat.locks()]
    assert _core.strategy_locks("lockhost") == names + _variants()
    assert not set(_variants()) & set(names)
    with pytest.raises(ValueError, match="valid choices: none, global, mutex, pymutex, private$"):
        refstrat.run("atomic", "trace", 1, trace=refstrat.Trace([[]]), locks="broken_pymutex_cas_split")


@pytest.mark.parametrize("variant", sorted(LOCK_CATALOG))
def test_broken_lock_caught(lock_plugin: list[str], variant: str) -> None:
    correct, _, program = LOCK_CATALOG[variant]
    assert check("lockhost", replace(program, locks=correct), schedule="exhaustive").ok
    report = check("lockhost", replace(program, locks=variant), schedule="exhaustive", raise_on_failure=False)
    assert report.failure is not None, f"{variant} passed every schedule"
