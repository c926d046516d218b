"""docs/contributing.md's worked example (a scheme and a workload) applied to a copy of the headers
and compiled with the core: the guide's files are the only ones it needs, and its code cannot drift.

The same functions apply it to a whole copy of the repository, where the full suite must pass
(python tests/test_contributing.py DEST: see docs/contributing.md)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "contributing.md"


def _fresh_tree() -> None:
    if (ROOT / "include" / "refstrat" / "casloop.h").exists():
        pytest.skip("the worked example is applied to this tree already (a scratch copy's run)")


def _c_blocks() -> list[str]:
    text = GUIDE.read_text()
    section = text[text.index("## Worked example") :]
    return re.findall(r"```c\n(.*?)```", section, re.S)


def _append_to_list(text: str, macro: str, entry: str) -> str:
    """``entry`` after the last entry of the X-macro list ``#define macro(...)``."""
    start = text.index(f"#define {macro}(")
    end = re.search(r"[^\\]\n", text[start:]).end() + start - 1  # the list's last line ends here
    last = text[:end].rstrip()
    return last + " " * max(1, 99 - len(last.splitlines()[-1])) + "\\\n" + entry.rstrip("\n") + text[end:]


def apply_worked_example(root: Path) -> list[str]:
    """Apply the guide's edits under ``root``; return the files touched."""
    casloop, scheme_line, kernel, limit, workload_line = _c_blocks()
    inc = root / "include" / "refstrat"
    (inc / "casloop.h").write_text(casloop)
    registry = (inc / "registry.h").read_text()
    registry = registry.replace(
        '#include "refstrat/cpython314t.h"\n', '#include "refstrat/cpython314t.h"\n#include "refstrat/casloop.h"\n'
    )
    (inc / "registry.h").write_text(_append_to_list(registry, "RS_STRATEGIES", scheme_line))
    workloads = (inc / "workloads.h").read_text()
    cut = workloads.rindex("#endif")
    (inc / "workloads.h").write_text(workloads[:cut] + kernel + "\n" + workloads[cut:])
    limits = (inc / "limit.h").read_text()
    cut = limits.index("/* The registry's names for each limit kernel")
    (inc / "limit.h").write_text(limits[:cut] + limit + "\n" + limits[cut:])
    runtime = (inc / "runtime.h").read_text()
    (inc / "runtime.h").write_text(_append_to_list(runtime, "RS_WORKLOADS", workload_line))
    return [f"include/refstrat/{n}" for n in ("casloop.h", "registry.h", "workloads.h", "limit.h", "runtime.h")]


def test_the_guide_names_the_files_the_example_touches(tmp_path: Path) -> None:
    _fresh_tree()
    shutil.copytree(ROOT / "include", tmp_path / "include")
    touched = apply_worked_example(tmp_path)
    section = GUIDE.read_text().split("## Worked example")[1]
    for path in touched:
        assert f"`{path}`" in section, path


@pytest.mark.parametrize(
    "unit, flags",
    [
        ("src/registry.c", []),
        ("src/check_table.c", []),
        ("src/explain.c", []),
        # Every header through plugin.h, held to the plugin template's -Wextra.
        ("docs/examples/my_scheme.c", ["-Wextra"]),
    ],
)
def test_the_worked_example_compiles_into_the_core(tmp_path: Path, unit: str, flags: list[str]) -> None:
    """Compiled as setup.py compiles the core (syntax and types; the full build and suite run on
    a copy of the repository: see the module docstring)."""
    _fresh_tree()
    shutil.copytree(ROOT / "include", tmp_path / "include")
    apply_worked_example(tmp_path)
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    cc = cc if shutil.which(cc) else "cc"
    cmd = [
        cc,
        "-std=gnu11",
        "-fsyntax-only",
        "-Wall",
        "-Wno-unused-function",
        "-Werror",
        f"-I{tmp_path / 'include'}",
        f"-I{sysconfig.get_paths()['include']}",
        *flags,
        str(ROOT / unit),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "casloop" in (tmp_path / "include/refstrat/registry.h").read_text()


if __name__ == "__main__":  # apply to a copy of the repository: python tests/test_contributing.py DEST
    print("\n".join(apply_worked_example(Path(sys.argv[1]))))
