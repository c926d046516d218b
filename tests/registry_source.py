"""The registries as their C sources spell them, read without the compiled core: what the tests
compare the bindings against, instead of a list kept by hand. A test that needs every scheme,
workload or knob takes it from here or from the API, never from a literal
(tests/test_registry.py fails when such a literal creeps back)."""

from __future__ import annotations

import re
from pathlib import Path

INCLUDE = Path(__file__).resolve().parents[1] / "include" / "refstrat"


def _rows(header: str, macro: str, row: str) -> dict[str, str]:
    """The ``row(...)`` entries inside ``#define macro(...)`` of ``header``: first field -> the
    entry's text up to the next entry."""
    text = (INCLUDE / header).read_text()
    body = re.search(rf"#define {macro}\(.*?\)(.*?)(?<!\\)\n(?!\s)", text, re.S)
    assert body, f"no #define {macro} in {header}"
    parts = re.split(rf"\b{row}\((\w+),", body.group(1))
    return dict(zip(parts[1::2], parts[2::2]))


def _names(header: str, macro: str, row: str) -> list[str]:
    return list(_rows(header, macro, row))


def strategies() -> list[str]:
    return _names("registry.h", "RS_STRATEGIES", "RS_X")


def refusing_collections() -> list[str]:
    """The schemes whose entry carries RS_S_NO_COLLECTED, in registry order."""
    return [name for name, text in _rows("registry.h", "RS_STRATEGIES", "RS_X").items() if "RS_S_NO_COLLECTED" in text]


def workloads() -> list[str]:
    return _names("runtime.h", "RS_WORKLOADS", "W")


def knobs() -> list[str]:
    return _names("knobs.h", "RS_KNOBS", "K")


def locks() -> list[str]:
    return _names("locks.h", "RS_LOCKS", "L")
