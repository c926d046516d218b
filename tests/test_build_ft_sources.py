"""bench/build-ft-python.sh finds the Debian mirror in the machine's own apt sources: the one-line
format (sources.list, sources.list.d/*.list) and deb822 (sources.list.d/*.sources), comments,
options and disabled stanzas included. Runs the script's two functions on fixture directories
(RS_APT_ETC); nothing is downloaded."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "bench" / "build-ft-python.sh"


def _functions() -> str:
    text = SCRIPT.read_text()
    m = re.search(r"^apt_uris\(\) \{.*?^\}\n.*?^find_mirrors\(\) \{.*?^\}\n", text, re.S | re.M)
    assert m, "bench/build-ft-python.sh no longer defines apt_uris and find_mirrors"
    return m.group(0)


def _mirrors(etc: Path, **env: str) -> tuple[int, str, str]:
    script = _functions() + 'find_mirrors\necho "$MIRROR"\necho "$SECURITY"\n'
    proc = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin", "RS_APT_ETC": str(etc), **env},
    )
    lines = proc.stdout.splitlines() + ["", ""]
    return proc.returncode, lines[0], lines[1] if proc.returncode == 0 else proc.stderr


def _etc(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_one_line_format(tmp_path: Path) -> None:
    etc = _etc(
        tmp_path,
        {
            "sources.list": (
                "# deb http://commented.example/debian bookworm main\n"
                "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian/ bookworm main\n"
                "deb http://mirror.example/debian-security bookworm-security main  # trailing comment\n"
            )
        },
    )
    assert _mirrors(etc) == (0, "http://mirror.example/debian", "http://mirror.example/debian-security")


def test_deb822_format(tmp_path: Path) -> None:
    etc = _etc(
        tmp_path,
        {
            "sources.list.d/debian.sources": (
                "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n"
                "Types: deb deb-src\n# a comment inside a stanza\nURIs: http://proxy.example:3142/debian\n"
                "Suites: bookworm bookworm-updates\nComponents: main\n\n"
                "Types: deb\nURIs: http://proxy.example:3142/debian-security\nSuites: bookworm-security\n"
            )
        },
    )
    assert _mirrors(etc) == (0, "http://proxy.example:3142/debian", "http://proxy.example:3142/debian-security")


def test_list_files_and_no_security(tmp_path: Path) -> None:
    etc = _etc(tmp_path, {"sources.list.d/a.list": "deb http://only.example/debian trixie main\n"})
    assert _mirrors(etc) == (0, "http://only.example/debian", "")


def test_override_and_missing(tmp_path: Path) -> None:
    etc = _etc(tmp_path, {})
    rc, _, err = _mirrors(etc)
    assert rc != 0 and "RS_DEBIAN_MIRROR" in err
    assert _mirrors(etc, RS_DEBIAN_MIRROR="http://given.example/debian/")[:2] == (0, "http://given.example/debian")


@pytest.mark.parametrize("host", ["deb.debian.org", "debian.org"])
def test_no_hard_coded_host(host: str) -> None:
    assert host not in SCRIPT.read_text()
