"""Issue 31, defects 5 and 6: the bench's own files and its --python interpreters.

Refusals are checked in this process (``bench.main`` stops at its argument checks with a
SystemExit, before the first measurement), so the fuzz below tries many combinations in a few
seconds; what involves processes and signals runs the real command in a child.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pyperf = pytest.importorskip("pyperf")
refstrat = pytest.importorskip("refstrat")
if not hasattr(refstrat, "run"):  # pragma: no cover - core not built yet
    pytest.skip("refstrat core not built", allow_module_level=True)

from test_bench import TINY, run_bench  # noqa: E402

from refstrat import bench  # noqa: E402

MATRIX = ["--strategies", "atomic", "--threads", "1", *TINY]
ERROR = "python -m refstrat.bench: error: "


def _suite(path: Path, *cells: str) -> None:
    runs = [
        pyperf.Run([0.01, 0.011], metadata={"name": f"{c}/{k}"}, collect_metadata=False)
        for c in cells
        for k in ("wall", "cpu")
    ]
    pyperf.BenchmarkSuite([pyperf.Benchmark([r]) for r in runs]).dump(str(path))


def _script(path: Path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def refused(argv: list[str], cwd: Path) -> str:
    """The message with which ``main(argv)``, run in ``cwd``, refuses: argparse's exit status 2,
    nothing on stdout (pyperf prints its own errors there, and the report comes only after
    measuring). Anything else, an exception included, fails the test."""
    pyperf.Runner._created.clear()  # pyperf allows one Runner per process; each main() makes one
    out, err = io.StringIO(), io.StringIO()
    old = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
            bench.main([*MATRIX, *argv])
    finally:
        os.chdir(old)
    assert exc.value.code == 2 and out.getvalue() == "", (exc.value.code, out.getvalue(), err.getvalue())
    assert ERROR in err.getvalue(), err.getvalue()
    return err.getvalue().split(ERROR, 1)[1]


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Files the bench must refuse to write over or to read as a reference, and non-interpreters."""
    d = tmp_path_factory.mktemp("arena")
    _suite(d / "ref.json", "fib/atomic/T1")  # a cell of MATRIX: a usable reference
    _suite(d / "other.json", "shared/biased/T8")  # no cell of MATRIX
    (d / "empty.json").write_text("")
    (d / "list.json").write_text("[1, 2]")
    (d / "object.json").write_text('{"benchmarks": 3}')
    (d / "broken.json").write_text("{not json")
    (d / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    (d / "dir.json").mkdir()
    (d / "sub").mkdir()
    (d / "ref-link.png").symlink_to(d / "ref.json")
    (d / "ref-hard.json").hardlink_to(d / "ref.json")
    _script(d / "crash.sh", "echo 'Segmentation fault' >&2; exit 139\n")
    _script(d / "chatty.sh", "echo hello\n")
    _script(d / "old.sh", "echo '[\"cpython\", [2, 7]]'\n")
    (d / "garbage.elf").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(range(200)))
    (d / "garbage.elf").chmod(0o755)
    return d


def _snapshot(d: Path) -> dict[str, object]:
    return {
        str(p.relative_to(d)): (os.readlink(p) if p.is_symlink() else p.read_bytes() if p.is_file() else "dir")
        for p in sorted(d.rglob("*"))
    }


# --------------------------------------------------------------------------- 5. the bench's files


