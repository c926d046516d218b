"""The registries generated from the C lists: scheme knobs (include/refstrat/knobs.h), workloads
(RS_WORKLOADS in include/refstrat/runtime.h), and the installed headers (refstrat.get_include)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import refstrat
from refstrat import _api, _core, bench
from refstrat.bench import cli, measure, twins

KNOBS = refstrat.knobs()
ROOT = Path(__file__).resolve().parents[1]


def test_knobs_are_typed_and_in_range() -> None:
    # Their names and order against the C registry: tests/test_registry.py.
    strategies = {s.name for s in refstrat.strategies()}
    for k in KNOBS:
        assert isinstance(k, refstrat.KnobInfo)
        assert k.strategy in strategies and k.doc
        assert k.kind in ("int", "real")
        number = int if k.kind == "int" else float
        assert all(type(v) is number for v in (k.default, k.low, k.high)), k
        assert k.low <= k.default <= k.high, k


def test_knob_defaults_are_run_defaults() -> None:
    cfg, _ = _api._config("private", 1, {})
    assert {k.name: cfg[k.name] for k in KNOBS} == {k.name: k.default for k in KNOBS}


def _outside(k: refstrat.KnobInfo) -> list[object]:
    values: list[object] = [k.high + 1 if k.kind == "int" else k.high * 2]
    if k.low > 0:
        values.append(k.low - 1 if k.kind == "int" else k.low / 2)
    if k.kind == "real":
        values.append(math.nan)
    return values


@pytest.mark.parametrize("knob", KNOBS, ids=lambda k: k.name)
def test_run_rejects_knobs_out_of_range(knob: refstrat.KnobInfo) -> None:
    for value in _outside(knob):
        with pytest.raises(ValueError, match=rf"{knob.name} .* must be in \[{knob.low}, {knob.high}\]"):
            refstrat.run(knob.strategy, "private", 1, ops=100, **{knob.name: value})


@pytest.mark.parametrize("knob", KNOBS, ids=lambda k: k.name)
def test_core_rejects_knobs_out_of_range_itself(knob: refstrat.KnobInfo) -> None:
    """rs_params_check() holds the same bounds: a value past Python's check is still refused."""
    cfg, _ = _api._config("private", 1, dict(ops=100))
    for value in _outside(knob):
        with pytest.raises(ValueError, match=f"{knob.name} must be in"):
            _core.execute(knob.strategy, dict(cfg, **{knob.name: value}))


@pytest.mark.parametrize("knob", KNOBS, ids=lambda k: k.name)
def test_run_accepts_a_knobs_low_end(knob: refstrat.KnobInfo) -> None:
    r = refstrat.run(knob.strategy, "handoff", 2, ops=2000, **{knob.name: knob.low})
    assert r.ok, r


def test_unknown_knob_is_a_type_error_naming_the_choices() -> None:
    with pytest.raises(TypeError, match="unknown option.*tick_size.*valid: .*log_size.*switch_interval.*tick"):
        refstrat.run("coalesced", "private", 1, tick_size=3)


def test_bench_has_an_option_per_knob() -> None:
    parser = bench.build_parser()
    text = parser.format_help()
    for k in KNOBS:
        dashed = "--" + k.name.replace("_", "-")
        assert dashed in text and k.doc.split()[0] in text, k.name
        args = parser.parse_args([dashed, str(k.low)])
        assert bench.knob_settings(args) == {k.name: k.low}
        args = parser.parse_args([f"--{k.name}={k.default}"])  # the run() keyword's spelling too
        assert bench.knob_settings(args) == {k.name: k.default}
    assert bench.knob_settings(parser.parse_args([])) == {}


def test_bench_refuses_a_knob_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    parser = bench.build_parser()
    for k in KNOBS:
        with pytest.raises(SystemExit):
            parser.parse_args(["--" + k.name.replace("_", "-"), str(_outside(k)[0])])
        assert "must be between" in capsys.readouterr().err


