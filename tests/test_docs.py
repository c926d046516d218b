"""The documentation's examples run: every ``>>>`` example in README.md, docs/*.md and the package's
own docstring under doctest, every ``python -m refstrat.bench`` command of the pages through the
bench's argument parser, and the plugin template (docs/examples/my_scheme.c) compiled with every
warning as an error. docs/plugins.md's examples build, load, run and check the template end to end.

Figures that vary between runs or machines are written ``...`` in the pages (doctest's ELLIPSIS);
NORMALIZE_WHITESPACE lets a long output wrap. Examples run from the repository root, as the pages
say, so that relative paths such as docs/examples/my_scheme.c resolve."""

from __future__ import annotations

import doctest
import re
import subprocess
import sysconfig
import tempfile
from pathlib import Path

import pytest

import refstrat

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
TEMPLATE = ROOT / "docs" / "examples" / "my_scheme.c"


def test_pages_exist() -> None:
    names = {p.name for p in PAGES}
    for page in (
        "index.md",
        "getting-started.md",
        "strategies.md",
        "benchmarks.md",
        "checking.md",
        "plugins.md",
        "contributing.md",
        "api.md",
        "results.md",
        "bounds.md",
        "decisions.md",
    ):
        assert page in names, page


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_examples_run(
    page: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the pages' temporary files land here
    failed, attempted = doctest.testfile(str(page), module_relative=False, optionflags=FLAGS, encoding="utf-8")
    report = capsys.readouterr().out
    assert failed == 0, f"{failed} of {attempted} examples in {page.name} failed:\n{report}"


def test_package_docstring_runs() -> None:
    failed, attempted = doctest.testmod(refstrat, optionflags=FLAGS)
    assert attempted > 0 and failed == 0


def test_every_python_block_is_a_doctest() -> None:
    """A ```python block without ``>>>`` would never run: every Python example is a doctest."""
    for page in PAGES:
        for block in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            assert block.lstrip().startswith(">>>"), f"{page.name}: a python block doctest skips:\n{block}"


def _bench_commands() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for line in page.read_text(encoding="utf-8").splitlines():
            line = line.strip().removeprefix("$ ")
            m = re.match(r"(?:\S*/)?python3?\s+-m refstrat\.bench\b(.*)", line)
            if m:
                found.append((page.name, m.group(1).split("#")[0].strip()))
    return found


# Run in a child: pyperf allows one Runner per process, and the bench's parser is pyperf's Runner
# parser with the bench's options added (as refstrat.bench.main builds it).
_PARSE_ALL = """
import argparse, json, shlex, sys
import pyperf
from refstrat import bench
parser = argparse.ArgumentParser(conflict_handler="resolve")
pyperf.Runner(_argparser=parser, program_args=("-m", "refstrat.bench"))
bench.build_parser(parser)
parser.exit = parser.error = lambda *a, **k: (_ for _ in ()).throw(ValueError(a[-1] if a else k))
bad = []
for args in json.loads(sys.argv[1]):
    try:
        parser.parse_args(shlex.split(args))
    except ValueError as exc:
        bad.append(f"{args}: {exc}")
print(json.dumps(bad))
"""


def test_bench_commands_parse() -> None:
    """Every bench command the pages show names options and values the bench accepts."""
    import json
    import sys

    commands = _bench_commands()
    assert len(commands) >= 5, commands
    proc = subprocess.run(
        [sys.executable, "-c", _PARSE_ALL, json.dumps([args for _, args in commands])],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == []


@pytest.mark.parametrize("flavour", [[], ["-DRS_CHECK_BUILD=1"]], ids=["normal", "check"])
def test_plugin_template_compiles_cleanly(flavour: list[str]) -> None:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    cmd = [
        cc,
        "-std=gnu11",
        "-fsyntax-only",
        "-Wall",
        "-Wextra",
        "-Werror",
        *flavour,
        f"-I{refstrat.get_include()}",
        str(TEMPLATE),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"


def test_plugin_page_shows_and_builds_the_template() -> None:
    """docs/plugins.md shows the template file itself and its examples build that same file."""
    page = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    assert "```{literalinclude} examples/my_scheme.c" in page
    assert 'rt.build_plugin(["docs/examples/my_scheme.c"]' in page
    assert "refstrat.load_plugin(lib)" in page and 'rt.check("sole_owner"' in page