def test_output_and_plot_on_one_file_are_refused(tmp_path: Path) -> None:
    """The issue's command: exit 0, the PNG written over the JSON and reported as the JSON."""
    proc = run_bench(*MATRIX, "--output", "same.png", "--plot", "same.png", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "--output 'same.png' and --plot 'same.png' name the same file" in proc.stderr, proc.stderr
    assert "pyperf JSON" not in proc.stdout and not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["--output", "r.png"], "--output 'r.png': the file name must end in .json"),
        (["--output", "r"], "--output 'r': the file name must end in .json"),
        (["--output", "fresh.json", "--plot", "./fresh.json"], "name the same file"),
        (["--compare-to", "ref.json", "--plot", "ref-link.png"], "name the same file"),  # through a symlink
        (["--compare-to", "ref-hard.json", "--plot", "sub/../ref-link.png"], "name the same file"),
        (["--compare-to", "missing.json"], "--compare-to 'missing.json': no such file"),
        (["--compare-to", "dir.json"], "--compare-to 'dir.json': is a directory"),
        (["--compare-to", "empty.json"], "not a pyperf JSON file"),
        (["--compare-to", "list.json"], "not a pyperf JSON file"),
        (["--compare-to", "broken.json"], "not a pyperf JSON file"),
        (["--compare-to", "image.png"], "not a pyperf JSON file"),
        (["--compare-to", "other.json"], "no cell in common with this matrix"),
    ],
)
def test_bad_output_and_reference_files_are_refused(arena: Path, argv: list[str], needle: str) -> None:
    before = _snapshot(arena)
    assert needle in refused(argv, arena)
    assert _snapshot(arena) == before