def test_bench_forwards_knobs_to_its_workers() -> None:
    args = bench.build_parser().parse_args(["--tick", "64", "--switch-interval", "0.001"])
    args.sidecar, args.ops, args.fib_n = "/tmp/x", 10, 10
    cmd: list[str] = []
    cli.forward(cmd, args)
    assert "--tick=64" in cmd and "--switch-interval=0.001" in cmd
    assert measure.run_kwargs("fib", 10, 0, 10, True, bench.knob_settings(args))["tick"] == 64


def test_workloads_come_from_the_core() -> None:
    rows = _core.workloads()
    assert [w.name for w in refstrat.workloads()] == [r["name"] for r in rows] == list(_core.WORKLOADS)
    for w, r in zip(refstrat.workloads(), rows):
        assert (w.summary, w.reference) == (r["summary"], r["reference"]) and w.summary and w.reference
    # enum order: every loop workload runs its own kernel (fib allocates per call, shared none)
    assert refstrat.run("atomic", "shared", 1, ops=1000).allocs == 0
    assert refstrat.run("atomic", "fib", 1, fib_n=5).allocs > 0


def test_every_benchable_workload_has_a_real_twin() -> None:
    names = [
        w.name
        for w in refstrat.workloads()
        if w.name not in bench.UNBENCHABLE_WORKLOADS and w.name not in bench.NO_TWIN_WORKLOADS
    ]
    assert list(twins.WORKLOADS) == names


def test_get_include_holds_the_headers() -> None:
    inc = Path(refstrat.get_include())
    for header in ("core.h", "knobs.h", "plugin.h", "registry.h", "runtime.h"):
        assert (inc / "refstrat" / header).is_file(), header
    assert sorted(p.name for p in (inc / "refstrat").glob("*.h")) == sorted(
        p.name for p in (ROOT / "include" / "refstrat").glob("*.h")
    )


def test_a_plugin_builds_against_get_include_alone(tmp_path: Path) -> None:
    """A scheme outside the source tree: atomic's hooks under another name, compiled with only
    refstrat.get_include() on the include path, loaded and run."""
    src = tmp_path / "tiny.c"
    hooks = [
        "incref",
        "decref",
        "init",
        "fini",
        "obj_init",
        "safepoint",
        "wait",
        "enter",
        "leave",
        "start",
        "quiesce",
        "flush",
        "count",
    ]
    src.write_text(
        '#include "refstrat/plugin.h"\n'
        + "".join(f"#define rs_tiny_get_include_{h} rs_atomic_{h}\n" for h in hooks)
        + '#define TINY(RS_X) RS_X(tiny_get_include, 1, 0, "atomic, built as a plugin", "tests")\n'
        + "RS_DEFINE_PLUGIN(TINY)\n"
    )
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    cc = cc if shutil.which(cc) else "cc"
    out = tmp_path / "tiny.so"
    proc = subprocess.run(
        [
            cc,
            "-std=gnu11",
            "-O1",
            "-shared",
            "-fPIC",
            "-pthread",
            f"-I{refstrat.get_include()}",
            str(src),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    code = (
        f"import refstrat, refstrat._core as c; c.load_plugin({str(out)!r}); "
        f"r = refstrat.run('tiny_get_include', 'handoff', 2, ops=2000); print(r.ok, r.frees == r.allocs)"
    )
    child = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert child.returncode == 0 and child.stdout.split() == ["True", "True"], child.stderr


@pytest.mark.skipif(not shutil.which("cc") and not shutil.which("gcc"), reason="no C compiler")
def test_build_py_ships_the_headers(tmp_path: Path) -> None:
    """A non-editable install carries include/refstrat/*.h as refstrat/include/refstrat/*.h,
    where get_include() looks first."""
    pytest.importorskip("Cython")
    proc = subprocess.run(
        [sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"),
    )
    assert proc.returncode == 0, proc.stderr
    shipped = tmp_path / "refstrat" / "include" / "refstrat"
    assert sorted(p.name for p in shipped.glob("*.h")) == sorted(
        p.name for p in (ROOT / "include" / "refstrat").glob("*.h")
    )