def test_compare_to_compares_with_a_reference(tmp_path: Path) -> None:
    """A reference the checks accept is compared with, cell by cell, after the report."""
    ref = tmp_path / "ref.json"
    _suite(ref, "fib/atomic/T1", "fib/gil/T1")
    proc = run_bench(*MATRIX, "--compare-to", str(ref), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tail = proc.stdout[proc.stdout.index(f"compared with {ref}") :]
    assert "fib/atomic/T1/cpu" in tail and "fib/gil/T1/wall" in tail
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.json"]  # no stray file of the run's


# --------------------------------------------------------------------------- 6. --python


@pytest.mark.parametrize(
    "python, needle",
    [
        ("/bin/false", "exit status 1"),
        ("crash.sh", "exit status 139: Segmentation fault"),
        ("chatty.sh", "printed 'hello"),
        ("old.sh", "Python 2.7"),
        ("garbage.elf", "Exec format error"),
    ],
)
def test_a_python_that_is_no_interpreter_is_refused(arena: Path, python: str, needle: str) -> None:
    message = refused(["--python", python if python.startswith("/") else f"./{python}"], arena)
    assert "not a usable Python interpreter" in message and needle in message, message


def assert_gone(pid_file: Path, within: float = 10.0) -> None:
    """The process whose pid is in pid_file ends (a zombie has ended) within ``within`` seconds;
    one that does not is killed, so that a failing test leaves no `sleep 1000` behind."""
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    pytest.fail(f"process {pid} outlived the command that started it")


def test_a_hanging_python_is_refused_and_its_children_killed(tmp_path: Path) -> None:
    """The issue's wrapper: the bench gave up on it after --python-timeout, killed the shell
    alone, exited 0 and left `sleep 1000` running."""
    pid_file = tmp_path / "sleep.pid"
    wrapper = _script(tmp_path / "python3", f"sleep 1000 &\necho $! > {pid_file}\nwait\n")
    proc = run_bench(*MATRIX, "--python", wrapper, "--python-timeout", "1", cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "did not finish within 1 s" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    assert_gone(pid_file)


def test_run_bounded_kills_what_its_child_left_behind(tmp_path: Path) -> None:
    """On every way out, a child that exited at once but left a process running too."""
    pid_file = tmp_path / "sleep.pid"
    wrapper = _script(tmp_path / "detach", f"sleep 1000 &\necho $! > {pid_file}\n")
    assert bench.run_bounded([wrapper], timeout=30)[0] == 0
    assert_gone(pid_file)


def test_sigterm_cleans_up_as_ctrl_c_does(tmp_path: Path) -> None:
    """SIGTERM (a `kill`, a CI job's cancel) to the bench alone, mid-measurement: the temporary
    directory it measures through goes, as on Ctrl-C, and no worker lives on."""
    from test_interrupt import interrupt_bench

    tmp = tmp_path / "tmp"
    tmp.mkdir()
    rc, err = interrupt_bench(tmp_path, lambda pid: os.kill(pid, signal.SIGTERM), env=dict(os.environ, TMPDIR=str(tmp)))
    assert rc == 128 + signal.SIGTERM, err
    assert "terminated; no results written" in err and "Traceback" not in err, err
    assert not list(tmp.iterdir()) and not (tmp_path / "r.json").exists()


# --------------------------------------------------------------------------- fuzz

SPELLINGS = ("{}", "./{}", "sub/../{}", "{dir}/{}", "{dir}//./{}")
NOT_PYTHONS = ("/bin/false", "./crash.sh", "./chatty.sh", "./old.sh", "./garbage.elf", "./ref.json", "sub")


@st.composite
def bad_command_lines(draw: st.DrawFn) -> tuple[list[str], str]:
    """(options, what the refusal must name): one fault, among options that are fine alone."""

    def spell(name: str) -> str:
        return draw(st.sampled_from(SPELLINGS)).format(name, dir="{dir}")

    fine = {
        opt: spell(name)
        for opt, name in (("--output", "fresh.json"), ("--compare-to", "ref.json"))
        if draw(st.booleans())
    }
    fault = draw(st.sampled_from(["same file", "--output", "--compare-to", "--python"]))
    if fault == "same file":
        first, second = draw(st.permutations(["--output", "--plot", "--compare-to"]))[:2]
        name = draw(st.sampled_from(["ref.json", "ref-link.png", "fresh.json", "fresh.png"]))
        alias = draw(st.sampled_from([name, "ref-hard.json" if name.startswith("ref") else name]))
        fine.update({first: spell(name), second: spell(alias)})
    elif fault == "--output":
        fine[fault] = spell(draw(st.sampled_from(["fresh.png", "fresh", "fresh.json.gz", "ref.json", "sub"])))
    elif fault == "--compare-to":
        fine[fault] = spell(
            draw(
                st.sampled_from(
                    [
                        "missing.json",
                        "empty.json",
                        "list.json",
                        "object.json",
                        "broken.json",
                        "image.png",
                        "dir.json",
                        "other.json",
                    ]
                )
            )
        )
    argv = [x for opt, path in fine.items() for x in (opt, path)]
    if fault == "--python":
        argv += ["--python", draw(st.sampled_from(NOT_PYTHONS))]
    return argv, fault


@settings(max_examples=100)
@given(case=bad_command_lines())
def test_fuzz_bad_paths_and_pythons_are_refused_cleanly(arena: Path, case: tuple[list[str], str]) -> None:
    argv, fault = case
    argv = [a.replace("{dir}", str(arena)) for a in argv]
    before = _snapshot(arena)
    message = refused(argv, arena)
    assert fault in message or (fault == "--output" and "same file" in message), (argv, message)
    assert _snapshot(arena) == before, argv


def test_a_plugin_that_cannot_load_ends_the_bench_before_measuring(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = run_bench("--plugin", str(tmp_path / "missing.so"), "--output", str(out), *TINY)
    assert proc.returncode != 0 and "--plugin" in proc.stderr and "cannot load plugin" in proc.stderr
    assert "Traceback" not in proc.stderr and not out.exists()


def test_a_plugin_strategy_is_valid_only_once_loaded(tmp_path: Path) -> None:
    """Without --plugin the name is unknown; with it the strategy joins the valid choices (the
    docs' plugin page runs the whole bench on one)."""
    from refstrat.testing import build_plugin

    lib = build_plugin(
        [str(Path(__file__).resolve().parents[1] / "docs" / "examples" / "my_scheme.c")], str(tmp_path / "my_scheme.so")
    )
    assert "unknown strategy 'sole_owner'" in run_bench("--strategies", "sole_owner", *TINY).stderr
    proc = run_bench("--plugin", lib, "--strategies", "gil,sole_owner", "--threads", "1", *TINY)
    assert proc.returncode == 0, proc.stderr
    assert any(line.startswith("sole_owner ") for line in proc.stdout.splitlines())
